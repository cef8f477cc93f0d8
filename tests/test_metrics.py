"""Training logs: the task's episode metrics, reduced per log interval, written and resumed."""
import csv
import os

import gymnasium as gym
import numpy as np
import pytest

from softq_tf import EnvSpec, SoftQLearner, SQLConfig, envs
from softq_tf.training.loop import LoopConfig, train
from softq_tf.training.metrics import EpisodeMetrics
from softq_tf.training.progress import read_progress
from test_loop import CounterEnv, make_learner

envs.register_envs()


def test_reductions_over_an_interval_then_a_new_one():
    metrics = EpisodeMetrics((("x", "max"), ("x", "min"), ("d", "min")))
    assert metrics.columns == ("max_x", "min_x", "min_d")
    assert metrics.take_row() == {"max_x": "", "min_x": "", "min_d": ""}  # nothing observed
    for x, d in [(0.5, 3.0), (2.0, 1.0), (-1.0, 2.0)]:
        metrics.observe({"x": x, "d": d, "other": 9})
    assert metrics.take_row() == {"max_x": 2.0, "min_x": -1.0, "min_d": 1.0}
    metrics.observe({"x": 0.25, "d": 5.0})
    assert metrics.take_row() == {"max_x": 0.25, "min_x": 0.25, "min_d": 5.0}


def test_state_continues_the_interval():
    metrics = EpisodeMetrics((("x", "max"),))
    metrics.observe({"x": 3.0})
    resumed = EpisodeMetrics((("x", "max"),), state=metrics.state())
    resumed.observe({"x": 1.0})
    assert resumed.take_row() == {"max_x": 3.0}


def test_bad_declarations_and_missing_keys_are_named():
    with pytest.raises(ValueError, match="'mean'"):
        EpisodeMetrics((("x", "mean"),))
    with pytest.raises(KeyError, match="'x'"):
        EpisodeMetrics((("x", "max"),)).observe({"y": 1.0})


class WaveSwimmer(gym.Wrapper):
    """SwimmerFinish-v1 driven by an open-loop travelling wave whatever the agent asks for: a
    scripted swimmer that swims forward. Records every step's centre-of-mass x."""

    def __init__(self):
        super().__init__(gym.make("softq_tf/SwimmerFinish-v1"))
        self.com_x, self.t = [], 0

    def reset(self, **kwargs):
        self.t = 0
        return self.env.reset(**kwargs)

    def step(self, action):
        phase = 2 * np.pi * 0.7 * self.t * self.env.unwrapped.dt
        self.t += 1
        result = self.env.step(np.clip(3 * np.sin([phase, phase - np.pi / 3]), -1, 1))
        self.com_x.append(result[4]["com_x"])
        return result


def test_loop_logs_the_swimmers_farthest_forward_and_backward_x(tmp_path):
    env = WaveSwimmer()
    learner = make_learner_for(env)
    train(env, learner, LoopConfig(total_steps=400, batch_size=8, min_pool=400, log_every=100,
                                   checkpoint_every=0), logdir=str(tmp_path))
    progress = read_progress(str(tmp_path))
    per_interval = np.asarray(env.com_x).reshape(4, 100)
    np.testing.assert_allclose(progress["max_com_x"], per_interval.max(axis=1), rtol=1e-12)
    np.testing.assert_allclose(progress["min_com_x"], per_interval.min(axis=1), rtol=1e-12)
    assert np.all(np.diff(progress["max_com_x"]) > 0.1)  # swimming forward: a rising max x


def make_learner_for(env):
    config = SQLConfig(hidden_sizes=(8,), kernel_particles=4, value_particles=4, jit_compile=False)
    return SoftQLearner(EnvSpec.from_env(env), config, seed=0)


class DeclaringCounterEnv(CounterEnv):
    """CounterEnv whose info reports the step count within the episode, declared as a metric."""

    episode_metrics = (("t", "max"),)

    def step(self, action):
        obs, reward, terminated, truncated, _ = super().step(action)
        return obs, reward, terminated, truncated, {"t": float(self.t)}


def test_episode_metrics_survive_a_resume(tmp_path):
    env = gym.wrappers.TimeLimit(DeclaringCounterEnv(), 7)  # t = 1..7, then again
    config = LoopConfig(total_steps=40, batch_size=8, min_pool=10, log_every=10,
                        checkpoint_every=15)
    train(env, make_learner(), config, logdir=str(tmp_path))
    with open(tmp_path / "progress.csv") as f:
        whole = list(csv.DictReader(f))
    # Lose everything after the checkpoint at step 15, in the middle of the interval 11-20 (whose
    # max t, 7, was reached at step 14), and resume from it.
    for name in os.listdir(tmp_path / "checkpoints"):
        if name.startswith(("ckpt-30", "ckpt-40")):
            os.remove(tmp_path / "checkpoints" / name)
    train(env, make_learner(), config, logdir=str(tmp_path), resume=True)
    with open(tmp_path / "progress.csv") as f:
        resumed = list(csv.DictReader(f))
    assert [row["max_t"] for row in whole] == ["7.0", "7.0", "7.0", "7.0"]
    assert [(row["step"], row["max_t"]) for row in resumed] == [
        (row["step"], row["max_t"]) for row in whole]
