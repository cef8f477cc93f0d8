r"""Many training trials (algorithm x env x seed) on one machine, each in its own process.

    python -m softq_tf.sweep --algos=sql,ddpg --envs=softq_tf/MultiGoal-v0 --seeds=0,1,2 \
        --total_steps=15000 --out_dir=runs/sweep [--override=reward_scale=0.1 ...]

Every trial is a ``python -m softq_tf.train`` process writing into
``<out_dir>/runs/<algo>/<env>/seed<k>/`` (its output appended to ``train.log`` there), so a crashing
trial cannot take the others down. Trials run ``parallel`` at a time, each with a thread pool of
its share of the cores: two trials with TensorFlow's default pools (one thread per core each) on
two cores were seen to run 50x slower than one. A finished trial (one with ``policy/``) is reused,
an interrupted one (``config.json`` but no ``policy/``) resumes from its newest checkpoint, one
finished at fewer steps than ``total_steps`` is continued to them (the same settings otherwise:
``python -m softq_tf.train --resume --total_steps``), and a failed one is reported with its error while the others go on. A trial stopped by SIGTERM or SIGINT
(exit code 3: it wrote a checkpoint at the step it stopped at) counts as failed, with the reason
``stopped by SIGTERM at step N; ...``; the next sweep resumes it from that step. When the sweep
itself stops (Ctrl-C, or SIGTERM e.g. from a scheduler), it sends SIGTERM to the trials still
running, which stop the same way.
``<out_dir>/sweep_summary.csv`` gets one row per trial (rows of earlier sweeps' other runs stay).

Exit codes of the CLI: 0 every trial finished or was reused, 1 some trial failed (one line per
failed trial naming its folder and error), 2 bad input (one ``error:`` line; nothing started). The
sweep never imports TensorFlow (its trials do), so bad input fails within about a second.
"""
import collections
import csv
import dataclasses
import functools
import json
import math
import os
import shlex
import signal
import subprocess
import sys
import threading
import time

from absl import app, flags, logging

from softq_tf import cli, runs
from softq_tf.files import write_atomic
from softq_tf.progress import read_progress
from softq_tf.specs import EnvSpec

SUMMARY_COLUMNS = ("algo", "env", "seed", "overrides", "status", "steps", "final_return",
                   "wall_sec", "error", "logdir")
ENGINES = ("local", "ray")
GRID_KEYS = ("algos", "envs", "seeds", "total_steps", "overrides", "algo_overrides", "env_kwargs")
_POLL_SEC = 0.25  # how often finished processes are noticed; polling costs nothing measurable
# Time the trials get to write their checkpoint and exit after SIGTERM before they are killed: a
# replay pool of 1e6 transitions is hundreds of megabytes to write.
_STOP_GRACE_SEC = 60.0


@dataclasses.dataclass(frozen=True)
class Trial:
    """One training run of a sweep: the arguments of ``python -m softq_tf.train``.

    Attributes:
      algo: a key of :data:`softq_tf.runs.CONFIGS`.
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
    """What became of a trial in :func:`run_sweep`.

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
      algos: algorithm names (keys of :data:`softq_tf.runs.CONFIGS`).
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


def _failure_reason(log_path, offset, returncode):
    """The last ``error:`` line the process wrote after ``offset``, else its exit status and last
    line (a killed process writes no error line)."""
    try:
        with open(log_path, "rb") as f:
            f.seek(offset)
            lines = [line.strip() for line in f.read().decode("utf-8", "replace").splitlines()]
    except OSError:
        lines = []
    lines = [line for line in lines if line]
    errors = [line for line in lines if line.startswith("error:")]
    if errors:
        return errors[-1].removeprefix("error:").strip()
    if returncode < 0:
        status = f"killed by {signal.Signals(-returncode).name}"
    elif returncode:
        status = f"exit code {returncode}"
    else:
        status = "exit code 0 without an exported policy/"
    return f"{status}; last output: {lines[-1]}" if lines else status


@dataclasses.dataclass
class _Process:
    """A running trial: its process, where this attempt's output starts, when it started."""

    popen: subprocess.Popen
    log_path: str
    offset: int
    start: float


def _command(trial, threads, resume):
    return ([sys.executable, "-m", "softq_tf.train", f"--env={trial.env_id}",
             f"--algo={trial.algo}", f"--total_steps={trial.total_steps}", f"--seed={trial.seed}",
             f"--logdir={trial.logdir}"]
            + [f"--override={item}" for item in trial.overrides]
            + [f"--env_kwargs={json.dumps(dict(trial.env_kwargs))}", f"--threads={threads}"]
            + ([f"--init_from={trial.init_from}"] if trial.init_from else [])
            + (["--resume"] if resume else []))


def _launch(trial, threads):
    """Starts the trial's training process, its output appended to ``<logdir>/train.log``."""
    os.makedirs(trial.logdir, exist_ok=True)
    command = _command(trial, threads, os.path.exists(os.path.join(trial.logdir, "config.json")))
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), TF_NUM_INTRAOP_THREADS=str(threads),
               TF_NUM_INTEROP_THREADS=str(threads))
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    log_path = os.path.join(trial.logdir, "train.log")
    with open(log_path, "ab") as log:
        log.write(f"--- softq_tf.sweep {time.strftime('%Y-%m-%d %H:%M:%S')}: "
                  f"{shlex.join(command)}\n".encode())
        log.flush()
        offset = log.tell()
        popen = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log,
                                 stderr=subprocess.STDOUT, env=env)
    logging.info("sweep: started %s on %s seed %d%s (log: %s)", trial.algo, trial.env_id,
                 trial.seed, " (resuming)" if "--resume" in command else "", log_path)
    return _Process(popen, log_path, offset, time.monotonic())


def _stop(processes):
    """Ends the trials still running when the sweep itself stops (e.g. Ctrl-C): SIGTERM to all
    (each writes a checkpoint and exits), then SIGKILL to those still running after
    ``_STOP_GRACE_SEC``. Either way they stay resumable."""
    running = [process.popen for process in processes if process.popen.poll() is None]
    for popen in running:
        popen.terminate()
    deadline = time.monotonic() + _STOP_GRACE_SEC
    for popen in running:
        try:
            popen.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            popen.kill()
            popen.wait()


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt(f"{signal.Signals(signum).name} received")


def _sigterm_as_interrupt():
    """Makes SIGTERM stop the sweep as Ctrl-C does (its trials get SIGTERM and write checkpoints)
    instead of killing it and orphaning them, e.g. when a scheduler preempts the job. Returns the
    previous handler (None off the main thread, where no handler can be set)."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, _raise_interrupt)


def _result(trial, status, wall_sec=0.0, error=""):
    steps, final_return = progress_of(trial.logdir)
    return TrialResult(trial, status, steps, final_return, wall_sec, error)


def _report(trials, results, running, pending, steps_at_start, start):
    """Logs one line for the whole sweep: trials by state, steps, aggregate steps/s and ETA.

    Arguments are keyed by the trial's index in ``trials``.
    """
    steps = {}
    for i in range(len(trials)):
        if i in results:
            steps[i] = results[i].steps
        elif i in running:
            steps[i] = progress_of(trials[i].logdir)[0]
        else:
            steps[i] = steps_at_start.get(i, 0)
    done = sum(steps.values())
    total = sum(t.total_steps for t in trials)
    # Only the trials this sweep runs count towards its rate (reused ones add no steps now).
    ran = sum(steps[i] - at_start for i, at_start in steps_at_start.items())
    rate = ran / max(time.monotonic() - start, 1e-9)
    failed = sum(r.status == "failed" for r in results.values())
    eta = f"{(total - done) / rate / 60:.1f} min" if rate > 0 else "unknown"
    logging.info("sweep: %d done, %d running, %d failed, %d pending of %d trials | %d/%d steps "
                 "(%.0f%%) | %.1f steps/s | eta %s", len(results) - failed, len(running), failed,
                 len(pending), len(trials), done, total, 100.0 * done / max(total, 1), rate, eta)


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


def run_with_engine(engine, trials, out_dir, parallel=None, threads_per_trial=None,
                    ray_address="", summary_path=None):
    """Runs ``trials`` with ``engine``: ``"local"`` (:func:`run_sweep`) or ``"ray"``
    (:func:`softq_tf.sweep_ray.run_sweep_ray`, Tune's experiment under ``<out_dir>/tune``, one CPU
    per trial unless ``threads_per_trial``; ``parallel`` is then Ray's to decide). Writes the
    summary table to ``summary_path`` either way.

    Raises:
      ValueError: bad input, e.g. an unknown engine or ``--engine=ray`` without Ray installed.
    """
    if engine not in ENGINES:
        raise ValueError(f"--engine={engine!r} is invalid: allowed are {', '.join(ENGINES)}")
    if engine == "local":
        return run_sweep(trials, parallel, threads_per_trial, summary_path)
    from softq_tf import sweep_ray
    results = sweep_ray.run_sweep_ray(trials, os.path.join(out_dir, "tune"),
                                      threads_per_trial or 1, ray_address or None)
    if summary_path:
        write_summary(results, summary_path)
    return results


def run_sweep(trials, parallel=None, threads_per_trial=None, summary_path=None,
              report_every_sec=30.0):
    """Runs every trial not finished yet, ``parallel`` processes at a time; see the module doc.

    Everything is validated (:func:`check_trials`, :func:`resources_for`) before anything starts.
    A failing trial does not stop the others and does not raise: it is in the results as failed.

    Args:
      trials: :class:`Trial` list (e.g. from :func:`make_grid`).
      parallel: trials at once (default: one per core, at most one per pending trial).
      threads_per_trial: TensorFlow threads per trial (default: the cores shared among them).
      summary_path: CSV file for the summary table (None: not written).
      report_every_sec: seconds between the sweep's progress lines (absl INFO).

    Returns:
      a :class:`TrialResult` per trial, in the order of ``trials``.

    Raises:
      ValueError: bad input (see :func:`check_trials` and :func:`resources_for`).
    """
    trials = list(trials)
    check_trials(trials)
    # Trials are tracked by index: env_kwargs may hold lists, which make a Trial unhashable.
    finished = [is_done(t) for t in trials]
    pending = collections.deque(i for i, done in enumerate(finished) if not done)
    parallel, threads = resources_for(len(pending), parallel, threads_per_trial)
    results = {i: _result(trials[i], "reused") for i, done in enumerate(finished) if done}
    steps_at_start = {i: progress_of(trials[i].logdir)[0] for i in pending}
    if pending:
        logging.info("sweep: %d to run, %d reused; %d at a time, threads per trial: %d",
                     len(pending), len(results), parallel, threads)
    running = {}
    start = time.monotonic()
    next_report = start + report_every_sec
    previous_handler = _sigterm_as_interrupt()
    try:
        while pending or running:
            while pending and len(running) < parallel:
                i = pending.popleft()
                running[i] = _launch(trials[i], threads)
            for i, process in list(running.items()):
                returncode = process.popen.poll()
                if returncode is None:
                    continue
                del running[i]
                wall_sec = time.monotonic() - process.start
                if returncode == 0 and is_done(trials[i]):
                    results[i] = _result(trials[i], "finished", wall_sec)
                else:
                    results[i] = _result(trials[i], "failed", wall_sec, _failure_reason(
                        process.log_path, process.offset, returncode))
                    logging.warning("sweep: %s failed: %s", trials[i].logdir, results[i].error)
            if time.monotonic() >= next_report:
                _report(trials, results, running, pending, steps_at_start, start)
                next_report = time.monotonic() + report_every_sec
            if pending or running:
                time.sleep(_POLL_SEC)
    finally:
        _stop(running.values())
        if previous_handler is not None:
            signal.signal(signal.SIGTERM, previous_handler)
    if steps_at_start:
        _report(trials, results, running, pending, steps_at_start, start)
    ordered = [results[i] for i in range(len(trials))]
    if summary_path:
        write_summary(ordered, summary_path)
    return ordered


# --- command line -------------------------------------------------------------------------------

FLAGS = flags.FLAGS


def _define_flags():
    """The CLI's flags, defined only when it runs: the figure scripts import this module and
    define flags of the same names (--seeds, --out_dir, --engine)."""
    flags.DEFINE_list("algos", ["sql"], "Algorithms, comma-separated: sql, ddpg.")
    flags.DEFINE_list("envs", ["softq_tf/MultiGoal-v0"], "Gymnasium env ids, comma-separated.")
    flags.DEFINE_list("seeds", ["0", "1", "2"], "Non-negative integer seeds, comma-separated.")
    flags.DEFINE_integer("total_steps", 100_000, "Environment steps per trial.")
    flags.DEFINE_multi_string("override", [], "key=value for any field of the algorithm's "
                              "config or of LoopConfig, for every trial (repeatable).")
    flags.DEFINE_string("env_kwargs", "{}", "JSON object {env id: {constructor argument: "
                        "value}}, e.g. '{\"softq_tf/QuadrupedMaze-v1\": "
                        "{\"island_length\": 2.0}}'.")
    flags.DEFINE_string("out_dir", "runs/sweep", "Output folder: runs/<algo>/<env>/seed<k>/ and "
                        "sweep_summary.csv.")
    flags.DEFINE_integer("parallel", 0, "Trials at once; 0 = one per core (at most one per "
                         "trial).")
    flags.DEFINE_integer("threads_per_trial", 0, "TensorFlow threads per trial; 0 = the cores "
                         "divided among the trials running at once.")
    flags.DEFINE_string("grid", None, "JSON file with any of the keys " + ", ".join(GRID_KEYS) +
                        " (overrides: list of key=value; algo_overrides: {algo: [key=value]}); "
                        "flags give the rest. A key may not also be given as a flag.")
    flags.DEFINE_enum("engine", "local", ENGINES, "Where trials run: local (one process per "
                      "trial on this machine) or ray (Ray Tune trials on a local Ray instance or "
                      "the cluster at --ray_address; needs the ray extra).")
    flags.DEFINE_string("ray_address", "", "With --engine=ray: the Ray cluster's address "
                        "(host:port, ray://host:port or auto); empty = start a Ray instance on "
                        "this machine (dashboard off).")


# Grid-file key -> (flag it replaces, type check, what is allowed).
_GRID_TYPES = {
    "algos": ("algos", lambda v: _is_list_of(v, str), "a list of algorithm names"),
    "envs": ("envs", lambda v: _is_list_of(v, str), "a list of env ids"),
    "seeds": ("seeds", lambda v: _is_list_of(v, int), "a list of non-negative integers"),
    "total_steps": ("total_steps", lambda v: isinstance(v, int) and not isinstance(v, bool),
                    "an integer"),
    "overrides": ("override", lambda v: _is_list_of(v, str), "a list of \"key=value\" strings"),
    "algo_overrides": (None, lambda v: isinstance(v, dict) and all(
        _is_list_of(x, str) for x in v.values()), "an object {algo: [\"key=value\", ...]}"),
    "env_kwargs": ("env_kwargs", lambda v: isinstance(v, dict) and all(
        isinstance(x, dict) for x in v.values()), "an object {env id: {argument: value}}"),
}


def _is_list_of(value, kind):
    return isinstance(value, list) and all(
        isinstance(x, kind) and not isinstance(x, bool) for x in value)


def load_grid_file(path):
    """The grid file's settings as a dict with keys among :data:`GRID_KEYS`.

    Raises:
      ValueError: the file is unreadable, not a JSON object, has unknown keys or ill-typed values.
    """
    try:
        with open(path) as f:
            grid = json.load(f)
    except (OSError, ValueError) as e:
        raise ValueError(f"--grid={path!r} cannot be read as JSON ({type(e).__name__}: "
                         f"{str(e).splitlines()[0]}): give a JSON object with any of the keys "
                         f"{', '.join(GRID_KEYS)}") from None
    if not isinstance(grid, dict):
        # Bad file content is bad input (exit 2), not a caller's TypeError.
        raise ValueError(f"--grid={path!r} holds {type(grid).__name__}: give a JSON object with "
                         f"any of the keys {', '.join(GRID_KEYS)}")
    unknown = sorted(set(grid) - set(GRID_KEYS))
    if unknown:
        raise ValueError(f"--grid={path!r} has unknown keys {', '.join(unknown)}: allowed are "
                         f"{', '.join(GRID_KEYS)}")
    for key, value in grid.items():
        if not _GRID_TYPES[key][1](value):
            raise ValueError(f"--grid={path!r}: {key} is {json.dumps(value)}: give "
                             f"{_GRID_TYPES[key][2]}")
    return grid


def _settings_from_flags():
    """The grid's settings: the --grid file's values, the flags for the keys it lacks."""
    grid = load_grid_file(FLAGS.grid) if FLAGS.grid else {}
    for key in grid:
        flag = _GRID_TYPES[key][0]
        if flag and FLAGS[flag].present:
            raise ValueError(f"--{flag} is given and --grid={FLAGS.grid!r} sets {key} too: "
                             "give it in one place")
    if "seeds" not in grid:
        try:
            grid["seeds"] = [int(s) for s in FLAGS.seeds]
        except ValueError:
            raise ValueError(f"--seeds={','.join(FLAGS.seeds)!r} is invalid: give non-negative "
                             "integers separated by commas, e.g. 0,1,2") from None
    if "env_kwargs" not in grid:
        try:
            grid["env_kwargs"] = json.loads(FLAGS.env_kwargs)
        except json.JSONDecodeError:
            grid["env_kwargs"] = None
        if not _GRID_TYPES["env_kwargs"][1](grid["env_kwargs"]):
            raise ValueError(f"--env_kwargs={FLAGS.env_kwargs!r} is invalid: give a JSON object "
                             "{env id: {argument: value}}")
    grid.setdefault("algos", FLAGS.algos)
    grid.setdefault("envs", FLAGS.envs)
    grid.setdefault("total_steps", FLAGS.total_steps)
    grid.setdefault("overrides", FLAGS.override)
    return grid


def print_table(results):
    """Prints the summary table (one line per trial) to stdout."""
    header = ("algo", "env", "seed", "status", "steps", "final_return", "wall_sec")
    rows = [(r.trial.algo, r.trial.env_id, r.trial.seed, r.status, r.steps,
             f"{r.final_return:.4g}", f"{r.wall_sec:.0f}") for r in results]
    widths = [max(len(str(x)) for x in column) for column in zip(header, *rows)]
    for row in (header, *rows):
        print("  ".join(str(x).ljust(w) for x, w in zip(row, widths)).rstrip())


def main(argv):
    if len(argv) > 1:
        cli.fail(2, f"unexpected arguments {argv[1:]}: all options are --flags")
    try:
        grid = _settings_from_flags()
        trials = make_grid(FLAGS.out_dir, grid["algos"], grid["envs"], grid["seeds"],
                           grid["total_steps"], grid["overrides"], grid.get("algo_overrides"),
                           grid["env_kwargs"])
        check_trials(trials)
        for name in ("parallel", "threads_per_trial"):
            if FLAGS[name].value < 0:
                raise ValueError(f"--{name}={FLAGS[name].value} is invalid: give an integer >= 1, "
                                 "or 0 for the default (the cores shared among the trials)")
    except ValueError as e:
        cli.fail(2, e)
    summary_path = os.path.join(FLAGS.out_dir, "sweep_summary.csv")
    try:
        results = run_with_engine(FLAGS.engine, trials, FLAGS.out_dir, FLAGS.parallel or None,
                                  FLAGS.threads_per_trial or None, FLAGS.ray_address, summary_path)
    except ValueError as e:
        cli.fail(2, e)
    except KeyboardInterrupt:
        cli.fail(3, "sweep stopped (Ctrl-C or SIGTERM); the running trials wrote checkpoints: "
                 "rerun the same command to resume them")
    print_table(results)
    print(f"wrote {summary_path}")
    failed = [r for r in results if r.status == "failed"]
    for r in failed:
        print(f"failed: {r.trial.logdir}: {r.error}", file=sys.stderr)
    sys.exit(1 if failed else 0)


def run():
    """Console entry point."""
    _define_flags()
    app.run(main, flags_parser=cli.parse_flags)


if __name__ == "__main__":
    run()
