"""Reproduces Figure 3: exploration with soft Q-learning versus DDPG on the swimmer and the maze.

(a) Swimmer with a finish line: the farthest forward centre-of-mass x reached since the start of
training, against environment steps, one line per seed and algorithm, the finish line dashed.
(b) Quadruped maze: the closest centre-of-mass distance to the target since the start of training,
the threshold (the closest one can get through the blocked passage) dashed. The paper's claim: every
SQL run crosses both thresholds; fewer DDPG runs do (80% on the swimmer, 60% on the maze).

    python -m paper_repro.fig3 [--profile=quick] [--out_dir=out/fig3] [--seeds=0,1,2,3]

The curves come from the runs' own logs (the tasks' episode metrics in ``progress.csv``: the largest
and smallest centre-of-mass x, the smallest distance to the target, per log interval). fig3.json
holds them and, per algorithm and task, the fraction of seeds past the threshold, the step at which
each crossed, and what each final policy does in five episodes from the start (their returns,
where each ended: the swimmer's centre-of-mass x, the quadruped's distance to the target; and how
straight its centre of mass moved, start-to-end distance over path length, so that a policy that
scores by shaking in place shows as such).
TensorFlow is imported only to load those policies, so bad flags and a --plot_only without runs
fail within about a second.
"""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402

from paper_repro import common, figure_files, profiles  # noqa: E402
from softq_tf.running import cli, runs  # noqa: E402
from softq_tf.training import evaluation  # noqa: E402

flags.adopt_module_key_flags(common)  # --profile, --out_dir, ...: listed by --help

ALGOS = ("sql", "ddpg")
EVAL_EPISODES = 5  # episodes of each final policy in fig3.json
COLORS = {"sql": "tab:blue", "ddpg": "tab:orange"}
# What each panel plots: the progress.csv column, how it accumulates since the start of training,
# which side of the threshold counts as crossed, and the env's threshold attribute.
PANELS = {
    "swimmer": dict(column="max_com_x", accumulate=np.fmax.accumulate, past=np.greater_equal,
                    threshold="finish_line", ylabel="farthest forward centre-of-mass x (m)",
                    title="(a) Swimmer: farthest forward since the start"),
    "maze": dict(column="min_distance", accumulate=np.fmin.accumulate, past=np.less,
                 threshold="threshold", ylabel="closest distance to the target (m)",
                 title="(b) Quadruped maze: closest to the target since the start"),
}


def task_env(task):
    """The task's env, built with the preset's constructor arguments."""
    return runs.make_env(task["env"], task.get("env_kwargs"))


def curve(trial, panel):
    """(steps, the panel's value since the start of training) from the run's progress.csv."""
    logged = common.progress(trial)
    return logged["step"], panel["accumulate"](logged[panel["column"]])


def crossing_step(steps, values, threshold, past):
    """The first logged step at which ``values`` are past ``threshold``; None if never."""
    crossed = np.flatnonzero(past(values, threshold))
    return int(steps[crossed[0]]) if crossed.size else None


def final_policy_episodes(trial, env, episodes=EVAL_EPISODES):
    """Episodes of the run's exported policy from the start (episode i reset with seed i): what
    it does at the end of training, e.g. which way each episode swims."""
    import tensorflow as tf

    policy = tf.saved_model.load(os.path.join(trial.logdir, "policy"))
    rng = np.random.default_rng(0)
    rollouts = [evaluation.rollout(env, policy, rng, seed=i) for i in range(episodes)]
    summary = dict(episode_returns=[float(run["rewards"].sum()) for run in rollouts],
                   episode_lengths=[len(run["rewards"]) for run in rollouts])
    for key in ("com_x", "distance"):  # where each episode ended (task permitting)
        if key in rollouts[0]["final_info"]:
            summary[f"final_{key}"] = [float(run["final_info"][key]) for run in rollouts]
    paths = [evaluation.centre_of_mass_path(run) for run in rollouts]
    if paths[0] is not None:  # swimming or walking one way, or shaking in place
        summary["straightness"] = [evaluation.straightness(path) for path in paths]
    return summary


def task_results(name, trials, env):
    """Per algorithm: each seed's curve, crossing step and final-policy episode, and the fraction
    of seeds that crossed."""
    panel = PANELS[name]
    threshold = float(getattr(env.unwrapped, panel["threshold"]))
    results = dict(env=env.spec.id, threshold=threshold, column=panel["column"], algos={})
    for algo in ALGOS:
        seeds = []
        for trial in trials[algo]:
            steps, values = curve(trial, panel)
            seed = dict(seed=trial.seed, run=trial.logdir, steps=steps.tolist(),
                        values=values.tolist(),
                        crossed_at_step=crossing_step(steps, values, threshold, panel["past"]),
                        final_policy=final_policy_episodes(trial, env))
            if name == "swimmer":  # which way it went: farthest forward vs farthest backward
                backward = -np.nanmin(common.progress(trial)["min_com_x"])
                seed["farthest_backward"] = float(backward)
                seed["direction"] = "forward" if values[-1] >= backward else "backward"
            seeds.append(seed)
        results["algos"][algo] = dict(
            seeds=seeds,
            fraction_of_seeds_crossed=float(np.mean([s["crossed_at_step"] is not None
                                                     for s in seeds])))
    return results


def draw(results):
    fig, axes = plt.subplots(1, len(results), figsize=(6.5 * len(results), 4.2), squeeze=False)
    for ax, (name, task) in zip(axes[0], results.items()):
        panel = PANELS[name]
        for algo in ALGOS:
            for i, seed in enumerate(task["algos"][algo]["seeds"]):
                ax.plot(np.asarray(seed["steps"]) / 1000, seed["values"], color=COLORS[algo],
                        alpha=0.8, linewidth=1.2,
                        label=f"{algo.upper()} ({len(task['algos'][algo]['seeds'])} seeds)"
                        if i == 0 else None)
        ax.axhline(task["threshold"], color="black", linestyle="--", linewidth=1,
                   label=f"threshold {task['threshold']:.2f} m")
        ax.set(xlabel="environment steps (thousands)", ylabel=panel["ylabel"],
               title=panel["title"])
        ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    return fig


def main(argv):
    del argv
    preset, root, grid = common.runs_or_exit(profiles.FIG3, "fig3")
    results = {name: task_results(name, {algo: grid[algo, name] for algo in ALGOS},
                                  task_env(task))
               for name, task in preset["tasks"].items()}
    figure_files.save_figure(draw(results), root, "fig3")
    summary = {f"{algo}_{name}_fraction_crossed": task["algos"][algo]["fraction_of_seeds_crossed"]
               for name, task in results.items() for algo in ALGOS}
    summary.update({  # over the final policies' episodes of every seed
        f"{algo}_{name}_final_straightness": float(np.mean(
            [s["final_policy"]["straightness"] for s in task["algos"][algo]["seeds"]]))
        for name, task in results.items() for algo in ALGOS})
    figure_files.save_results(dict(figure=3, profile=common.FLAGS.profile, summary=summary,
                                   tasks=results), root, "fig3")
    for key, value in summary.items():
        print(f"{key}: {value:.2f}")
    print(figure_files.outputs_line(root, "fig3"))


if __name__ == "__main__":
    app.run(main, flags_parser=cli.parse_flags)
