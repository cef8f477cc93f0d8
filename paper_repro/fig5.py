"""Reproduces Figure 5: fine-tuning a pretrained maximum-entropy policy versus DDPG.

Stage 1 pretrains on the empty arena (the preset's ``pretrain`` env: the paper's
``softq_tf/QuadrupedPretrain-v1``, the speed of the centre of mass in any direction, in the paper
profile; ``softq_tf/QuadrupedPretrainOutward-v1``, the distance gained from the start in any
direction, in the smoke and quick ones): SQL at the preset's ``finetune_alpha`` and DDPG
(:mod:`paper_repro.pretraining`; Figure 7 shows where these policies run). Stage 2 trains on each
target task (a wide and a narrow hallway, the pretraining reward between two walls, and a U-maze
rewarded near a target at its far end) with three methods, all in one sweep:

- ``sql-finetuned``: SQL started from the SQL pretraining run of the same seed (networks only:
  fresh optimizers, an empty replay pool), at the pretraining's alpha annealed to the preset's
  ``final_reward_scale`` with the noise set of the preset (``finetune.sql_overrides``, D.1);
- ``ddpg``: DDPG from scratch;
- ``ddpg-finetuned``: DDPG started from the DDPG pretraining run of the same seed.

Every stage-2 run also takes ``finetune.overrides`` (the quick and paper presets: act with the
policy from the first step, ``random_warmup=false``, so a pretrained policy is not replaced by
uniform noise for the ``min_pool`` warm-up).

    python -m paper_repro.fig5 [--profile=quick] [--out_dir=out/fig5] [--seeds=0,1] \
        [--tasks=wide,narrow,umaze]

One panel per task: per method, the mean over seeds of the training return against environment
steps, with a band of one standard deviation. The paper's claim: the pretrained SQL policy learns
the target tasks fastest.

Departure from the paper: the curves are the ``episode_return`` column of each run's
``progress.csv``, the mean undiscounted return of the last 10 training episodes (collected with the
exploration policy), whereas the paper plots the average discounted return. A step before every
seed has finished an episode has no mean (null in fig5.json).

fig5.json holds the curves (steps, each seed's values, mean, std), and per task and method the
average return over training (the area under the mean curve by the trapezoid rule divided by its
step span, so that runs of different lengths compare; over the steps where the mean is defined)
and the mean return at the end. Its ``summary`` names per task the method with the largest average
and whether that is ``sql-finetuned`` (``sql_finetuned_learns_fastest``; null while some method has
no average, e.g. smoke runs shorter than an episode).
"""
import dataclasses
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from absl import app, flags

from paper_repro import common, figure_files, pretraining, profiles
from softq_tf import sweep
from softq_tf.running import cli

flags.adopt_module_key_flags(common)  # --profile, --out_dir, ...: listed by --help

flags.DEFINE_list("tasks", None, "Comma-separated target tasks (default: all of the profile's: "
                  "wide, narrow, umaze).")

# Method -> (algorithm, folder variant, the algorithm whose pretraining run of the same seed it
# starts from, or None: from scratch).
METHODS = {"sql-finetuned": ("sql", "finetuned", "sql"),
           "ddpg": ("ddpg", "", None),
           "ddpg-finetuned": ("ddpg", "finetuned", "ddpg")}
LABELS = {"sql-finetuned": "SQL pretrained + fine-tuned", "ddpg": "DDPG from scratch",
          "ddpg-finetuned": "DDPG pretrained + fine-tuned"}
COLORS = {"sql-finetuned": "tab:blue", "ddpg": "tab:orange", "ddpg-finetuned": "tab:red"}
TITLES = {"wide": "Wide hallway", "narrow": "Narrow hallway", "umaze": "U-maze"}
RETURN_MEASURE = ("undiscounted training return: progress.csv's episode_return, the mean return of "
                  "the last 10 training episodes (the paper plots the average discounted return)")


def target_tasks(preset):
    """The preset's fine-tuning tasks, only those of --tasks if given.

    Raises:
      ValueError: --tasks names a task the preset does not have.
    """
    tasks = preset["finetune"]["tasks"]
    names = common.FLAGS.tasks or list(tasks)
    unknown = [name for name in names if name not in tasks]
    if unknown:
        raise ValueError(f"--tasks={','.join(names)!r} is invalid: allowed are "
                         f"{', '.join(tasks)}")
    return {name: tasks[name] for name in names}


def pretraining_runs(root, preset, seeds):
    """Stage 1's runs: SQL at the preset's ``finetune_alpha`` and DDPG, on the pretraining task.

    Raises:
      ValueError: a bad --tasks, checked here so that nothing trains before it is reported.
    """
    target_tasks(preset)
    return pretraining.trials(root, preset, seeds, [preset["finetune_alpha"]])


def finetuning_runs(root, preset, pretrained):
    """Stage 2's runs: every method of :data:`METHODS` on every target task, per seed.

    Args:
      root: the figure's output folder.
      preset: a :data:`paper_repro.profiles.FIG5` preset.
      pretrained: stage 1's grid (:func:`pretraining_runs`).

    Returns:
      {(method, task name): [Trial per seed]}; a fine-tuned trial's ``init_from`` is the pretraining
      run of its seed.
    """
    alpha, finetune = preset["finetune_alpha"], preset["finetune"]
    sources = {"sql": {t.seed: t.logdir for t in pretrained["sql", alpha]},
               "ddpg": {t.seed: t.logdir for t in pretrained["ddpg", None]}}
    seed_list = list(sources["ddpg"])
    algo_overrides = dict(preset.get("algo_overrides") or {})
    # The annealing starts from the alpha the policy was pretrained at (pretraining.trials sets it
    # the same way), whatever reward_scale the shared overrides hold.
    sql_finetune = tuple(algo_overrides.get("sql", ())) + (
        f"reward_scale={1.0 / alpha:g}",) + tuple(finetune["sql_overrides"])
    grid = {}
    for name, task in target_tasks(preset).items():
        for method, (algo, variant, source) in METHODS.items():
            made = sweep.make_grid(
                root, [algo], [task["env"]], seed_list, finetune["total_steps"],
                overrides=tuple(preset["overrides"]) + tuple(finetune["overrides"]),
                algo_overrides=dict(algo_overrides, sql=sql_finetune) if source == "sql"
                else algo_overrides,
                env_kwargs={task["env"]: task.get("env_kwargs", {})}, variant=variant)
            grid[method, name] = [dataclasses.replace(t, init_from=sources[source][t.seed])
                                  if source else t for t in made]
    return grid


def fine_tune(root, preset, pretrained):
    """Trains, resumes or reuses stage 2's runs in one sweep (so they run in parallel).

    Returns:
      the grid of :func:`finetuning_runs`.

    Raises:
      ValueError, RuntimeError: as :func:`paper_repro.common.ensure_runs`.
    """
    grid = finetuning_runs(root, preset, pretrained)
    common.ensure_runs(root, grid)
    return grid


def average_over_training(steps, mean):
    """The area under the mean curve (trapezoid rule) divided by its step span: the average return
    over training, comparable across run lengths. Over the logged steps where ``mean`` is defined
    (not NaN); None with fewer than two."""
    defined = ~np.isnan(mean)
    if defined.sum() < 2:
        return None
    steps, mean = steps[defined], mean[defined]
    return float(np.trapezoid(mean, steps) / (steps[-1] - steps[0]))


def _json_values(values):
    """Floats for fig5.json, None where NaN (JSON has no NaN)."""
    return [None if np.isnan(v) else float(v) for v in values]


def method_results(runs):
    """The curves of one method on one task, from its runs' progress.csv, and their numbers."""
    logged = [common.progress(trial) for trial in runs]
    steps = logged[0]["step"]  # the same settings log at the same steps
    values = np.vstack([p["episode_return"] for p in logged])
    mean, std = values.mean(axis=0), values.std(axis=0)  # NaN where some seed has no return yet
    return {"runs": [t.logdir for t in runs], "init_from": [t.init_from for t in runs],
            "steps": steps.tolist(),
            "seeds": [{"seed": t.seed, "values": _json_values(v)} for t, v in zip(runs, values)],
            "mean": _json_values(mean), "std": _json_values(std),
            "average_return_over_training": average_over_training(steps, mean),
            "final_mean_return": _json_values(mean[-1:])[0]}


def task_summary(methods):
    """The method with the largest average return over training, and whether it is SQL's; both
    None while some method has none."""
    averages = {m: r["average_return_over_training"] for m, r in methods.items()}
    if None in averages.values():
        return {"largest_average_return": None, "sql_finetuned_learns_fastest": None}
    best = max(averages, key=averages.get)
    return {"largest_average_return": best, "sql_finetuned_learns_fastest": best == "sql-finetuned"}


def draw(tasks):
    """One panel per task: per method the mean training return over seeds and a band of one
    standard deviation, against environment steps."""
    fig, axes = plt.subplots(1, len(tasks), figsize=(5.0 * len(tasks), 3.8), squeeze=False)
    for ax, (name, task) in zip(axes[0], tasks.items()):
        for method, result in task["methods"].items():
            steps = np.asarray(result["steps"]) / 1000
            mean = np.asarray(result["mean"], float)  # None -> NaN: a gap in the line
            std = np.asarray(result["std"], float)
            seeds = len(result["seeds"])
            ax.plot(steps, mean, color=COLORS[method],
                    label=f"{LABELS[method]} ({seeds} seed{'s' if seeds > 1 else ''})")
            ax.fill_between(steps, mean - std, mean + std, color=COLORS[method], alpha=0.2,
                            linewidth=0)
        ax.set(xlabel="environment steps (thousands)",
               ylabel="training return (undiscounted, last 10 episodes)",
               title=TITLES.get(name, name))
        ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    return fig


def main(argv):
    """Pretrains, fine-tunes (or reuses both), then writes fig5.png, fig5.pdf and fig5.json."""
    del argv
    preset, root, pretrained = common.runs_or_exit(profiles.FIG5, "fig5",
                                                   grid_of=pretraining_runs)
    grid = common.or_exit(fine_tune, root, preset, pretrained)
    tasks = {}
    for name, task in target_tasks(preset).items():
        methods = {method: method_results(grid[method, name]) for method in METHODS}
        tasks[name] = {"env": task["env"], "env_kwargs": task.get("env_kwargs", {}),
                       "title": TITLES.get(name, name), "methods": methods}
    figure_files.save_figure(draw(tasks), root, "fig5")
    summary = {name: task_summary(task["methods"]) for name, task in tasks.items()}
    alpha = preset["finetune_alpha"]
    figure_files.save_results({
        "figure": 5, "profile": common.FLAGS.profile, "return_measure": RETURN_MEASURE,
        "finetune_steps": preset["finetune"]["total_steps"],
        "pretraining": {"env": preset["pretrain"]["env"], "alpha": alpha,
                        "sql": [t.logdir for t in pretrained["sql", alpha]],
                        "ddpg": [t.logdir for t in pretrained["ddpg", None]]},
        "summary": summary, "tasks": tasks}, root, "fig5")
    for name, task in tasks.items():
        averages = ", ".join(
            f"{method} {result['average_return_over_training']:.3g}"
            if result["average_return_over_training"] is not None else f"{method} n/a"
            for method, result in task["methods"].items())
        print(f"{name}: average training return {averages}; largest: "
              f"{summary[name]['largest_average_return']}; sql_finetuned_learns_fastest: "
              f"{summary[name]['sql_finetuned_learns_fastest']}")
    print(figure_files.outputs_line(root, "fig5"))


if __name__ == "__main__":
    app.run(main, flags_parser=cli.parse_flags)
