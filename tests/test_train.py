"""The training CLI: the files of the contract, and one-line errors with exit code 2."""
import json
import os
import subprocess
import sys

import pytest

ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")


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


def test_logdir_that_is_a_file_is_rejected(tmp_path):
    path = tmp_path / "file"
    path.write_text("keep me")
    result = run_cli(f"--logdir={path}")
    assert result.returncode == 2 and "is a file" in result.stderr
    assert path.read_text() == "keep me"
