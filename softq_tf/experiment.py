"""One training run end to end: validate the request, build env and learner, train, export.

This is the library side of ``python -m softq_tf.train`` and of the figure scripts, which call it for
every (algorithm, env, seed). A run folder holds ``config.json``, ``progress.csv``, ``tensorboard/``,
``checkpoints/``, ``.lock`` (held while a process trains in it) and, once finished, ``policy/`` and
``q_function/`` SavedModels.

A run can start from another finished run's networks (fine-tuning, paper Sec. 5.3):
:func:`load_pretrained`, or ``init_from`` of :func:`prepare`.
"""
import contextlib
import dataclasses
import json
import os
import shlex

import gymnasium as gym
from absl import logging

import tensorflow as tf

from softq_tf import ddpg, envs, export, loop, sql, xla_cpu
from softq_tf.checkpoint import checkpoint_steps
from softq_tf.files import hold_run_folder, write_json_atomic
from softq_tf.specs import EnvSpec

# Each algorithm's config class and learner class.
ALGOS = {"sql": (sql.SQLConfig, sql.SoftQLearner), "ddpg": (ddpg.DDPGConfig, ddpg.DDPGLearner)}


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
    except ValueError:
        raise ValueError(f"--override {key}={text!r} is invalid: expected a value of type "
                         f"{type(default).__name__} like {default!r}") from None


def build_configs(algo, total_steps, overrides=()):
    """Learner and loop configs from the algorithm's defaults and ``key=value`` overrides.

    Raises:
      ValueError: an unknown algorithm, a malformed or unknown override, or an invalid value.
    """
    if algo not in ALGOS:
        raise ValueError(f"--algo={algo!r} is invalid: allowed are {', '.join(ALGOS)}")
    defaults = {"learner": ALGOS[algo][0](), "loop": loop.LoopConfig(total_steps=total_steps)}
    changes = {"learner": {}, "loop": {}}
    for item in overrides:
        key, sep, text = item.partition("=")
        key = key.strip()
        owner = next((k for k, cfg in defaults.items() if key in
                      {f.name for f in dataclasses.fields(cfg)}), None)
        if not sep or owner is None:
            allowed = sorted(f.name for cfg in defaults.values() for f in dataclasses.fields(cfg))
            raise ValueError(f"--override {item!r} is invalid: expected key=value with key one of "
                             f"{', '.join(allowed)}")
        changes[owner][key] = _parse_value(key, text.strip(), getattr(defaults[owner], key))
    return (dataclasses.replace(defaults["learner"], **changes["learner"]),
            dataclasses.replace(defaults["loop"], **changes["loop"]))


@dataclasses.dataclass
class Run:
    """A validated training request (see :func:`prepare`)."""

    env_id: str
    algo: str
    seed: int
    logdir: str
    learner_config: object  # the algorithm's config: sql.SQLConfig or ddpg.DDPGConfig
    loop_config: loop.LoopConfig
    resume: bool
    env_kwargs: dict = dataclasses.field(default_factory=dict)  # gym.make(env_id, **env_kwargs)
    init_from: str = ""  # the finished run whose networks this one starts from ("": none)

    def to_json(self):
        return dict(env=self.env_id, env_kwargs=self.env_kwargs, algo=self.algo, seed=self.seed,
                    init_from=self.init_from, learner=dataclasses.asdict(self.learner_config),
                    loop=dataclasses.asdict(self.loop_config))


def load_run(config_path):
    """The :class:`Run` saved in a run folder's ``config.json``, to resume it.

    Raises:
      ValueError: the file is not valid JSON or does not describe a run (the file is left as is).
    """
    try:
        with open(config_path) as f:
            saved = json.load(f)
        config_class = ALGOS[saved["algo"]][0]
        run = Run(saved["env"], saved["algo"], saved["seed"], os.path.dirname(config_path),
                  config_class(**saved["learner"]), loop.LoopConfig(**saved["loop"]), True,
                  saved.get("env_kwargs", {}), saved.get("init_from", ""))
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ValueError(f"cannot resume: {config_path} is damaged ({type(e).__name__}: "
                         f"{str(e).splitlines()[0] if str(e) else ''}); restore it or start a new "
                         "run in another --logdir") from None
    return run


def is_finished(logdir):
    """Whether the run in ``logdir`` exported its policy (its last act)."""
    return os.path.exists(os.path.join(logdir, "policy", "saved_model.pb"))


def _finished_run(run_dir):
    """The :class:`Run` of the finished run in ``run_dir`` and its newest checkpoint's prefix.

    Raises:
      ValueError: ``run_dir`` is not a run folder, or the run did not finish (naming what is
        missing).
    """
    flag = f"--init_from={run_dir!r}"
    config_path = os.path.join(run_dir, "config.json")
    if not os.path.isfile(config_path):
        raise ValueError(f"{flag} is not a run: it has no config.json (give the --logdir of a "
                         "finished training run)")
    run = load_run(config_path)
    if not is_finished(run_dir):
        raise ValueError(f"{flag} is not a finished run: it has no exported policy/ (resume it "
                         "to the end first)")
    steps = checkpoint_steps(os.path.join(run_dir, "checkpoints"))
    if not steps:
        raise ValueError(f"{flag} is not a finished run: checkpoints/ holds no checkpoint")
    return run, os.path.join(run_dir, "checkpoints", f"ckpt-{steps[0]}")


def _algo_of(learner):
    return next(name for name, (_, cls) in ALGOS.items() if isinstance(learner, cls))


def load_pretrained(learner, run_dir):
    """Starts ``learner`` from the networks of the finished run in ``run_dir`` (fine-tuning,
    paper Sec. 5.3): SQL's Q-function, target Q and sampler, DDPG's critic, actor and their
    targets, as saved in the run's last checkpoint. Everything else stays as it is, so a new
    learner keeps fresh optimizers, step counter and generators; the replay pool is the loop's.

    Args:
      learner: a :class:`softq_tf.sql.SoftQLearner` or :class:`softq_tf.ddpg.DDPGLearner`.
      run_dir: the folder of a finished run of the same algorithm on an env with the same spaces
        (e.g. pretrained on ``softq_tf/QuadrupedPretrain-v1``, fine-tuned on a hallway).

    Raises:
      ValueError: one line: ``run_dir`` is not a finished run, was trained with another algorithm
        or on other spaces, or a network weight has another shape (both shapes named).
    """
    source_run, prefix = _finished_run(run_dir)
    flag, algo = f"--init_from={run_dir!r}", _algo_of(learner)
    if source_run.algo != algo:
        raise ValueError(f"{flag} is a {source_run.algo} run; this run is {algo}: fine-tuning "
                         "needs a run of the same algorithm")
    with make_env(source_run.env_id, source_run.env_kwargs) as source_env:
        source_spec = EnvSpec.from_env(source_env)
    if source_spec != learner.spec:
        raise ValueError(f"{flag} was trained on {source_run.env_id} with {source_spec}; this "
                         f"run's env has {learner.spec}: fine-tuning needs the same spaces")
    source = ALGOS[algo][1](source_spec, source_run.learner_config, source_run.seed)
    try:
        restored = tf.train.Checkpoint(**source.networks()).restore(prefix)
        restored.expect_partial()  # optimizers, counters and generators stay behind
        restored.assert_existing_objects_matched()
    except (AssertionError, ValueError, tf.errors.OpError) as e:
        raise ValueError(f"{flag}: {prefix} does not hold every weight of its networks "
                         f"({str(e).strip().splitlines()[0]}); checkpoints written before "
                         "softq-tf saved hidden layers by name cannot be fine-tuned from") from None
    pretrained_networks = source.networks()
    for name, network in learner.networks().items():
        pretrained = pretrained_networks[name]
        shapes = [tuple(w.shape) for w in pretrained.weights]
        wanted = [tuple(w.shape) for w in network.weights]
        if shapes != wanted:
            at = next((i for i, (a, b) in enumerate(zip(shapes, wanted)) if a != b),
                      min(len(shapes), len(wanted)))
            raise ValueError(
                f"{flag}: network {name!r} does not fit: weight {at} has shape "
                f"{shapes[at] if at < len(shapes) else 'none'} there and "
                f"{wanted[at] if at < len(wanted) else 'none'} here (hidden_sizes "
                f"{source_run.learner_config.hidden_sizes} there, "
                f"{learner.config.hidden_sizes} here)")
        network.set_weights(pretrained.get_weights())


def prepare(env_id, algo="sql", total_steps=100_000, seed=0, logdir="runs/default", overrides=(),
            resume=False, env_kwargs=None, init_from=""):
    """Validates a training request without side effects.

    ``env_kwargs`` are keyword arguments of the env's constructor (``gym.make(env_id, **env_kwargs)``,
    e.g. a smaller maze), recorded in ``config.json``. ``init_from`` names a finished run whose
    networks the run starts from (:func:`load_pretrained`; checked here by loading them once).

    With ``resume``, the configuration saved in ``logdir``'s ``config.json`` is used (the run
    continues to its original total) and the other arguments are ignored; a ``logdir`` without one
    is an error.

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
        return load_run(config_path)
    if not isinstance(env_id, str) or not env_id:
        raise ValueError(f"--env={env_id!r} is invalid: give a Gymnasium env id")
    if not resume and os.path.exists(os.path.join(logdir, "progress.csv")):
        raise ValueError(f"--logdir={logdir!r} already holds a run: pass --resume to continue it "
                         "or choose another directory")
    if not isinstance(env_kwargs or {}, dict):
        raise ValueError(f"--env_kwargs={env_kwargs!r} is invalid: give a JSON object of the "
                         "env's constructor arguments, e.g. {\"island_length\": 2.0}")
    learner_config, loop_config = build_configs(algo, total_steps, overrides)
    with make_env(env_id, env_kwargs) as env:
        spec = EnvSpec.from_env(env)  # rejects bad ids and spaces early
    if init_from:
        load_pretrained(ALGOS[algo][1](spec, learner_config, seed), init_from)
    return Run(env_id, algo, seed, logdir, learner_config, loop_config, resume,
               dict(env_kwargs or {}), os.path.normpath(init_from) if init_from else "")


def execute(run, stop=None):
    """Trains ``run`` (from the networks of ``run.init_from`` unless it resumes from a checkpoint of
    its own) and exports ``policy/`` and ``q_function/`` into its logdir.

    The run folder is held (:func:`softq_tf.files.hold_run_folder`) from before its first write to
    the end, so a second process cannot train into it meanwhile. The environments are closed at
    the end, also on an error.

    Args:
      run: a :class:`Run` from :func:`prepare`.
      stop: passed to :func:`softq_tf.loop.train`: a callable polled before every environment
        step; once it returns true, training writes a checkpoint and raises
        :class:`softq_tf.loop.StopRequested` (nothing is exported).

    Returns:
      the training summary of :func:`softq_tf.loop.train`.

    Raises:
      softq_tf.files.RunFolderBusyError: another process holds the run folder (nothing is
        written).
    """
    os.makedirs(run.logdir, exist_ok=True)
    with hold_run_folder(run.logdir), contextlib.ExitStack() as envs_to_close:
        config_path = os.path.join(run.logdir, "config.json")
        if not (run.resume and os.path.exists(config_path)):  # a resumed run keeps its file as is
            write_json_atomic(config_path, run.to_json())
        env = envs_to_close.enter_context(make_env(run.env_id, run.env_kwargs))
        eval_env = (envs_to_close.enter_context(make_env(run.env_id, run.env_kwargs))
                    if run.loop_config.eval_every else None)
        xla_cpu.use_xnn_fusions()  # before the learner's first XLA compile
        learner = ALGOS[run.algo][1](EnvSpec.from_env(env), run.learner_config, run.seed)
        if run.init_from and not checkpoint_steps(os.path.join(run.logdir, "checkpoints")):
            load_pretrained(learner, run.init_from)  # a resumed run continues from its checkpoint
        summary = loop.train(env, learner, run.loop_config, run.logdir, run.seed, eval_env,
                             resume=run.resume, env_id=run.env_id, stop=stop)
        export.save_policy(learner.policy, os.path.join(run.logdir, "policy"), run.to_json())
        export.save_q_function(learner.q, learner.spec, os.path.join(run.logdir, "q_function"),
                               run.to_json())
    logging.info("finished %s on %s (seed %d): %d steps, %d episodes; exported to %s", run.algo,
                 run.env_id, run.seed, summary["steps"], summary["episodes"], run.logdir)
    return summary


def outputs_line(run, finished):
    """One line telling where ``run``'s files are and how to look at them: at its start
    (``finished`` False) or once it has exported its policy."""
    folder = shlex.quote(run.logdir)
    files = "config.json, progress.csv, tensorboard/, checkpoints/"
    watch = f"watch with: tensorboard --logdir {folder}"
    if not finished:
        return f"outputs in {run.logdir}: {files}; policy/ and q_function/ at the end; {watch}"
    env_kwargs = (f" --env_kwargs={shlex.quote(json.dumps(run.env_kwargs))}"
                  if run.env_kwargs else "")
    return (f"outputs in {run.logdir}: {files}, policy/ and q_function/ (SavedModels); "
            "evaluate the policy with: python -m softq_tf.evaluate "
            f"--policy={shlex.quote(os.path.join(run.logdir, 'policy'))} "
            f"--env={shlex.quote(run.env_id)}{env_kwargs}; {watch}")
