"""Reproduces Figure 2: the simulated robots, the swimmer (with its finish line) and the quadruped.

Offscreen renders with MuJoCo's own renderer (``mujoco.Renderer``) of ``softq_tf/SwimmerFinish-v1``
and ``softq_tf/QuadrupedPretrain-v1`` at their start states; nothing is trained.

    python -m paper_repro.fig2 [--out_dir=out/fig2]

Writes fig2.png, fig2.pdf and fig2.json (the panels' env ids and cameras). Rendering needs an
offscreen OpenGL: ``MUJOCO_GL`` defaults to ``egl`` (Debian/Ubuntu packages libegl1 libopengl0
libegl-mesa0 libgl1-mesa-dri); ``MUJOCO_GL=osmesa`` works with libosmesa6. Without one the script
exits with code 2 and a one-line message naming the packages.

The renders run in a child process that imports only MuJoCo and NumPy. Importing ``softq_tf`` loads
TensorFlow, whose library exports its own copy of LLVM; Mesa's software rasterizer (llvmpipe) then
binds to those symbols and crashes in the first ``mujoco.Renderer.render``. This process only builds
the environments and hands their compiled models (.mjb) and states to the child. The helpers here
are shared by fig4.
"""
import json
import os
import subprocess
import sys
import tempfile

# The backend is for the render child; this process never renders, so it turns MuJoCo's GL off
# (before anything imports mujoco) and cannot fail on a missing GL library.
GL_BACKEND = os.environ.get("MUJOCO_GL", "egl")
os.environ["MUJOCO_GL"] = "disable"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import gymnasium as gym  # noqa: E402
import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import mujoco  # noqa: E402
import numpy as np  # noqa: E402
from absl import app  # noqa: E402

from paper_repro import common  # noqa: E402
from softq_tf import envs  # noqa: E402

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
NO_GL_EXIT = 3  # the child's exit code when no GL context starts

# The child: reads the jobs (JSON file in argv[1]), renders each into its .npy file.
RENDER_CHILD = f"""
import json, sys
import numpy as np
try:
    import mujoco
    mujoco.Renderer(mujoco.MjModel.from_xml_string("<mujoco/>"), 8, 8).close()
except Exception as error:  # ImportError, AttributeError, RuntimeError or mujoco.FatalError
    print(type(error).__name__ + ": " + (str(error).splitlines() or [""])[0], file=sys.stderr)
    sys.exit({NO_GL_EXIT})
request = json.load(open(sys.argv[1]))
for job in request["jobs"]:
    model = mujoco.MjModel.from_binary_path(job["model"])
    data = mujoco.MjData(model)
    data.qpos[:], data.qvel[:] = job["qpos"], job["qvel"]
    mujoco.mj_forward(model, data)
    camera = mujoco.MjvCamera()
    camera.lookat[:] = job["camera"]["lookat"]
    for key in ("distance", "azimuth", "elevation"):
        setattr(camera, key, job["camera"][key])
    with mujoco.Renderer(model, *request["size"]) as renderer:
        renderer.update_scene(data, camera=camera)
        np.save(job["image"], renderer.render())
"""


def _save_job(folder, index, env_id, camera):
    """Builds ``env_id``, resets it with seed 0 and saves its model; returns the child's job."""
    env = gym.make(env_id).unwrapped
    env.reset(seed=0)
    job = dict(model=os.path.join(folder, f"{index}.mjb"),
               image=os.path.join(folder, f"{index}.npy"),
               qpos=env.data.qpos.tolist(), qvel=env.data.qvel.tolist(), camera=camera)
    mujoco.mj_saveModel(env.model, job["model"])
    env.close()
    return job


def render_panels(panels):
    """Renders each (title, env id, camera) panel in a TensorFlow-free child process.

    ``camera`` holds ``lookat`` (x, y, z), ``distance``, ``azimuth`` and ``elevation`` (degrees) of
    a free camera. Exits with code 2 and the packages to install when no GL context starts.

    Returns:
      one RGB image (uint8 [height, width, 3]) per panel.
    """
    with tempfile.TemporaryDirectory() as folder:
        jobs = [_save_job(folder, index, env_id, camera)
                for index, (_, env_id, camera) in enumerate(panels)]
        request = os.path.join(folder, "request.json")
        with open(request, "w", encoding="utf-8") as f:
            json.dump(dict(size=IMAGE_SIZE, jobs=jobs), f)
        child = subprocess.run([sys.executable, "-c", RENDER_CHILD, request], capture_output=True,
                               text=True, env=dict(os.environ, MUJOCO_GL=GL_BACKEND))
        if child.returncode == NO_GL_EXIT:
            install = GL_PACKAGES.get(GL_BACKEND, "nothing known: set MUJOCO_GL to egl or osmesa")
            common.fail(f"no offscreen OpenGL with MUJOCO_GL={GL_BACKEND} "
                        f"({child.stderr.strip()}); install: {install}")
        if child.returncode != 0:
            raise RuntimeError(f"the render process failed:\n{child.stderr[-2000:]}")
        return [np.load(job["image"]) for job in jobs]


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
    root = common.out_dir(figure)
    fig = draw_panels(panels, ncols)
    common.save_figure(fig, root, figure)
    plt.close(fig)
    records = [dict(title=title, env_id=env_id, camera=camera) for title, env_id, camera in panels]
    common.save_results(dict(mujoco_gl=GL_BACKEND, image_size=IMAGE_SIZE, panels=records),
                        root, figure)


def main(argv):
    del argv  # unused
    write_figure("fig2", PANELS, ncols=2)


if __name__ == "__main__":
    app.run(main)
