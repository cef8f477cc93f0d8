"""The training CLI: the files of the contract, one-line errors with exit code 2, a clean stop on
SIGTERM (exit code 3) and one process per run folder."""
import csv
import dataclasses
import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from conftest import assert_bad_input_before_tensorflow
from softq_tf.training.checkpoint import checkpoint_steps
from softq_tf.learners.configs import DDPGConfig, LoopConfig, SQLConfig
from test_crash_safety import RUN, command, resume_and_check

ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
STOPPED = re.compile(r"error: stopped by SIGTERM at step (\d+); checkpoint written, continue "
                     r"with --resume")


def run_cli(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "softq_tf.train", *args], capture_output=True,
                          text=True, timeout=timeout, env=ENV)


def test_cli_trains_multigoal_and_writes_every_file(tmp_path):
    logdir = tmp_path / "run"
    result = run_cli("--env=softq_tf/MultiGoal-v0", "--total_steps=300", "--seed=1",
                     f"--logdir={logdir}", "--override=min_pool=100",
                     "--override=log_every=100", "--override=checkpoint_every=150",
                     "--override=hidden_sizes=32,32")
    assert result.returncode == 0, result.stderr[-2000:]
    for name in ("config.json", "progress.csv", "tensorboard", "checkpoints", "policy",
                 "q_function"):
        assert (logdir / name).exists(), name
    assert any(f.startswith("events.out.tfevents") for f in os.listdir(logdir / "tensorboard"))
    config = json.loads((logdir / "config.json").read_text())
    assert config["learner"]["hidden_sizes"] == [32, 32] and config["loop"]["min_pool"] == 100
    rows = (logdir / "progress.csv").read_text().strip().splitlines()
    assert [r.split(",")[0] for r in rows] == ["step", "100", "200", "300"]
    assert "steps/s" in result.stderr  # the progress line
    assert "Sharding callback duration" not in result.stderr  # TensorFlow's INFO at checkpoints
    assert "signature_serialization" not in result.stderr  # SavedModel's INFO lines are dropped
    started, finished = result.stdout.splitlines()  # where the outputs are, at start and end
    assert started.startswith(f"outputs in {logdir}: config.json") and "tensorboard" in started
    assert f"--policy={logdir / 'policy'} --env=softq_tf/MultiGoal-v0" in finished
    assert finished.endswith(f"; plot curves with: python -m softq_tf.plot {logdir}")
    assert (logdir / "checkpoints" / "ckpt-300.index").exists()
    exported = json.loads((logdir / "policy" / "assets" / "softq_tf.json").read_text())
    assert exported["config"] == config and exported["observation"]["shape"] == [None, 2]


@pytest.mark.parametrize("args,message", [
    (["--env=NoSuchEnv-v0"], "NoSuchEnv-v0"),
    (["--env=CartPole-v1"], "Box"),
    (["--total_steps=0"], "total_steps=0"),
    (["--override=kernel_update_ratio=1.5"], "kernel_update_ratio=1.5"),
    (["--override=batch_size"], "key=value"),
    (["--override=no_such_field=3"], "no_such_field"),
    (["--override=batch_size=abc"], "batch_size"),
    (["--algo=ppo"], "ppo"),
    (["--env_kwargs=island_length=2"], "--env_kwargs"),
    (["--env_kwargs=[1, 2]"], "--env_kwargs"),
    (["--env=softq_tf/QuadrupedMaze-v1", '--env_kwargs={"island_lenght": 2}'], "island_lenght"),
    (["--env=softq_tf/QuadrupedMaze-v1", '--env_kwargs={"island_length": -2}'], "island_length"),
    (["--threads=-1"], "--threads=-1"),
    (["--env=softq_tf/SwimmerFinish-v0"], "SwimmerFinish-v1"),  # names the current version
    (["--init_from=/nonexistent/run"], "not a run"),
    (["--resume"], "holds no run to continue"),
    (["--override=anneal_steps=-1"], "anneal_steps=-1"),
    (["--override=reward_scale=10", "--override=anneal_steps=10",
      "--override=final_reward_scale=2"], "final alpha cannot be above the start"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, message):
    result = run_cli(f"--logdir={tmp_path / 'run'}", *args)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1 and message in error_lines[0], result.stderr


@pytest.mark.parametrize("args,message", [
    (["--no_such_flag=1"], "no_such_flag"),
    (["--env=NoSuchEnv-v0"], "NoSuchEnv-v0"),
    (["--override=batch_size=abc"], "batch_size"),
    (["--override=reward_scale=inf"], "reward_scale=inf is invalid: must be a finite number"),
    (["--override=discount=nan"], "discount=nan is invalid: must be a finite number"),
    (["--override=batch_size=inf"], "batch_size='inf' is invalid"),  # int("inf") overflows
])
def test_bad_input_fails_before_tensorflow_is_imported(tmp_path, args, message):
    assert_bad_input_before_tensorflow("softq_tf.train", message, f"--logdir={tmp_path}", *args)


def test_help_lists_every_override_key():
    result = run_cli("--help")  # absl's --help exits with 1
    assert "--override" in result.stdout, result.stderr[-2000:]
    override_help = result.stdout.split("--override:")[1].split("(default")[0]
    listed = set(re.findall(r"\w+", override_help))
    for config in (SQLConfig, DDPGConfig, LoopConfig):
        for field in dataclasses.fields(config):
            assert field.name in listed, field.name


def test_logdir_that_is_a_file_is_rejected(tmp_path):
    path = tmp_path / "file"
    path.write_text("keep me")
    result = run_cli(f"--logdir={path}")
    assert result.returncode == 2 and "is a file" in result.stderr
    assert path.read_text() == "keep me"


def start_training(logdir, log_path, *args):
    """Starts ``python -m softq_tf.train`` in the background, its output going to ``log_path``
    (a file: a pipe nobody reads would fill up and block the process)."""
    with open(log_path, "w") as log:
        return subprocess.Popen(command(logdir, *args), stdout=log, stderr=subprocess.STDOUT,
                                env=ENV)


def progress_steps(logdir):
    with open(logdir / "progress.csv") as f:
        return [int(row["step"]) for row in csv.DictReader(f)]


def wait_until_training(process, logdir, timeout=300):
    """Returns once the process's progress.csv has a row (it is past its first update)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        assert process.poll() is None, f"exited with {process.returncode} before its first row"
        if (logdir / "progress.csv").exists() and progress_steps(logdir):
            return
        time.sleep(0.05)
    raise TimeoutError(f"no progress row in {logdir} after {timeout} s")


def stopped_step(log_path):
    """The step of the one ``error: stopped by SIGTERM`` line in the log; asserts it is the only
    error line and no traceback was printed."""
    output = log_path.read_text()
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in output, output[-3000:]
    match = STOPPED.fullmatch(errors[0])
    assert match, errors[0]
    return int(match.group(1))


def test_sigterm_checkpoints_the_step_it_stopped_at_and_resume_continues_there(tmp_path):
    logdir, log = tmp_path / "run", tmp_path / "train.log"
    # checkpoint_every=0: no checkpoint but the last, so any checkpoint is the stop's own.
    process = start_training(logdir, log, "--total_steps=3000", *RUN,
                             "--override=checkpoint_every=0")
    try:
        wait_until_training(process, logdir)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=120) == 3, log.read_text()[-3000:]
    finally:
        process.kill()
    step = stopped_step(log)
    assert 50 <= step < 3000
    assert checkpoint_steps(logdir / "checkpoints") == [step]
    assert progress_steps(logdir) == list(range(50, step + 1, 50))
    resumed = resume_and_check(logdir, 3000)  # every row once, exported
    assert f"resumed from {logdir}/checkpoints/ckpt-{step}" in resumed


def test_a_second_process_on_a_live_run_folder_exits_2_naming_it_and_the_holder(tmp_path):
    logdir, log = tmp_path / "run", tmp_path / "first.log"
    first = start_training(logdir, log, "--total_steps=1000000", *RUN)
    try:
        wait_until_training(first, logdir)
        config = (logdir / "config.json").read_bytes()
        second = run_cli(f"--logdir={logdir}", "--resume")
        assert first.poll() is None, "the first run ended before the second one started"
        assert second.returncode == 2, second.stderr[-3000:]
        errors = [line for line in second.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and "Traceback" not in second.stderr, second.stderr[-3000:]
        assert str(logdir) in errors[0] and f"process {first.pid}" in errors[0], errors[0]
        # The first run goes on undisturbed; stopped cleanly here, as it would take too long.
        first.send_signal(signal.SIGTERM)
        assert first.wait(timeout=120) == 3, log.read_text()[-3000:]
    finally:
        first.kill()
    step = stopped_step(log)
    assert progress_steps(logdir) == list(range(50, step + 1, 50))  # every row once
    assert (logdir / "config.json").read_bytes() == config


def folder_state(folder):
    """{relative path: bytes} of every file under ``folder`` but its lock file."""
    return {str(path.relative_to(folder)): path.read_bytes()
            for path in sorted(folder.rglob("*")) if path.is_file() and path.name != ".lock"}


def comparable_rows(logdir):
    """progress.csv's rows without the wall-clock columns."""
    with open(logdir / "progress.csv") as f:
        return [{k: v for k, v in row.items() if k not in ("steps_per_sec", "elapsed_sec")}
                for row in csv.DictReader(f)]


def checkpoint_values(prefix):
    import tensorflow as tf
    reader = tf.train.load_checkpoint(str(prefix))
    return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()
            if "save_counter" not in name}


@pytest.fixture(scope="module")
def extended(tmp_path_factory):
    """A 200-step bandit run extended to 400 by ``--resume --total_steps=400``, and an
    uninterrupted 400-step run (every bandit step ends an episode, so the 200-step run's last
    checkpoint is at an episode boundary and the extension must match bit for bit)."""
    root = tmp_path_factory.mktemp("extend")
    short, whole = root / "short", root / "whole"
    assert run_cli(f"--logdir={short}", "--total_steps=200", *RUN).returncode == 0
    config_at_200 = json.loads((short / "config.json").read_text())
    result = run_cli(f"--logdir={short}", "--resume", "--total_steps=400")
    assert result.returncode == 0, result.stderr[-3000:]
    assert run_cli(f"--logdir={whole}", "--total_steps=400", *RUN).returncode == 0
    return dict(short=short, whole=whole, config_at_200=config_at_200, result=result)


def test_resume_with_a_larger_total_extends_a_finished_run_bit_for_bit(extended):
    import numpy as np
    short, whole = extended["short"], extended["whole"]
    assert f"resumed from {short}/checkpoints/ckpt-200" in extended["result"].stderr
    assert comparable_rows(short) == comparable_rows(whole)  # every step once, same values
    assert progress_steps(short) == list(range(50, 401, 50))
    for name, value in checkpoint_values(whole / "checkpoints" / "ckpt-400").items():
        np.testing.assert_array_equal(
            value, checkpoint_values(short / "checkpoints" / "ckpt-400")[name], err_msg=name)
    for name in ("replay.npz", "loop.json"):
        assert ((short / "checkpoints" / f"ckpt-400.{name}").read_bytes()
                == (whole / "checkpoints" / f"ckpt-400.{name}").read_bytes()), name
    config = json.loads((short / "config.json").read_text())
    assert config["loop"]["total_steps"] == 400 and config["total_steps_history"] == [200, 400]
    assert extended["config_at_200"]["total_steps_history"] == [200]
    exported = json.loads((short / "policy" / "assets" / "softq_tf.json").read_text())
    assert exported["config"] == config  # the export is the extended run's


@pytest.mark.parametrize("args,message", [
    (["--total_steps=300"], "--total_steps=300 is below the 400 steps the run in"),
    (["--total_steps=600", "--override=hidden_sizes=32"],
     "hidden_sizes is [16] there, [32] here; only --total_steps may change"),
    (["--total_steps=600", "--seed=3"], "seed is 0 there, 3 here; only --total_steps may change"),
    (["--total_steps=600", "--algo=ddpg"], "algo is 'sql' there, 'ddpg' here"),
    (["--total_steps=600", "--env=softq_tf/MultiGoal-v0"],
     'env is "softq_tf/ContinuousBandit-v0" there, "softq_tf/MultiGoal-v0" here'),
])
def test_extending_with_fewer_steps_or_other_settings_is_one_line_and_untouched(extended, args,
                                                                                message):
    before = folder_state(extended["short"])
    result = run_cli(f"--logdir={extended['short']}", "--resume", *args)
    assert result.returncode == 2, result.stderr[-2000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0] and "Traceback" not in result.stderr, (
        result.stderr[-2000:])
    assert folder_state(extended["short"]) == before


def test_resume_given_the_run_own_settings_is_accepted(extended):
    """Repeating the settings the run was made with (as the sweep does) is no change."""
    result = run_cli(f"--logdir={extended['short']}", "--resume", "--total_steps=400", *RUN,
                     "--seed=0", "--algo=sql")
    assert result.returncode == 0, result.stderr[-2000:]
    assert not [line for line in result.stderr.splitlines() if line.startswith("error:")]
