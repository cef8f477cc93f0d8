"""softq_tf.running.sweep_ray: the Ray Tune engine, on a local Ray instance (2 CPUs, no dashboard).

The tests share one module-scoped Ray instance (each start costs seconds). Trials are tiny
(ContinuousBandit-v0, tiny networks, no XLA) and write the local engine's run folders.
"""
import csv
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

ray = pytest.importorskip("ray")

from softq_tf import sweep  # noqa: E402
from softq_tf.running import sweep_ray  # noqa: E402
from softq_tf.training.files import LOCK_FILE, copy_atomic  # noqa: E402
from softq_tf.training.loop import LoopCallback  # noqa: E402
from softq_tf.training.progress import checkpoint_steps  # noqa: E402

pytestmark = pytest.mark.ray

BANDIT = "softq_tf/ContinuousBandit-v0"
# Checkpoints at 100, 200, 300 and 400; rows every 50 steps.
SMALL = ("min_pool=50", "batch_size=16", "hidden_sizes=16", "log_every=50",
         "checkpoint_every=100", "jit_compile=false")
SQL_SMALL = ("kernel_particles=4", "value_particles=4")
STEPS = 400
# Wall-clock columns: the only ones allowed to differ between two runs of the same trial.
CLOCK_COLUMNS = ("steps_per_sec", "elapsed_sec")


def grid(out_dir, seeds=(0, 1), algos=("sql", "ddpg"), total_steps=STEPS):
    return sweep.make_grid(str(out_dir), list(algos), [BANDIT], list(seeds), total_steps, SMALL,
                           dict(sql=SQL_SMALL, ddpg=()), {})


def progress_rows(logdir):
    with open(os.path.join(logdir, "progress.csv"), newline="") as f:
        return [{k: v for k, v in row.items() if k not in CLOCK_COLUMNS}
                for row in csv.DictReader(f)]


def progress_steps(logdir):
    return [int(row["step"]) for row in progress_rows(logdir)]


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def test_tiny_grid_gives_the_local_engines_run_folders(tmp_path, local_ray):
    local = grid(tmp_path / "local")
    on_ray = grid(tmp_path / "ray")
    local_results = sweep.run_sweep(local, parallel=2, threads_per_trial=1)
    ray_results = sweep_ray.run_sweep_ray(on_ray, str(tmp_path / "ray" / "tune"))
    assert [r.status for r in local_results] == ["finished"] * 4
    assert [r.status for r in ray_results] == ["finished"] * 4
    for a, b in zip(local, on_ray):
        assert sorted(os.listdir(a.logdir)) == sorted(os.listdir(b.logdir))
        # Same seeds, same settings, one thread each: the same numbers, bit for bit.
        assert progress_rows(a.logdir) == progress_rows(b.logdir), a.logdir
        assert progress_steps(b.logdir) == list(range(50, STEPS + 1, 50))
        with open(os.path.join(b.logdir, "train.log")) as f:  # the thread count it was given
            assert "TensorFlow threads: intra-op 1, inter-op 1" in f.read()
    # Tune's trials are named after the runs they train.
    experiment_dir = tmp_path / "ray" / "tune" / sweep_ray.experiment_name(
        [sweep_ray._absolute(t) for t in on_ray])
    assert {f"{a}_ContinuousBandit-v0_seed{s}" for a in ("sql", "ddpg") for s in (0, 1)} <= set(
        os.listdir(experiment_dir))
    # A rerun reuses every trial: nothing trains again.
    again = sweep_ray.run_sweep_ray(on_ray, str(tmp_path / "ray" / "tune"))
    assert [r.status for r in again] == ["reused"] * 4


class _Interrupt(LoopCallback):
    """On a trial's first attempt, fails it right after its checkpoint at step 200: by raising
    (``how="raise"``) or by killing its worker process (``how="kill"``). Every attempt appends
    the steps of its progress rows to ``<logdir>/attempts.txt``, one line per attempt."""

    def __init__(self, logdir, how):
        self.logdir, self.how = logdir, how
        self.marker = os.path.join(logdir, "interrupted")
        with open(os.path.join(logdir, "attempts.txt"), "a") as f:
            f.write("attempt:")

    def on_log(self, step, row):
        with open(os.path.join(self.logdir, "attempts.txt"), "a") as f:
            f.write(f" {step}")

    def on_checkpoint(self, step, checkpoint_dir):
        if step == 200 and not os.path.exists(self.marker):
            open(self.marker, "w").close()
            if self.how == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            raise RuntimeError("a failure injected by the test")


def interrupted_trial(config):
    """Tune trial: :func:`softq_tf.running.sweep_ray.run_trial` with an :class:`_Interrupt`; the
    seed chooses how (0 raises, 1 is killed)."""
    logdir = config["trial"]["logdir"]
    os.makedirs(logdir, exist_ok=True)
    how = "raise" if config["trial"]["seed"] == 0 else "kill"
    sweep_ray.run_trial(config, callbacks=(_Interrupt(logdir, how),))


def test_failed_trials_are_retried_from_their_checkpoint(tmp_path, local_ray):
    import ray.cloudpickle
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    trials = grid(tmp_path, algos=("sql",))
    results = sweep_ray.run_sweep_ray(trials, str(tmp_path / "tune"), trainable=interrupted_trial)
    assert [r.status for r in results] == ["finished", "finished"]
    for trial in trials:
        with open(os.path.join(trial.logdir, "attempts.txt")) as f:
            attempts = [line.split() for line in f.read().split("attempt:")[1:]]
        # The first attempt logged up to 200 (a raise) or up to 200 and possibly not further (a
        # kill); the second started after the checkpoint at 200, not from zero.
        assert attempts[0][:4] == ["50", "100", "150", "200"], attempts
        assert attempts[1][0] == "250", attempts
        assert progress_steps(trial.logdir) == list(range(50, STEPS + 1, 50))


@pytest.mark.slow  # two figure sweeps (about 110 s); the tiny grid test compares the run folders
def test_figure_json_is_the_same_on_ray_and_locally(tmp_path):
    figures = {}
    for engine in ("local", "ray"):
        out = tmp_path / engine
        result = subprocess.run([sys.executable, "-m", "paper_repro.fig1", "--profile=smoke",
                                 f"--engine={engine}", f"--out_dir={out}"], capture_output=True,
                                text=True, timeout=600,
                                env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
        assert result.returncode == 0, result.stderr[-3000:]
        figures[engine] = (out / "fig1.json").read_text().replace(str(out), "OUT_DIR")
    assert figures["ray"] == figures["local"]  # all but the run folders' paths, bit for bit


def sweep_cli(out_dir, *args, **popen_kwargs):
    command = [sys.executable, "-m", "softq_tf.sweep", "--engine=ray", "--algos=sql",
               f"--envs={BANDIT}", "--seeds=0", "--total_steps=3000", f"--out_dir={out_dir}",
               *[f"--override={o}" for o in SMALL + SQL_SMALL], *args]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, **popen_kwargs)


def test_an_interrupted_driver_is_resumed_by_rerunning_it(tmp_path):
    out_dir = tmp_path / "sweep"
    logdir = grid(out_dir, seeds=(0,), algos=("sql",), total_steps=3000)[0].logdir
    driver = sweep_cli(out_dir)
    deadline = time.monotonic() + 240
    while not os.path.exists(os.path.join(logdir, "checkpoints", "ckpt-200.index")):
        assert time.monotonic() < deadline and driver.poll() is None, driver.stdout.read()
        time.sleep(0.5)
    driver.send_signal(signal.SIGINT)  # Ctrl-C: Tune saves the experiment's state and stops
    driver.communicate(timeout=120)
    steps_before = progress_steps(logdir)
    assert steps_before and steps_before[-1] < 3000
    rerun = sweep_cli(out_dir)
    output, _ = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, output
    assert "restoring the Ray Tune experiment" in output
    assert progress_steps(logdir) == list(range(50, 3001, 50))


def bad_input(*args, env=None):
    result = subprocess.run([sys.executable, "-m", "softq_tf.sweep", "--engine=ray",
                             f"--envs={BANDIT}", *args], capture_output=True, text=True,
                            timeout=120, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2",
                                                  **(env or {})))
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_unreachable_address_is_a_clear_error(tmp_path):
    with socket.socket() as s:  # a port nobody listens on: bound, never listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        line = bad_input(f"--out_dir={tmp_path}", f"--ray_address=127.0.0.1:{port}")
    assert f"--ray_address='127.0.0.1:{port}' cannot be reached" in line
    assert "ray start --head" in line
    assert not os.listdir(tmp_path)


def test_relative_storage_on_a_cluster_is_a_clear_error(tmp_path):
    with socket.socket() as listener:  # anything that accepts connections passes the reach check
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        line = bad_input("--out_dir=relative/out", f"--ray_address=127.0.0.1:{port}")
    assert "--out_dir='relative/out/tune' is relative" in line and "absolute path" in line


def test_missing_ray_is_a_clear_error(tmp_path):
    fake = tmp_path / "fake"
    fake.mkdir()
    (fake / "ray.py").write_text("raise ImportError('no ray here')\n")
    line = bad_input(f"--out_dir={tmp_path / 'out'}",
                     env=dict(PYTHONPATH=os.pathsep.join([str(fake), os.getcwd()])))
    assert line == f"error: --engine=ray needs Ray Tune, which is not installed: " \
                   f"{sweep_ray.INSTALL_HINT}"


def test_importing_softq_tf_does_not_import_ray():
    code = "import softq_tf, softq_tf.sweep, sys; print('ray' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    assert result.stdout.strip() == "False", result.stderr


def test_experiment_name_is_the_grids(tmp_path):
    assert sweep_ray.experiment_name(grid(tmp_path)) == sweep_ray.experiment_name(grid(tmp_path))
    assert (sweep_ray.experiment_name(grid(tmp_path, seeds=(0,)))
            != sweep_ray.experiment_name(grid(tmp_path)))


def node_recording_trial(config):
    """Tune trial: :func:`softq_tf.running.sweep_ray.run_trial`, each attempt first appending
    the id of the Ray node it runs on to ``<logdir>/nodes.txt``."""
    logdir = config["trial"]["logdir"]
    os.makedirs(logdir, exist_ok=True)
    with open(os.path.join(logdir, "nodes.txt"), "a") as f:
        f.write(ray.get_runtime_context().get_node_id() + "\n")
    sweep_ray.run_trial(config)


def attempt_nodes(logdir):
    try:
        with open(os.path.join(logdir, "nodes.txt")) as f:
            return f.read().split()
    except FileNotFoundError:
        return []


@pytest.fixture
def two_nodes():
    """A Ray cluster of two nodes of one CPU each on this machine (Ray's test cluster), this
    process its driver; yields (cluster, the node that is not the head)."""
    from ray.cluster_utils import Cluster
    ray.shutdown()  # the module's local instance (local_ray), if an earlier test started it
    cluster = Cluster(initialize_head=True, head_node_args=dict(num_cpus=1))
    worker = cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, log_to_driver=False)
    yield cluster, worker
    ray.shutdown()
    cluster.shutdown()


def remove_when_checkpointed(cluster, worker, trials, storage, removed):
    """Removes ``worker`` from ``cluster`` once the trial running on it has handed Tune a
    checkpoint; then puts (its trial, the newest checkpoint step in its folder) in ``removed``."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        on_worker = [t for t in trials if worker.node_id in attempt_nodes(t.logdir)]
        kept = on_worker and [
            name for root, names, _ in os.walk(storage) for name in names
            if name.startswith("checkpoint_") and os.path.basename(root) == "_".join(
                on_worker[0].logdir.split(os.sep)[-3:])]
        if kept:
            logdir = on_worker[0].logdir
            with open(os.path.join(logdir, LOCK_FILE)) as f:
                pid = int(f.read())
            cluster.remove_node(worker)
            # Its trial's process ends with it (not at once): then its newest checkpoint is known.
            while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
                time.sleep(0.1)
            removed.extend([on_worker[0], checkpoint_steps(os.path.join(logdir, "checkpoints"))[0]])
            return
        time.sleep(0.2)


@pytest.mark.slow
def test_a_trial_on_a_lost_node_restarts_on_the_other_from_its_checkpoint(tmp_path, two_nodes):
    import ray.cloudpickle
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    cluster, worker = two_nodes
    trials = grid(tmp_path, seeds=(0,), total_steps=STEPS)
    storage = str(tmp_path / "tune")
    removed = []
    remover = threading.Thread(target=remove_when_checkpointed,
                               args=(cluster, worker, trials, storage, removed))
    remover.start()
    try:
        results = sweep_ray.run_sweep_ray(trials, storage, address=cluster.address,
                                          trainable=node_recording_trial)
    finally:
        remover.join()
    assert removed, "no trial ran on the worker node"
    lost, newest = removed
    assert [r.status for r in results] == ["finished", "finished"], results
    nodes = attempt_nodes(lost.logdir)
    assert nodes[0] == worker.node_id and nodes[-1] != worker.node_id, nodes
    with open(os.path.join(lost.logdir, "train.log")) as f:
        restarted = f.read().split("--- softq_tf.running.sweep_ray ")[-1]
    assert f"resumed from {lost.logdir}/checkpoints/ckpt-{newest}" in restarted
    for trial in trials:
        assert progress_steps(trial.logdir) == list(range(50, STEPS + 1, 50))


def test_tunes_checkpoint_is_copied_in_atomically_index_last(tmp_path, monkeypatch):
    kept, logdir = tmp_path / "kept", tmp_path / "run"
    (kept / "checkpoints").mkdir(parents=True)
    (logdir / "checkpoints").mkdir(parents=True)
    files = {"config.json": "{}", "progress.csv": "step\n50\n100\n150\n200\n"} | {
        f"checkpoints/ckpt-200.{suffix}": suffix
        for suffix in ("index", "data-00000-of-00001", "loop.json", "replay.npz")}
    for name, text in files.items():
        (kept / name).write_text(text)
    (logdir / "progress.csv").write_text("step\n50\n100\n")
    (logdir / "checkpoints" / "ckpt-100.index").write_text("older")
    copied = []

    def recording_copy(source, path):
        copied.append(os.path.relpath(path, logdir))
        copy_atomic(source, path)

    from ray import tune
    monkeypatch.setattr(sweep_ray, "copy_atomic", recording_copy)
    sweep_ray._restore_from_tune(tune.Checkpoint.from_directory(str(kept)), str(logdir))
    assert sorted(copied) == sorted(files) and copied[:2] == ["config.json", "progress.csv"]
    assert copied[-1] == "checkpoints/ckpt-200.index"  # the checkpoint counts once complete
    for name, text in files.items():
        assert (logdir / name).read_text() == text
    copied.clear()  # the folder's own checkpoint is now as new: nothing is copied again
    sweep_ray._restore_from_tune(tune.Checkpoint.from_directory(str(kept)), str(logdir))
    assert copied == []


def test_a_restarted_trial_waits_for_its_previous_attempt_to_release_the_folder(tmp_path,
                                                                                caplog):
    hold = ("import sys, time\nfrom softq_tf.training.files import hold_run_folder\n"
            "with hold_run_folder(sys.argv[1]):\n    print('holding', flush=True)\n"
            "    time.sleep(2)\n")
    holder = subprocess.Popen([sys.executable, "-c", hold, str(tmp_path)], stdout=subprocess.PIPE,
                              text=True)
    assert holder.stdout.readline() == "holding\n"
    start = time.monotonic()
    with caplog.at_level("INFO", logger="absl"):
        sweep_ray._wait_for_folder(str(tmp_path), poll_sec=0.1)
    assert time.monotonic() - start > 1.5  # it returned only once the holder let go
    assert holder.wait(timeout=60) == 0
    holder.stdout.close()
    assert f"{tmp_path} is in use by process {holder.pid}" in caplog.text
    assert f"{tmp_path} was released; resuming" in caplog.text
