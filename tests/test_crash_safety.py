"""kill -9 of ``python -m softq_tf.train`` at several points, then ``--resume``: nothing is lost.

Kill points: inside a checkpoint save between the side files and the TensorFlow files, and between
the TensorFlow files and the manager's state file (``SOFTQ_TF_TEST_CRASH_AT``, see
:mod:`softq_tf.training.checkpoint`), and from outside at whatever the run is doing once a checkpoint appears,
followed by a truncated newest checkpoint (the killed process's run folder lock does not block the
resume).
"""
import csv
import os
import signal
import subprocess
import sys
import time

import pytest

from softq_tf.training.checkpoint import CRASH_ENV_VAR, checkpoint_steps
from softq_tf.training.files import LOCK_FILE

RUN = ["--env=softq_tf/ContinuousBandit-v0", "--override=min_pool=50", "--override=log_every=50",
       "--override=checkpoint_every=100", "--override=hidden_sizes=16",
       "--override=batch_size=16", "--override=kernel_particles=4", "--override=value_particles=4"]


def command(logdir, *args):
    return [sys.executable, "-m", "softq_tf.train", f"--logdir={logdir}", *args]


def run(logdir, *args, crash_at=None):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    env.pop(CRASH_ENV_VAR, None)
    if crash_at:
        env[CRASH_ENV_VAR] = crash_at
    return subprocess.run(command(logdir, *args), capture_output=True, text=True, timeout=300,
                          env=env)


def resume_and_check(logdir, total_steps):
    """Resumes the run in ``logdir`` and checks it finished with a complete progress.csv."""
    result = run(logdir, "--resume")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    with open(logdir / "progress.csv") as f:
        steps = [int(row["step"]) for row in csv.DictReader(f)]
    assert steps == list(range(50, total_steps + 1, 50))  # no duplicates, no gaps
    assert checkpoint_steps(logdir / "checkpoints")[0] == total_steps
    assert (logdir / "policy" / "saved_model.pb").exists()
    return result.stderr


@pytest.mark.parametrize("crash_at,newest_complete", [("side_files:200", 100),
                                                      ("tf_files:200", 200)])
def test_killed_inside_a_checkpoint_save_resumes_from_newest_complete(tmp_path, crash_at,
                                                                      newest_complete):
    logdir = tmp_path / "run"
    killed = run(logdir, "--total_steps=300", *RUN, crash_at=crash_at)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    assert (logdir / "checkpoints" / "ckpt-200.loop.json").exists()
    log = resume_and_check(logdir, 300)
    assert f"resumed from {logdir}/checkpoints/ckpt-{newest_complete}" in log
    assert checkpoint_steps(logdir / "checkpoints") == [300, 200, 100]  # nothing earlier lost


def test_killed_from_outside_then_newest_truncated_resumes_with_a_warning(tmp_path):
    logdir = tmp_path / "run"
    process = subprocess.Popen(command(logdir, "--total_steps=600", *RUN),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    deadline = time.time() + 120
    while not (logdir / "checkpoints" / "ckpt-200.index").exists() and time.time() < deadline:
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    assert process.wait() == -signal.SIGKILL
    # Its lock file stays, naming it; the lock itself died with it, so the resume below may run.
    assert (logdir / LOCK_FILE).read_text() == f"{process.pid}\n"
    newest = checkpoint_steps(logdir / "checkpoints")[0]
    data = logdir / "checkpoints" / f"ckpt-{newest}.data-00000-of-00001"
    os.truncate(data, os.path.getsize(data) // 2)
    log = resume_and_check(logdir, 600)
    assert f"skipping damaged checkpoint {logdir}/checkpoints/ckpt-{newest}" in log
    assert f"resumed from {logdir}/checkpoints/ckpt-{newest - 100}" in log
