"""The environment loop: what it stores, when it stops, and how it resumes."""
import csv
import os

import gymnasium as gym
import numpy as np
import pytest
import tensorflow as tf

from conftest import assert_same_state
from softq_tf import LoopConfig, NonFiniteError, ReplayBuffer, SoftQLearner, SQLConfig, train
from softq_tf import DDPGConfig, DDPGLearner, EnvSpec, LoopCallback, StopRequested
from softq_tf.training.checkpoint import checkpoint_steps, verify


class CounterEnv(gym.Env):
    """Observation = steps taken; terminates at ``terminate_at`` (if set); reward
    ``reward_at``(t)."""

    def __init__(self, terminate_at=None, nan_at=None):
        self.observation_space = gym.spaces.Box(-100, 100, (1,), np.float32)
        self.action_space = gym.spaces.Box(-1, 1, (1,), np.float32)
        self.terminate_at, self.nan_at, self.total = terminate_at, nan_at, 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.zeros(1, np.float32), {}

    def step(self, action):
        self.t += 1
        self.total += 1
        reward = float("nan") if self.total == self.nan_at else 1.0
        return (np.full(1, self.t, np.float32), reward, self.t == self.terminate_at, False, {})


def make_learner(low=-1.0, high=1.0, **config_fields):
    config = SQLConfig(hidden_sizes=(8,), kernel_particles=4, value_particles=4, jit_compile=False,
                       **config_fields)
    return SoftQLearner(EnvSpec(1, 1, (low,), (high,)), config, seed=0)


def small_loop(**kwargs):
    base = dict(total_steps=30, batch_size=8, min_pool=10, log_every=10, checkpoint_every=0)
    base.update(kwargs)
    return LoopConfig(**base)


@pytest.mark.parametrize("random_warmup", [True, False])
def test_warm_up_acts_at_random_or_with_the_policy(random_warmup):
    """Actions before ``min_pool`` (10; 8 steps, so no update changes the actor): uniform noise,
    or (``random_warmup=False``, e.g. for fine-tuning) the learner's own policy, here a DDPG actor
    with negligible exploration noise."""
    spec = EnvSpec(1, 1, (-1.0,), (1.0,))
    learner = DDPGLearner(spec, DDPGConfig(hidden_sizes=(8,), noise="gaussian", noise_sigma=1e-6,
                                           jit_compile=False))
    replay = ReplayBuffer(100, 1, 1)
    train(gym.wrappers.TimeLimit(CounterEnv(), 5), learner,
          small_loop(total_steps=8, random_warmup=random_warmup), replay=replay)
    stored = replay.contents()
    policy_actions = learner.actor(stored["obs"][:8]).numpy()
    matches = np.allclose(stored["action"][:8], policy_actions, atol=1e-4)
    assert matches != random_warmup


def test_termination_is_stored_and_truncation_is_not():
    terminating = ReplayBuffer(100, 1, 1)
    summary = train(gym.wrappers.TimeLimit(CounterEnv(terminate_at=3), 10), make_learner(),
                    small_loop(), replay=terminating)
    assert summary["episodes"] == 10
    np.testing.assert_array_equal(terminating.contents()["terminated"][:30],
                                  np.tile([0.0, 0.0, 1.0], 10))
    truncating = ReplayBuffer(100, 1, 1)
    summary = train(gym.wrappers.TimeLimit(CounterEnv(), 3), make_learner(), small_loop(),
                    replay=truncating)
    assert summary["episodes"] == 10  # episodes end every 3 steps, but by a time limit:
    np.testing.assert_array_equal(truncating.contents()["terminated"][:30], 0.0)  # they bootstrap


def test_non_finite_reward_is_caught_at_its_step(tmp_path):
    with pytest.raises(NonFiniteError, match=r"env counter-nan .*reward.* at step 17"):
        train(gym.wrappers.TimeLimit(CounterEnv(nan_at=17), 5), make_learner(), small_loop(),
              logdir=str(tmp_path), env_id="counter-nan")
    assert (tmp_path / "checkpoints" / "ckpt-16.index").exists()  # last finite state kept


def test_resume_continues_without_duplicate_rows(tmp_path):
    env = gym.wrappers.TimeLimit(CounterEnv(), 5)
    train(env, make_learner(), small_loop(total_steps=20, checkpoint_every=10),
          logdir=str(tmp_path))
    learner = make_learner()
    summary = train(env, learner, small_loop(total_steps=40, checkpoint_every=10),
                    logdir=str(tmp_path), resume=True)
    assert summary["steps"] == 40
    with open(tmp_path / "progress.csv") as f:
        steps = [int(row["step"]) for row in csv.DictReader(f)]
    assert steps == [10, 20, 30, 40]
    # one update per step from the step that fills min_pool (10) to 40, across the resume
    assert int(learner.step) == 40 - 10 + 1


def test_updates_per_step_runs_in_the_same_call():
    learner = make_learner()
    train(gym.wrappers.TimeLimit(CounterEnv(), 5), learner, small_loop(updates_per_step=3))
    assert int(learner.step) == 3 * (30 - 10 + 1)


class HugeRewardEnv(CounterEnv):
    """Finite rewards whose scaled square overflows float32: the loss, not the env, goes
    non-finite."""

    def step(self, action):
        obs, _, terminated, truncated, info = super().step(action)
        return obs, 1e30, terminated, truncated, info


def test_non_finite_loss_stops_after_checkpointing_last_finite_state(tmp_path):
    learner, recorder = make_learner(), Recorder()
    with pytest.raises(NonFiniteError, match="non-finite loss .* at step 10"):
        train(gym.wrappers.TimeLimit(HugeRewardEnv(), 5), learner, small_loop(),
              logdir=str(tmp_path), env_id="huge", callbacks=[recorder])
    assert int(learner.step) == 0  # the non-finite update was not applied
    assert (tmp_path / "checkpoints" / "ckpt-10.index").exists()
    assert recorder.checkpoints == [10]


class NanResetEnv(CounterEnv):
    """Its second reset returns a NaN observation."""

    def reset(self, *, seed=None, options=None):
        obs, info = super().reset(seed=seed, options=options)
        self.resets = getattr(self, "resets", 0) + 1
        return (np.full(1, np.nan, np.float32) if self.resets == 2 else obs), info


def test_non_finite_observation_from_reset_is_caught(tmp_path):
    with pytest.raises(NonFiniteError, match=r"env nan-reset .*observation from reset.* step 5"):
        train(gym.wrappers.TimeLimit(NanResetEnv(), 5), make_learner(), small_loop(),
              logdir=str(tmp_path), env_id="nan-reset")
    assert (tmp_path / "checkpoints" / "ckpt-5.index").exists()


def test_serial_loop_resumes_bit_identically_and_acts_after_each_update(tmp_path):
    """With overlap_env_step=False (Algorithm 1's exact order) resuming is exact too, and the
    serial and the overlapped (default) loop make the same number of updates but act
    differently."""
    serial = assert_resume_at_step_20_is_bit_identical(tmp_path, overlap_env_step=False)
    overlapped = make_learner()  # its resume: tests/test_learner_contract.py
    train(gym.wrappers.TimeLimit(CounterEnv(), 5), overlapped, small_loop(total_steps=40))
    assert int(serial.step) == int(overlapped.step) == 40 - 10 + 1
    assert not np.array_equal(serial.q.weights[0].numpy(), overlapped.q.weights[0].numpy())


def test_resume_in_the_middle_of_the_fine_tuning_schedules_is_bit_identical(tmp_path):
    """Alpha annealing and the shrinking noise set (Appendix D.1) over 30 updates; the resume at
    step 20 falls after 11 of them, and the resumed run continues both schedules exactly."""
    schedules = dict(reward_scale=1.0, anneal_steps=30, final_reward_scale=100.0,
                     noise_set_size=4, noise_set_steps=30)
    learner = assert_resume_at_step_20_is_bit_identical(
        tmp_path, make=lambda: make_learner(**schedules))
    assert int(learner.step) == 31 and int(learner.noise_set_in_use()) == 1
    assert float(learner.reward_scale()) == pytest.approx(100.0)


def assert_resume_at_step_20_is_bit_identical(tmp_path, make=make_learner, **loop_options):
    """Trains a learner from ``make()`` 40 steps uninterrupted and another 20 + 20 with a resume at
    step 20 (an episode end); asserts every checkpointed value equal and returns the
    uninterrupted learner (tests/test_learner_contract.py runs it over every learner)."""
    def env():
        return gym.wrappers.TimeLimit(CounterEnv(), 5)

    def loop(total_steps):
        return small_loop(total_steps=total_steps, checkpoint_every=10, **loop_options)

    uninterrupted = make()
    train(env(), uninterrupted, loop(40), logdir=str(tmp_path / "a"))
    train(env(), make(), loop(20), logdir=str(tmp_path / "b"))
    resumed = make()
    train(env(), resumed, loop(40), logdir=str(tmp_path / "b"), resume=True)
    assert_same_state(uninterrupted, resumed)
    return uninterrupted


class StopBefore:
    """A ``stop`` callable asking to stop before step ``step`` (train polls it before each step)."""

    def __init__(self, step):
        self.step, self.calls = step, 0

    def __call__(self):
        self.calls += 1
        return self.calls > self.step


def test_stop_request_checkpoints_that_step_and_resume_is_exact(tmp_path):
    """A stop at step 15 (no checkpoint_every multiple, an episode end) writes ckpt-15 and raises
    StopRequested; the resumed run ends as the uninterrupted one, every progress row once."""
    def env():
        return gym.wrappers.TimeLimit(CounterEnv(), 5)

    uninterrupted = make_learner()
    train(env(), uninterrupted, small_loop(checkpoint_every=10), logdir=str(tmp_path / "a"))
    recorder = Recorder()
    with pytest.raises(StopRequested, match="at step 15") as stopped:
        train(env(), make_learner(), small_loop(checkpoint_every=10), logdir=str(tmp_path / "b"),
              stop=StopBefore(15), callbacks=[recorder])
    assert stopped.value.step == 15 and recorder.checkpoints == [10, 15]
    assert checkpoint_steps(tmp_path / "b" / "checkpoints") == [15, 10]
    resumed = make_learner()
    train(env(), resumed, small_loop(checkpoint_every=10), logdir=str(tmp_path / "b"),
          resume=True, stop=lambda: False)
    with open(tmp_path / "b" / "progress.csv") as f:
        assert [int(row["step"]) for row in csv.DictReader(f)] == [10, 20, 30]
    for a, b in zip(uninterrupted.q.weights + uninterrupted.sampler.weights,
                    resumed.q.weights + resumed.sampler.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


class Recorder(LoopCallback):
    """Keeps every row it is told of, and each checkpoint's step, read back from disk when told."""

    def __init__(self):
        self.rows, self.checkpoints = [], []

    def on_log(self, step, row):
        assert row["step"] == step
        self.rows.append(row)

    def on_checkpoint(self, step, checkpoint_dir):
        prefix = os.path.join(checkpoint_dir, f"ckpt-{step}")
        _, loop_state = verify(prefix, EnvSpec(1, 1, (-1.0,), (1.0,)))  # every file, every tensor
        assert tf.train.latest_checkpoint(checkpoint_dir) == prefix  # the state file lists it
        self.checkpoints.append(loop_state["step"])


def test_callbacks_see_every_row_as_written_and_every_checkpoint_once_on_disk(tmp_path):
    """25 steps, rows every 10 and at the end, checkpoints every 10 and at the end (25)."""
    recorder = Recorder()
    train(gym.wrappers.TimeLimit(CounterEnv(), 5), make_learner(),
          small_loop(total_steps=25, checkpoint_every=10), logdir=str(tmp_path),
          callbacks=[recorder])
    with open(tmp_path / "progress.csv", newline="") as f:
        written = list(csv.DictReader(f))
    assert [int(row["step"]) for row in written] == [10, 20, 25]
    assert [{column: str(row.get(column, "")) for column in line} for row, line in
            zip(recorder.rows, written, strict=True)] == written
    assert recorder.checkpoints == [10, 20, 25]

