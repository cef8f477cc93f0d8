"""Environment specs: the shapes and bounds the networks are built for.

Every algorithm in softq_tf acts in the normalized action square [-1, 1]^A (the tanh-squashed
output of the sampling network, paper Sec. 3.3); :class:`EnvSpec` maps those actions to the
environment's bounds.
"""
import dataclasses
import functools

import gymnasium as gym
import numpy as np


def denormalize_action(action, low, high):
    """Maps normalized actions in [-1, 1]^A affinely onto the box [low, high] (numpy or TF)."""
    return low + 0.5 * (action + 1.0) * (high - low)


def normalize_action(env_action, low, high):
    """Inverse of :func:`denormalize_action`: the box [low, high] onto [-1, 1]^A (numpy or TF)."""
    return 2.0 * (env_action - low) / (high - low) - 1.0


@dataclasses.dataclass(frozen=True)
class EnvSpec:
    """Observation size and action box of an environment.

    Attributes:
      obs_dim: O, the length of the (flat) observation vector.
      act_dim: A, the number of action dimensions.
      low: [A] lower action bounds of the environment.
      high: [A] upper action bounds of the environment.
    """

    obs_dim: int
    act_dim: int
    low: tuple
    high: tuple

    @classmethod
    def from_spaces(cls, observation_space, action_space):
        """Builds a spec from Gymnasium spaces, rejecting anything the networks cannot handle.

        Raises:
          ValueError: the action space is not a bounded 1-D Box, or the observation space is not a
            1-D Box (wrap such envs in ``gymnasium.wrappers.FlattenObservation`` first).
        """
        if not isinstance(action_space, gym.spaces.Box):
            raise ValueError(f"action space {action_space} is not supported: softq_tf needs a "
                             "gymnasium.spaces.Box action space (continuous actions)")
        if len(action_space.shape) != 1:
            raise ValueError(f"action space shape {action_space.shape} is not supported: "
                             "a 1-D Box is required")
        if not (np.all(np.isfinite(action_space.low)) and np.all(np.isfinite(action_space.high))):
            raise ValueError(f"action space {action_space} is unbounded: every action dimension "
                             "needs finite low and high bounds")
        if not isinstance(observation_space, gym.spaces.Box) or len(observation_space.shape) != 1:
            raise ValueError(f"observation space {observation_space} is not supported: a 1-D Box "
                             "is required (wrap the env in gymnasium.wrappers.FlattenObservation)")
        return cls(obs_dim=int(observation_space.shape[0]), act_dim=int(action_space.shape[0]),
                   low=tuple(float(x) for x in action_space.low),
                   high=tuple(float(x) for x in action_space.high))

    @classmethod
    def from_env(cls, env):
        """Builds a spec from a Gymnasium env (see :meth:`from_spaces`)."""
        return cls.from_spaces(env.observation_space, env.action_space)

    @functools.cached_property
    def _bounds(self):
        # Built once: the training loop maps every action it takes.
        return np.asarray(self.low), np.asarray(self.high)

    def to_env_action(self, action):
        """Maps normalized actions in [-1, 1]^A to the environment's box (numpy, float32)."""
        return denormalize_action(np.asarray(action), *self._bounds).astype(np.float32)

    def to_normalized_action(self, env_action):
        """Inverse of :meth:`to_env_action`."""
        return normalize_action(np.asarray(env_action), *self._bounds).astype(np.float32)
