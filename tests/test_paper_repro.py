"""Figure scripts at the smoke profile: the pipeline runs and writes its files (not the claim)."""
import csv
import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import assert_bad_input_before_tensorflow

ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")


def run_figure(figure, *args):
    return subprocess.run([sys.executable, "-m", f"paper_repro.{figure}", *args],
                          capture_output=True, text=True, timeout=600, env=ENV)


def assert_replots_and_refuses_another_profile(figure, out_dir):
    """The smoke picture, deleted, is redrawn by --plot_only from the finished runs; the quick
    profile into the same folder is refused (its runs would have other settings)."""
    (out_dir / f"{figure}.png").unlink()
    replot = run_figure(figure, "--profile=smoke", f"--out_dir={out_dir}", "--plot_only")
    assert replot.returncode == 0, replot.stderr[-3000:]
    assert (out_dir / f"{figure}.png").exists()
    other_profile = run_figure(figure, "--profile=quick", f"--out_dir={out_dir}")
    assert other_profile.returncode == 2 and "other settings" in other_profile.stderr


def test_fig1_smoke_writes_picture_and_numbers_then_replots(tmp_path):
    result = run_figure("fig1", "--profile=smoke", f"--out_dir={tmp_path}")
    assert result.returncode == 0, result.stderr[-3000:]
    for name in ("fig1.png", "fig1.pdf", "fig1.json"):
        assert (tmp_path / name).exists(), name
    results = json.loads((tmp_path / "fig1.json").read_text())
    # Each goal's fraction, recounted from where the drawn episodes (seed 0's) end: within 1 of it.
    ends = np.array([trajectory[-1] for trajectory in results["trajectories"]])
    distances = np.linalg.norm(ends[:, None, :] - np.array(results["goals"]), axis=-1)
    recounted = [float(np.mean(distances[:, g] <= 1.0)) for g in range(4)]
    assert results["seeds"][0]["goal_fractions"] == pytest.approx(recounted)
    assert len(results["q_panels"]) == 3 and len(results["q_panels"][0]["samples"]) == 100
    assert len(results["trajectories"]) == results["episodes_per_seed"]
    assert len(results["ddpg_seeds"][0]["goal_fractions"]) == 4
    assert len(results["ddpg_trajectories"]) == results["episodes_per_seed"]
    for algo in ("sql", "ddpg"):
        run_dir = tmp_path / "runs" / algo / "MultiGoal-v0" / "seed0"
        assert (run_dir / "policy" / "saved_model.pb").exists()
    assert_replots_and_refuses_another_profile("fig1", tmp_path)


def test_fig1_bad_flags_exit_2(tmp_path):
    for args, message in [(["--profile=huge"], "huge"), (["--seeds=a,b"], "seeds"),
                          (["--plot_only"], "no finished run")]:
        result = run_figure("fig1", *args, f"--out_dir={tmp_path}")
        assert result.returncode == 2 and message in result.stderr, result.stderr[-2000:]
        assert "Traceback" not in result.stderr


@pytest.mark.parametrize("figure", ["fig1", "fig3", "fig5", "fig6", "fig7"])
@pytest.mark.parametrize("args,message", [(["--no_such_flag"], "no_such_flag"),
                                          (["--plot_only"], "no finished run")])
def test_bad_flag_or_missing_runs_fail_before_tensorflow_is_imported(tmp_path, figure, args,
                                                                     message):
    assert_bad_input_before_tensorflow(f"paper_repro.{figure}", message,
                                       f"--out_dir={tmp_path / 'missing'}", *args)
    assert not (tmp_path / "missing").exists()


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
    for policy in (swimmer_policy, maze_policy):
        assert len(policy["straightness"]) == 5
        assert all(0 <= s <= 1 for s in policy["straightness"])
    assert 0 <= results["summary"]["sql_swimmer_final_straightness"] <= 1
    swimmer = results["tasks"]["swimmer"]["algos"]["sql"]["seeds"][0]["values"]
    assert swimmer == sorted(swimmer)  # farthest since the start never decreases
    maze = results["tasks"]["maze"]["algos"]["ddpg"]["seeds"][0]["values"]
    assert maze == sorted(maze, reverse=True)  # closest since the start never increases

    figure6 = run_figure("fig6", "--profile=smoke", f"--out_dir={tmp_path}")
    assert figure6.returncode == 0, figure6.stderr[-3000:]
    assert (tmp_path / "fig6.png").exists()
    with open(tmp_path / "sweep_summary.csv") as f:
        statuses = {(row["env"], row["status"]) for row in csv.DictReader(f)}
    # Figure 6's swimmer runs were reused, not retrained; Figure 3's maze rows are kept.
    assert statuses == {("softq_tf/SwimmerFinish-v1", "reused"),
                        ("softq_tf/QuadrupedMaze-v1", "finished")}
    curves = json.loads((tmp_path / "fig6.json").read_text())["curves"]
    assert curves["sql"][0]["max_x"] == swimmer


@pytest.fixture(scope="module")
def fig7_smoke(tmp_path_factory):
    """Figure 7 at the smoke profile, run once: its folder then holds the pretraining runs that
    Figure 5's test fine-tunes from."""
    out = tmp_path_factory.mktemp("fig5")
    return out, run_figure("fig7", "--profile=smoke", f"--out_dir={out}")


def test_fig7_smoke_traces_each_alpha_and_ddpg(fig7_smoke):
    out, result = fig7_smoke
    assert result.returncode == 0, result.stderr[-3000:]
    for name in ("fig7.png", "fig7.pdf", "fig7.json"):
        assert (out / name).exists(), name
    results = json.loads((out / "fig7.json").read_text())
    assert set(results["summary"]) == {"1", "0.1", "ddpg"}
    assert [(r["column"], r["alpha"], r["seed"]) for r in results["runs"]] == [
        ("1", 1.0, 0), ("0.1", 0.1, 0), ("ddpg", None, 0)]
    for run in results["runs"]:
        assert (out / run["run"] / "policy" / "saved_model.pb").exists()
        assert len(run["episodes"]) == results["episodes_per_run"] == 2
        assert 0 <= run["sectors"] <= 8
        for episode in run["episodes"]:
            assert episode["steps"] > 0 and len(episode["end"]) == 2
            assert episode["distance"] == pytest.approx(math.hypot(*episode["end"]))
            if episode["distance"] < results["min_distance"]:
                assert episode["sector"] is None  # too close to the start to have a direction
            else:
                assert episode["sector"] in range(8)
    for column, summary in results["summary"].items():
        runs = [r for r in results["runs"] if r["column"] == column]
        assert max(r["sectors"] for r in runs) <= summary["sectors_covered"] <= 8
        assert summary["mean_distance"] == pytest.approx(
            np.mean([e["distance"] for r in runs for e in r["episodes"]]))
        episodes = [e for r in runs for e in r["episodes"]]
        assert summary["flipped_fraction"] == pytest.approx(np.mean([e["flipped"]
                                                                     for e in episodes]))
        assert 0 <= summary["mean_straightness"] <= 1 + 1e-9
    claim = results["claim"]
    assert claim["alpha"] == 0.1 and claim["holds"] == (claim["sql_spreads"]
                                                        and claim["ddpg_keeps_one_direction"])
    assert claim["sql_spreads"] == (results["summary"]["0.1"]["sectors_covered"] >= 6)
    assert "SQL alpha=0.1:" in result.stdout and "DDPG:" in result.stdout
    assert (out / "runs" / "sql-alpha1" / "QuadrupedPretrainOutward-v1" / "seed0").is_dir()


def test_fig5_smoke_fine_tunes_from_fig7s_pretraining_then_replots(fig7_smoke):
    out, figure7 = fig7_smoke
    assert figure7.returncode == 0, figure7.stderr[-3000:]
    pretrained = {algo: out / "runs" / folder / "QuadrupedPretrainOutward-v1" / "seed0"
                  for algo, folder in (("sql", "sql-alpha0.1"), ("ddpg", "ddpg"))}
    progress = pretrained["sql"] / "progress.csv"
    before = progress.read_bytes(), progress.stat().st_mtime_ns
    # One task of the three keeps the test short; the U-maze is the one with env_kwargs.
    result = run_figure("fig5", "--profile=smoke", "--tasks=umaze", f"--out_dir={out}")
    assert result.returncode == 0, result.stderr[-3000:]
    assert (progress.read_bytes(), progress.stat().st_mtime_ns) == before  # reused, not retrained
    for name in ("fig5.png", "fig5.pdf", "fig5.json"):
        assert (out / name).exists(), name
    results = json.loads((out / "fig5.json").read_text())
    assert "undiscounted" in results["return_measure"]
    assert results["pretraining"]["sql"] == [str(pretrained["sql"])]
    methods = results["tasks"]["umaze"]["methods"]
    assert set(methods) == {"sql-finetuned", "ddpg", "ddpg-finetuned"}
    for method, curve in methods.items():
        assert curve["steps"] == [100.0, 200.0, 300.0]
        assert len(curve["mean"]) == len(curve["std"]) == len(curve["seeds"][0]["values"]) == 3
        config = json.loads((out / curve["runs"][0] / "config.json").read_text())
        source = {"sql-finetuned": str(pretrained["sql"]), "ddpg": "",
                  "ddpg-finetuned": str(pretrained["ddpg"])}[method]
        assert config["init_from"] == curve["init_from"][0] == source
        assert config["env_kwargs"] == {"arm_length": 2.0}
    averages = {m: c["average_return_over_training"] for m, c in methods.items()}
    fastest = None if None in averages.values() else max(averages, key=averages.get)
    assert results["summary"]["umaze"]["largest_average_return"] == fastest
    assert "sql_finetuned_learns_fastest" in result.stdout

    (out / "fig5.png").unlink()
    replot = run_figure("fig5", "--profile=smoke", "--tasks=umaze", f"--out_dir={out}",
                        "--plot_only")
    assert replot.returncode == 0, replot.stderr[-3000:]
    assert (out / "fig5.png").exists()
    untrained = run_figure("fig5", "--profile=smoke", "--tasks=wide", f"--out_dir={out}",
                           "--plot_only")
    assert untrained.returncode == 2 and "no finished run" in untrained.stderr


def test_fig5_fig7_bad_flags_exit_2_with_one_line(tmp_path):
    for figure, args, message in [("fig7", ["--profile=huge"], "huge"),
                                  ("fig5", ["--profile=huge"], "huge"),
                                  ("fig5", ["--tasks=wide,hall"], "--tasks"),
                                  ("fig7", ["--plot_only"], "no finished run")]:
        result = run_figure(figure, "--profile=smoke", *args, f"--out_dir={tmp_path}")
        assert result.returncode == 2 and message in result.stderr, result.stderr[-2000:]
        errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and "Traceback" not in result.stderr
    assert not (tmp_path / "runs").exists()  # nothing trained


def test_fig5_average_return_and_fig7_sectors():
    from paper_repro import fig5, fig7

    nan = float("nan")
    steps = np.array([0.0, 10.0, 30.0])
    assert fig5.average_over_training(steps, np.array([0.0, 2.0, 2.0])) == pytest.approx(50 / 30)
    # Steps where some seed has no return yet are left out; one defined step gives no average.
    assert fig5.average_over_training(steps, np.array([nan, 1.0, 3.0])) == pytest.approx(2.0)
    assert fig5.average_over_training(steps, np.array([nan, nan, 3.0])) is None
    summary = fig5.task_summary({"sql-finetuned": {"average_return_over_training": 3.0},
                                 "ddpg": {"average_return_over_training": 1.0},
                                 "ddpg-finetuned": {"average_return_over_training": 2.0}})
    assert summary == {"largest_average_return": "sql-finetuned",
                       "sql_finetuned_learns_fastest": True}
    assert fig5.task_summary({"sql-finetuned": {"average_return_over_training": 3.0},
                              "ddpg": {"average_return_over_training": None}}) == {
        "largest_average_return": None, "sql_finetuned_learns_fastest": None}
    points = [(1, 0.1), (1, 1.1), (0, 1), (-1, 0.9), (-1, -0.1), (-1, -1.1), (0, -1), (1, -0.1)]
    assert [fig7.sector(p) for p in points] == list(range(8))
    column = {"sectors_covered": 6, "mean_sectors_per_seed": 4.0}
    for ddpg_sectors, holds in ((2.0, True), (2.5, False)):
        summary = {"0.1": column, "ddpg": {"sectors_covered": 3,
                                          "mean_sectors_per_seed": ddpg_sectors}}
        assert fig7.claim(summary, 0.1)["holds"] is holds
    summary["0.1"] = dict(column, sectors_covered=5)
    assert fig7.claim(summary, 0.1)["sql_spreads"] is False


def test_fig1_goal_summary_counts_each_goal_and_the_misses():
    from paper_repro import fig1

    summary = fig1.goal_summary("run", [0, 0, 1, -1, 3, 2, 0, 1, 3, 2])
    assert summary["goal_fractions"] == pytest.approx([0.3, 0.2, 0.2, 0.2])
    assert summary["no_goal_fraction"] == pytest.approx(0.1)
    assert summary["all_goals_reached"]  # each goal in >= 10% of the episodes
    assert not fig1.goal_summary("run", [0, 1, 2, 0, 1, 2, 0, 1, 2, 2])["all_goals_reached"]


def test_fig3_long_profile_is_the_quick_one_run_longer():
    """The long profile continues the quick runs: the same trials in the same folders, longer."""
    import dataclasses
    from paper_repro import common, profiles
    quick, long = profiles.FIG3["quick"], profiles.FIG3["long"]
    assert {name: task["total_steps"] for name, task in long["tasks"].items()} == dict(
        swimmer=500_000, maze=300_000)
    short_runs, long_runs = (common.trials("out", preset, preset["seeds"], preset["tasks"])
                             for preset in (quick, long))
    assert short_runs.keys() == long_runs.keys()
    for key, short in short_runs.items():
        longer = long_runs[key]
        assert [dataclasses.replace(t, total_steps=0) for t in short] == [
            dataclasses.replace(t, total_steps=0) for t in longer]
        assert all(t.total_steps > s.total_steps for s, t in zip(short, longer))


def test_compose_smoke_composes_with_no_env_step_then_replots(tmp_path):
    result = run_figure("compose", "--profile=smoke", f"--out_dir={tmp_path}")
    assert result.returncode == 0, result.stderr[-3000:]
    for name in ("compose.png", "compose.pdf", "compose.json", "sweep_summary.csv"):
        assert (tmp_path / name).exists(), name
    results = json.loads((tmp_path / "compose.json").read_text())
    assert "not a figure of the paper" in results["beyond_the_paper"]
    policies = results["seeds"][0]["policies"]
    assert list(policies) == ["sql-northeast", "sql-southeast", "composed", "sql-scratch",
                              "ddpg-average"]
    # The smoke profile: 200 steps per constituent (101 updates after min_pool = 100), 40
    # composition updates; the scratch run makes as many in 100 - 1 + 40 steps.
    costs = {name: (p["env_steps"], p["gradient_updates"]) for name, p in policies.items()}
    assert costs == {"sql-northeast": (200, 101), "sql-southeast": (200, 101),
                     "composed": (0, 40), "sql-scratch": (139, 40), "ddpg-average": (400, 202)}
    for name, policy in policies.items():
        assert sum(policy["goal_fractions"].values()) + policy["no_goal_fraction"] == \
            pytest.approx(1.0)
        ends = np.array([path[-1] for path in results["trajectories"][name]])
        assert len(ends) == results["episodes_per_policy"] == 10
        at_east = np.linalg.norm(ends - results["goals"]["east"], axis=-1) < 1.0
        assert policy["goal_fractions"]["east"] == pytest.approx(np.mean(at_east))
    claim = results["claim"]
    assert claim["composed_new_env_steps"] == 0
    assert claim["fraction_at_shared_goal"]["composed"] == [policies["composed"][
        "goal_fractions"]["east"]]
    assert claim["holds"] == (all(claim["composed_ends_at_shared_goal_in_most_episodes"]) and all(
        all(v) for v in claim["constituents_split_between_their_goals"].values()))
    composed = tmp_path / "runs" / "composed" / "MultiGoalNorthEastSouthEast-v0" / "seed0"
    assert json.loads((composed / "config.json").read_text())["kind"] == "composition"

    assert_replots_and_refuses_another_profile("compose", tmp_path)


def test_a_figure_script_stopped_by_sigterm_says_so_in_one_line_and_exits_3(capsys):
    """The sweep under a figure script turns SIGTERM into KeyboardInterrupt after its trials wrote
    checkpoints; the script ends with one line, not a traceback."""
    from paper_repro import common

    def stopped():
        raise KeyboardInterrupt("SIGTERM received")
    with pytest.raises(SystemExit) as exited:
        common.or_exit(stopped)
    assert exited.value.code == 3
    assert capsys.readouterr().err.strip().splitlines() == [
        "error: stopped (Ctrl-C or SIGTERM); the running trials wrote checkpoints: rerun the same "
        "command to resume them"]
