"""Figures 2 and 4 (renders): the scripts write their pictures in a process without TensorFlow, or
exit 2 naming what to install."""
import json
import os
import subprocess
import sys

import pytest

ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")


def run_figure(figure, out_dir, **env):
    return subprocess.run([sys.executable, "-m", f"paper_repro.{figure}", f"--out_dir={out_dir}"],
                          capture_output=True, text=True, timeout=120, env=dict(ENV, **env))


@pytest.mark.parametrize("figure, panels", [("fig2", 2), ("fig4", 5)])
def test_script_writes_the_renders_or_exits_2_without_gl(figure, panels, tmp_path):
    result = run_figure(figure, tmp_path)
    if result.returncode == 2:  # a machine without offscreen OpenGL
        assert "no offscreen OpenGL with MUJOCO_GL=" in result.stderr and "install" in result.stderr
        return
    assert result.returncode == 0, result.stderr[-3000:]
    for ext in ("png", "pdf"):
        assert (tmp_path / f"{figure}.{ext}").stat().st_size > 10_000, ext  # not a blank page
    record = json.loads((tmp_path / f"{figure}.json").read_text())
    assert len(record["panels"]) == panels
    assert f"outputs in {tmp_path}: {figure}.png, {figure}.pdf, {figure}.json" in result.stdout


def test_unusable_backend_exits_2_with_a_one_line_message(tmp_path):
    result = run_figure("fig2", tmp_path, MUJOCO_GL="nosuchgl")
    assert result.returncode == 2
    assert "MUJOCO_GL=nosuchgl" in result.stderr and "egl or osmesa" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "fig2.png").exists()


# Runs fig4 (which renders with fig2's helpers) in-process, then lists the TensorFlow and Keras
# modules loaded: Mesa's software GL crashes in a process that has imported TensorFlow.
RENDER_AND_LIST_TF = """
import sys
from absl import flags
from paper_repro import fig4
flags.FLAGS(["fig4", "--out_dir=" + sys.argv[1]])
try:
    fig4.main([])
except SystemExit as exit:  # no offscreen GL here: the renderer was still set up
    print("exit", exit.code)
print(sorted(name for name in sys.modules if name.split(".")[0] in ("tensorflow", "keras")))
"""


def test_rendering_loads_no_tensorflow(tmp_path):
    result = subprocess.run([sys.executable, "-c", RENDER_AND_LIST_TF, str(tmp_path)],
                            capture_output=True, text=True, timeout=120, env=ENV)
    assert result.returncode == 0, result.stderr[-3000:]
    *before, loaded = result.stdout.strip().splitlines()
    assert loaded == "[]", loaded
    assert (tmp_path / "fig4.png").exists() or before == ["exit 2"], result.stdout
