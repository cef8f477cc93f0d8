"""The Ray Tune engine of :mod:`softq_tf.sweep` (``engine="ray"``): the same trials and run folders
as the local engine, on a Ray cluster.

Each trial is a Tune *function trial* (:func:`run_trial`) that runs the library's own training
(:func:`softq_tf.running.experiment.execute`) in its Ray worker process and writes the run folder
the local engine writes (``<out_dir>/runs/<algo>/<env>/seed<k>/``, with ``train.log``). A
:class:`softq_tf.training.loop.LoopCallback` reports every progress row to Tune (step, return,
the task's episode metrics) and hands Tune the run's own checkpoint each time the loop writes one,
so a trial that Tune restarts (``FailureConfig(max_failures)``), on this node or another, continues
from it instead of from zero: a trial whose node is lost restarts on another node once one has a
free CPU. A restarted trial waits while its folder is held by a live process (its previous attempt
on a lost node, still running), rather than failing again. Rerunning the same sweep restores the
Tune experiment (``Tuner.restore`` with ``resume_errored``) and starts no finished trial again.

Where things are written: the run folders (an absolute path every node sees, e.g. NFS), Tune's
experiment folder ``<storage_path>/<name>/`` (trial results and the checkpoints handed to Tune:
only the newest per trial is kept) and Ray's own session folder (``/tmp/ray/session_*``: logs,
sockets; Ray's default, see ``ray.init(_temp_dir=...)``). A local instance starts with the
dashboard off; set ``RAY_USAGE_STATS_ENABLED=0`` to keep Ray from recording usage statistics in the
session folder (the sweep sets it unless it is set).

Ray is an optional extra (``pip install -e ".[ray]"``, tested with :data:`TESTED_RAY_VERSION`);
this module imports it (and TensorFlow) only inside its functions, and ``import softq_tf`` never
imports it.
"""
import dataclasses
import hashlib
import json
import os
import shutil
import socket
import tempfile
import time

from absl import logging

from softq_tf.running.trials import Trial, TrialResult, check_trials, is_done, progress_of
from softq_tf.training.files import copy_atomic, run_folder_holder

TESTED_RAY_VERSION = "2.60.0"
INSTALL_HINT = f'pip install -e ".[ray]" (or pip install "ray[tune]=={TESTED_RAY_VERSION}")'
_CONNECT_TIMEOUT_SEC = 5.0


def require_ray():
    """Imports Ray Tune; ValueError with the install command when it is missing."""
    try:
        import ray  # noqa: F401
        from ray import tune  # noqa: F401
    except ImportError:
        raise ValueError(f"--engine=ray needs Ray Tune, which is not installed: {INSTALL_HINT}"
                         ) from None


def check_address(address):
    """Checks that a Ray cluster answers at ``address`` (``host:port``, ``ray://host:port`` or
    ``auto``) within a few seconds, so a typo fails fast instead of after Ray's long retries.

    Raises:
      ValueError: one line naming the address and the fix.
    """
    if not address or address == "auto":
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    fix = ("start a head there with `ray start --head`, or leave --ray_address empty for a Ray "
           "instance on this machine")
    if not host or not port.isdigit():
        raise ValueError(f"--ray_address={address!r} is invalid: give host:port (e.g. "
                         f"10.0.0.1:6379), ray://host:port or auto")
    try:
        socket.create_connection((host, int(port)), timeout=_CONNECT_TIMEOUT_SEC).close()
    except OSError as e:
        raise ValueError(f"--ray_address={address!r} cannot be reached ({e.strerror or e}): "
                         f"{fix}") from None


def check_storage(trials, storage_path, address):
    """Trials of a cluster (``address`` given) must write under absolute paths, which mean the
    same on every node; on this machine relative paths are made absolute by the caller.

    Raises:
      ValueError: one line naming the relative path and the fix.
    """
    if not address:
        return
    for path in [storage_path] + [t.logdir for t in trials]:
        if not os.path.isabs(path):
            raise ValueError(f"--out_dir={path!r} is relative: Ray trials run on other nodes, "
                             "so give an absolute path on storage every node sees (e.g. "
                             "--out_dir=/shared/out/fig3)")


def experiment_name(trials):
    """A name that is the same for the same grid, so rerunning a sweep restores its experiment."""
    keys = json.dumps([dataclasses.asdict(t) for t in trials], sort_keys=True, default=list)
    return "sweep-" + hashlib.sha1(keys.encode()).hexdigest()[:12]


def _absolute(trial):
    return dataclasses.replace(trial, logdir=os.path.abspath(trial.logdir), init_from=(
        os.path.abspath(trial.init_from) if trial.init_from else ""))


def _trial_name(tune_trial):
    """Tune's name (and folder) for a trial: its run folder's last three parts, e.g.
    ``sql_SwimmerFinish-v1_seed0``, so Tune's status table and folders say which run is which."""
    return "_".join(tune_trial.config["trial"]["logdir"].split(os.sep)[-3:])


def _trial_from_config(config):
    fields = dict(config["trial"])
    fields["overrides"] = tuple(fields["overrides"])
    fields["env_kwargs"] = tuple(tuple(pair) for pair in fields["env_kwargs"])
    return Trial(**fields)


def _checkpoint_files(checkpoint_dir, step):
    prefix = f"ckpt-{step}."
    return [name for name in os.listdir(checkpoint_dir) if name.startswith(prefix)]


def _restore_from_tune(checkpoint, logdir):
    """Puts the run state Tune kept (:class:`_TuneReporter`) into ``logdir`` unless the folder
    already holds a checkpoint at least as new (a restart on the same node, or shared storage).

    Each file is copied with :func:`softq_tf.training.files.copy_atomic`: ``config.json`` and
    ``progress.csv`` first, then the checkpoint's files with its ``.index`` last, so a crash on the
    way leaves no truncated file and no checkpoint that looks complete but is not (a resume then
    takes the folder's newest complete one and drops the progress rows after it).
    """
    from softq_tf.training.checkpoint import checkpoint_steps
    if checkpoint is None:
        return
    with checkpoint.as_directory() as kept:
        kept_steps = checkpoint_steps(os.path.join(kept, "checkpoints"))
        own_steps = checkpoint_steps(os.path.join(logdir, "checkpoints"))
        if not kept_steps or (own_steps and own_steps[0] >= kept_steps[0]):
            return
        logging.info("restoring %s from Tune's checkpoint at step %d", logdir, kept_steps[0])
        os.makedirs(os.path.join(logdir, "checkpoints"), exist_ok=True)
        names = ["config.json", "progress.csv"] + [
            os.path.join("checkpoints", name) for name in sorted(
                os.listdir(os.path.join(kept, "checkpoints")), key=lambda n: n.endswith(".index"))]
        for name in names:
            copy_atomic(os.path.join(kept, name), os.path.join(logdir, name))


def _wait_for_folder(logdir, poll_sec=1.0):
    """Blocks while another live process holds ``logdir`` (its ``.lock``), with one log line
    naming it: e.g. this trial's previous attempt on a node that Ray lost but that still runs
    (cut off from the cluster, or still being killed) and still trains into the shared folder."""
    holder = run_folder_holder(logdir)
    if holder is None:
        return
    logging.warning("%s is in use by process %s (this trial's previous attempt, still ending?); "
                    "waiting for it to end, then resuming", logdir, holder)
    while run_folder_holder(logdir) is not None:
        time.sleep(poll_sec)
    logging.info("%s was released; resuming", logdir)


def _metrics(row):
    """A progress row as Tune metrics: finite numbers only (empty cells are left out)."""
    return {key: float(value) for key, value in row.items()
            if isinstance(value, (int, float)) and value == value}


def _reporter_class():
    from softq_tf.training.loop import LoopCallback

    class _TuneReporter(LoopCallback):
        """Reports each progress row to Tune, and each checkpoint with the run's state: its
        ``config.json``, ``progress.csv`` and the checkpoint's files, staged as hard links in the
        run folder (Tune copies them into its storage during the report)."""

        def __init__(self, logdir):
            self.logdir = logdir
            self.last = {}

        def on_log(self, step, row):
            from ray import tune
            self.last = _metrics(row)
            tune.report(self.last)

        def on_checkpoint(self, step, checkpoint_dir):
            from ray import tune
            stage = tempfile.mkdtemp(prefix=".tune-", dir=self.logdir)
            try:
                os.makedirs(os.path.join(stage, "checkpoints"))
                for name in ("config.json", "progress.csv"):
                    os.link(os.path.join(self.logdir, name), os.path.join(stage, name))
                for name in _checkpoint_files(checkpoint_dir, step):
                    os.link(os.path.join(checkpoint_dir, name),
                            os.path.join(stage, "checkpoints", name))
                tune.report(dict(self.last, step=float(step)),
                            checkpoint=tune.Checkpoint.from_directory(stage))
            finally:
                shutil.rmtree(stage, ignore_errors=True)

    return _TuneReporter


def run_trial(config, callbacks=()):
    """The Tune function trial: trains ``config["trial"]`` (a :class:`softq_tf.running.trials.Trial`
    as a dict) with ``config["threads"]`` TensorFlow threads, in this process.

    A finished run is reported and left alone; a run folder holding a run resumes it (after taking
    back the state Tune kept, when it is newer); otherwise a new run starts. A folder another live
    process holds is waited for first (:func:`_wait_for_folder`). Progress and checkpoints go to
    Tune as they are written. ``callbacks`` are more
    :class:`softq_tf.training.loop.LoopCallback` objects (tests use them to interrupt a trial).
    """
    from ray import tune
    trial = _trial_from_config(config)
    os.makedirs(trial.logdir, exist_ok=True)
    # The trial's log lines go to train.log in its run folder, as the local engine's do.
    log = logging.logging.FileHandler(os.path.join(trial.logdir, "train.log"))
    log.setFormatter(logging.PythonFormatter())
    logging.get_absl_logger().addHandler(log)
    logging.set_verbosity(logging.INFO)  # absl's default outside app.run is WARNING
    logging.info("--- softq_tf.running.sweep_ray %s: %s (Tune trial %s)",
                 time.strftime("%Y-%m-%d %H:%M:%S"), trial.logdir,
                 tune.get_context().get_trial_name())
    # Ray sizes no thread pool for TensorFlow: the trial's CPUs, before TensorFlow starts here.
    for name in ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
        os.environ[name] = str(config["threads"])
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from softq_tf.running import experiment  # TensorFlow starts here
    experiment.set_up_process(trial.seed, config["threads"])  # as python -m softq_tf.train does
    try:
        _wait_for_folder(trial.logdir)
        if not is_done(trial):
            _restore_from_tune(tune.get_checkpoint(), trial.logdir)
            resume = os.path.exists(os.path.join(trial.logdir, "config.json"))
            run = experiment.prepare(trial.env_id, trial.algo, trial.total_steps, trial.seed,
                                     trial.logdir, trial.overrides, resume,
                                     dict(trial.env_kwargs), trial.init_from)
            experiment.execute(run, callbacks=(_reporter_class()(trial.logdir), *callbacks))
        steps, final_return = progress_of(trial.logdir)
        tune.report({"step": float(steps), "episode_return": final_return, "done": 1.0})
    finally:
        logging.get_absl_logger().removeHandler(log)
        log.close()


def _init_ray(address, num_cpus):
    import ray
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if ray.is_initialized():
        return
    if address:
        ray.init(address=address, log_to_driver=False)
    else:
        ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False)


def run_sweep_ray(trials, storage_path, threads_per_trial=1, address=None, max_failures=2,
                  num_cpus=None, trainable=run_trial):
    """Runs ``trials`` as one Ray Tune experiment; see the module doc.

    Args:
      trials: :class:`softq_tf.running.trials.Trial` list (checked with :func:`check_trials` first).
      storage_path: Tune's storage (absolute with ``address``); the experiment is
        ``<storage_path>/<experiment_name(trials)>``, restored when it exists.
      threads_per_trial: CPUs each trial asks Tune for, and its TensorFlow threads.
      address: a Ray cluster's address; None starts a local instance (``num_cpus`` cores, default
        all), dashboard off.
      max_failures: restarts of a failing trial, each from its newest checkpoint.
      trainable: the function trial (default :func:`run_trial`).

    Returns:
      a :class:`softq_tf.running.trials.TrialResult` per trial, in order.

    Raises:
      ValueError: bad input (Ray missing, unreachable address, relative paths on a cluster, or
        what :func:`check_trials` rejects).
    """
    require_ray()
    check_address(address)
    if not address:  # one machine: Tune runs each trial in a folder of its own, so make paths
        storage_path = os.path.abspath(storage_path)  # absolute
        trials = [_absolute(t) for t in trials]
    trials = list(trials)
    check_storage(trials, storage_path, address)
    check_trials(trials)
    from ray import tune
    reused = [is_done(t) for t in trials]
    _init_ray(address, num_cpus)
    name = experiment_name(trials)
    path = os.path.join(storage_path, name)
    resources = tune.with_resources(trainable, {"cpu": threads_per_trial})
    if tune.Tuner.can_restore(path):
        logging.info("sweep: restoring the Ray Tune experiment %s", path)
        tuner = tune.Tuner.restore(path, trainable=resources, resume_errored=True)
    else:
        tuner = tune.Tuner(
            resources, param_space=dict(
                trial=tune.grid_search([dataclasses.asdict(t) for t in trials]),
                threads=threads_per_trial),
            tune_config=tune.TuneConfig(trial_name_creator=_trial_name,
                                        trial_dirname_creator=_trial_name),
            run_config=tune.RunConfig(
                name=name, storage_path=storage_path, verbose=1,
                failure_config=tune.FailureConfig(max_failures=max_failures),
                checkpoint_config=tune.CheckpointConfig(num_to_keep=1)))
    errors, wall_sec = {}, {}
    for result in tuner.fit():
        logdir = result.config["trial"]["logdir"]
        wall_sec[logdir] = float((result.metrics or {}).get("time_total_s", 0.0))
        if result.error is not None:
            errors[logdir] = str(result.error).strip().splitlines()[-1]
    results = []
    for trial, was_finished in zip(trials, reused):
        steps, final_return = progress_of(trial.logdir)
        if was_finished:
            results.append(TrialResult(trial, "reused", steps, final_return, 0.0, ""))
        elif is_done(trial):
            results.append(TrialResult(trial, "finished", steps, final_return,
                                       wall_sec.get(trial.logdir, 0.0), ""))
        else:
            results.append(TrialResult(trial, "failed", steps, final_return,
                                       wall_sec.get(trial.logdir, 0.0),
                                       errors.get(trial.logdir, "did not finish")))
    return results
