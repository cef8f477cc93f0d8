"""A composition request without TensorFlow: the constituent runs it composes, checked
(:func:`check_constituents`), its settings (:class:`Composition`) and their record in the
composition folder's ``config.json`` (:func:`load_composition`).

``python -m softq_tf.compose`` checks its input with these before it imports TensorFlow, so bad
input fails within a second; :mod:`softq_tf.running.composition` fits what they describe.
"""
import dataclasses
import json
import os

from softq_tf.learners.configs import ComposeConfig, composition_weights
from softq_tf.learners.specs import EnvSpec
from softq_tf.running import runs

KIND = "composition"  # config.json's "kind": a composition folder, not a training run's


@dataclasses.dataclass(frozen=True)
class Constituent:
    """A finished soft Q-learning run that a composition reads.

    Attributes:
      logdir: its run folder, as given.
      run: its :class:`softq_tf.running.runs.Run` (config.json).
      spec: the :class:`EnvSpec` of its env.
      checkpoint_step: the step of its newest checkpoint, whose Q-function, sampler and replay
        pool the composition reads.
    """

    logdir: str
    run: runs.Run
    spec: EnvSpec
    checkpoint_step: int

    @property
    def prefix(self):
        """The checkpoint read: ``<logdir>/checkpoints/ckpt-<checkpoint_step>``."""
        return os.path.join(self.logdir, "checkpoints", f"ckpt-{self.checkpoint_step}")

    def to_json(self):
        return dict(run=self.logdir, env=self.run.env_id, env_kwargs=self.run.env_kwargs,
                    checkpoint_step=self.checkpoint_step)


def alpha_of(run):
    """The entropy weight alpha = 1 / reward_scale that ``run``'s Q-function ends at (its final
    reward scale when it annealed alpha)."""
    config = run.learner_config
    return 1.0 / (config.final_reward_scale if config.anneal_steps else config.reward_scale)


def constituent(run_dir):
    """The finished SQL run in ``run_dir`` as a :class:`Constituent`.

    Raises:
      ValueError: one line: no run there, a composition folder, a damaged config.json, a DDPG
        run, or an unfinished run.
    """
    flag = f"--runs: {run_dir!r}"
    config_path = os.path.join(run_dir, "config.json")
    if not os.path.isfile(config_path):
        parent = os.path.dirname(os.path.normpath(run_dir))
        if os.path.isfile(os.path.join(parent, "config.json")):
            raise ValueError(f"{flag} is inside a run, not a run: give its folder {parent!r} "
                             "(a composition needs the run's checkpoint and replayed states, not "
                             "only its exports)")
        raise ValueError(f"{flag} is not a run: it has no config.json (give the --logdir of a "
                         "finished soft Q-learning run)")
    if _kind(config_path) == KIND:
        raise ValueError(f"{flag} is a composition, not a training run: compose its "
                         "constituents instead")
    run = runs.load_run(config_path)
    if run.algo != "sql":
        raise ValueError(f"{flag} is a {run.algo} run: its Q-function is not energy-based (its "
                         "policy is a deterministic mu(s), not exp(Q / alpha)), so it does not "
                         "compose; give soft Q-learning (sql) runs")
    step = runs.steps_done(run_dir)
    if not runs.is_finished(run_dir) or not step:
        raise ValueError(f"{flag} is not a finished run: it has no exported policy/ at its "
                         "total or no checkpoint (resume it to the end first)")
    with runs.make_env(run.env_id, run.env_kwargs) as env:
        spec = EnvSpec.from_env(env)
    return Constituent(run_dir, run, spec, step)


def check_constituents(run_dirs):
    """The constituents in ``run_dirs``, checked to compose: two or more distinct finished SQL
    runs with the same spaces, alpha and discount. That their envs share dynamics (and differ
    only in reward) is the caller's to know: env ids cannot tell.

    Raises:
      ValueError: one line naming the run and what differs.
    """
    run_dirs = [os.path.normpath(d) for d in run_dirs]
    if len(run_dirs) < 2:
        raise ValueError(f"--runs={','.join(run_dirs)!r} is invalid: give two or more finished "
                         "soft Q-learning runs, comma-separated")
    repeated = sorted({d for d in run_dirs if run_dirs.count(d) > 1})
    if repeated:
        raise ValueError(f"--runs repeats {', '.join(repeated)}: give each run once")
    parts = [constituent(d) for d in run_dirs]
    first = parts[0]
    for other in parts[1:]:
        there = f"--runs: {other.logdir!r} has"
        here = f"{first.logdir!r}"
        if other.spec != first.spec:
            raise ValueError(f"{there} {other.spec} ({other.run.env_id}), {here} {first.spec} "
                             f"({first.run.env_id}): composing needs the same spaces")
        if abs(alpha_of(other.run) - alpha_of(first.run)) > 1e-9 * alpha_of(first.run):
            raise ValueError(f"{there} alpha {alpha_of(other.run):g}, {here} "
                             f"{alpha_of(first.run):g} (1 / reward_scale): the composed policy "
                             "exp(sum_i w_i Q_i / alpha) needs one alpha")
        if other.run.learner_config.discount != first.run.learner_config.discount:
            raise ValueError(f"{there} discount {other.run.learner_config.discount}, {here} "
                             f"{first.run.learner_config.discount}: composing needs one discount")
    return parts


@dataclasses.dataclass(frozen=True)
class Composition:
    """A validated composition request.

    Attributes:
      constituents: the :class:`Constituent` runs, in order.
      weights: w_i, one per constituent, summing to one.
      logdir: the composition folder.
      seed: seeds the sampler's initial weights (unless it starts from a constituent's) and its
        generator (states and noise of every update).
      config: the :class:`softq_tf.learners.configs.ComposeConfig`.
      resume: continue from the newest checkpoint in ``logdir``.
    """

    constituents: tuple
    weights: tuple
    logdir: str
    seed: int
    config: ComposeConfig
    resume: bool = False

    @property
    def sampler_source(self):
        """The constituent whose SQL config (and, with ``init_sampler``, sampler) the fit uses:
        the ``init_sampler``-th, else the first."""
        return self.constituents[max(self.config.init_sampler, 1) - 1]

    def to_json(self):
        """config.json: what was composed, how, and the SQL settings the sampler fit used."""
        return dict(kind=KIND, runs=[c.to_json() for c in self.constituents],
                    weights=list(self.weights), seed=self.seed,
                    compose=dataclasses.asdict(self.config),
                    alpha=alpha_of(self.sampler_source.run),
                    learner=dataclasses.asdict(self.sampler_source.run.learner_config))


def _kind(config_path):
    try:
        with open(config_path) as f:
            saved = json.load(f)
    except (OSError, ValueError):
        return None
    return saved.get("kind") if isinstance(saved, dict) else None


def load_composition(logdir):
    """The saved request's JSON (:meth:`Composition.to_json`) in ``logdir``, to resume it.

    Raises:
      ValueError: no config.json, or one that does not describe a composition.
    """
    config_path = os.path.join(logdir, "config.json")
    if not os.path.isfile(config_path):
        raise ValueError(f"--resume: --logdir={logdir!r} holds no composition to continue (no "
                         "config.json); leave out --resume to start one there")
    if _kind(config_path) != KIND:
        raise ValueError(f"--resume: {config_path} does not describe a composition (a training "
                         "run's folder, or damaged)")
    with open(config_path) as f:
        return json.load(f)


def is_finished(logdir):
    """Whether the composition in ``logdir`` did all its updates and exported ``policy/`` and
    ``q_function/`` (its last act)."""
    try:
        saved = load_composition(logdir)
    except (OSError, ValueError):
        return False
    return (runs.steps_done(logdir) == saved.get("compose", {}).get("steps") and all(
        os.path.exists(os.path.join(logdir, name, "saved_model.pb"))
        for name in ("policy", "q_function")))


def check_request(run_dirs=None, weights=None, logdir="runs/compose", seed=None,
                  normalize=False, resume=False, **config):
    """Validates a composition request without side effects and without TensorFlow.

    Args:
      run_dirs: the constituents' run folders (:func:`check_constituents`).
      weights: one weight per run (None: equal), see
        :func:`softq_tf.learners.configs.composition_weights` and ``normalize``.
      logdir: the composition folder: for a new request one without a config.json.
      seed: non-negative (None: 0).
      normalize: divide the weights by their sum instead of requiring that they sum to one.
      resume: continue the composition in ``logdir``: arguments left None (and ``config`` fields
        left out) take its saved values; those given must equal them, and its constituents must
        be unchanged since (the same newest checkpoint), so the result is the uninterrupted one.
      **config: fields of :class:`softq_tf.learners.configs.ComposeConfig`.

    Raises:
      ValueError: one line naming the bad value and what is allowed.
    """
    if os.path.exists(logdir) and not os.path.isdir(logdir):
        raise ValueError(f"--logdir={logdir!r} is a file: give a directory path")
    saved = load_composition(logdir) if resume else None
    if saved:
        run_dirs = run_dirs or [part["run"] for part in saved["runs"]]
        weights = weights or saved["weights"]
        seed = saved["seed"] if seed is None else seed
        config = {**saved["compose"], **config}
    seed = 0 if seed is None else seed
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"--seed={seed!r} is invalid: must be a non-negative integer")
    compose_config = ComposeConfig(**config)
    parts = check_constituents(run_dirs or ())
    if compose_config.init_sampler > len(parts):
        raise ValueError(f"--init_sampler={compose_config.init_sampler} is invalid: give 0 (a "
                         f"fresh sampler) or a run's position in --runs, 1-{len(parts)}")
    request = Composition(tuple(parts), composition_weights(weights, len(parts), normalize),
                          logdir, seed, compose_config, resume)
    if not resume:
        if os.path.exists(os.path.join(logdir, "config.json")):
            raise ValueError(f"--logdir={logdir!r} already holds a run or composition: pass "
                             "--resume to continue it or choose another directory")
        return request
    there, here = _flat(saved), _flat(json.loads(json.dumps(request.to_json())))
    differences = [f"{key} is {json.dumps(there.get(key))} there, {json.dumps(here.get(key))} "
                   "here" for key in sorted(set(there) | set(here))
                   if there.get(key) != here.get(key)]
    if differences:
        raise ValueError(f"--resume continues the composition in {logdir} with its own "
                         f"settings: {'; '.join(differences)}; give the same flags or another "
                         "--logdir (a constituent trained further since has another "
                         "checkpoint_step)")
    return request


def _flat(saved):
    """A saved request's settings as {name: value}, nested ones as ``compose.steps``,
    ``runs.1.checkpoint_step`` (constituents numbered from 1)."""
    flat = {}
    for key, value in saved.items():
        items = (value.items() if isinstance(value, dict) else
                 ((f"{i + 1}.{k}", v) for i, part in enumerate(value) for k, v in part.items())
                 if key == "runs" else None)
        if items is None:
            flat[key] = value
        else:
            flat.update((f"{key}.{k}", v) for k, v in items)
    return flat
