"""The plot command: which runs it finds and groups, the mean and min-max band over seeds on a
common grid of steps, bad input as one line with exit code 2, and no TensorFlow."""
import csv
import json
import os
import shutil

import numpy as np
import pytest

from conftest import assert_bad_input_before_tensorflow, run_module_reporting_tensorflow
from softq_tf import plot
from softq_tf.running.trials import trial_dir

FIXTURE_RUN = os.path.join(os.path.dirname(__file__), "fixtures", "run_before_layout")
MULTIGOAL, BANDIT, SWIMMER = ("softq_tf/MultiGoal-v0", "softq_tf/ContinuousBandit-v0",
                              "softq_tf/SwimmerFinish-v1")


def write_run(logdir, rows, algo="sql", env_id=MULTIGOAL, seed=0, learner=None, loop=None):
    """A run folder as train writes it, but for its progress ``rows`` (dicts; None: empty cell)
    and a config.json of the defaults and ``learner`` / ``loop`` overrides."""
    os.makedirs(logdir, exist_ok=True)
    config = dict(env=env_id, algo=algo, seed=seed, learner=learner or {},
                  loop=dict(dict(total_steps=100), **(loop or {})))
    with open(os.path.join(logdir, "config.json"), "w") as f:
        json.dump(config, f)
    columns = list(rows[0]) if rows else ["step", "episode_return"]
    with open(os.path.join(logdir, "progress.csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, columns)
        writer.writeheader()
        writer.writerows([{k: "" if v is None else v for k, v in row.items()} for row in rows])
    return logdir


def returns(steps, values):
    return [dict(step=s, episode_return=v) for s, v in zip(steps, values)]


def groups_of(*folders, metric="episode_return", span="common"):
    """{(label, env id): (seeds, grid, mean, low, high, seeds per step)} as the command computes
    them."""
    loaded = [plot.load(run_dir, metric) for run_dir in plot.find_runs(folders)]
    return {key: (len(curves), *plot.mean_and_band(curves, span))
            for key, curves in plot.group(loaded).items()}


def test_sweep_layout_groups_seeds_by_algorithm_variant_and_env(tmp_path):
    steps = [100, 200, 300]
    for seed, values in enumerate([[1, 2, 3], [3, 4, 8], [2, 6, 4]]):
        write_run(trial_dir(tmp_path, "sql", MULTIGOAL, seed), returns(steps, values), seed=seed)
    for seed in range(2):
        write_run(trial_dir(tmp_path, "sql", MULTIGOAL, seed, variant="alpha0.1"),
                  returns(steps, [10 * seed] * 3), seed=seed, learner=dict(reward_scale=10.0))
        write_run(trial_dir(tmp_path, "ddpg", BANDIT, seed), returns(steps, [5, 5, 5 + seed]),
                  algo="ddpg", env_id=BANDIT, seed=seed)
    groups = groups_of(tmp_path)
    assert sorted(groups) == [("ddpg", BANDIT), ("sql", MULTIGOAL),
                              ("sql-alpha0.1", MULTIGOAL)]
    seeds, grid, mean, low, high, counts = groups["sql", MULTIGOAL]
    assert seeds == 3 and grid.tolist() == steps and counts.tolist() == [3] * 3
    assert mean.tolist() == [2, 4, 5] and low.tolist() == [1, 2, 3] and high.tolist() == [3, 6, 8]
    seeds, _, mean, low, high, _ = groups["sql-alpha0.1", MULTIGOAL]
    assert seeds == 2 and mean.tolist() == [5] * 3
    assert low.tolist() == [0] * 3 and high.tolist() == [10] * 3
    assert groups["ddpg", BANDIT][2].tolist() == [5, 5, 5.5]


def test_other_step_grids_are_interpolated_over_the_span_all_runs_cover(tmp_path):
    write_run(tmp_path / "a", returns([0, 100, 200, 300], [0, 100, 200, 300]), seed=0)
    write_run(tmp_path / "b", returns([50, 150, 250], [100, 300, 500]), seed=1)
    (_, grid, mean, low, high, _), = groups_of(tmp_path).values()
    assert grid.tolist() == [50, 100, 150, 200, 250]  # truncated to the shorter span
    b = [100, 200, 300, 400, 500]  # b's line at 100 and 200: interpolated
    assert mean.tolist() == [(s + v) / 2 for s, v in zip(grid, b)]
    assert low.tolist() == grid.tolist() and high.tolist() == b


def test_span_each_draws_every_run_to_its_own_end_over_the_runs_that_reach_a_step(tmp_path):
    write_run(tmp_path / "long", returns([100, 200, 300, 400], [1, 2, 3, 4]), seed=0)
    write_run(tmp_path / "short", returns([100, 200], [3, 6]), seed=1)
    write_run(tmp_path / "late", returns([300, 400], [9, 10]), seed=2)  # shares no step with short
    (seeds, grid, mean, low, high, counts), = groups_of(tmp_path, span="each").values()
    assert seeds == 3 and grid.tolist() == [100, 200, 300, 400] and counts.tolist() == [2] * 4
    assert mean.tolist() == [2, 4, 6, 7]
    assert low.tolist() == [1, 2, 3, 4] and high.tolist() == [3, 6, 9, 10]
    lines = plot.plot([str(tmp_path)], "episode_return", str(tmp_path / "c.png"), span="each")
    assert lines[0] == (f"sql on {MULTIGOAL}: 3 seeds, steps 100 to 400 (runs end at 200, 400, "
                        "400), last episode_return mean 7 (min 4, max 10)")
    assert (tmp_path / "c.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="nothing to plot"):  # the common span is empty
        plot.plot([str(tmp_path)], "episode_return", str(tmp_path / "d.png"))


def test_empty_cells_are_skipped_and_runs_without_the_metric_left_out(tmp_path):
    eval_rows = [dict(step=s, episode_return=None if s == 100 else s, eval_return=e)
                 for s, e in [(100, None), (200, 7.0), (300, None), (400, 9.0)]]
    write_run(tmp_path / "evaluated", eval_rows)
    swimmer = [dict(step=s, episode_return=0, max_com_x=x) for s, x in [(100, 0.5), (200, 1.5)]]
    write_run(tmp_path / "swimmer", swimmer, env_id=SWIMMER)
    (_, grid, mean, _, _, _), = groups_of(tmp_path, metric="eval_return").values()
    assert grid.tolist() == [200, 400] and mean.tolist() == [7, 9]
    assert groups_of(tmp_path)["sql", MULTIGOAL][1].tolist() == [200, 300, 400]
    lines = plot.plot([str(tmp_path)], "max_com_x", str(tmp_path / "x.png"))
    assert lines == [f"sql on {SWIMMER}: 1 seed, steps 100 to 200, last max_com_x mean 1.5 (min "
                     "1.5, max 1.5)", "1 of 2 runs have no max_com_x values yet; left out",
                     f"wrote {tmp_path / 'x.png'}"]


def test_the_row_a_live_run_is_still_appending_is_left_out(tmp_path):
    write_run(tmp_path / "live", returns([100, 200], [1.0, 2.0]))
    with open(tmp_path / "live" / "progress.csv", "a") as f:
        f.write("300")  # the rest of the row is not written yet
    assert groups_of(tmp_path)["sql", MULTIGOAL][1].tolist() == [100, 200]


def test_runs_differing_in_a_setting_are_never_averaged(tmp_path):
    for seed in range(2):
        for scale in (1.0, 10.0):  # outside the sweep layout: only config.json tells them apart
            write_run(tmp_path / f"scale{scale}-seed{seed}", returns([100], [scale + seed]),
                      seed=seed, learner=dict(reward_scale=scale),
                      loop=dict(total_steps=100 + seed, log_every=50 + seed))  # bookkeeping
    groups = groups_of(tmp_path)
    assert sorted(groups) == [("sql reward_scale=1.0", MULTIGOAL),
                              ("sql reward_scale=10.0", MULTIGOAL)]
    assert groups["sql reward_scale=10.0", MULTIGOAL][2].tolist() == [10.5]


def test_a_run_written_before_the_layout_change_plots(tmp_path):
    run_dir = shutil.copytree(FIXTURE_RUN, tmp_path / "old")
    lines = plot.plot([str(tmp_path)], "loss/q", str(tmp_path / "curves.png"))
    assert lines[0].startswith(f"sql on {BANDIT}: 1 seed, steps 50 to 100, last loss/q mean 0.2538")
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert os.listdir(run_dir) == os.listdir(FIXTURE_RUN)  # nothing written into the run


def test_a_hundred_runs_in_one_command_without_tensorflow(tmp_path):
    rng = np.random.default_rng(0)
    steps = list(range(1000, 50_001, 1000))
    for algo, variant in [("sql", ""), ("sql", "alpha0.1"), ("ddpg", ""), ("ddpg", "finetuned")]:
        for env_id in (MULTIGOAL, BANDIT):
            for seed in range(12 if env_id == MULTIGOAL else 13):
                write_run(trial_dir(tmp_path, algo, env_id, seed, variant),
                          returns(steps, rng.normal(size=len(steps)).round(3)), algo=algo,
                          env_id=env_id, seed=seed)
    assert len(plot.find_runs([str(tmp_path)])) == 100
    result = run_module_reporting_tensorflow("softq_tf.plot", str(tmp_path))
    assert result.returncode == 0, result.stderr[-2000:]
    *groups, wrote, tensorflow = result.stdout.splitlines()
    assert len(groups) == 8 and all(", steps 1000 to 50000, last" in line for line in groups)
    assert wrote == f"wrote {tmp_path / 'curves-episode_return.png'}"
    assert tensorflow == "tensorflow imported: False"
    assert (tmp_path / "curves-episode_return.png").stat().st_size > 10_000


@pytest.mark.parametrize("make_args,message", [
    (lambda p: [], "give one or more run or sweep folders"),
    (lambda p: [str(p / "missing")], "is not a folder"),
    (lambda p: [str(p)], "no run found in"),  # an empty folder
    (lambda p: [str(write_run(p / "run", returns([1], [2]))), "--metric=retrun"],
     "--metric='retrun' is not a column of these runs' progress.csv: available are "
     "episode_return"),
    (lambda p: [str(write_run(p / "run", [])), "--metric=episode_return"],
     "nothing to plot: no group of the 1 runs found has episode_return values"),
    (lambda p: [str(p), "--no_such_flag"], "no_such_flag"),
])
def test_bad_input_is_one_line_exit_2_before_tensorflow(tmp_path, make_args, message):
    assert_bad_input_before_tensorflow("softq_tf.plot", message, *make_args(tmp_path))
    assert not list(tmp_path.rglob("*.png"))
