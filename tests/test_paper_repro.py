"""Figure scripts at the smoke profile: the pipeline runs and writes its files (not the claim)."""
import csv
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


def test_fig3_then_fig6_smoke_share_runs_and_write_pictures_and_numbers(tmp_path):
    result = run_figure("fig3", "--profile=smoke", f"--out_dir={tmp_path}")
    assert result.returncode == 0, result.stderr[-3000:]
    for name in ("fig3.png", "fig3.pdf", "fig3.json", "sweep_summary.csv"):
        assert (tmp_path / name).exists(), name
    results = json.loads((tmp_path / "fig3.json").read_text())
    assert results["tasks"]["swimmer"]["threshold"] == 1.0  # the finish line
    assert results["tasks"]["maze"]["threshold"] == 2.5
    for task in ("swimmer", "maze"):
        for algo in ("sql", "ddpg"):
            seed = results["tasks"][task]["algos"][algo]["seeds"][0]
            assert seed["steps"] == [100.0, 200.0, 300.0]
            assert len(seed["values"]) == 3
            assert len(seed["final_policy"]["episode_returns"]) == 5
            assert min(seed["final_policy"]["episode_lengths"]) > 0
    swimmer_policy = results["tasks"]["swimmer"]["algos"]["sql"]["seeds"][0]["final_policy"]
    maze_policy = results["tasks"]["maze"]["algos"]["sql"]["seeds"][0]["final_policy"]
    assert len(swimmer_policy["final_com_x"]) == 5 and len(maze_policy["final_distance"]) == 5
    swimmer = results["tasks"]["swimmer"]["algos"]["sql"]["seeds"][0]["values"]
    assert swimmer == sorted(swimmer)  # farthest since the start never decreases
    maze = results["tasks"]["maze"]["algos"]["ddpg"]["seeds"][0]["values"]
    assert maze == sorted(maze, reverse=True)  # closest since the start never increases

    figure6 = run_figure("fig6", "--profile=smoke", f"--out_dir={tmp_path}")
    assert figure6.returncode == 0, figure6.stderr[-3000:]
    assert (tmp_path / "fig6.png").exists()
    with open(tmp_path / "sweep_summary.csv") as f:
        assert {row["status"] for row in csv.DictReader(f)} == {"reused"}  # nothing retrained
    curves = json.loads((tmp_path / "fig6.json").read_text())["curves"]
    assert curves["sql"][0]["max_x"] == swimmer


def test_fig3_ray_engine_is_a_clear_error(tmp_path):
    result = run_figure("fig3", "--profile=smoke", "--engine=ray", f"--out_dir={tmp_path}")
    assert result.returncode == 2 and "--engine=ray" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "runs").exists()
