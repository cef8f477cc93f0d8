"""kill -9 of ``python -m softq_tf.train`` at several points, then ``--resume``: nothing is lost.

Kill points: inside a checkpoint save between the side files and the TensorFlow files, and between
the TensorFlow files and the manager's state file (``SOFTQ_TF_TEST_CRASH_AT``, see
:mod:`softq_tf.training.checkpoint`), and from outside at whatever the run is doing once a
checkpoint appears, followed by a truncated newest checkpoint (the killed process's run folder
lock does not block the resume). A disk that fills at the same points of a save, while a
``progress.csv`` row is written, or while the policy or Q-function is exported
(``SOFTQ_TF_TEST_FULL_DISK_AT``): one ``error:`` line, exit 1, nothing of the failed write left,
and ``--resume`` continues.
"""
import csv
import os
import signal
import subprocess
import sys
import time

import pytest

from softq_tf.training.checkpoint import checkpoint_steps
from softq_tf.training.files import CRASH_ENV_VAR, FULL_DISK_ENV_VAR, LOCK_FILE

RUN = ["--env=softq_tf/ContinuousBandit-v0", "--override=min_pool=50", "--override=log_every=50",
       "--override=checkpoint_every=100", "--override=hidden_sizes=16",
       "--override=batch_size=16", "--override=kernel_particles=4", "--override=value_particles=4"]


def command(logdir, *args):
    return [sys.executable, "-m", "softq_tf.train", f"--logdir={logdir}", *args]


def run(logdir, *args, crash_at=None, full_disk_at=None):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    for name, value in ((CRASH_ENV_VAR, crash_at), (FULL_DISK_ENV_VAR, full_disk_at)):
        env.pop(name, None)
        if value:
            env[name] = value
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


# The TensorFlow files' case takes about a minute: slow (tests/test_checkpoint.py covers it in
# process).
@pytest.mark.parametrize("point", ["side_files", pytest.param("tf_files", marks=pytest.mark.slow)])
def test_disk_full_in_a_checkpoint_save_is_one_line_leaves_nothing_and_resumes(tmp_path, point):
    logdir = tmp_path / "run"
    failed = run(logdir, "--total_steps=300", *RUN, full_disk_at=f"{point}:200")
    assert failed.returncode == 1, failed.stderr[-3000:]
    assert "Traceback" not in failed.stderr
    errors = [line for line in failed.stderr.splitlines() if line.startswith("error:")]
    assert errors == [failed.stderr.splitlines()[-1]] == [
        f"error: cannot write checkpoint ckpt-200 in {logdir}/checkpoints (No space left on "
        "device); what it wrote was removed and the newest complete checkpoint is ckpt-100 "
        "(step 100): free disk space, then continue with --resume"]
    names = os.listdir(logdir / "checkpoints")
    assert not [n for n in names if n.startswith("ckpt-200") or n.endswith(".tmp")], names
    assert checkpoint_steps(logdir / "checkpoints") == [100]
    log = resume_and_check(logdir, 300)  # every progress step once
    assert f"resumed from {logdir}/checkpoints/ckpt-100" in log


@pytest.mark.parametrize("point,written,newest", [
    ("progress:200", "progress.csv", 100), ("export:q_function", "q_function", 300),
    ("export:policy", "policy", 300)])
def test_disk_full_writing_progress_or_the_export_is_one_line_cut_back_and_resumes(
        tmp_path, point, written, newest):
    logdir = tmp_path / "run"
    failed = run(logdir, "--total_steps=300", *RUN, full_disk_at=point)
    assert failed.returncode == 1, failed.stderr[-3000:]
    assert "Traceback" not in failed.stderr
    assert failed.stderr.splitlines()[-1] == (
        f"error: cannot write {logdir}/{written} (No space left on device); what it wrote was "
        f"removed and the newest complete checkpoint is ckpt-{newest} (step {newest}): free disk "
        "space, then continue with --resume")
    with open(logdir / "progress.csv") as f:  # no half row: the file ends at a whole one
        assert [int(row["step"]) for row in csv.DictReader(f)] == list(range(50, 151 if newest
                                                                             < 300 else 301, 50))
    assert not (logdir / "policy").exists()  # the run is not finished: a sweep would resume it
    assert not [n for n in os.listdir(logdir) if n.endswith(".tmp")]
    log = resume_and_check(logdir, 300)  # every progress step once, then both exported
    assert f"resumed from {logdir}/checkpoints/ckpt-{newest}" in log
    assert (logdir / "q_function" / "saved_model.pb").exists()


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
