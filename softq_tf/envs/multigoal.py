"""The multi-goal point mass of Figure 1 (paper Sec. 5.1), and its variants in which only some
goals pay, for composing skills (paper Sec. 6; Haarnoja et al. 2018, "Composable Deep
Reinforcement Learning for Robotic Manipulation").

A point in the plane starts near the origin and moves by its action. Four goals sit at (+-5, 0) and
(0, +-5); reaching any of them is equally good, so the optimal max-ent policy is multimodal.

Every variant has the same dynamics and termination: an episode ends at *any* of the four goals;
only the reward differs. :class:`MultiGoalEnv` with ``paying_goals`` pays some goals;
:class:`CombinedMultiGoalEnv` pays the weighted sum of several such tasks' rewards, the task whose
soft Q-function the composition of theirs approximates.
"""
import gymnasium as gym
import numpy as np

GOALS = np.array([[5.0, 0.0], [-5.0, 0.0], [0.0, 5.0], [0.0, -5.0]], np.float32)
GOAL_NAMES = ("east", "west", "north", "south")  # of GOALS, in order


def goal_distance_cost(positions, distance_weight=1.0, goals=GOALS):
    """distance_weight * min_g ||s - g||^2 over ``goals`` [G, 2] for positions [..., 2] (the
    reward's level curves)."""
    sq = np.sum((np.asarray(positions)[..., None, :] - goals) ** 2, axis=-1)
    return distance_weight * np.min(sq, axis=-1)


def check_paying_goals(paying_goals):
    """``paying_goals`` as a sorted tuple of distinct indices into :data:`GOALS`.

    Raises:
      ValueError: empty, repeated or out-of-range indices.
    """
    goals = tuple(paying_goals)
    if not goals or len(set(goals)) != len(goals) or not all(
            isinstance(g, (int, np.integer)) and not isinstance(g, bool) and 0 <= g < len(GOALS)
            for g in goals):
        raise ValueError(f"paying_goals={paying_goals!r} is invalid: give distinct indices into "
                         f"the {len(GOALS)} goals {', '.join(GOAL_NAMES)} (0-{len(GOALS) - 1})")
    return tuple(sorted(int(g) for g in goals))


class MultiGoalEnv(gym.Env):
    """2-D multi-goal point mass (Haarnoja et al. 2017, Fig. 1; values in docs/REPRODUCTION.md).

    - Observation: the position s in [-7, 7]^2.
    - Action: a velocity in [-1, 1]^2; s' = clip(s + a, -7, 7).
    - Reward: r = -distance_weight * min_{g paying} ||s' - g||^2 - action_cost * ||a||^2, plus
      ``goal_reward`` when s' is within ``goal_radius`` of a paying goal. With every goal paying
      (the default, ``softq_tf/MultiGoal-v0``) this is the paper's reward.
    - Termination: s' within ``goal_radius`` of *any* goal, paying or not, in every variant: the
      dynamics and termination never change, so tasks that differ in their paying goals compose.
    - Start: the origin plus N(0, init_sigma^2) noise. Horizon: 20 steps (registered time limit).
    - ``info["goal"]``: index into :data:`GOALS` of the goal reached this step, or -1.

    Args:
      action_cost: weight of ||a||^2 (30 in the authors' code).
      distance_weight: weight of the squared distance to the nearest paying goal (1).
      goal_reward: bonus on reaching a paying goal (10).
      goal_radius: distance at which a goal counts as reached (1).
      init_sigma: std of the start position noise (0.1).
      paying_goals: indices into :data:`GOALS` of the goals that pay (default: all four).
    """

    metadata = {"render_modes": []}
    bound = 7.0

    def __init__(self, action_cost=30.0, distance_weight=1.0, goal_reward=10.0, goal_radius=1.0,
                 init_sigma=0.1, paying_goals=(0, 1, 2, 3)):
        for name, value in dict(action_cost=action_cost, distance_weight=distance_weight,
                                goal_reward=goal_reward, init_sigma=init_sigma).items():
            if not value >= 0:
                raise ValueError(f"{name}={value!r} is invalid: must be >= 0")
        if not 0 < goal_radius < 5:
            raise ValueError(f"goal_radius={goal_radius!r} is invalid: must be in (0, 5)")
        self.action_cost, self.distance_weight = action_cost, distance_weight
        self.goal_reward, self.goal_radius, self.init_sigma = goal_reward, goal_radius, init_sigma
        # (weight, paying goals) of each task whose reward's goal part this one's sums.
        self.tasks = ((1.0, check_paying_goals(paying_goals)),)
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
        goal = int(np.argmin(distances)) if reached else -1
        cost = sum(weight * goal_distance_cost(self._position, self.distance_weight, GOALS[list(
            paying)]) for weight, paying in self.tasks)
        bonus = sum(weight * self.goal_reward for weight, paying in self.tasks if goal in paying)
        reward = -cost - self.action_cost * float(np.sum(action ** 2)) + bonus
        return self._position.copy(), float(reward), reached, False, {"goal": goal}


class CombinedMultiGoalEnv(MultiGoalEnv):
    """The multi-goal point mass paid sum_i w_i r_i, r_i the reward of :class:`MultiGoalEnv` with
    ``paying_goals=tasks[i]``: the task whose soft Q-function the composition sum_i w_i Q_i of the
    constituents' approximates (Haarnoja et al. 2018). Dynamics and termination are
    :class:`MultiGoalEnv`'s.

    With equal weights on two tasks that share one goal, the shared goal pays fully (no distance
    cost, the whole bonus); a goal only one task pays earns half the bonus and costs half the
    squared distance to the other task's nearest goal (25 at north for the default tasks).

    Args:
      tasks: the constituent tasks' paying goals, e.g. ``((0, 2), (0, 3))`` (east and north; east
        and south).
      task_weights: w_i >= 0 summing to 1, one per task (default: equal, the mean of the rewards).
      **kwargs: :class:`MultiGoalEnv`'s arguments but ``paying_goals``.
    """

    def __init__(self, tasks=((0, 2), (0, 3)), task_weights=None, **kwargs):
        super().__init__(**kwargs)
        goal_sets = [check_paying_goals(paying) for paying in tasks]
        weights = ([1.0 / len(goal_sets)] * len(goal_sets) if task_weights is None
                   else [float(w) for w in task_weights])
        if (not goal_sets or len(weights) != len(goal_sets)
                or not all(np.isfinite(w) and w >= 0 for w in weights)
                or abs(sum(weights) - 1.0) > 1e-6):
            raise ValueError(f"task_weights={task_weights!r} is invalid for {len(goal_sets)} "
                             "tasks: give one finite weight >= 0 per task, summing to 1")
        self.tasks = tuple(zip(weights, goal_sets))
