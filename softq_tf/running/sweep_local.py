r"""The local engine of a sweep: every trial a ``python -m softq_tf.train`` process on this machine.

Each process writes into its trial's folder ``<out_dir>/runs/<algo>/<env>/seed<k>/`` (its output
appended to ``train.log`` there), so a crashing trial cannot take the others down. Trials run
``parallel`` at a time, each with a thread pool of its share of the cores: two trials with
TensorFlow's default pools (one thread per core each) on two cores were seen to run 50x slower
than one. A finished trial (one with ``policy/``) is reused, an interrupted one (``config.json``
but no ``policy/``) resumes from its newest checkpoint, one finished at fewer steps than
``total_steps`` is continued to them (the same settings otherwise: ``python -m softq_tf.train
--resume --total_steps``), and a failed one is reported with its error while the others go on. A
trial stopped by SIGTERM or SIGINT (exit code 3: it wrote a checkpoint at the step it stopped at)
counts as failed, with the reason ``stopped by SIGTERM at step N; ...``; the next sweep resumes it
from that step. When the sweep itself stops (Ctrl-C, or SIGTERM e.g. from a scheduler), it sends
SIGTERM to the trials still running, which stop the same way.

Trials never outlive their sweep, however it dies (``kill -9`` too): each trial process is started
with ``SOFTQ_TF_STOP_WITH_PARENT=<the sweep's pid>``, for which it asks Linux, first thing, for
SIGTERM when its parent dies (``prctl(PR_SET_PDEATHSIG)``; it exits at once when the sweep died
before that: :func:`softq_tf.running.cli.stop_with_parent`). So it writes a checkpoint and exits 3,
and rerunning the sweep resumes it. A trial whose folder a live process holds when its turn comes
(its ``.lock``: a trial of another sweep sharing the folder, a ``train --resume`` by hand, a trial
still writing its last checkpoint) is not started and not failed: the sweep logs the holder's pid
and waits until the folder is released, then resumes the trial (or reuses it, if the holder
finished it); waiting takes no slot of ``parallel``.
"""
import collections
import dataclasses
import json
import os
import shlex
import signal
import subprocess
import sys
import threading
import time

from absl import logging

from softq_tf.running.cli import PARENT_ENV_VAR
from softq_tf.running.trials import (check_trials, is_done, progress_of, resources_for,
                                     result_of, write_summary)
from softq_tf.training.files import run_folder_holder

_POLL_SEC = 0.25  # how often finished processes are noticed; polling costs nothing measurable
# Time the trials get to write their checkpoint and exit after SIGTERM before they are killed: a
# replay pool of 1e6 transitions is hundreds of megabytes to write.
_STOP_GRACE_SEC = 60.0


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
               TF_NUM_INTEROP_THREADS=str(threads), **{PARENT_ENV_VAR: str(os.getpid())})
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


def eta_sec(remaining, measured, parallel):
    """Seconds until a sweep is done: each unfinished trial's remaining steps at the steps/s that
    trials of its algorithm and env ran at in this sweep (at the rate of all trials together for
    a kind none has run yet), spread over ``parallel`` slots. Trials of one sweep can differ
    several-fold in speed (DDPG against SQL, a swimmer against a quadruped), so one aggregate
    rate would be off by as much.

    Args:
      remaining: (kind, steps left) per unfinished trial; a kind is any hashable, e.g.
        (algo, env id).
      measured: (kind, steps gained, seconds run) per trial that ran in this sweep.
      parallel: trials run at once.

    Returns:
      the estimate in seconds; None before any step was measured.
    """
    gained, seconds = collections.Counter(), collections.Counter()
    for kind, steps, sec in measured:
        gained[kind] += steps
        seconds[kind] += sec
    if sum(gained.values()) <= 0:
        return None
    overall = sum(gained.values()) / sum(seconds.values())
    rates = {kind: gained[kind] / seconds[kind] for kind in gained if gained[kind] > 0}
    return sum(steps / rates.get(kind, overall) for kind, steps in remaining) / parallel


def _report(trials, results, running, pending, waiting, steps_at_start, start, parallel):
    """Logs one line for the whole sweep: trials by state, steps, aggregate steps/s and the ETA
    of :func:`eta_sec`.

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
    now = time.monotonic()
    rate = ran / max(now - start, 1e-9)
    kind = {i: (t.algo, t.env_id) for i, t in enumerate(trials)}
    measured = [(kind[i], steps[i] - at_start,
                 now - running[i].start if i in running else results[i].wall_sec)
                for i, at_start in steps_at_start.items()
                if i in running or (i in results and results[i].status != "reused")]
    remaining = [(kind[i], t.total_steps - steps[i]) for i, t in enumerate(trials)
                 if i not in results]
    eta = eta_sec(remaining, measured, parallel)
    failed = sum(r.status == "failed" for r in results.values())
    held = f" ({len(waiting)} waiting for their folder)" if waiting else ""
    logging.info("sweep: %d done, %d running, %d failed, %d pending%s of %d trials | %d/%d steps "
                 "(%.0f%%) | %.1f steps/s | eta %s", len(results) - failed, len(running), failed,
                 len(pending), held, len(trials), done, total, 100.0 * done / max(total, 1), rate,
                 "unknown" if eta is None else f"{eta / 60:.1f} min")


def _next_free(pending, trials, waiting):
    """Takes out of ``pending`` and returns the first trial (index) whose folder no live process
    holds (None if there is none). Those held stay pending, in ``waiting`` (index -> the holder's
    pid), with a log line naming the holder when it is new."""
    for i in list(pending):
        holder = run_folder_holder(trials[i].logdir)
        if holder is None:
            if waiting.pop(i, None):
                logging.info("sweep: %s was released; starting its trial", trials[i].logdir)
            pending.remove(i)
            return i
        if waiting.get(i) != holder:
            logging.warning("sweep: %s is in use by process %s (a trial of an earlier sweep, or "
                            "another run); waiting for it to end, then resuming", trials[i].logdir,
                            holder)
            waiting[i] = holder
    return None


def run_sweep(trials, parallel=None, threads_per_trial=None, summary_path=None,
              report_every_sec=30.0):
    """Runs every trial not finished yet, ``parallel`` processes at a time; see the module doc.

    Everything is validated (:func:`check_trials`, :func:`resources_for`) before anything starts.
    A failing trial does not stop the others and does not raise: it is in the results as failed.
    A trial whose folder another live process holds waits for it (see the module doc).

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
    results = {i: result_of(trials[i], "reused") for i, done in enumerate(finished) if done}
    steps_at_start = {i: progress_of(trials[i].logdir)[0] for i in pending}
    if pending:
        logging.info("sweep: %d to run, %d reused; %d at a time, threads per trial: %d",
                     len(pending), len(results), parallel, threads)
    running, waiting = {}, {}
    start = time.monotonic()
    next_report = start + report_every_sec
    previous_handler = _sigterm_as_interrupt()
    try:
        while pending or running:
            while len(running) < parallel:
                i = _next_free(pending, trials, waiting)
                if i is None:
                    break
                steps_at_start[i] = progress_of(trials[i].logdir)[0]  # its holder may have trained
                if is_done(trials[i]):  # finished meanwhile by the process that held its folder
                    results[i] = result_of(trials[i], "reused")
                else:
                    running[i] = _launch(trials[i], threads)
            for i, process in list(running.items()):
                returncode = process.popen.poll()
                if returncode is None:
                    continue
                del running[i]
                wall_sec = time.monotonic() - process.start
                if returncode == 2 and run_folder_holder(trials[i].logdir):
                    pending.appendleft(i)  # another process took the folder just before it
                elif returncode == 0 and is_done(trials[i]):
                    results[i] = result_of(trials[i], "finished", wall_sec)
                else:
                    results[i] = result_of(trials[i], "failed", wall_sec, _failure_reason(
                        process.log_path, process.offset, returncode))
                    logging.warning("sweep: %s failed: %s", trials[i].logdir, results[i].error)
            if time.monotonic() >= next_report:
                _report(trials, results, running, pending, waiting, steps_at_start, start, parallel)
                next_report = time.monotonic() + report_every_sec
            if pending or running:
                time.sleep(_POLL_SEC)
    finally:
        _stop(running.values())
        if previous_handler is not None:
            signal.signal(signal.SIGTERM, previous_handler)
    if steps_at_start:
        _report(trials, results, running, pending, waiting, steps_at_start, start, parallel)
    ordered = [results[i] for i in range(len(trials))]
    if summary_path:
        write_summary(ordered, summary_path)
    return ordered
