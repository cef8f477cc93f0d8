"""A training request without TensorFlow: its configs from ``key=value`` overrides
(:func:`build_configs`), its env (:func:`make_env`), the :class:`Run` it describes and its record in
a run folder's ``config.json`` (:func:`load_run`).

The command-line entry points check their input with these before they import TensorFlow, so bad
input fails within a second; :mod:`softq_tf.running.experiment` trains what they describe.
"""
import dataclasses
import json
import os

import gymnasium as gym

from softq_tf import envs
from softq_tf.learners.configs import DDPGConfig, LoopConfig, SQLConfig
from softq_tf.training.progress import METADATA_FILE, checkpoint_steps
from softq_tf.learners.specs import EnvSpec

# Each algorithm's config class (its learner: softq_tf.running.experiment.ALGOS).
CONFIGS = {"sql": SQLConfig, "ddpg": DDPGConfig}


def make_env(env_id, env_kwargs=None):
    """``gym.make(env_id, **env_kwargs)``, flattening structured observations.

    Raises:
      ValueError: an unknown id, or constructor arguments the env rejects.
    """
    envs.register_envs()
    env_kwargs = dict(env_kwargs or {})
    try:
        env = gym.make(env_id, **env_kwargs)
    except gym.error.Error as e:
        raise ValueError(f"env {env_id!r} is not registered ({e}); softq_tf envs are: "
                         f"{', '.join(envs.ENV_IDS)}, or any installed Gymnasium id") from e
    except TypeError as e:
        raise ValueError(f"--env_kwargs={json.dumps(env_kwargs)} is invalid for {env_id}: "
                         f"{e}") from None
    if not (isinstance(env.observation_space, gym.spaces.Box)
            and len(env.observation_space.shape) == 1):
        env = gym.wrappers.FlattenObservation(env)
    return env



def _parse_value(key, text, default):
    try:
        if isinstance(default, bool):
            if text.lower() not in ("true", "false", "1", "0"):
                raise ValueError
            return text.lower() in ("true", "1")
        if isinstance(default, str):
            return text
        if isinstance(default, tuple):
            return tuple(int(x) for x in text.strip("()[] ").split(",") if x.strip())
        if isinstance(default, int):
            number = float(text)
            if number != int(number):
                raise ValueError
            return int(number)
        return float(text)
    except (ValueError, OverflowError):  # int("inf") overflows
        raise ValueError(f"--override {key}={text!r} is invalid: expected a value of type "
                         f"{type(default).__name__} like {default!r}") from None


def override_keys():
    """The keys ``--override`` accepts: ``{"sql": [...], "ddpg": [...], "loop": [...]}``, the
    fields of :class:`SQLConfig`, :class:`DDPGConfig` and :class:`LoopConfig` in their order."""
    configs = dict(CONFIGS, loop=LoopConfig)
    return {name: [f.name for f in dataclasses.fields(cls)] for name, cls in configs.items()}


def apply_overrides(learner_config, loop_config, overrides=()):
    """``learner_config`` and ``loop_config`` with ``key=value`` overrides applied, each value
    parsed as the type of the field it replaces.

    Raises:
      ValueError: a malformed or unknown override, or an invalid value.
    """
    configs = {"learner": learner_config, "loop": loop_config}
    changes = {"learner": {}, "loop": {}}
    for item in overrides:
        key, sep, text = item.partition("=")
        key = key.strip()
        owner = next((k for k, cfg in configs.items() if key in
                      {f.name for f in dataclasses.fields(cfg)}), None)
        if not sep or owner is None:
            allowed = sorted(f.name for cfg in configs.values() for f in dataclasses.fields(cfg))
            raise ValueError(f"--override {item!r} is invalid: expected key=value with key one of "
                             f"{', '.join(allowed)}")
        changes[owner][key] = _parse_value(key, text.strip(), getattr(configs[owner], key))
    return (dataclasses.replace(learner_config, **changes["learner"]),
            dataclasses.replace(loop_config, **changes["loop"]))


def build_configs(algo, total_steps=None, overrides=()):
    """Learner and loop configs from the algorithm's defaults and ``key=value`` overrides
    (``total_steps`` None: LoopConfig's default).

    Raises:
      ValueError: an unknown algorithm, a malformed or unknown override, or an invalid value.
    """
    if algo not in CONFIGS:
        raise ValueError(f"--algo={algo!r} is invalid: allowed are {', '.join(CONFIGS)}")
    loop_config = LoopConfig() if total_steps is None else LoopConfig(total_steps=total_steps)
    return apply_overrides(CONFIGS[algo](), loop_config, overrides)


@dataclasses.dataclass
class Run:
    """A validated training request (see :func:`prepare`)."""

    env_id: str
    algo: str
    seed: int
    logdir: str
    learner_config: object  # the algorithm's config: SQLConfig or DDPGConfig
    loop_config: LoopConfig
    resume: bool
    env_kwargs: dict = dataclasses.field(default_factory=dict)  # gym.make(env_id, **env_kwargs)
    init_from: str = ""  # the finished run whose networks this one starts from ("": none)
    # Every total the run was given, oldest first: one entry, one more per extension (extended).
    total_steps_history: tuple = ()

    def to_json(self):
        return dict(env=self.env_id, env_kwargs=self.env_kwargs, algo=self.algo, seed=self.seed,
                    init_from=self.init_from, learner=dataclasses.asdict(self.learner_config),
                    loop=dataclasses.asdict(self.loop_config),
                    total_steps_history=list(self.total_steps_history
                                             or (self.loop_config.total_steps,)))



def load_run(config_path):
    """The :class:`Run` saved in a run folder's ``config.json``, to resume it.

    Raises:
      ValueError: the file is not valid JSON or does not describe a run (the file is left as is).
    """
    try:
        with open(config_path) as f:
            saved = json.load(f)
        config_class = CONFIGS[saved["algo"]]
        run = Run(saved["env"], saved["algo"], saved["seed"], os.path.dirname(config_path),
                  config_class(**saved["learner"]), LoopConfig(**saved["loop"]), True,
                  saved.get("env_kwargs", {}), saved.get("init_from", ""),
                  tuple(saved.get("total_steps_history", (saved["loop"]["total_steps"],))))
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ValueError(f"cannot resume: {config_path} is damaged ({type(e).__name__}: "
                         f"{str(e).splitlines()[0] if str(e) else ''}); restore it or start a new "
                         "run in another --logdir") from None
    return run



def is_finished(logdir):
    """Whether the run in ``logdir`` exported its policy (its last act) at the total its
    ``config.json`` asks for: a run being extended (:func:`extended`) is unfinished until it
    exports again."""
    try:
        with open(os.path.join(logdir, "policy", "assets", METADATA_FILE)) as f:
            exported_total = json.load(f)["config"]["loop"]["total_steps"]
        with open(os.path.join(logdir, "config.json")) as f:
            wanted_total = json.load(f)["loop"]["total_steps"]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return (exported_total == wanted_total
            and os.path.exists(os.path.join(logdir, "policy", "saved_model.pb")))


def steps_done(logdir):
    """Environment steps of the newest checkpoint in ``logdir`` (0 without one)."""
    steps = checkpoint_steps(os.path.join(logdir, "checkpoints"))
    return steps[0] if steps else 0


def extended(run, total_steps):
    """``run`` continued to ``total_steps`` (from its checkpoints: same learner, optimizer state,
    replay pool and generators), the new total appended to its ``total_steps_history``.

    Raises:
      ValueError: ``total_steps`` is below the steps the run has done, or invalid.
    """
    if total_steps == run.loop_config.total_steps:
        return run
    done = steps_done(run.logdir)
    if total_steps < done:
        raise ValueError(f"--total_steps={total_steps} is below the {done} steps the run in "
                         f"{run.logdir} has done: give at least {done} to continue it")
    history = run.total_steps_history or (run.loop_config.total_steps,)
    return dataclasses.replace(
        run, loop_config=dataclasses.replace(run.loop_config, total_steps=total_steps),
        total_steps_history=tuple(history) + (total_steps,))


def flat_settings(run):
    """A run's settings as {name: JSON-normalized value}, learner and loop fields by their own
    names (the names ``--override`` takes; no field is in both)."""
    saved = json.loads(json.dumps(run.to_json()))
    flat = {key: saved[key] for key in ("algo", "env", "env_kwargs", "seed")}
    # The Ray engine records absolute paths: a run it started must match the same run given with
    # a relative path.
    flat["init_from"] = os.path.abspath(saved["init_from"]) if saved["init_from"] else ""
    flat.update(saved["learner"])
    flat.update(saved["loop"])
    return flat


def setting_differences(saved, wanted, ignore=()):
    """``["<key> is <saved value> there, <wanted value> here", ...]`` for every setting
    (:func:`flat_settings`) in which the runs ``saved`` and ``wanted`` differ, but ``ignore``."""
    there, here = flat_settings(saved), flat_settings(wanted)
    return [f"{key} is {json.dumps(there.get(key))} there, {json.dumps(here.get(key))} here"
            for key in sorted(set(there) | set(here))
            if key not in ignore and there.get(key) != here.get(key)]


def check_unchanged(run, env_id=None, algo=None, seed=None, overrides=None, env_kwargs=None,
                    init_from=None):
    """For ``--resume``: raises unless the settings given (None: not given) agree with those of
    ``run`` (the saved run); only ``total_steps`` may change when a run is continued.

    Raises:
      ValueError: one line naming every differing setting.
    """
    flag = f"--resume continues the run in {run.logdir} with its own settings"
    if algo is not None and algo != run.algo:
        raise ValueError(f"{flag}: algo is {run.algo!r} there, {algo!r} here; only "
                         "--total_steps may change")
    learner_config, loop_config = apply_overrides(run.learner_config, run.loop_config,
                                                  overrides or ())
    wanted = dataclasses.replace(
        run, env_id=run.env_id if env_id is None else env_id,
        seed=run.seed if seed is None else seed,
        env_kwargs=run.env_kwargs if env_kwargs is None else dict(env_kwargs),
        init_from=run.init_from if init_from is None else init_from,
        learner_config=learner_config, loop_config=loop_config)
    differences = setting_differences(run, wanted, ignore=("total_steps",))
    if differences:
        raise ValueError(f"{flag}: {'; '.join(differences)}; only --total_steps may change")


def check_settings(env_id, algo="sql", total_steps=None, seed=0, logdir="runs/default",
                   overrides=(), resume=False, env_kwargs=None, init_from=""):
    """Validates a training request's settings without side effects: all but what needs the env
    built (:func:`check_request`) or the networks of ``init_from`` loaded
    (:func:`softq_tf.running.experiment.prepare`).

    ``env_kwargs`` are keyword arguments of the env's constructor
    (``gym.make(env_id, **env_kwargs)``, e.g. a smaller maze), recorded in ``config.json``.
    ``init_from`` names a finished run whose networks the run starts from
    (:func:`softq_tf.running.experiment.load_pretrained`).

    ``total_steps`` None is LoopConfig's default (100,000) for a new run. With ``resume``, the
    configuration saved in ``logdir``'s ``config.json`` is used and the other arguments are
    ignored (:func:`check_unchanged` checks them); the run continues to its saved total, or with
    ``total_steps`` to that total (:func:`extended`). A ``logdir`` without a run is an error.

    Raises:
      ValueError: with a one-line message naming the bad value and what is allowed.
    """
    if os.path.exists(logdir) and not os.path.isdir(logdir):
        raise ValueError(f"--logdir={logdir!r} is a file: give a directory path")
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"--seed={seed!r} is invalid: must be a non-negative integer")
    config_path = os.path.join(logdir, "config.json")
    if resume:
        if not os.path.exists(config_path):
            raise ValueError(f"--resume: --logdir={logdir!r} holds no run to continue (no "
                             "config.json); leave out --resume to start a new run there")
        return (load_run(config_path) if total_steps is None
                else extended(load_run(config_path), total_steps))
    if not isinstance(env_id, str) or not env_id:
        raise ValueError(f"--env={env_id!r} is invalid: give a Gymnasium env id")
    if not resume and os.path.exists(os.path.join(logdir, "progress.csv")):
        raise ValueError(f"--logdir={logdir!r} already holds a run: pass --resume to continue it "
                         "or choose another directory")
    if not isinstance(env_kwargs or {}, dict):
        raise ValueError(f"--env_kwargs={env_kwargs!r} is invalid: give a JSON object of the "
                         "env's constructor arguments, e.g. {\"island_length\": 2.0}")
    learner_config, loop_config = build_configs(algo, total_steps, overrides)
    return Run(env_id, algo, seed, logdir, learner_config, loop_config, resume,
               dict(env_kwargs or {}), os.path.normpath(init_from) if init_from else "")


def check_request(*args, **kwargs):
    """Validates a training request without side effects and without TensorFlow: its settings
    (:func:`check_settings`, which takes the same arguments) and, for a new run, its env, built
    once to reject unknown ids, bad constructor arguments and unsupported spaces. What is left
    is whether the networks of ``init_from`` load
    (:func:`softq_tf.running.experiment.check_init_from`).

    Raises:
      ValueError: with a one-line message naming the bad value and what is allowed.
    """
    run = check_settings(*args, **kwargs)
    if not run.resume:
        with make_env(run.env_id, run.env_kwargs) as env:
            EnvSpec.from_env(env)
    return run
