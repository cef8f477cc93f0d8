"""Evaluation rollouts: one episode's record, the mean over seeded episodes, and the centre of
mass's path and its straightness."""
import gymnasium as gym
import numpy as np
import pytest

from softq_tf import EnvSpec, SoftQLearner, SQLConfig, evaluate, rollout
from softq_tf.training.evaluation import centre_of_mass_path, motion_text, straightness
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


def test_straightness_tells_swimming_one_way_from_shaking_in_place():
    line = np.stack([np.linspace(0, 2, 11), np.zeros(11)], axis=1)
    assert straightness(line) == pytest.approx(1.0)
    shaking = np.array([[0, 0], [0.1, 0], [0, 0], [0.1, 0], [0, 0]], float)
    assert straightness(shaking) == 0.0  # back where it started
    assert straightness(shaking[:4]) == pytest.approx(1 / 3)  # 0.1 m net over 0.3 m
    assert straightness(np.zeros((5, 2))) == 0.0  # no motion at all
    wobble = np.array([[0.0, 0.0], [0.2, 0.0], [0.0, 0.0], [0.2, -0.1]])  # 0.224 m net over 0.624
    assert motion_text(wobble) == ("centre of mass moved +0.20 m in x, -0.10 m in y "
                                   "(straightness 0.36)")


def test_centre_of_mass_path_from_the_infos_of_the_tasks_that_report_it():
    swimmer = gym.make("softq_tf/SwimmerFinish-v1", max_episode_steps=20)
    learner = SoftQLearner(EnvSpec.from_env(swimmer), SQLConfig(
        hidden_sizes=(8,), kernel_particles=4, value_particles=4, jit_compile=False), seed=0)
    run = rollout(swimmer, learner.policy, np.random.default_rng(0), seed=0)
    path = centre_of_mass_path(run)
    assert path.shape == (len(run["rewards"]) + 1, 2)
    assert path[-1].tolist() == [run["final_info"]["com_x"], run["final_info"]["com_y"]]
    counter = gym.wrappers.TimeLimit(CounterEnv(terminate_at=4), 10)
    no_centre = rollout(counter, make_learner().policy, np.random.default_rng(0))
    assert centre_of_mass_path(no_centre) is None
