"""Reproduces Figure 1: a multimodal policy learned by soft Q-learning on the multi-goal task.

Left: trajectories of the stochastic SQL policy started at the origin, over the level curves of the
reward's distance term, with the four goals in red. Middle: contours of the learned Q(s, .) over the
action square at the states (-2.5, 0), (0, 0) and (2.5, 2.5), with 100 actions sampled from the
policy as stars. Right (the paper says it in words): trajectories of DDPG's policy, trained with
the same settings. The paper's claim: SQL reaches all four goals from the same start; DDPG commits
to one.

    python -m paper_repro.fig1 [--profile=quick] [--out_dir=out/fig1]

fig1.json holds, per seed and algorithm, the fraction of evaluation episodes ending at each goal,
and the data of the drawn panels (trajectories, Q grids, samples). TensorFlow is imported only once
the runs are there, so bad flags and a --plot_only without runs fail within about a second.
"""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import gymnasium as gym  # noqa: E402
import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402

from paper_repro import common, figure_files, profiles  # noqa: E402
from softq_tf import envs  # noqa: E402
from softq_tf.running import cli  # noqa: E402
from softq_tf.training import evaluation  # noqa: E402
from softq_tf.envs.multigoal import GOALS, goal_distance_cost  # noqa: E402

flags.adopt_module_key_flags(common)  # --profile, --out_dir, ...: listed by --help

ENV_ID = profiles.MULTIGOAL
Q_STATES = ((-2.5, 0.0), (0.0, 0.0), (2.5, 2.5))
GRID = 50
SAMPLES = 100
MIN_GOAL_FRACTION = 0.10  # the claim checked: every goal reached in >= 10% of episodes


def evaluate_goals(policy, episodes, seed, env_id=ENV_ID):
    """Rolls out the exported policy from the origin on ``env_id`` (a multi-goal task; episode i
    reset with seed + i, noise from a numpy generator seeded with ``seed``); returns trajectories,
    goal indices (-1: none) and undiscounted returns."""
    env = gym.make(env_id)
    rng = np.random.default_rng(seed)
    runs = [evaluation.rollout(env, policy, rng, seed + episode) for episode in range(episodes)]
    return ([run["observations"].tolist() for run in runs],
            [run["final_info"].get("goal", -1) for run in runs],
            [float(run["rewards"].sum()) for run in runs])


def goal_fractions(goals):
    """(fraction of the episodes' outcomes ``goals`` (goal index, -1: none) at each goal, fraction
    at none)."""
    goals = np.asarray(goals)
    return ([float(np.mean(goals == g)) for g in range(len(GOALS))],
            float(np.mean(goals == -1)))


def goal_summary(run_dir, goals):
    """Per-goal fractions of the episodes' outcomes ``goals`` (goal index, -1: none)."""
    fractions, no_goal = goal_fractions(goals)
    return dict(run=run_dir, goal_fractions=fractions, no_goal_fraction=no_goal,
                all_goals_reached=min(fractions) >= MIN_GOAL_FRACTION)


def q_panels(policy, q_function):
    """Q over a GRID x GRID action grid and SAMPLES policy actions at each of Q_STATES."""
    import tensorflow as tf

    ticks = np.linspace(-1, 1, GRID, dtype=np.float32)
    ax, ay = np.meshgrid(ticks, ticks)
    actions = np.stack([ax.ravel(), ay.ravel()], axis=1)
    panels = []
    for state in Q_STATES:
        obs = np.tile(np.array(state, np.float32), (len(actions), 1))
        q = q_function.q_values(obs, actions).numpy().reshape(GRID, GRID)
        samples = policy.sample_actions(np.array([state], np.float32), tf.constant(SAMPLES))
        panels.append(dict(state=list(state), q=q.tolist(),
                           samples=samples.numpy()[0].tolist()))
    return ticks.tolist(), panels


def draw_trajectories(ax, trajectories, color, title, tasks=((1.0, range(len(GOALS))),)):
    """Paths from the origin over the level curves of the goal-distance reward, paying goals in
    red and the others grey.

    ``tasks``: the (weight, paying goals) pairs whose distance terms the reward sums
    (``MultiGoalEnv.tasks``; default: the paper's task, every goal paying).
    """
    xs = np.linspace(-7, 7, 200)
    grid_x, grid_y = np.meshgrid(xs, xs)
    cost = sum(weight * goal_distance_cost(np.stack([grid_x, grid_y], axis=-1), 1.0,
                                           GOALS[list(paying)]) for weight, paying in tasks)
    ax.contour(grid_x, grid_y, -cost, levels=15, colors="0.6", linewidths=0.8)
    for path in trajectories:
        path = np.asarray(path)
        ax.plot(path[:, 0], path[:, 1], color=color, linewidth=0.8, alpha=0.7)
    paying = sorted({g for _, goals in tasks for g in goals})
    ax.scatter(GOALS[:, 0], GOALS[:, 1], color="0.7", s=60, zorder=3)
    ax.scatter(GOALS[paying, 0], GOALS[paying, 1], color="red", s=60, zorder=4)
    ax.set(xlim=(-7, 7), ylim=(-7, 7), aspect="equal", title=title)


def draw(trajectories, ticks, panels, ddpg_trajectories):
    fig = plt.figure(figsize=(16, 4.2))
    draw_trajectories(fig.add_subplot(1, 5, 1), trajectories, "tab:blue", "SQL from the origin")
    for i, panel in enumerate(panels):
        ax = fig.add_subplot(1, 5, i + 2)
        ax.contourf(ticks, ticks, np.asarray(panel["q"]), levels=20, cmap="viridis")
        samples = np.asarray(panel["samples"])
        ax.scatter(samples[:, 0], samples[:, 1], marker="*", color="white", s=18,
                   edgecolors="black", linewidths=0.3)
        ax.set(xlim=(-1, 1), ylim=(-1, 1), aspect="equal",
               title=f"Q(s, a) at s = ({panel['state'][0]:g}, {panel['state'][1]:g})")
    draw_trajectories(fig.add_subplot(1, 5, 5), ddpg_trajectories, "tab:orange",
                      "DDPG from the origin")
    fig.tight_layout()
    return fig


def main(argv):
    del argv
    preset, root, grid = common.runs_or_exit(profiles.FIG1, "fig1")
    run_dirs = {algo: [trial.logdir for trial in grid[algo, "multigoal"]]
                for algo in ("sql", "ddpg")}
    import tensorflow as tf  # once the runs are there: bad input fails before it

    envs.register_envs()
    per_seed, drawn = {}, {}
    for algo, dirs in run_dirs.items():
        per_seed[algo] = []
        for run_dir in dirs:
            policy = tf.saved_model.load(os.path.join(run_dir, "policy"))
            trajectories, goals, _ = evaluate_goals(policy, preset["eval_episodes"], seed=0)
            per_seed[algo].append(goal_summary(run_dir, goals))
            if algo == "sql" and not drawn:
                tf.random.set_seed(0)  # sample_actions draws its noise inside the SavedModel
                q_function = tf.saved_model.load(os.path.join(run_dir, "q_function"))
                ticks, panels = q_panels(policy, q_function)
                drawn = dict(trajectories=trajectories, action_ticks=ticks, q_panels=panels)
            elif algo == "ddpg" and "ddpg_trajectories" not in drawn:
                drawn["ddpg_trajectories"] = trajectories
    fig = draw(drawn["trajectories"], drawn["action_ticks"], drawn["q_panels"],
               drawn["ddpg_trajectories"])
    figure_files.save_figure(fig, root, "fig1")
    results = dict(figure=1, profile=common.FLAGS.profile, env=ENV_ID,
                   goals=GOALS.tolist(), episodes_per_seed=preset["eval_episodes"],
                   min_goal_fraction=MIN_GOAL_FRACTION, seeds=per_seed["sql"],
                   fraction_of_seeds_reaching_all_goals=float(np.mean(
                       [s["all_goals_reached"] for s in per_seed["sql"]])),
                   ddpg_seeds=per_seed["ddpg"],
                   ddpg_fraction_of_seeds_reaching_all_goals=float(np.mean(
                       [s["all_goals_reached"] for s in per_seed["ddpg"]])),
                   drawn_seed_run=run_dirs["sql"][0], ddpg_drawn_seed_run=run_dirs["ddpg"][0],
                   **drawn)
    figure_files.save_results(results, root, "fig1")
    for s in per_seed["sql"] + per_seed["ddpg"]:
        print(f"{s['run']}: goal fractions {np.round(s['goal_fractions'], 2).tolist()}, "
              f"no goal {s['no_goal_fraction']:.2f}")
    print(figure_files.outputs_line(root, "fig1"))


if __name__ == "__main__":
    app.run(main, flags_parser=cli.parse_flags)
