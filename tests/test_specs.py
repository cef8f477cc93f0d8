"""EnvSpec: accepted and rejected spaces, action scaling."""
import gymnasium as gym
import numpy as np
import pytest

from softq_tf import EnvSpec


def test_from_env_and_scaling():
    spec = EnvSpec.from_env(gym.make("Pendulum-v1"))
    assert (spec.obs_dim, spec.act_dim, spec.low, spec.high) == (3, 1, (-2.0,), (2.0,))
    np.testing.assert_allclose(spec.to_env_action(np.array([-1.0, 0.0, 1.0])), [-2, 0, 2])
    np.testing.assert_allclose(spec.to_normalized_action(spec.to_env_action([0.3])), [0.3],
                               rtol=1e-6)


@pytest.mark.parametrize("action_space,match", [
    (gym.spaces.Discrete(3), "Box"),
    (gym.spaces.Box(-np.inf, np.inf, (2,)), "unbounded"),
    (gym.spaces.Box(-1, 1, (2, 2)), "1-D"),
])
def test_rejects_unsupported_action_spaces(action_space, match):
    with pytest.raises(ValueError, match=match):
        EnvSpec.from_spaces(gym.spaces.Box(-1, 1, (3,)), action_space)


def test_rejects_structured_observations():
    with pytest.raises(ValueError, match="FlattenObservation"):
        EnvSpec.from_spaces(gym.spaces.Dict({"a": gym.spaces.Box(-1, 1, (2,))}),
                            gym.spaces.Box(-1, 1, (1,)))
