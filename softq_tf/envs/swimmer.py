"""The swimmer with a finish line of Figures 3a and 6 (paper Sec. 5.2).

Gymnasium's 3-link swimmer (``Swimmer-v5``'s model and physics, unchanged) is paid for speed in
either direction along x, and gets a bonus for every step it spends past a finish line ahead of its
start. The speed reward is symmetric, so a policy can settle on swimming backwards; only exploration
finds that forwards also pays the bonus.
"""
import mujoco
import numpy as np
from gymnasium.envs.mujoco.swimmer_v5 import SwimmerEnv

from softq_tf.envs.arenas import SpecEditMixin, add_marker, require_non_negative

# Measured with Gymnasium's Swimmer-v5 (x of the front tip, 500 steps of 0.04 s = 20 s per episode):
# - uniformly random actions, 1100 episodes: the farthest forward x ever reached was 1.50 m (99th
#   percentile of the per-episode maximum 1.18 m, mean 0.50 m); so a line at 2 m is never crossed.
# - an open-loop square-ish wave (torques clip(3 sin(2 pi 0.7 t + {0, -pi/3}))) swims at 0.19 m/s
#   and crosses 2 m after about 280 steps; trained Swimmer policies reach 0.3-0.35 m/s (returns of
#   ~350 per 1000 steps, e.g. ARS), crossing 2 m after about 150 steps: well within one episode.
DEFAULT_FINISH_LINE = 2.0
# Per step past the line: about three times the speed reward of a good gait (~0.35 per step), so the
# far side of the line dominates the return of an episode that reaches it.
DEFAULT_FINISH_BONUS = 1.0


class SwimmerFinishEnv(SpecEditMixin, SwimmerEnv):
    """Swimmer rewarded for speed in either direction, with a bonus past a finish line ahead of it.

    - Model: Gymnasium's ``swimmer.xml`` (3 links, 2 rotors, viscous fluid), plus a red line on the
      floor at ``x = finish_line`` that is only drawn (no collision, no mass).
    - Observation (10-D, float64): ``qpos`` (front tip x, y, tip angle, 2 rotor angles) and ``qvel``
      (5 velocities). Unlike Swimmer-v5 the tip's x, y are included, because the bonus depends on x.
    - Action (2-D Box [-1, 1], float32): the two rotor torques (gear 150).
    - Reward: ``|v_x| - ctrl_cost_weight * ||a||^2 + finish_bonus * [x >= finish_line]``, with v_x
      the tip's x velocity over the step (0.04 s) and x the tip's x after it. Moving backwards earns
      the same speed reward and never the bonus.
    - Termination: never. Horizon: 500 steps (the registered time limit).
    - Start: Swimmer-v5's, x within +-``reset_noise_scale`` of 0.
    - ``info``: ``x_position`` (tip x, for the farthest forward and backward distance of Fig. 6),
      ``y_position``, ``x_velocity``, ``y_velocity``, ``reward_speed``, ``reward_ctrl``,
      ``reward_finish``, ``past_finish_line``.

    The default line (2 m) and bonus (1 per step) are chosen from measurements with Swimmer-v5 so
    that a uniformly random policy never crosses in 100 episodes (farthest seen in 1100: 1.50 m)
    while a learned gait (0.2-0.35 m/s) crosses after 150-280 of the 500 steps; see
    ``docs/ENVIRONMENTS.md``.

    Args:
      finish_line: x of the line in metres (2.0); must be > ``reset_noise_scale``, i.e. ahead of
        every start position.
      finish_bonus: reward per step at or past the line (1.0), >= 0.
      ctrl_cost_weight: weight of ``||a||^2`` (1e-4, Swimmer-v5's), >= 0.
      reset_noise_scale: scale of the uniform start-state noise (0.1, Swimmer-v5's), >= 0.
      **kwargs: passed to Gymnasium's ``SwimmerEnv`` (``render_mode``, ``width``, ...).
    """

    def __init__(self, finish_line=DEFAULT_FINISH_LINE, finish_bonus=DEFAULT_FINISH_BONUS,
                 ctrl_cost_weight=1e-4, reset_noise_scale=0.1, **kwargs):
        require_non_negative(finish_bonus=finish_bonus, ctrl_cost_weight=ctrl_cost_weight,
                             reset_noise_scale=reset_noise_scale)
        if not (isinstance(finish_line, (int, float)) and reset_noise_scale < finish_line < np.inf):
            raise ValueError(f"finish_line={finish_line!r} is invalid: must be a finite number > "
                             f"reset_noise_scale ({reset_noise_scale!r}), ahead of every start")
        self.finish_line = float(finish_line)
        self.finish_bonus = float(finish_bonus)
        super().__init__(ctrl_cost_weight=ctrl_cost_weight, reset_noise_scale=reset_noise_scale,
                         exclude_current_positions_from_observation=False, **kwargs)

    def _edit_spec(self, spec):
        # Thin red strip just above the floor (z = -0.1), across the pool.
        add_marker(spec, "finish_line", pos=(self.finish_line, 0.0, -0.099),
                   size=(0.03, 5.0, 0.001), rgba=(0.9, 0.1, 0.1, 1.0),
                   geom_type=mujoco.mjtGeom.mjGEOM_BOX)

    def _get_rew(self, x_velocity, action):
        # SwimmerEnv.step calls this after the physics step, so qpos[0] is the new tip x.
        past_line = bool(self.data.qpos[0] >= self.finish_line)
        speed_reward = self._forward_reward_weight * abs(float(x_velocity))
        ctrl_cost = float(self.control_cost(action))
        finish_reward = self.finish_bonus if past_line else 0.0
        reward_info = {"reward_speed": speed_reward, "reward_ctrl": -ctrl_cost,
                       "reward_finish": finish_reward, "past_finish_line": past_line}
        return speed_reward - ctrl_cost + finish_reward, reward_info
