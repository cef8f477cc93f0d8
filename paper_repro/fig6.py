"""Reproduces Figure 6 (appendix): how far each swimmer run has gone forward and backward.

One panel per seed and algorithm (rows SQL, DDPG): the largest and the smallest centre-of-mass x
reached since the start of training against environment steps, the finish line in red. The paper's
point: SQL runs all end up past the finish line; some DDPG runs commit to swimming backwards.

    python -m paper_repro.fig6 [--profile=quick] [--out_dir=out/fig3] [--seeds=0,1,2,3]

It trains (or reuses) exactly Figure 3's swimmer runs, so by default it writes into Figure 3's
folder (``out/fig3``): run one figure, and the other only draws. fig6.json holds the curves and,
per seed, the farthest forward and backward x and whether the run crossed the line.
"""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402

from paper_repro import common, figure_files, profiles  # noqa: E402
from paper_repro.fig3 import ALGOS, COLORS, task_env  # noqa: E402
from softq_tf.running import cli  # noqa: E402

flags.adopt_module_key_flags(common)  # --profile, --out_dir, ...: listed by --help

TASK = "swimmer"


def seed_curves(trial):
    """Steps and the largest and smallest centre-of-mass x since the start of training."""
    logged = common.progress(trial)
    return dict(seed=trial.seed, run=trial.logdir, steps=logged["step"].tolist(),
                max_x=np.fmax.accumulate(logged["max_com_x"]).tolist(),
                min_x=np.fmin.accumulate(logged["min_com_x"]).tolist())


def draw(curves, finish_line):
    seeds = max(len(runs) for runs in curves.values())
    fig, axes = plt.subplots(len(ALGOS), seeds, figsize=(3.2 * seeds, 2.8 * len(ALGOS)),
                             sharex=True, sharey=True, squeeze=False)
    for row, algo in zip(axes, ALGOS):
        for ax, run in zip(row, curves[algo]):
            steps = np.asarray(run["steps"]) / 1000
            ax.plot(steps, run["max_x"], color=COLORS[algo], label="max x")
            ax.plot(steps, run["min_x"], color=COLORS[algo], linestyle=":", label="min x")
            ax.axhline(finish_line, color="red", linewidth=1)
            ax.set_title(f"{algo.upper()}, seed {run['seed']}", fontsize=9)
        row[0].set_ylabel("centre-of-mass x (m)")
    for ax in axes[-1]:
        ax.set_xlabel("steps (thousands)")
    axes[0][0].legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return fig


def main(argv):
    del argv
    # Figure 3's folder and presets: the very same runs.
    preset, root, grid = common.runs_or_exit(profiles.FIG3, "fig3", task_names=(TASK,))
    task = preset["tasks"][TASK]
    finish_line = float(task_env(task).unwrapped.finish_line)
    curves = {algo: [seed_curves(trial) for trial in grid[algo, TASK]] for algo in ALGOS}
    figure_files.save_figure(draw(curves, finish_line), root, "fig6")
    per_seed = {algo: [dict(seed=run["seed"], farthest_forward=run["max_x"][-1],
                            farthest_backward=-run["min_x"][-1],
                            crossed=run["max_x"][-1] >= finish_line) for run in runs]
                for algo, runs in curves.items()}
    figure_files.save_results(dict(figure=6, profile=common.FLAGS.profile, env=task["env"],
                             finish_line=finish_line, per_seed=per_seed, curves=curves),
                        root, "fig6")
    for algo, runs in per_seed.items():
        for run in runs:
            print(f"{algo} seed {run['seed']}: forward {run['farthest_forward']:.2f} m, "
                  f"backward {run['farthest_backward']:.2f} m, crossed {run['crossed']}")
    print(figure_files.outputs_line(root, "fig6"))


if __name__ == "__main__":
    app.run(main, flags_parser=cli.parse_flags)
