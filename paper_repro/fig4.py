"""Reproduces Figure 4: the quadruped's pretraining arena and the fine-tuning tasks.

Offscreen renders (``mujoco.Renderer``) of the empty pretraining floor, the wide and the narrow
hallway, the U-maze, and the two-passage maze of Figure 3b, each with the quadruped at its start and
the target (red disc) of the goal-directed tasks; nothing is trained.

    python -m paper_repro.fig4 [--out_dir=out/fig4]

Writes fig4.png, fig4.pdf and fig4.json (the panels' env ids and cameras). Rendering needs an
offscreen OpenGL, as for fig2 (``MUJOCO_GL=egl`` by default; the process must not import
TensorFlow, see fig2); without one the script exits with code 2 and a one-line message naming the
packages to install.
"""
from absl import app, flags

from paper_repro import fig2
from softq_tf.running import cli

flags.adopt_module_key_flags(fig2)  # --out_dir: listed by --help

# Cameras frame each arena's walls near the start; the hallways run on for 100 m each way.
PANELS = (
    ("Pretraining", "softq_tf/QuadrupedPretrain-v1",
     dict(lookat=(1.0, 0.0, 0.0), distance=9.0, azimuth=135.0, elevation=-35.0)),
    ("Wide hallway", "softq_tf/QuadrupedHallwayWide-v1",
     dict(lookat=(3.0, 0.0, 0.0), distance=16.0, azimuth=150.0, elevation=-40.0)),
    ("Narrow hallway", "softq_tf/QuadrupedHallwayNarrow-v1",
     dict(lookat=(3.0, 0.0, 0.0), distance=16.0, azimuth=150.0, elevation=-40.0)),
    ("U-maze", "softq_tf/QuadrupedUMaze-v1",
     dict(lookat=(4.0, 2.5, 0.0), distance=20.0, azimuth=90.0, elevation=-60.0)),
    ("Maze (Fig. 3b)", "softq_tf/QuadrupedMaze-v1",
     dict(lookat=(5.5, 0.0, 0.0), distance=24.0, azimuth=90.0, elevation=-65.0)),
)


def main(argv):
    del argv  # unused
    fig2.write_figure("fig4", PANELS, ncols=3)


if __name__ == "__main__":
    app.run(main, flags_parser=cli.parse_flags)
