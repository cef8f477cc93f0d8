"""Figures 2 and 4 (renders): the scripts write their pictures, or exit 2 naming what to install."""
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


def test_unusable_backend_exits_2_with_a_one_line_message(tmp_path):
    result = run_figure("fig2", tmp_path, MUJOCO_GL="nosuchgl")
    assert result.returncode == 2
    assert "MUJOCO_GL=nosuchgl" in result.stderr and "egl or osmesa" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "fig2.png").exists()
