"""Arena layouts of the quadruped tasks, and MuJoCo model-editing helpers for all MuJoCo tasks.

An arena is a :class:`Layout`: axis-aligned wall boxes on the floor plus the free rectangle the
robot moves in. The environments add the walls to the robot's MJCF model with ``mujoco.MjSpec`` when
they build the simulation, so arena dimensions are constructor arguments rather than copies of an
XML file. Every length is in metres, in the world frame, with the robot starting at the origin
facing +x.
"""
import dataclasses
import math
from typing import Optional, Tuple

import mujoco

# The quadruped's episode ends once its torso centre rises above 1 m; to pass over a 2 m wall the
# torso (a 0.25 m sphere) would have to rise from below 1 m to above 2.25 m within one 0.05 s step.
# (A 1 m wall was climbed when the torso was pushed with three times the robot's weight.)
WALL_HEIGHT = 2.0
WALL_THICKNESS = 0.5
WALL_RGBA = (0.45, 0.5, 0.6, 1.0)  # grey-blue, apart from the robot's tan


@dataclasses.dataclass(frozen=True)
class Rect:
    """An axis-aligned rectangle [x0, x1] x [y0, y1] on the floor."""

    x0: float
    x1: float
    y0: float
    y1: float

    def contains(self, xy, margin=0.0):
        """Whether the point ``xy`` lies inside the rectangle grown by ``margin`` on every side."""
        x, y = xy
        return (self.x0 - margin <= x <= self.x1 + margin
                and self.y0 - margin <= y <= self.y1 + margin)

    def distance(self, xy):
        """Euclidean distance from ``xy`` to the closest point of the rectangle (0 inside)."""
        x, y = xy
        dx = max(self.x0 - x, 0.0, x - self.x1)
        dy = max(self.y0 - y, 0.0, y - self.y1)
        return math.hypot(dx, dy)


@dataclasses.dataclass(frozen=True)
class Layout:
    """Walls of an arena and the rectangle that bounds its free space.

    Attributes:
      walls: wall boxes, each extruded from the floor to :data:`WALL_HEIGHT`.
      bounds: the free space is ``bounds`` minus the walls; None for an unbounded floor.
    """

    walls: Tuple[Rect, ...] = ()
    bounds: Optional[Rect] = None

    def is_free(self, xy):
        """Whether ``xy`` is inside the bounds and outside every wall."""
        inside = self.bounds is None or self.bounds.contains(xy)
        return inside and not any(wall.contains(xy) for wall in self.walls)


def require_positive(**values):
    """Raises ValueError naming the first argument that is not a finite number > 0."""
    for name, value in values.items():
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
            raise ValueError(f"{name}={value!r} is invalid: must be a finite number > 0")


def require_non_negative(**values):
    """Raises ValueError naming the first argument that is not a finite number >= 0."""
    for name, value in values.items():
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
            raise ValueError(f"{name}={value!r} is invalid: must be a finite number >= 0")


def enclosure(inner):
    """The four walls that close the rectangle ``inner`` (corners overlap so no gap remains)."""
    t = WALL_THICKNESS
    return (
        Rect(inner.x0 - t, inner.x1 + t, inner.y1, inner.y1 + t),
        Rect(inner.x0 - t, inner.x1 + t, inner.y0 - t, inner.y0),
        Rect(inner.x0 - t, inner.x0, inner.y0, inner.y1),
        Rect(inner.x1, inner.x1 + t, inner.y0, inner.y1),
    )


def hallway_layout(width, length):
    """Two side walls at y = +-width/2 from x = -length/2 to length/2; both ends stay open."""
    require_positive(width=width, length=length)
    inner = Rect(-length / 2, length / 2, -width / 2, width / 2)
    return Layout(walls=enclosure(inner)[:2], bounds=inner)


def maze_layout(passage_width, island_length, island_width, barrier_thickness):
    """The two-passage maze of Fig. 3b (see ``QuadrupedMazeEnv`` for the picture).

    A start hall (x in [-w/2, w/2], w = passage_width) and a goal hall of the same width are joined
    by an upper and a lower passage of width w around a central block (the island) of size
    island_length x island_width. A barrier fills the upper passage at its far end.

    Returns:
      (layout, blocked_passage): ``blocked_passage`` is the open part of the upper passage, from the
      start hall to the barrier.
    """
    require_positive(passage_width=passage_width, island_length=island_length,
                     island_width=island_width, barrier_thickness=barrier_thickness)
    if barrier_thickness >= island_length:
        raise ValueError(f"barrier_thickness={barrier_thickness!r} is invalid: must be < "
                         f"island_length ({island_length!r})")
    w, h = passage_width, island_width / 2
    island = Rect(w / 2, w / 2 + island_length, -h, h)
    barrier = Rect(island.x1 - barrier_thickness, island.x1, h, h + w)
    inner = Rect(-w / 2, island.x1 + w, -h - w, h + w)
    blocked_passage = Rect(island.x0, barrier.x0, h, h + w)
    return Layout(walls=enclosure(inner) + (island, barrier), bounds=inner), blocked_passage


def umaze_layout(corridor_width, arm_length, divider_width):
    """A U-shaped corridor: a lower arm along +x, a turn, and an upper arm back along -x.

    The lower arm runs from the start (x in [-w/2, w/2], w = corridor_width) to the turn; a divider
    of size (arm_length x divider_width) separates it from the upper arm, which ends above the
    start.
    """
    require_positive(corridor_width=corridor_width, arm_length=arm_length,
                     divider_width=divider_width)
    w = corridor_width
    inner = Rect(-w / 2, arm_length + w / 2, -w / 2, w / 2 + divider_width + w)
    divider = Rect(-w / 2, arm_length - w / 2, w / 2, w / 2 + divider_width)
    return Layout(walls=enclosure(inner) + (divider,), bounds=inner)


def add_walls(spec, walls):
    """Adds each wall of ``walls`` to ``spec``'s world as a colliding box from the floor up."""
    for index, wall in enumerate(walls):
        spec.worldbody.add_geom(
            name=f"wall{index}", type=mujoco.mjtGeom.mjGEOM_BOX, rgba=WALL_RGBA,
            pos=[(wall.x0 + wall.x1) / 2, (wall.y0 + wall.y1) / 2, WALL_HEIGHT / 2],
            size=[(wall.x1 - wall.x0) / 2, (wall.y1 - wall.y0) / 2, WALL_HEIGHT / 2],
            contype=1, conaffinity=1, condim=3)


def add_marker(spec, name, pos, size, rgba, geom_type=mujoco.mjtGeom.mjGEOM_CYLINDER):
    """Adds a purely visual geom (no collision, no mass) such as a target disc or a finish line."""
    spec.worldbody.add_geom(name=name, type=geom_type, pos=list(pos), size=list(size),
                            rgba=list(rgba), contype=0, conaffinity=0)


class SpecEditMixin:
    """Builds a ``MujocoEnv``'s model from its XML file after ``self._edit_spec(spec)`` changes it.

    Put it before ``MujocoEnv`` in the bases: it overrides ``MujocoEnv._initialize_simulation``,
    which ``MujocoEnv.__init__`` calls, so every attribute ``_edit_spec`` reads must be set before
    that call.
    """

    def _edit_spec(self, spec):
        """Changes the ``mujoco.MjSpec`` loaded from the model file before it is compiled."""
        raise NotImplementedError

    def _initialize_simulation(self):
        spec = mujoco.MjSpec.from_file(self.fullpath)
        self._edit_spec(spec)
        model = spec.compile()
        # Like MujocoEnv: grow the offscreen buffer to the requested render size, never shrink it.
        model.vis.global_.offwidth = max(model.vis.global_.offwidth, self.width)
        model.vis.global_.offheight = max(model.vis.global_.offheight, self.height)
        return model, mujoco.MjData(model)
