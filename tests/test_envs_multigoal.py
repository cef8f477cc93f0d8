"""Multi-goal point mass: spaces, dynamics, reward and goal termination."""
import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import softq_tf  # noqa: F401  (registers the envs)
from softq_tf.envs.multigoal import GOALS, MultiGoalEnv, goal_distance_cost


def test_check_env_and_registration():
    env = gym.make("softq_tf/MultiGoal-v0")
    check_env(env.unwrapped)
    assert env.spec.max_episode_steps == 20


def test_dynamics_and_reward():
    env = MultiGoalEnv(init_sigma=0.0)
    obs, _ = env.reset(seed=0)
    np.testing.assert_array_equal(obs, [0.0, 0.0])
    obs, reward, terminated, _, info = env.step(np.array([1.0, 0.5]))
    np.testing.assert_allclose(obs, [1.0, 0.5])
    expected = -((1 - 5) ** 2 + 0.5 ** 2) - 30 * (1 + 0.25)
    assert reward == pytest.approx(expected) and not terminated and info["goal"] == -1


def test_each_goal_terminates_with_bonus():
    for index, goal in enumerate(GOALS):
        env = MultiGoalEnv(init_sigma=0.0)
        env.reset(seed=0)
        for _ in range(4):
            env.step(goal / 5.0)
        obs, reward, terminated, _, info = env.step(goal / 5.0 * 0.5)
        assert terminated and info["goal"] == index
        assert reward == pytest.approx(-goal_distance_cost(obs) - 30 * 0.25 + 10.0)


def test_positions_are_clipped_to_the_arena():
    env = MultiGoalEnv(init_sigma=0.0)
    env.reset(seed=0)
    for _ in range(12):
        obs, *_ = env.step(np.array([-1.0, 1.0]))
    np.testing.assert_array_equal(obs, [-7.0, 7.0])


@pytest.mark.parametrize("kwargs,name", [({"goal_radius": 0}, "goal_radius"),
                                         ({"action_cost": -1}, "action_cost")])
def test_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        MultiGoalEnv(**kwargs)
