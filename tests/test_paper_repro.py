"""Figure scripts at the smoke profile: the pipeline runs and writes its files (not the claim)."""
import json
import os
import subprocess
import sys

ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")


def run_figure(figure, *args):
    return subprocess.run([sys.executable, "-m", f"paper_repro.{figure}", *args],
                          capture_output=True, text=True, timeout=600, env=ENV)


def test_fig1_smoke_writes_picture_and_numbers_then_replots(tmp_path):
    result = run_figure("fig1", "--profile=smoke", f"--out_dir={tmp_path}")
    assert result.returncode == 0, result.stderr[-3000:]
    for name in ("fig1.png", "fig1.pdf", "fig1.json"):
        assert (tmp_path / name).exists(), name
    results = json.loads((tmp_path / "fig1.json").read_text())
    fractions = results["seeds"][0]["goal_fractions"]
    assert len(fractions) == 4 and 0.0 <= sum(fractions) <= 1.0
    assert len(results["q_panels"]) == 3 and len(results["q_panels"][0]["samples"]) == 100
    assert len(results["trajectories"]) == results["episodes_per_seed"]
    assert len(results["ddpg_seeds"][0]["goal_fractions"]) == 4
    assert len(results["ddpg_trajectories"]) == results["episodes_per_seed"]
    for algo in ("sql", "ddpg"):
        run_dir = tmp_path / "runs" / algo / "MultiGoal-v0" / "seed0"
        assert (run_dir / "policy" / "saved_model.pb").exists()
    (tmp_path / "fig1.png").unlink()
    replot = run_figure("fig1", "--profile=smoke", f"--out_dir={tmp_path}", "--plot_only")
    assert replot.returncode == 0, replot.stderr[-3000:]
    assert (tmp_path / "fig1.png").exists()
    other_profile = run_figure("fig1", "--profile=quick", f"--out_dir={tmp_path}")
    assert other_profile.returncode == 2 and "other settings" in other_profile.stderr


def test_fig1_bad_flags_exit_2(tmp_path):
    for args, message in [(["--profile=huge"], "huge"), (["--seeds=a,b"], "seeds"),
                          (["--plot_only"], "no finished run")]:
        result = run_figure("fig1", *args, f"--out_dir={tmp_path}")
        assert result.returncode == 2 and message in result.stderr, result.stderr[-2000:]
        assert "Traceback" not in result.stderr
