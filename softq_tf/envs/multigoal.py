"""The multi-goal point mass of Figure 1 (paper Sec. 5.1).

A point in the plane starts near the origin and moves by its action. Four goals sit at (+-5, 0) and
(0, +-5); reaching any of them is equally good, so the optimal max-ent policy is multimodal.
"""
import gymnasium as gym
import numpy as np

GOALS = np.array([[5.0, 0.0], [-5.0, 0.0], [0.0, 5.0], [0.0, -5.0]], np.float32)


def goal_distance_cost(positions, distance_weight=1.0):
    """distance_weight * min_g ||s - g||^2 for positions [..., 2] (the reward's level curves)."""
    sq = np.sum((np.asarray(positions)[..., None, :] - GOALS) ** 2, axis=-1)
    return distance_weight * np.min(sq, axis=-1)


class MultiGoalEnv(gym.Env):
    """2-D multi-goal point mass (Haarnoja et al. 2017, Fig. 1; values in docs/REPRODUCTION.md).

    - Observation: the position s in [-7, 7]^2.
    - Action: a velocity in [-1, 1]^2; s' = clip(s + a, -7, 7).
    - Reward: r = -distance_weight * min_g ||s' - g||^2 - action_cost * ||a||^2, plus ``goal_reward``
      when s' is within ``goal_radius`` of a goal, which also terminates the episode.
    - Start: the origin plus N(0, init_sigma^2) noise. Horizon: 20 steps (registered time limit).
    - ``info["goal"]``: index into :data:`GOALS` of the goal reached this step, or -1.

    Args:
      action_cost: weight of ||a||^2 (30 in the authors' code).
      distance_weight: weight of the squared distance to the nearest goal (1).
      goal_reward: bonus on reaching a goal (10).
      goal_radius: distance at which a goal counts as reached (1).
      init_sigma: std of the start position noise (0.1).
    """

    metadata = {"render_modes": []}
    bound = 7.0

    def __init__(self, action_cost=30.0, distance_weight=1.0, goal_reward=10.0, goal_radius=1.0,
                 init_sigma=0.1):
        for name, value in dict(action_cost=action_cost, distance_weight=distance_weight,
                                goal_reward=goal_reward, init_sigma=init_sigma).items():
            if not value >= 0:
                raise ValueError(f"{name}={value!r} is invalid: must be >= 0")
        if not 0 < goal_radius < 5:
            raise ValueError(f"goal_radius={goal_radius!r} is invalid: must be in (0, 5)")
        self.action_cost, self.distance_weight = action_cost, distance_weight
        self.goal_reward, self.goal_radius, self.init_sigma = goal_reward, goal_radius, init_sigma
        self.observation_space = gym.spaces.Box(-self.bound, self.bound, (2,), np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
        self._position = np.zeros(2, np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        noise = self.np_random.normal(0.0, self.init_sigma, 2)
        self._position = np.clip(noise, -self.bound, self.bound).astype(np.float32)
        return self._position.copy(), {}

    def step(self, action):
        action = np.clip(np.asarray(action, np.float32), -1.0, 1.0)
        self._position = np.clip(self._position + action, -self.bound, self.bound)
        distances = np.linalg.norm(GOALS - self._position, axis=-1)
        reached = bool(distances.min() < self.goal_radius)
        reward = (-goal_distance_cost(self._position, self.distance_weight)
                  - self.action_cost * float(np.sum(action ** 2))
                  + (self.goal_reward if reached else 0.0))
        info = {"goal": int(np.argmin(distances)) if reached else -1}
        return self._position.copy(), float(reward), reached, False, info
