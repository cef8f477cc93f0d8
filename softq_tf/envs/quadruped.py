"""The quadruped tasks of Figures 3b, 4, 5 and 7: maze, pretraining, two hallways and a U-maze.

The paper's quadruped is rllab's ant; here it is Gymnasium's Ant model (MuJoCo), shipped unchanged
in ``assets/quadruped.xml``. Every task shares :class:`QuadrupedEnv`'s observation, action,
termination and horizon, so a policy or Q-function trained on one task loads on any other; the tasks
differ only in their walls (:mod:`softq_tf.envs.arenas`) and their reward. ``docs/ENVIRONMENTS.md``
has the pictures and the reasons behind every dimension.

Version 1 measures speed and distance on the robot's centre of mass, as the paper states; version 0
used the torso's frame, whose speed a vibrating policy earns without travelling (a bang-bang action
switching every step earned ~130 per episode on the pretraining task while moving 0.8 m). v0 is no
longer registered.
"""
import os

import numpy as np
from gymnasium.envs.mujoco import MujocoEnv
from gymnasium.spaces import Box

from softq_tf.envs.arenas import (Layout, SpecEditMixin, add_marker, add_walls, hallway_layout,
                                  maze_layout, require_non_negative, require_positive, umaze_layout)
from softq_tf.envs.mechanics import center_of_mass

ASSET = os.path.join(os.path.dirname(__file__), "assets", "quadruped.xml")
FRAME_SKIP = 5  # Gymnasium's Ant-v5: 5 physics steps of 0.01 s, so one env step is 0.05 s.
TORSO_RADIUS = 0.25  # radius of ``torso_geom`` in the asset; no torso centre gets closer to a wall.
HEALTHY_Z_RANGE = (0.2, 1.0)  # Gymnasium's Ant-v5 healthy torso height range, in metres.
HALLWAY_WIDTHS = {"wide": 8.0, "narrow": 3.0}  # inner width between the walls, in metres.


class QuadrupedEnv(SpecEditMixin, MujocoEnv):
    """Gymnasium's Ant on a floor with optional walls: the machinery shared by every quadruped task.

    - Observation (29-D, float64): the full ``qpos`` (torso x, y, z, torso orientation quaternion
      w, x, y, z, then the 8 hip/ankle angles) followed by the full ``qvel`` (torso linear and
      angular velocity, 8 joint velocities). The torso x, y are kept, unlike Ant-v5, because the
      target tasks' rewards depend on them; contact forces are left out.
    - Action (8-D Box [-1, 1], float32): hip and ankle torques (gear 150), Ant-v5's actuator order.
    - Termination: the robot flipped over, i.e. the torso's z-axis points below the horizon, or the
      torso centre's height left [0.2, 1.0] m (Ant-v5's healthy range), or the state is not finite.
    - Horizon: 500 steps of 0.05 s (the registered time limit).
    - Start: the origin, Ant's initial pose with uniform +-``reset_noise_scale`` noise on ``qpos``
      and Gaussian noise of std ``reset_noise_scale`` on ``qvel`` (Ant-v5's rule).
    - ``info``: ``com_x``, ``com_y`` (the robot's centre of mass: rewards and traces use it),
      ``com_x_velocity``, ``com_y_velocity`` (over the step), ``torso_x``, ``torso_y`` (the torso
      centre, the observation's first two entries).

    Subclasses define :meth:`_reward`.

    Args:
      layout: the arena's walls (default: none, an empty floor).
      reset_noise_scale: scale of the start-state noise (0.1, as Ant-v5).
      **kwargs: passed to ``MujocoEnv`` (``render_mode``, ``width``, ``height``, ...).
    """

    metadata = {"render_modes": ["human", "rgb_array", "depth_array"], "render_fps": 20}

    def __init__(self, layout=Layout(), reset_noise_scale=0.1, **kwargs):
        require_non_negative(reset_noise_scale=reset_noise_scale)
        self.layout = layout
        self._reset_noise_scale = reset_noise_scale
        MujocoEnv.__init__(self, ASSET, FRAME_SKIP, observation_space=None,
                           default_camera_config={"distance": 8.0, "elevation": -45.0}, **kwargs)
        obs_dim = self.model.nq + self.model.nv
        self.observation_space = Box(-np.inf, np.inf, (obs_dim,), np.float64)
        self._torso = self.model.body("torso").id

    def _edit_spec(self, spec):
        add_walls(spec, self.layout.walls)

    def _reward(self, action, velocity, info, flipped):
        """The task's reward for a step taking ``action``, with centre-of-mass xy ``velocity``,
        step ``info`` and whether the robot ended it ``flipped``."""
        raise NotImplementedError

    def _com_xy(self):
        return center_of_mass(self.model, self.data, self._torso)[:2]

    def _info(self, com_xy):
        return {"com_x": float(com_xy[0]), "com_y": float(com_xy[1]),
                "torso_x": float(self.data.qpos[0]), "torso_y": float(self.data.qpos[1])}

    def _get_reset_info(self):
        return self._info(self._com_xy())

    def _get_obs(self):
        return np.concatenate([self.data.qpos, self.data.qvel])

    @property
    def flipped(self):
        """Whether the robot is upside down or its torso height is outside the healthy range."""
        up_z = self.data.xmat[self._torso][8]  # world z-component of the torso's z-axis
        low, high = HEALTHY_Z_RANGE
        finite = np.isfinite(self.data.qpos).all() and np.isfinite(self.data.qvel).all()
        return bool(up_z < 0 or not low <= self.data.qpos[2] <= high or not finite)

    def step(self, action):
        com_before = self._com_xy()
        self.do_simulation(action, self.frame_skip)
        com_xy = self._com_xy()
        velocity = (com_xy - com_before) / self.dt
        info = self._info(com_xy)
        info.update(com_x_velocity=float(velocity[0]), com_y_velocity=float(velocity[1]))
        flipped = self.flipped
        reward = self._reward(action, velocity, info, flipped)
        if self.render_mode == "human":
            self.render()
        # The time limit comes from the TimeLimit wrapper that gym.make adds.
        return self._get_obs(), reward, flipped, False, info

    def reset_model(self):
        noise = self._reset_noise_scale
        qpos = self.init_qpos + self.np_random.uniform(-noise, noise, self.model.nq)
        qvel = self.init_qvel + noise * self.np_random.standard_normal(self.model.nv)
        self.set_state(qpos, qvel)
        return self._get_obs()


class QuadrupedPretrainEnv(QuadrupedEnv):
    """Pretraining task (Fig. 4 left, Fig. 7): run in any direction on an empty floor.

    Reward, chosen by ``reward``:

    - ``"speed"`` (the paper's): the horizontal speed of the centre of mass ``||(dx, dy)|| / dt`` in
      m/s, the same in every direction.
    - ``"outward"`` (ours): the rate at which the horizontal distance of the centre of mass from the
      origin grows, ``(||p_t|| - ||p_{t-1}||) / dt`` in m/s. Walking straight out at 1 m/s earns 1
      per step whatever the heading, as with ``"speed"``; moving back and forth earns nothing,
      since the rewards of an episode add up to the net change of the distance over dt (a
      potential-based reward). The speed reward pays a policy that shakes its centre of mass in
      place; this one does not. The distance depends only on the state (the observation holds the
      torso's x, y and every joint angle), so the reward is Markov.

    Plus ``healthy_reward`` for every step that does not end in a flip, minus ``ctrl_cost_weight``
    times the squared norm of the action. Both default to 0, as the paper's task (flipping ends the
    episode, which forfeits the reward to come); Gymnasium's Ant-v5 uses 1 and 0.5.
    Observation, action, termination and horizon: see :class:`QuadrupedEnv`.

    Args:
      reward: ``"speed"`` or ``"outward"``.
      healthy_reward: the alive bonus per step, >= 0.
      ctrl_cost_weight: the weight of the control cost, >= 0.
      **kwargs: passed to :class:`QuadrupedEnv`.
    """

    REWARDS = ("speed", "outward")

    def __init__(self, reward="speed", healthy_reward=0.0, ctrl_cost_weight=0.0, **kwargs):
        if reward not in self.REWARDS:
            raise ValueError(f"reward={reward!r} is invalid: must be one of {list(self.REWARDS)}")
        require_non_negative(healthy_reward=healthy_reward, ctrl_cost_weight=ctrl_cost_weight)
        self.reward = reward
        self.healthy_reward = healthy_reward
        self.ctrl_cost_weight = ctrl_cost_weight
        super().__init__(**kwargs)

    def _reward(self, action, velocity, info, flipped):
        extra = ((0.0 if flipped else self.healthy_reward)
                 - self.ctrl_cost_weight * float(np.sum(np.square(action))))
        if self.reward == "speed":
            return float(np.linalg.norm(velocity)) + extra
        com_xy = np.array([info["com_x"], info["com_y"]])
        return float((np.linalg.norm(com_xy) - np.linalg.norm(com_xy - velocity * self.dt))
                     / self.dt) + extra


class QuadrupedHallwayEnv(QuadrupedPretrainEnv):
    """Hallway task (Fig. 4 middle, Fig. 5): the pretraining reward between two walls along x.

    The walls run along x, from x = -length/2 to length/2, at y = +-width/2 (the inner faces), so
    the robot's sideways (y) motion is bounded and speed pays only along the hallway. Both ends are
    open; at 200 m the walls outlast 500 steps (25 s) of running at up to 4 m/s either way.

    - ``"wide"``: 8 m between the walls; standing on spread legs (they reach 0.9-1.1 m from the
      torso centre) the robot can drift about +-3 m sideways.
    - ``"narrow"``: 3 m between the walls; standing, the torso centre keeps within about +-0.6 m:
      the walls funnel the robot.

    Whatever the legs do, the torso centre stays within ``|y| <= width/2 - 0.25`` (its radius).
    Speed is measured on the centre of mass, as for the pretraining task.

    Reward (``reward="speed"`` or ``"outward"``), observation, action, termination and horizon:
    see :class:`QuadrupedPretrainEnv`. Between the walls, ``"outward"`` pays running along the
    hallway away from the start, either way.

    Args:
      hallway: ``"wide"`` or ``"narrow"``.
      length: length of the walls in metres (200).
      **kwargs: passed to :class:`QuadrupedPretrainEnv` (``reward``) and :class:`QuadrupedEnv`.
    """

    def __init__(self, hallway="wide", length=200.0, **kwargs):
        if hallway not in HALLWAY_WIDTHS:
            raise ValueError(f"hallway={hallway!r} is invalid: must be one of "
                             f"{sorted(HALLWAY_WIDTHS)}")
        self.hallway = hallway
        self.width = HALLWAY_WIDTHS[hallway]
        super().__init__(layout=hallway_layout(self.width, length), **kwargs)


class QuadrupedTargetEnv(QuadrupedEnv):
    """A quadruped task rewarded by a Gaussian bump at a target on the floor.

    Reward: ``exp(-d^2 / (2 bump_std^2))`` with d the horizontal distance from the robot's centre of
    mass to the target (1 on the target, no other term). ``info["distance"]`` is d, and
    ``episode_metrics`` asks the training loop to log its smallest value. A red disc marks the
    target (visual only). Observation, action, termination and horizon: see :class:`QuadrupedEnv`.

    Args:
      layout: the arena's walls.
      target: (x, y) of the bump's centre; must lie in the arena's free space.
      bump_std: width of the bump in metres.
      **kwargs: passed to :class:`QuadrupedEnv`.
    """

    episode_metrics = (("distance", "min"),)

    def __init__(self, layout, target, bump_std, **kwargs):
        require_positive(bump_std=bump_std)
        target = np.asarray(target, np.float64)
        if target.shape != (2,) or not layout.is_free(target):
            raise ValueError(f"target={tuple(np.ravel(target))!r} is invalid: must be an (x, y) "
                             f"point in the free space inside {layout.bounds}, outside every wall")
        self.target = target
        self.bump_std = bump_std
        super().__init__(layout=layout, **kwargs)

    def _edit_spec(self, spec):
        super()._edit_spec(spec)
        add_marker(spec, "target", pos=(*self.target, 0.005), size=(0.5, 0.005),
                   rgba=(0.9, 0.15, 0.15, 0.7))

    def _info(self, com_xy):
        info = super()._info(com_xy)
        info["distance"] = float(np.linalg.norm(com_xy - self.target))
        return info

    def _reward(self, action, velocity, info, flipped):
        return float(np.exp(-0.5 * (info["distance"] / self.bump_std) ** 2))


def _require_passable(**widths):
    """Raises ValueError unless each corridor width exceeds the torso's diameter."""
    require_positive(**widths)
    for name, value in widths.items():
        if value <= 2 * TORSO_RADIUS:
            raise ValueError(f"{name}={value!r} is invalid: must be > {2 * TORSO_RADIUS} "
                             "(the torso's diameter)")


class QuadrupedMazeEnv(QuadrupedTargetEnv):
    """Maze task (Fig. 3b): two look-alike passages to the target, the upper one blocked at its end.

    Top view with the defaults (metres; S start at the origin, T target, B barrier)::

        y= 4.5 +----------------------------------------------+
               |  start  :  upper passage          |B|  goal  |
        y= 1.5 |  hall   +---------------------------+  hall  |
               |    S    |      island (8 x 3)       |    T   |   T = (11, 0)
        y=-1.5 |         +---------------------------+        |
               |         :  lower passage                     |
        y=-4.5 +----------------------------------------------+
             x=-1.5     1.5                       9  9.5     12.5

    A start hall and a goal hall, each ``passage_width`` wide, are joined by an upper and a lower
    passage of ``passage_width`` around the island. From the start both passages look alike and the
    reward rises the same way along both, but a barrier (``barrier_thickness`` thick) closes the
    upper passage at the island's far end; only the lower passage reaches the target.

    Reward: Gaussian bump at the target, ``bump_std`` = 4 m so it is felt from the start (0.02
    there, 0.78 at the barrier, 1 on the target); see :class:`QuadrupedTargetEnv`.
    ``info["distance"]``: distance from the centre of mass to the target.

    Args:
      passage_width: width of the halls and passages (3 m; the ant spans about 2.2 m).
      island_length: length of the island and the passages along x (8 m).
      island_width: width of the island between the passages (3 m).
      barrier_thickness: thickness of the barrier along x (0.5 m).
      target: (x, y) of the bump; default the goal hall's centre,
        (passage_width + island_length, 0).
      bump_std: width of the Gaussian bump (4 m).
      **kwargs: passed to :class:`QuadrupedEnv`.
    """

    def __init__(self, passage_width=3.0, island_length=8.0, island_width=3.0,
                 barrier_thickness=0.5, target=None, bump_std=4.0, **kwargs):
        _require_passable(passage_width=passage_width)
        layout, self.blocked_passage = maze_layout(passage_width, island_length, island_width,
                                                   barrier_thickness)
        if target is None:
            target = (passage_width + island_length, 0.0)
        super().__init__(layout, target, bump_std, **kwargs)

    @property
    def threshold(self):
        """Closest centre-of-mass-to-target distance reachable through the blocked (upper) passage.

        No part of the robot enters a wall, and a robot in the upper passage near the barrier lies
        wholly inside the passage's open part (its legs span about 2.2 m, the island is 8 m long),
        so its centre of mass, an average of its parts' positions, does too. The threshold is the
        distance from the target to that rectangle (2.5 m with the defaults: from the corner (9,
        1.5) to (11, 0)). The body keeps its centre of mass farther still, so this is a lower bound:
        a run that gets closer than ``threshold`` must have used the lower passage.
        """
        return self.blocked_passage.distance(self.target)


class QuadrupedUMazeEnv(QuadrupedTargetEnv):
    """U-maze task (Fig. 4 right, Fig. 5): a U-shaped corridor with a Gaussian bump at its far end.

    Top view with the defaults (metres; S start at the origin, T target)::

        y= 6.5 +-------------------------------+
               |  T   upper arm                 |   T = (0, 5)
        y= 3.5 +------------------------+       |
               |   divider (8 x 2)      |  turn |
        y= 1.5 +------------------------+       |
               |  S   lower arm                 |
        y=-1.5 +-------------------------------+
             x=-1.5                    6.5      9.5

    The robot walks along the lower arm, turns, and comes back along the upper arm to the target
    above its start: 5 m away in a straight line, about 21 m along the corridor. Reward: Gaussian
    bump at the target with ``bump_std`` = 2 m (0.04 at the start, about 0 at the turn), so the
    corridor has to be followed away from the bump first; see :class:`QuadrupedTargetEnv`.

    Args:
      corridor_width: width of both arms and the turn (3 m).
      arm_length: length of the divider between the arms (8 m); each arm runs from
        x = -corridor_width/2 to the turn, whose far wall is at arm_length + corridor_width/2.
      divider_width: thickness of the divider between the arms (2 m).
      target: (x, y) of the bump; default the upper arm's end, (0, corridor_width + divider_width).
      bump_std: width of the Gaussian bump (2 m).
      **kwargs: passed to :class:`QuadrupedEnv`.
    """

    def __init__(self, corridor_width=3.0, arm_length=8.0, divider_width=2.0, target=None,
                 bump_std=2.0, **kwargs):
        _require_passable(corridor_width=corridor_width)
        layout = umaze_layout(corridor_width, arm_length, divider_width)
        if target is None:
            target = (0.0, corridor_width + divider_width)
        super().__init__(layout, target, bump_std, **kwargs)
