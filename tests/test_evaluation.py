"""Evaluation rollouts: one episode's record, and the mean over seeded episodes."""
import gymnasium as gym
import numpy as np

from softq_tf import evaluate, rollout
from test_loop import CounterEnv, make_learner


def test_rollout_records_every_step_of_one_episode():
    env = gym.wrappers.TimeLimit(CounterEnv(terminate_at=4), 10)
    run = rollout(env, make_learner().policy, np.random.default_rng(0), seed=0)
    np.testing.assert_array_equal(run["observations"][:, 0], [0, 1, 2, 3, 4])
    assert run["actions"].shape == (4, 1) and np.all(np.abs(run["actions"]) <= 1.0)
    np.testing.assert_array_equal(run["rewards"], np.ones(4))
    assert run["terminated"] and len(run["infos"]) == 5


def test_evaluate_returns_mean_return_and_length():
    env = gym.wrappers.TimeLimit(CounterEnv(terminate_at=4), 10)
    mean_return, mean_length = evaluate(env, make_learner().policy, episodes=3, seed=0)
    assert (mean_return, mean_length) == (4.0, 4.0)
