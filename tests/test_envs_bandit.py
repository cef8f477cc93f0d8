"""Continuous bandit: one-step episodes and a normalized, bimodal target density."""
import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import softq_tf  # noqa: F401  (registers the envs)
from softq_tf.envs.bandit import (ContinuousBanditEnv, bandit_reward, composed_target_density,
                                 target_density)


def test_one_step_episodes():
    env = gym.make("softq_tf/ContinuousBandit-v0")
    check_env(env.unwrapped)
    env.reset(seed=0)
    _, reward, terminated, _, _ = env.step(np.array([0.5], np.float32))
    assert terminated and reward == pytest.approx(bandit_reward(0.5))


def test_target_density_is_normalized_and_bimodal():
    grid = np.linspace(-1, 1, 2001)
    p = target_density(grid, alpha=0.1)
    assert np.trapezoid(p, grid) == pytest.approx(1.0)
    left, middle, right = (p[np.argmin(np.abs(grid - x))] for x in (-0.5, 0.0, 0.5))
    assert right > left > middle * 5  # two wells, the right one deeper (tilt > 0)
    assert max(p[0], p[-1]) < 1e-9 * p.max()  # the (1 - a^2) squash factor vanishes at +-1


def test_bad_arguments():
    with pytest.raises(ValueError, match="well"):
        ContinuousBanditEnv(well=1.5)


def test_composed_density_is_the_max_ent_policy_of_the_weighted_reward():
    """The reward is linear in tilt: the mean of tilts 0.5 and -0.3 is the default bandit's 0.1."""
    grid = np.linspace(-1, 1, 2001)
    composed = composed_target_density(grid, 0.1, (0.5, 0.5), (dict(tilt=0.5), dict(tilt=-0.3)))
    np.testing.assert_allclose(composed, target_density(grid, alpha=0.1), rtol=1e-9, atol=1e-12)
    lopsided = composed_target_density(grid, 0.1, (1.0, 0.0), (dict(tilt=0.5), dict(tilt=-0.3)))
    np.testing.assert_allclose(lopsided, target_density(grid, alpha=0.1, tilt=0.5), rtol=1e-9,
                               atol=1e-12)
