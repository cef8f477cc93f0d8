"""A one-step continuous bandit whose maximum-entropy policy is known in closed form.

With discount 0 the soft Q-function is Q(a) = r(a) / alpha, and the energy-based policy of the paper
is pi(a) = exp(r(a) / alpha) / Z on [-1, 1]. With the tanh correction of the SVGD target (see
:func:`softq_tf.learners.losses.squashed_log_density`) the sampler's target is
exp(r(a) / alpha) (1 - a^2) / Z, which :func:`target_density` evaluates for tests and checks by
quadrature.

Bandits with other reward parameters share the dynamics (there are none: one step, a constant
observation), so they compose (paper Sec. 6): the max-ent policy of the reward sum_i w_i r_i(a) is
exp(sum_i w_i r_i(a) / alpha) (1 - a^2) / Z with the same tanh correction,
:func:`composed_target_density`, and with discount 0 the composed soft Q-function sum_i w_i Q_i is
exactly that task's.
"""
import gymnasium as gym
import numpy as np


def bandit_reward(action, well=0.5, depth=4.0, tilt=0.1):
    """r(a) = -depth * (a^2 - well^2)^2 + tilt * a: two wells at a = +-well, the right one
    deeper."""
    a = np.asarray(action, np.float64)
    return -depth * (a ** 2 - well ** 2) ** 2 + tilt * a


def target_density(grid, alpha, squash_correction=True, **reward_kwargs):
    """exp(r(a)/alpha) (1 - a^2 if squash_correction) normalized on ``grid`` by the trapezoid
    rule."""
    return composed_target_density(grid, alpha, [1.0], [reward_kwargs], squash_correction)


def composed_target_density(grid, alpha, weights, tasks, squash_correction=True):
    """exp(sum_i w_i r_i(a) / alpha) (1 - a^2 if squash_correction) normalized on ``grid`` by the
    trapezoid rule: the max-ent policy of the weighted sum of the rewards of bandits with the
    reward arguments ``tasks`` [{well, depth, tilt}, ...] and the weights ``weights``."""
    grid = np.asarray(grid, np.float64)
    log_p = sum(w * bandit_reward(grid, **task) for w, task in zip(weights, tasks)) / alpha
    if squash_correction:
        log_p = log_p + np.log(np.maximum(1.0 - grid ** 2, 1e-300))
    p = np.exp(log_p - log_p.max())
    return p / np.trapezoid(p, grid)


class ContinuousBanditEnv(gym.Env):
    """One-step bandit on a in [-1, 1] with a constant observation [0].

    - Reward: :func:`bandit_reward` of the action. Every episode terminates after one step.
    - Args ``well``, ``depth``, ``tilt`` shape the reward (see :func:`bandit_reward`).
    """

    metadata = {"render_modes": []}

    def __init__(self, well=0.5, depth=4.0, tilt=0.1):
        if not 0.0 < well < 1.0:
            raise ValueError(f"well={well!r} is invalid: must be in (0, 1)")
        if not depth >= 0.0:
            raise ValueError(f"depth={depth!r} is invalid: must be >= 0")
        self.reward_kwargs = dict(well=well, depth=depth, tilt=tilt)
        self.observation_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.zeros(1, np.float32), {}

    def step(self, action):
        a = float(np.clip(np.asarray(action).reshape(-1)[0], -1.0, 1.0))
        return (np.zeros(1, np.float32), float(bandit_reward(a, **self.reward_kwargs)),
                True, False, {})
