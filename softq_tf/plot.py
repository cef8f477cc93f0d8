r"""Learning curves of training runs: per group of seeds, the mean and a min-max band.

    python -m softq_tf.plot RUN_OR_SWEEP_DIR... [--metric=episode_return] [--out=FILE.png]

Runs: every run folder (one holding ``config.json`` and ``progress.csv``) in or under the folders
given, at any depth: a run's ``--logdir``, a sweep's ``--out_dir``, a figure script's folder.

Groups: the runs of one algorithm, variant and env are the seeds of one group. The variant is the
sweep's folder label: a run in ``<out_dir>/runs/<algo>-<variant>/<env>/seed<k>``
(:func:`softq_tf.running.trials.trial_dir`; e.g. ``sql-alpha0.1``, ``ddpg-finetuned`` of the figure
scripts) has the variant after ``<algo>-``; any other run has none. Runs of one group that differ in
a setting anyway (any of ``config.json`` but the seed, ``total_steps`` and when rows, evaluations
and checkpoints are written; ``init_from`` only as to whether there is one) are split into groups
labelled with the settings that tell them apart, so different settings are never averaged.

Curves: x is environment steps (``progress.csv``'s ``step``), y any ``progress.csv`` column
(``--metric``, by default ``episode_return``, the mean return of the last 10 training episodes;
e.g. ``eval_return``, the swimmer's ``max_com_x``, ``loss/q``). Rows where the metric is empty (no
episode finished yet, no evaluation at that row) are skipped. Each run's values are linearly
interpolated onto its group's grid: every step that any run of the group logged within the span
(runs of one sweep log at the same steps, and their values are taken as they are). With
``--span=common`` (default) the span is the one all runs cover (from the latest first step to the
earliest last one), so runs of different lengths are truncated to the shortest. With
``--span=each`` every run is drawn to its own end: at each step the mean and band are over the runs
that reach it, and the line is dashed where that is fewer than all of the group's seeds (a sweep
still running, runs extended to different totals). The line is the mean over the seeds, the band
spans the lowest and highest seed (min-max). One panel per env.

Writes the PNG (default: ``<first folder>/curves-<metric>.png``) and prints per group its seeds,
steps and last values. Exit codes: 0 success, 2 bad input (one ``error:`` line: a folder that does
not exist, no run found, a metric no run logged (the line lists those that are), a damaged
``config.json``). It never imports TensorFlow.
"""
import json
import math
import os
import re

import numpy as np
from absl import app, flags

from softq_tf.running import cli, runs
from softq_tf.training.progress import read_progress

FLAGS = flags.FLAGS
flags.DEFINE_string("metric", "episode_return", "progress.csv column to plot against the step, "
                    "e.g. episode_return, eval_return, max_com_x, loss/q.")
flags.DEFINE_enum("span", "common", ["common", "each"], "Steps drawn per group: common, the span "
                  "all its runs cover (runs truncated to the shortest); each, every run to its own "
                  "end (mean and band over the runs that reach a step; dashed where not all do).")
flags.DEFINE_string("out", "", "PNG file to write (default: <first folder>/curves-<metric>.png).")

# Settings that change what a run writes, not how it learns: runs differing in them are seeds of
# one group (besides the seed itself).
BOOKKEEPING = ("seed", "total_steps", "log_every", "eval_every", "eval_episodes",
               "checkpoint_every", "keep_checkpoints")
SEED_FOLDER = re.compile(r"^seed\d+$")


def find_runs(folders):
    """Every run folder (``config.json`` and ``progress.csv``) in or under ``folders``, sorted,
    each once.

    Raises:
      ValueError: a folder does not exist, or none holds a run.
    """
    found = set()
    for folder in folders:
        if not os.path.isdir(folder):
            raise ValueError(f"{folder!r} is not a folder: give run or sweep folders "
                             "(a train --logdir, a sweep --out_dir)")
        for path, subfolders, files in os.walk(folder):
            if "config.json" in files and "progress.csv" in files:
                found.add(os.path.normpath(path))
                subfolders.clear()  # a run holds no runs
    if not found:
        raise ValueError(f"no run found in {', '.join(map(repr, folders))}: a run folder holds "
                         "config.json and progress.csv (python -m softq_tf.train writes them)")
    return sorted(found)


def variant_of(run_dir, algo):
    """The variant in the sweep layout ``.../runs/<algo>-<variant>/<env>/seed<k>``; "" for a run
    at ``.../runs/<algo>/<env>/seed<k>`` or outside that layout."""
    env_dir = os.path.dirname(run_dir)
    label_dir = os.path.dirname(env_dir)
    label = os.path.basename(label_dir)
    in_layout = (SEED_FOLDER.match(os.path.basename(run_dir))
                 and os.path.basename(os.path.dirname(label_dir)) == "runs")
    return label[len(algo) + 1:] if in_layout and label.startswith(f"{algo}-") else ""


def load(run_dir, metric):
    """A run's group key, its settings and its curve of ``metric``.

    Returns:
      dict with ``key`` (algo, variant, env id), ``settings`` (what tells groups apart),
      ``columns`` (of its progress.csv) and ``curve`` ((steps, values) of the rows where
      ``metric`` is logged; None without any).

    Raises:
      ValueError: its config.json is damaged.
    """
    try:
        run = runs.load_run(os.path.join(run_dir, "config.json"))
    except ValueError:
        raise ValueError(f"{os.path.join(run_dir, 'config.json')} is damaged: it does not "
                         "describe a run; leave that folder out") from None
    settings = {k: v for k, v in runs.flat_settings(run).items() if k not in BOOKKEEPING}
    settings["init_from"] = bool(settings["init_from"])
    logged = read_progress(run_dir)
    curve = None
    if metric in logged:
        steps, values = np.asarray(logged["step"]), np.asarray(logged[metric])
        kept = ~np.isnan(values)
        curve = (steps[kept], values[kept]) if kept.any() else None
    return dict(key=(run.algo, variant_of(run_dir, run.algo), run.env_id), settings=settings,
                columns=set(logged), curve=curve)


def group(loaded):
    """{label: {"env": id, "curves": [...]}} of the runs ``loaded`` (:func:`load`) that have a
    curve: the seeds of one algorithm, variant, env and settings. The label is ``<algo>`` or
    ``<algo>-<variant>``, followed by ``key=value`` of the settings that differ between runs of
    that algorithm, variant and env."""
    by_key = {}
    for run in loaded:
        if run["curve"] is not None:
            by_key.setdefault(run["key"], []).append(run)
    groups = {}
    for (algo, variant, env_id), members in sorted(by_key.items()):
        name = f"{algo}-{variant}" if variant else algo
        varying = sorted(k for k in members[0]["settings"]
                         if len({json.dumps(m["settings"][k]) for m in members}) > 1)
        for run in members:
            label = " ".join([name] + [f"{k}={json.dumps(run['settings'][k])}" for k in varying])
            groups.setdefault((label, env_id), []).append(run["curve"])
    return groups


def mean_and_band(curves, span="common"):
    """The grid of ``curves`` [(steps, values) per seed] for ``span`` (see the module doc) and
    the mean, min and max over the seeds on it and how many seeds each step holds; an empty grid
    when, with ``span="common"``, their spans do not overlap."""
    if span == "common":
        start, end = max(s[0] for s, _ in curves), min(s[-1] for s, _ in curves)
    else:
        start, end = min(s[0] for s, _ in curves), max(s[-1] for s, _ in curves)
    grid = np.unique(np.concatenate([s[(s >= start) & (s <= end)] for s, _ in curves]))
    values = np.stack([np.where((grid >= s[0]) & (grid <= s[-1]), np.interp(grid, s, v), np.nan)
                       for s, v in curves])
    counts = np.sum(~np.isnan(values), axis=0)
    return (grid, np.nanmean(values, axis=0), np.nanmin(values, axis=0),
            np.nanmax(values, axis=0), counts)


def seeds_text(count):
    return f"{count} seed{'s' if count != 1 else ''}"


def draw(aggregated, metric):
    """One panel per env, a line with a min-max band per group; returns the figure."""
    import matplotlib  # here, not at the top: bad input fails before its import (0.5 s)

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    env_ids = sorted({env_id for _, env_id in aggregated})
    labels = sorted({label for label, _ in aggregated})
    colors = {label: plt.get_cmap("tab10")(i % 10) for i, label in enumerate(labels)}
    cols = min(3, len(env_ids))
    rows = math.ceil(len(env_ids) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(6 * cols, 4.2 * rows), squeeze=False)
    for ax, env_id in zip(axes.flat, env_ids):
        for (label, group_env), (seeds, grid, mean, low, high, counts) in aggregated.items():
            if group_env != env_id:
                continue
            all_seeds = np.where(counts == seeds, mean, np.nan)
            ax.plot(grid, all_seeds, color=colors[label], marker="o" if len(grid) == 1 else None,
                    label=f"{label} ({seeds_text(seeds)})")
            if (counts < seeds).any():  # --span=each: where fewer seeds reach, dashed
                ax.plot(grid, mean, color=colors[label], linestyle="--", linewidth=1)
            ax.fill_between(grid, low, high, color=colors[label], alpha=0.25, linewidth=0)
        ax.set(title=env_id, xlabel="environment steps", ylabel=metric)
        ax.legend(fontsize=8, loc="best")
    for ax in axes.flat[len(env_ids):]:
        ax.set_visible(False)
    partial = any((counts < seeds).any() for seeds, *_, counts in aggregated.values())
    fig.suptitle(f"{metric}: mean over seeds, band min-max over seeds"
                 + ("; dashed: not every seed reaches these steps" if partial else ""))
    fig.tight_layout()
    return fig


def plot(folders, metric, out, span="common"):
    """Finds, groups and draws the runs under ``folders`` into ``out`` over ``span`` ("common" or
    "each"); returns the lines to print (see the module doc).

    Raises:
      ValueError: bad input (one line).
    """
    loaded = [load(run_dir, metric) for run_dir in find_runs(folders)]
    columns = set().union(*(run["columns"] for run in loaded)) - {"step"}
    if metric not in columns:
        raise ValueError(f"--metric={metric!r} is not a column of these runs' progress.csv: "
                         f"available are {', '.join(sorted(columns)) or 'none (no rows yet)'}")
    aggregated, lines = {}, []
    for (label, env_id), curves in group(loaded).items():
        grid, mean, low, high, counts = mean_and_band(curves, span)
        if not grid.size:
            lines.append(f"{label} on {env_id}: its {len(curves)} seeds share no steps; left out "
                         "(--span=each draws each run to its own end)")
            continue
        aggregated[label, env_id] = (len(curves), grid, mean, low, high, counts)
        last_steps = sorted(steps[-1] for steps, _ in curves)
        ends = ("" if span == "common"
                else f" (runs end at {', '.join(f'{s:g}' for s in last_steps)})")
        lines.append(f"{label} on {env_id}: {seeds_text(len(curves))}, steps {grid[0]:g} to "
                     f"{grid[-1]:g}{ends}, last {metric} mean {mean[-1]:.4g} (min {low[-1]:.4g}, "
                     f"max {high[-1]:.4g})")
    left_out = sum(run["curve"] is None for run in loaded)
    if left_out:
        lines.append(f"{left_out} of {len(loaded)} runs have no {metric} values yet; left out")
    if not aggregated:
        raise ValueError(f"nothing to plot: no group of the {len(loaded)} runs found has {metric} "
                         "values over a common span of steps yet")
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    draw(aggregated, metric).savefig(out, dpi=120, bbox_inches="tight")
    return lines + [f"wrote {out}"]


def main(argv):
    folders = argv[1:]
    try:
        if not folders:
            raise ValueError("give one or more run or sweep folders, e.g. python -m "
                             "softq_tf.plot runs/sweep")
        out = FLAGS.out or os.path.join(folders[0], f"curves-{FLAGS.metric.replace('/', '-')}.png")
        lines = plot(folders, FLAGS.metric, out, FLAGS.span)
    except ValueError as e:
        cli.fail(2, e)
    print("\n".join(lines))


def run():
    """Console entry point."""
    app.run(main, flags_parser=cli.parse_flags)


if __name__ == "__main__":
    run()
