"""Reproduces Figure 2: the simulated robots, the swimmer (with its finish line) and the quadruped.

Offscreen renders with MuJoCo's own renderer (``mujoco.Renderer``) of ``softq_tf/SwimmerFinish-v1``
and ``softq_tf/QuadrupedPretrain-v1`` at their start states; nothing is trained.

    python -m paper_repro.fig2 [--out_dir=out/fig2]

Writes fig2.png, fig2.pdf and fig2.json (the panels' env ids and cameras). Rendering needs an
offscreen OpenGL: ``MUJOCO_GL`` defaults to ``egl`` (Debian/Ubuntu packages libegl1 libopengl0
libegl-mesa0 libgl1-mesa-dri); ``MUJOCO_GL=osmesa`` works with libosmesa6. Without one the script
exits with code 2 and a one-line message naming the packages.

The renders run in this process, whose imports hold no TensorFlow (checked by
tests/test_fig2_fig4.py): TensorFlow's library exports its own copy of LLVM, and Mesa's software
rasterizer (llvmpipe, behind ``egl`` and ``osmesa`` on a machine without a GPU) binds to those
symbols and crashes in the first ``mujoco.Renderer.render`` of a process that has imported
TensorFlow. The helpers here are shared by fig4.
"""
import logging
import os

# Before anything imports mujoco, which reads it once.
os.environ.setdefault("MUJOCO_GL", "egl")

import gymnasium as gym  # noqa: E402
import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from absl import app, flags  # noqa: E402

from paper_repro import figure_files  # noqa: E402
from softq_tf import envs  # noqa: E402
from softq_tf.running import cli  # noqa: E402

flags.adopt_module_key_flags(figure_files)  # --out_dir: listed by --help

GL_BACKEND = os.environ["MUJOCO_GL"]
GL_PACKAGES = {
    "egl": "libegl1 libopengl0 libegl-mesa0 libgl1-mesa-dri",
    "osmesa": "libosmesa6",
    "glfw": "libglfw3 and a display",
}
IMAGE_SIZE = (480, 640)  # height, width in pixels
PANELS = (
    ("Swimmer", "softq_tf/SwimmerFinish-v1",
     dict(lookat=(0.6, 0.0, 0.0), distance=4.5, azimuth=90.0, elevation=-50.0)),
    ("Quadruped", "softq_tf/QuadrupedPretrain-v1",
     dict(lookat=(0.0, 0.0, 0.3), distance=3.5, azimuth=120.0, elevation=-25.0)),
)


def mujoco_with_gl():
    """The ``mujoco`` module once an offscreen GL context of ``MUJOCO_GL`` starts; otherwise exits
    with code 2 and one line naming the packages to install."""
    logging.getLogger("OpenGL").setLevel(logging.WARNING)  # PyOpenGL's INFO line on its speedups
    try:
        # Imported here: with an unusable MUJOCO_GL, importing mujoco is what fails.
        import mujoco
        mujoco.Renderer(mujoco.MjModel.from_xml_string("<mujoco/>"), 8, 8).close()
    except Exception as error:  # noqa: BLE001 - ImportError, RuntimeError, mujoco.FatalError...
        install = GL_PACKAGES.get(GL_BACKEND, "nothing known: set MUJOCO_GL to egl or osmesa")
        reason = f"{type(error).__name__}: {(str(error).splitlines() or [''])[0]}"
        cli.fail(2, f"no offscreen OpenGL with MUJOCO_GL={GL_BACKEND} ({reason}); "
                 f"install: {install}")
    return mujoco


def render_panels(panels):
    """Renders each (title, env id, camera) panel: the env reset with seed 0, seen by a free camera.

    ``camera`` holds ``lookat`` (x, y, z), ``distance``, ``azimuth`` and ``elevation`` (degrees).
    Exits with code 2 and the packages to install when no GL context starts.

    Returns:
      one RGB image (uint8 [height, width, 3]) per panel.
    """
    mujoco = mujoco_with_gl()
    images = []
    for _, env_id, view in panels:
        with gym.make(env_id) as env:
            env.reset(seed=0)
            camera = mujoco.MjvCamera()
            camera.lookat[:] = view["lookat"]
            for key in ("distance", "azimuth", "elevation"):
                setattr(camera, key, view[key])
            with mujoco.Renderer(env.unwrapped.model, *IMAGE_SIZE) as renderer:
                renderer.update_scene(env.unwrapped.data, camera=camera)
                images.append(renderer.render())
    return images


def draw_panels(panels, ncols):
    """Renders every (title, env id, camera) panel into a matplotlib grid; returns the figure."""
    nrows = -(-len(panels) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4 * ncols, 3.1 * nrows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, (title, _, _), image in zip(axes.flat, panels, render_panels(panels)):
        ax.imshow(image)
        ax.set_title(title)
    fig.tight_layout()
    return fig


def write_figure(figure, panels, ncols):
    """Draws ``panels`` and writes ``<out_dir>/<figure>.png``, ``.pdf`` and ``.json``."""
    envs.register_envs()
    root = figure_files.out_dir(figure)
    fig = draw_panels(panels, ncols)
    figure_files.save_figure(fig, root, figure)
    plt.close(fig)
    records = [dict(title=title, env_id=env_id, camera=camera) for title, env_id, camera in panels]
    figure_files.save_results(dict(mujoco_gl=GL_BACKEND, image_size=IMAGE_SIZE, panels=records),
                              root, figure)
    print(figure_files.outputs_line(root, figure))


def main(argv):
    del argv  # unused
    write_figure("fig2", PANELS, ncols=2)


if __name__ == "__main__":
    app.run(main, flags_parser=cli.parse_flags)
