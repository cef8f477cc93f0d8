"""The swimmer with a finish line of Figures 3a and 6 (paper Sec. 5.2).

Gymnasium's 3-link swimmer (``Swimmer-v5``'s model and physics, unchanged) is paid for the speed of
its centre of mass in either direction along x, and gets a bonus for every step its centre of mass
spends past a finish line ahead of its start. The speed reward is symmetric, so a policy can settle
on swimming backwards; only exploration finds that forwards also pays the bonus.

Version 1 measures everything on the centre of mass. Version 0 paid the front tip's speed, which a
policy could earn by shaking the tip in place (uniformly random actions earned 140 per episode, a
swimming wave 384, of which only the wave moves); v0 is no longer registered.
"""
import mujoco
import numpy as np
from gymnasium.envs.mujoco.swimmer_v5 import SwimmerEnv

from softq_tf.envs.arenas import SpecEditMixin, add_marker, require_non_negative
from softq_tf.envs.mechanics import center_of_mass

# Measured with this env (centre-of-mass x, episodes of 500 steps of 0.04 s; docs/ENVIRONMENTS.md):
# - uniformly random actions, 100 episodes: the farthest forward x reached was 0.65 m (99th
#   percentile of an episode's farthest x 0.57 m, mean 0.17 m), so a line at 1 m is not crossed.
# - an open-loop travelling wave (torques clip(3 sin(2 pi 0.7 t + {0, -pi/3}))) swims 3.5 m in an
#   episode and crosses 1 m at step 163: well within one episode.
DEFAULT_FINISH_LINE = 1.0
# Per step past the line: about six times the wave's speed reward per step (0.17), so the far side
# of the line dominates the return of an episode that reaches it.
DEFAULT_FINISH_BONUS = 1.0


class SwimmerFinishEnv(SpecEditMixin, SwimmerEnv):
    """Swimmer rewarded for centre-of-mass speed either way, with a bonus past a finish line ahead.

    - Model: Gymnasium's ``swimmer.xml`` (3 links, 2 rotors, viscous fluid), plus a red line on the
      floor at ``x = finish_line`` that is only drawn (no collision, no mass).
    - Observation (10-D, float64): ``qpos`` (front tip x, y, tip angle, 2 rotor angles) and ``qvel``
      (5 velocities). Unlike Swimmer-v5 the tip's x, y are included: with the angles they fix the
      centre of mass, on which the bonus depends.
    - Action (2-D Box [-1, 1], float32): the two rotor torques (gear 150).
    - Reward: ``|v_x| - ctrl_cost_weight * ||a||^2 + finish_bonus * [x >= finish_line]``, with x the
      swimmer's centre-of-mass x after the step and v_x its change over the step (0.04 s) divided by
      the step's duration. Moving backwards earns the same speed reward and never the bonus.
    - Termination: never. Horizon: 500 steps (the registered time limit).
    - Start: Swimmer-v5's, tip x within +-``reset_noise_scale`` of 0.
    - ``info``: ``com_x``, ``com_y`` (centre of mass; Fig. 6 plots the farthest forward and
      backward ``com_x``), ``com_x_velocity``, ``tip_x``, ``tip_y`` (the front tip, for reference),
      ``reward_speed``, ``reward_ctrl``, ``reward_finish``, ``past_finish_line``.

    ``episode_metrics`` asks the training loop to log the largest and smallest ``com_x``.

    Args:
      finish_line: centre-of-mass x of the line in metres (1.0); must be > ``reset_noise_scale``,
        ahead of every start (the centre of mass starts within +-``reset_noise_scale`` of x = 0).
      finish_bonus: reward per step at or past the line (1.0), >= 0.
      ctrl_cost_weight: weight of ``||a||^2`` (1e-4, Swimmer-v5's), >= 0.
      reset_noise_scale: scale of the uniform start-state noise (0.1, Swimmer-v5's), >= 0.
      **kwargs: passed to Gymnasium's ``SwimmerEnv`` (``render_mode``, ``width``, ...).
    """

    episode_metrics = (("com_x", "max"), ("com_x", "min"))

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
        self._torso = self.model.body("torso").id

    def _edit_spec(self, spec):
        # Thin red strip just above the floor (z = -0.1), across the pool.
        add_marker(spec, "finish_line", pos=(self.finish_line, 0.0, -0.099),
                   size=(0.03, 5.0, 0.001), rgba=(0.9, 0.1, 0.1, 1.0),
                   geom_type=mujoco.mjtGeom.mjGEOM_BOX)

    def _com(self):
        return center_of_mass(self.model, self.data, self._torso)

    def _positions(self, com):
        return {"com_x": float(com[0]), "com_y": float(com[1]),
                "tip_x": float(self.data.qpos[0]), "tip_y": float(self.data.qpos[1])}

    def _get_reset_info(self):
        return self._positions(self._com())

    def step(self, action):
        com_before = self._com()
        self.do_simulation(action, self.frame_skip)
        com = self._com()
        com_x_velocity = float(com[0] - com_before[0]) / self.dt
        past_line = bool(com[0] >= self.finish_line)
        speed_reward = self._forward_reward_weight * abs(com_x_velocity)
        ctrl_cost = float(self.control_cost(action))
        finish_reward = self.finish_bonus if past_line else 0.0
        info = dict(self._positions(com), com_x_velocity=com_x_velocity,
                    reward_speed=speed_reward, reward_ctrl=-ctrl_cost,
                    reward_finish=finish_reward, past_finish_line=past_line)
        if self.render_mode == "human":
            self.render()
        # The time limit comes from the TimeLimit wrapper that gym.make adds.
        return self._get_obs(), speed_reward - ctrl_cost + finish_reward, False, False, info
