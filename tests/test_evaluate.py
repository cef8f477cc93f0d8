"""The evaluation CLI: it rolls out an exported policy as softq_tf.training.loop.evaluate does,
and bad input is one line with exit code 2."""
import importlib.util
import os
import re
import subprocess
import sys

import pytest

from conftest import assert_bad_input_before_tensorflow
from softq_tf import load_policy
from softq_tf.running import experiment
from softq_tf.training import loop

ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
EPISODE = re.compile(r"episode (\d+) \(reset seed (\d+)\): return (\S+), length (\d+)")
MEAN = re.compile(r"mean over (\d+) episodes on (\S+): return (\S+), length (\S+)")


def run_cli(module, *args, timeout=300):
    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True,
                          timeout=timeout, env=ENV)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A finished tiny MultiGoal run (300 steps, 32x32 networks)."""
    logdir = tmp_path_factory.mktemp("evaluate") / "run"
    result = run_cli("softq_tf.train", "--env=softq_tf/MultiGoal-v0", "--total_steps=300",
                     f"--logdir={logdir}", "--override=min_pool=100", "--override=log_every=100",
                     "--override=checkpoint_every=0", "--override=hidden_sizes=32,32")
    assert result.returncode == 0, result.stderr[-2000:]
    return logdir


def test_prints_each_episode_and_the_mean_that_loop_evaluate_gives(run_dir):
    result = run_cli("softq_tf.evaluate", f"--policy={run_dir / 'policy'}", "--episodes=3",
                     "--seed=5")  # the env: the one the policy was trained on
    assert result.returncode == 0, result.stderr[-2000:]
    episodes = EPISODE.findall(result.stdout)
    (count, env_id, mean_return, mean_length), = MEAN.findall(result.stdout)
    assert [(int(i), int(seed)) for i, seed, _, _ in episodes] == [(0, 5), (1, 6), (2, 7)]
    assert (int(count), env_id) == (3, "softq_tf/MultiGoal-v0")
    with experiment.make_env("softq_tf/MultiGoal-v0") as env:
        expected = loop.evaluate(env, load_policy(run_dir / "policy"), 3, seed=5)
    assert (float(mean_return), float(mean_length)) == expected
    assert sum(float(r) for _, _, r, _ in episodes) / 3 == pytest.approx(expected[0], rel=1e-12)
    assert len({r for _, _, r, _ in episodes}) == 3  # the policy's noise differs per episode


def video_case():
    """--video on MultiGoal: without moviepy, the pip command; with it, the env cannot render."""
    if importlib.util.find_spec("moviepy") is None:
        return "pip install moviepy"
    return "cannot render images"


@pytest.mark.parametrize("args,message", [
    (["--policy={tmp}/nothing/here"], "does not exist"),
    (["--policy={tmp}"], "is not an exported policy"),  # an empty folder
    (["--policy={run}"], "--policy={run}/policy"),  # the run folder: named the right one
    (["--policy={run}/policy", "--env=NoSuchEnv-v0"], "NoSuchEnv-v0"),
    (["--policy={run}/policy", "--env=softq_tf/ContinuousBandit-v0"], "the policy"),
    (["--policy={run}/policy", "--episodes=0"], "--episodes=0"),
    (["--policy={run}/policy", "--env_kwargs=[1]"], "--env_kwargs"),
    (["--policy={run}/policy", "--video={tmp}/video"], video_case()),
    ([], "--policy is required"),
])
def test_bad_input_is_one_line_and_exit_2(run_dir, tmp_path, args, message):
    fill = dict(tmp=tmp_path, run=run_dir)
    result = run_cli("softq_tf.evaluate", *[a.format(**fill) for a in args])
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1 and message.format(**fill) in error_lines[0], result.stderr
    assert not (tmp_path / "video").exists()


@pytest.mark.parametrize("args,message", [
    (["--policy={tmp}", "--no_such_flag"], "no_such_flag"),
    (["--policy={tmp}", "--episodes=0"], "--episodes=0"),
    (["--policy={tmp}/nothing/here"], "does not exist"),
    (["--policy={tmp}"], "is not an exported policy: it holds no SavedModel"),
])
def test_bad_flags_and_missing_folders_fail_before_tensorflow_is_imported(tmp_path, args,
                                                                         message):
    assert_bad_input_before_tensorflow("softq_tf.evaluate", message,
                                       *[a.format(tmp=tmp_path) for a in args])


@pytest.mark.slow
def test_video_replays_each_episode_into_an_mp4(tmp_path):
    pytest.importorskip("moviepy")
    logdir = tmp_path / "run"
    trained = run_cli("softq_tf.train", "--env=softq_tf/SwimmerFinish-v1", "--total_steps=200",
                      f"--logdir={logdir}", "--override=min_pool=100",
                      "--override=checkpoint_every=0", "--override=hidden_sizes=16,16")
    assert trained.returncode == 0, trained.stderr[-2000:]
    result = run_cli("softq_tf.evaluate", f"--policy={logdir / 'policy'}", "--episodes=1",
                     f"--video={tmp_path / 'video'}", timeout=900)  # 500 frames: minutes
    if result.returncode == 1 and "recording failed" in result.stderr:
        pytest.skip(f"no offscreen OpenGL here: {result.stderr.splitlines()[-1]}")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "warning" not in result.stderr  # each replay had the rollout's return
    assert (tmp_path / "video" / "eval-episode-0.mp4").stat().st_size > 10_000
