"""Reproduces Figure 7 (appendix): where the pretrained quadruped policies run, for each alpha.

SQL is pretrained on the empty arena (the preset's ``pretrain`` env: in the paper profile
``softq_tf/QuadrupedPretrain-v1``, whose reward is the speed of the centre of mass in any direction
as the paper's; in the smoke and quick ones ``softq_tf/QuadrupedPretrainOutward-v1``, which pays
the distance gained from the start in any direction and nothing for shaking in place) at each
entropy weight alpha of the preset (reward scale 1/alpha): one column per alpha, one row per
seed, and a DDPG column pretrained alike, for contrast. Each panel shows the centre-of-mass
traces of ``eval_episodes`` episodes of the run's final policy, each relative to where its episode
started, all panels on one scale. The paper's point: the maximum-entropy policy runs off in many
directions, which is what makes it a good start for the fine-tuning of Figure 5; with a small
alpha (and DDPG) it commits to fewer.

    python -m paper_repro.fig7 [--profile=quick] [--out_dir=out/fig5] [--seeds=0,1]

It trains (or reuses) the pretraining runs of :mod:`paper_repro.pretraining`, a superset of Figure
5's, so by default it writes into Figure 5's folder (``out/fig5``): run one figure, and the other
trains only what it adds.

The episodes start from reset with seeds 1000, 1001, ... and act with the stochastic policy,
a = f(xi; s) with xi ~ N(0, I) (the distribution of the exported ``sample_action``), the noise drawn
from a seeded numpy generator through ``action_from_noise`` so that the traces are reproducible.
DDPG's exported policy is deterministic (its exploration noise belongs to training only), so its
episodes differ only by the start-state noise.

fig7.json holds, per run, each episode's end point (m, relative to its start), its distance from
the start, its path length, its length in steps and whether it ended by flipping over; the number
of the 8 compass sectors of 45 degrees (sector k spans [45k, 45k + 45) degrees counter-clockwise
from +x) that hold an episode's end point, counting only episodes that ended at least 0.5 m from
their start (one that stayed put has no direction); and the mean distance from the start. Its
``summary`` has per column (the alpha, or ``ddpg``): the sectors covered by all seeds' episodes
together, the mean number of sectors per seed, the mean distance, the mean straightness (distance
from the start over path length: near 1 for a walk straight out, near 0 for a random walk) and
the fraction of episodes that ended by flipping. ``claim`` states the paper's claim as numbers
(:func:`claim`): at the preset's ``finetune_alpha`` (0.1), episodes end in at least 6 sectors over
the seeds, while each DDPG run ends its episodes in at most 2.
"""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from absl import app, flags

from paper_repro import common, figure_files, pretraining, profiles
from paper_repro.fig3 import COLORS
from softq_tf.running import cli
from softq_tf.running.runs import make_env
from softq_tf.training import evaluation

flags.adopt_module_key_flags(common)  # --profile, --out_dir, ...: listed by --help

EVAL_SEED = 1000  # episode i resets with EVAL_SEED + i; the noise generator is seeded with it
SECTORS = 8  # compass sectors of 45 degrees
MIN_DISTANCE = 0.5  # m: episodes ending closer to their start count towards no sector
CLAIM_SECTORS = 6  # the max-ent column's episodes end in at least this many sectors over the seeds
ONE_DIRECTION_SECTORS = 2  # ... while a deterministic run's end in at most this many


def column_key(alpha):
    """The column's key in fig7.json: the alpha (e.g. ``"0.1"``), or ``"ddpg"`` for None."""
    return "ddpg" if alpha is None else f"{alpha:g}"


def column_title(alpha):
    """The column's title in the picture."""
    return "DDPG" if alpha is None else f"SQL alpha={alpha:g}"


def trace_episode(env, policy, rng, seed):
    """One episode of ``policy`` from a reset with ``seed``, its noise xi drawn from ``rng``
    (:func:`softq_tf.training.evaluation.rollout`).

    Returns:
      (the centre-of-mass xy at the reset and after every step, relative to the reset position,
      [T + 1, 2]; whether the episode ended by termination, i.e. the robot flipped over).
    """
    run = evaluation.rollout(env, policy, rng, seed)
    trace = np.array([(info["com_x"], info["com_y"]) for info in run["infos"]])
    return trace - trace[0], run["terminated"]


def sector(point):
    """The compass sector (0 to 7, counter-clockwise from +x, 45 degrees each) of ``point``."""
    angle = np.arctan2(point[1], point[0]) % (2 * np.pi)
    return int(angle // (2 * np.pi / SECTORS)) % SECTORS  # the modulo: angle rounded up to 2 pi


def run_results(trial, alpha, env, episodes):
    """The traces of the run's final policy and their numbers (see the module docstring).

    Returns:
      ([trace per episode], the run's entry of fig7.json).
    """
    from softq_tf.training.export import load_policy  # TensorFlow, once the runs are there

    policy = load_policy(os.path.join(trial.logdir, "policy"))
    rng = np.random.default_rng(EVAL_SEED)
    traces, records = [], []
    for i in range(episodes):
        trace, flipped = trace_episode(env, policy, rng, EVAL_SEED + i)
        end = trace[-1]
        distance = float(np.hypot(*end))
        records.append({
            "end": end.tolist(), "distance": distance,
            "path_length": float(np.linalg.norm(np.diff(trace, axis=0), axis=1).sum()),
            "steps": len(trace) - 1, "flipped": flipped,
            "sector": sector(end) if distance >= MIN_DISTANCE else None})
        traces.append(trace)
    return traces, {"column": column_key(alpha), "alpha": alpha, "seed": trial.seed,
                    "run": trial.logdir, "episodes": records,
                    "sectors": len(sectors_of([records])),
                    "mean_distance": float(np.mean([r["distance"] for r in records]))}


def sectors_of(episode_lists):
    """The set of sectors holding an end point among lists of episode records."""
    return {r["sector"] for records in episode_lists for r in records if r["sector"] is not None}


def column_summary(runs):
    """The summary of one column's runs (entries of :func:`run_results`)."""
    episodes = [r for run in runs for r in run["episodes"]]
    return {"sectors_covered": len(sectors_of([run["episodes"] for run in runs])),
            "mean_sectors_per_seed": float(np.mean([run["sectors"] for run in runs])),
            "mean_distance": float(np.mean([r["distance"] for r in episodes])),
            "mean_straightness": float(np.mean([r["distance"] / max(r["path_length"], 1e-9)
                                                for r in episodes])),
            "flipped_fraction": float(np.mean([r["flipped"] for r in episodes]))}


def claim(summary, alpha):
    """The paper's claim as numbers: the column of ``alpha`` ends episodes in at least
    CLAIM_SECTORS sectors over its seeds, while each DDPG run keeps one direction (ends in at most
    ONE_DIRECTION_SECTORS sectors: one, or two beside a sector boundary)."""
    sql, ddpg = summary[column_key(alpha)], summary[column_key(None)]
    spreads = sql["sectors_covered"] >= CLAIM_SECTORS
    keeps_one = ddpg["mean_sectors_per_seed"] <= ONE_DIRECTION_SECTORS
    return {"alpha": alpha, "sql_sectors_covered": sql["sectors_covered"],
            "ddpg_mean_sectors_per_seed": ddpg["mean_sectors_per_seed"],
            "sql_spreads": spreads, "ddpg_keeps_one_direction": keeps_one,
            "holds": spreads and keeps_one}


def draw(columns, seeds, traces):
    """One panel per seed (rows) and column (alphas, then DDPG): the episodes' traces from the
    origin on one scale, the circle inside which an end point counts towards no sector dashed."""
    extent = max(1.0, 1.1 * max(np.abs(t).max() for runs in traces.values() for t in runs))
    fig, axes = plt.subplots(len(seeds), len(columns), sharex=True, sharey=True, squeeze=False,
                             figsize=(2.8 * len(columns), 2.8 * len(seeds)))
    for row, seed in zip(axes, seeds):
        for ax, alpha in zip(row, columns):
            color = COLORS["ddpg" if alpha is None else "sql"]
            for trace in traces[column_key(alpha), seed]:
                ax.plot(trace[:, 0], trace[:, 1], color=color, linewidth=0.8, alpha=0.7)
                ax.plot(*trace[-1], marker=".", color=color)
            ax.add_patch(plt.Circle((0, 0), MIN_DISTANCE, fill=False, linestyle="--",
                                    linewidth=0.6, color="gray"))
            ax.plot(0, 0, marker="+", color="black")
            ax.set(xlim=(-extent, extent), ylim=(-extent, extent), aspect="equal")
            if seed == seeds[0]:
                ax.set_title(column_title(alpha), fontsize=9)
        row[0].set_ylabel(f"seed {seed}\ny (m)")
    for ax in axes[-1]:
        ax.set_xlabel("x (m)")
    fig.tight_layout()
    return fig


def main(argv):
    """Pretrains (or reuses) the runs, then writes fig7.png, fig7.pdf and fig7.json."""
    del argv
    preset, root, grid = common.runs_or_exit(
        profiles.FIG5, "fig5", grid_of=lambda root, preset, seeds: pretraining.trials(
            root, preset, seeds, preset["pretrain"]["alphas"]))
    env = make_env(preset["pretrain"]["env"])
    columns = [alpha for _, alpha in grid]  # the preset's alphas in order, then None (DDPG)
    seeds = [trial.seed for trial in grid[next(iter(grid))]]
    traces, runs = {}, []
    for (_, alpha), trials in grid.items():
        for trial in trials:
            traces[column_key(alpha), trial.seed], run = run_results(
                trial, alpha, env, preset["eval_episodes"])
            runs.append(run)
    figure_files.save_figure(draw(columns, seeds, traces), root, "fig7")
    summary = {column_key(alpha): column_summary([r for r in runs
                                                  if r["column"] == column_key(alpha)])
               for alpha in columns}
    stated = claim(summary, preset["finetune_alpha"])
    figure_files.save_results({"figure": 7, "profile": common.FLAGS.profile,
                               "env": preset["pretrain"]["env"],
                               "episodes_per_run": preset["eval_episodes"], "eval_seed": EVAL_SEED,
                               "sectors": SECTORS, "min_distance": MIN_DISTANCE, "summary": summary,
                               "claim": stated, "runs": runs},
                              root, "fig7")
    for alpha in columns:
        line = summary[column_key(alpha)]
        print(f"{column_title(alpha)}: {line['sectors_covered']} of {SECTORS} sectors over all "
              f"seeds, {line['mean_sectors_per_seed']:.1f} per seed, mean distance "
              f"{line['mean_distance']:.2f} m, straightness {line['mean_straightness']:.2f}, "
              f"{line['flipped_fraction']:.0%} of episodes flipped")
    print(f"claim (alpha {stated['alpha']:g} spreads, DDPG keeps one direction): "
          f"{stated['holds']}")
    print(figure_files.outputs_line(root, "fig7"))


if __name__ == "__main__":
    app.run(main, flags_parser=cli.parse_flags)
