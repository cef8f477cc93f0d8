"""The trials of a sweep, whatever engine runs them: the grid (:func:`make_grid`), the checks made
before anything starts (:func:`check_trials`, :func:`resources_for`), whether a trial is done
(:func:`is_done`), its progress and the summary table (:func:`write_summary`).

The engines (:mod:`softq_tf.running.sweep_local`, :mod:`softq_tf.running.sweep_ray`) build on this
module and nothing here imports them. No TensorFlow: bad input fails within about a second.
"""
import csv
import dataclasses
import functools
import json
import math
import os

from softq_tf.learners.specs import EnvSpec
from softq_tf.running import runs
from softq_tf.training.files import write_atomic
from softq_tf.training.progress import read_progress

SUMMARY_COLUMNS = ("algo", "env", "seed", "overrides", "status", "steps", "final_return",
                   "wall_sec", "error", "logdir")


@dataclasses.dataclass(frozen=True)
class Trial:
    """One training run of a sweep: the arguments of ``python -m softq_tf.train``.

    Attributes:
      algo: a key of :data:`softq_tf.running.runs.CONFIGS`.
      env_id: a Gymnasium env id.
      seed: non-negative random seed.
      total_steps: environment steps to train for.
      logdir: the run folder.
      overrides: ``"key=value"`` strings as for ``--override`` (a later one wins).
      env_kwargs: sorted ``(key, value)`` pairs of the env's constructor arguments.
      init_from: a finished run's folder to start from (fine-tuning; ``--init_from``), or "".
    """

    algo: str
    env_id: str
    seed: int
    total_steps: int
    logdir: str
    overrides: tuple = ()
    env_kwargs: tuple = ()
    init_from: str = ""


@dataclasses.dataclass
class TrialResult:
    """What became of a trial in a sweep (either engine).

    Attributes:
      trial: the trial.
      status: ``"reused"`` (finished before the sweep; nothing ran), ``"finished"`` or ``"failed"``
        (also when it was stopped by a signal: see ``error``).
      steps: the last step in its ``progress.csv`` (0 when it has none).
      final_return: the last non-empty ``episode_return`` of ``progress.csv`` (nan if none).
      wall_sec: wall-clock seconds of its process in this sweep (0 when reused).
      error: ``""``, or why it failed: its last ``error:`` line (without the prefix, e.g.
        ``stopped by SIGTERM at step 1200; checkpoint written, continue with --resume``), else its
        exit status and the last line of its output.
    """

    trial: Trial
    status: str
    steps: int
    final_return: float
    wall_sec: float
    error: str


def trial_dir(out_dir, algo, env_id, seed, variant=""):
    """The run folder ``out_dir/runs/<algo>/<env id without 'softq_tf/'>/seed<k>``, with
    ``<algo>-<variant>`` instead of ``<algo>`` for a named variant (e.g. ``sql-alpha0.1``)."""
    label = f"{algo}-{variant}" if variant else algo
    return os.path.join(out_dir, "runs", label, env_id.removeprefix("softq_tf/"), f"seed{seed}")


is_finished = runs.is_finished  # whether a run folder holds a finished run


def is_done(trial):
    """Whether ``trial``'s folder holds a finished run of the trial's length: one finished at
    fewer steps is continued to them (``--resume --total_steps``), not reused."""
    return (is_finished(trial.logdir) and runs.load_run(
        os.path.join(trial.logdir, "config.json")).loop_config.total_steps == trial.total_steps)


@functools.cache
def _check_env(env_id, env_kwargs_json):
    """Builds the env once (cached per id and arguments) to reject unknown ids, bad constructor
    arguments and unsupported spaces before anything starts."""
    if not isinstance(env_id, str) or not env_id:
        raise ValueError(f"env id {env_id!r} is invalid: give a Gymnasium env id such as "
                         "softq_tf/MultiGoal-v0")
    env = runs.make_env(env_id, json.loads(env_kwargs_json))
    try:
        EnvSpec.from_env(env)
    finally:
        env.close()


def _check_seed(seed):
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed {seed!r} is invalid: seeds must be non-negative integers, "
                         "e.g. 0,1,2")


def _check_unique(name, values, example):
    if isinstance(values, str):
        raise TypeError(f"{name} is the string {values!r}: give a list, e.g. {example.split(',')}")
    values = tuple(values)
    if not values:
        raise ValueError(f"{name} is empty: give one or more, e.g. {example}")
    repeated = sorted({repr(v) for v in values if values.count(v) > 1})
    if repeated:
        raise ValueError(f"{name} {list(values)} repeat {', '.join(repeated)}: give each once")
    return values


def make_grid(out_dir, algos, env_ids, seeds, total_steps, overrides=(), algo_overrides=None,
              env_kwargs=None, variant=""):
    """Every (algorithm, env, seed) trial, in that nesting order, with its folder in ``out_dir``.

    Args:
      out_dir: root of the run folders (see :func:`trial_dir`).
      algos: algorithm names (keys of :data:`softq_tf.running.runs.CONFIGS`).
      env_ids: Gymnasium env ids.
      seeds: non-negative integer seeds.
      total_steps: environment steps per trial.
      overrides: ``"key=value"`` strings for every trial.
      algo_overrides: {algo: ("key=value", ...)} appended after ``overrides`` for that algorithm's
        trials (algorithms not in ``algos`` are ignored).
      env_kwargs: {env id: dict of constructor arguments} for envs of ``env_ids``.
      variant: a name that sets these trials' folders apart from other settings of the same
        algorithms (:func:`trial_dir`), e.g. ``alpha10``.

    Returns:
      a list of :class:`Trial`.

    Raises:
      ValueError: one line naming the bad value and what is allowed: an unknown algorithm or env,
        empty or repeated algos, envs or seeds, a negative or non-integer seed, bad overrides or
        constructor arguments.
      TypeError: ``algos``, ``env_ids`` or ``seeds`` given as one string, or an ``env_kwargs``
        entry that is not a dict.
    """
    algos = _check_unique("algos", algos, "sql,ddpg")
    env_ids = _check_unique("envs", env_ids, "softq_tf/MultiGoal-v0")
    seeds = _check_unique("seeds", seeds, "0,1,2")
    algo_overrides = dict(algo_overrides or {})
    env_kwargs = dict(env_kwargs or {})
    for algo in list(algos) + list(algo_overrides):
        if algo not in runs.CONFIGS:
            raise ValueError(f"algo {algo!r} is unknown: allowed are {', '.join(runs.CONFIGS)}")
    for seed in seeds:
        _check_seed(seed)
    for env_id, kwargs in env_kwargs.items():
        if env_id not in env_ids:
            raise ValueError(f"env_kwargs names env {env_id!r}, which is not in the grid: "
                             f"allowed are {', '.join(env_ids)}")
        if not isinstance(kwargs, dict):
            raise TypeError(f"env_kwargs for {env_id} is {kwargs!r}: give a dict of the env's "
                             "constructor arguments")
    per_algo = {algo: tuple(overrides) + tuple(algo_overrides.get(algo, ())) for algo in algos}
    for algo, items in per_algo.items():
        runs.build_configs(algo, total_steps, items)
    for env_id in env_ids:
        _check_env(env_id, json.dumps(env_kwargs.get(env_id, {}), sort_keys=True))
    return [Trial(algo, env_id, seed, total_steps,
                  trial_dir(str(out_dir), algo, env_id, seed, variant),
                  per_algo[algo], tuple(sorted(env_kwargs.get(env_id, {}).items())))
            for algo in algos for env_id in env_ids for seed in seeds]


def check_trials(trials):
    """Validates trials without side effects, before a sweep starts any of them.

    Each trial's algorithm, overrides, seed and env must be valid, folders must differ, and a folder
    already holding a run (a ``config.json``) must hold one made with the very same settings, so a
    resumed or reused run is the one asked for; but for its total: a run that has done no more
    steps than the trial asks for is continued to the trial's total.

    Raises:
      ValueError: one line; for a folder with other settings, naming every differing setting.
    """
    logdirs = [t.logdir for t in trials]
    _check_unique("trial folders", logdirs, "one per (algo, env, seed)")
    for trial in trials:
        _check_seed(trial.seed)
        learner_config, loop_config = runs.build_configs(trial.algo, trial.total_steps,
                                                         trial.overrides)
        _check_env(trial.env_id, json.dumps(dict(trial.env_kwargs), sort_keys=True))
        if os.path.exists(trial.logdir) and not os.path.isdir(trial.logdir):
            raise ValueError(f"{trial.logdir} is a file: a trial's folder must be a directory")
        if trial.init_from and not is_finished(trial.init_from):
            raise ValueError(f"{trial.logdir} starts from {trial.init_from}, which is not a "
                             "finished run: run the pretraining first")
        config_path = os.path.join(trial.logdir, "config.json")
        if not os.path.exists(config_path):
            continue
        wanted = runs.Run(trial.env_id, trial.algo, trial.seed, trial.logdir, learner_config,
                          loop_config, False, dict(trial.env_kwargs), trial.init_from)
        differences = runs.setting_differences(runs.load_run(config_path), wanted,
                                               ignore=("total_steps",))
        done = runs.steps_done(trial.logdir)
        if trial.total_steps < done:
            differences.append(f"{done} steps done there, total_steps {trial.total_steps} here")
        if differences:
            raise ValueError(f"{trial.logdir} holds a run made with other settings: "
                             f"{'; '.join(differences)}; pick another out_dir")


def resources_for(pending, parallel=None, threads_per_trial=None, cpus=None):
    """How many trials run at once and how many TensorFlow threads each gets.

    Args:
      pending: number of trials to run.
      parallel: trials at once; None = one per core, at most one per pending trial.
      threads_per_trial: intra- and inter-op threads of each trial; None = the cores divided among
        the trials running at once (at least 1).
      cpus: cores of the machine (default ``os.cpu_count()``).

    Returns:
      ``(parallel, threads_per_trial)``.

    Raises:
      ValueError: ``parallel`` or ``threads_per_trial`` given and below 1.
    """
    cpus = cpus or len(os.sched_getaffinity(0)) or 1  # the cores this process may run on
    for name, value in (("parallel", parallel), ("threads_per_trial", threads_per_trial)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or value < 1):
            raise ValueError(f"{name}={value!r} is invalid: give an integer >= 1, or None for "
                             "the default (the machine's cores shared among the trials)")
    if parallel is None:
        parallel = max(1, min(pending, cpus))
    if threads_per_trial is None:
        threads_per_trial = max(1, cpus // max(1, min(parallel, pending)))
    return parallel, threads_per_trial


def progress_of(logdir):
    """(last step, last non-empty episode return) of the run's progress.csv; (0, nan) without one.

    A row being appended while we read parses as incomplete, so it counts as not there yet.
    """
    try:
        progress = read_progress(logdir)
    except (OSError, ValueError, TypeError):
        return 0, math.nan
    steps = progress.get("step", [])
    returns = [r for r in progress.get("episode_return", []) if not math.isnan(r)]
    return (int(steps[-1]) if steps else 0), (returns[-1] if returns else math.nan)


def result_of(trial, status, wall_sec=0.0, error=""):
    steps, final_return = progress_of(trial.logdir)
    return TrialResult(trial, status, steps, final_return, wall_sec, error)


def _summary_rows_of_other_runs(path, logdirs):
    """The rows of an existing summary at ``path`` whose run folder is not in ``logdirs``."""
    try:
        with open(path, newline="") as f:
            reader = csv.reader(f)
            if tuple(next(reader, ())) != SUMMARY_COLUMNS:
                return []  # not a summary of this format: replaced, not merged
            return [row for row in reader if row and row[-1] not in logdirs]
    except FileNotFoundError:
        return []


def write_summary(results, path):
    """Writes one CSV row per trial result to ``path`` (atomically: :func:`write_atomic`).

    Rows an earlier sweep wrote to the same file for other run folders are kept (first, in their
    order), so sweeps sharing an output folder, such as Figures 5 and 7, add up to one table; a run
    folder in ``results`` gets its new row.
    """
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    kept = _summary_rows_of_other_runs(path, {r.trial.logdir for r in results})

    def write(f):
        writer = csv.writer(f)
        writer.writerow(SUMMARY_COLUMNS)
        writer.writerows(kept)
        for r in results:
            writer.writerow([r.trial.algo, r.trial.env_id, r.trial.seed,
                             " ".join(r.trial.overrides), r.status, r.steps, r.final_return,
                             round(r.wall_sec, 1), r.error, r.trial.logdir])

    write_atomic(path, write)
