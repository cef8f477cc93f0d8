"""Where a MuJoCo robot is: the centre of mass of a body's subtree, for rewards and traces.

Speed rewards and the figures' traces use the robot's centre of mass rather than one link's frame:
a link swings with every rotation of the body around it, so paying its velocity pays shaking in
place (measured on the swimmer's front tip: ``docs/ENVIRONMENTS.md``).
"""
import mujoco
import numpy as np


def center_of_mass(model, data, root_body):
    """The centre of mass (x, y, z) of ``root_body`` and every body attached below it.

    ``mj_step`` leaves ``data.subtree_com`` at the state before its last integration, so the
    kinematics and centre-of-mass pass are run again here on the current ``qpos`` (a few
    microseconds for the swimmer and the ant; they change no state the next step depends on).

    Args:
      model, data: ``mujoco.MjModel`` and ``mujoco.MjData``.
      root_body: id of the subtree's root body (the robot's free-floating root, e.g. ``torso``).

    Returns:
      a float64 array [3], a copy.
    """
    mujoco.mj_kinematics(model, data)
    mujoco.mj_comPos(model, data)
    return np.array(data.subtree_com[root_body])
