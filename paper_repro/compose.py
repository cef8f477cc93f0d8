"""Composing skills: the future work of the paper's Sec. 6 (Haarnoja et al. 2018, "Composable
Deep Reinforcement Learning for Robotic Manipulation"). Not a figure of the paper.

Two multi-goal tasks share the east goal: ``softq_tf/MultiGoalNorthEast-v0`` pays east and north,
``softq_tf/MultiGoalSouthEast-v0`` east and south (same dynamics: an episode ends at any of the four
goals). This script trains, in one sweep, SQL and DDPG on each; then composes the two SQL runs
(:mod:`softq_tf.running.composition`: a sampler fit by amortized SVGD to
exp((Q_NE + Q_SE) / 2 / alpha) on the constituents' replayed states, no new environment step);
and, on ``softq_tf/MultiGoalNorthEastSouthEast-v0`` (paid the mean of the two rewards), SQL from
scratch for as many gradient updates as the composition took, which costs that many environment
steps plus the ``min_pool`` - 1 warm-up steps before its first update. The follow-up's DDPG
baseline is the mean of the two DDPG policies' actions.

    python -m paper_repro.compose [--profile=quick] [--out_dir=out/compose] [--seeds=0] \
        [--plot_only]

The picture: for the first seed, 100 trajectories from the origin of each constituent, of the
composed policy, of the scratch run and of the averaged DDPG actions, over the level curves of the
distance term of each one's task (paying goals red). compose.json: per seed and policy, the
fraction of the evaluation episodes ending at each goal and at none, the mean return on the
combined task, the environment steps and gradient updates used; and the claim as numbers: the
composed policy ends at the shared goal in most episodes with no new environment step, where each
constituent splits between its two goals (each in at least 10% of episodes).
"""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import gymnasium as gym  # noqa: E402
import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from absl import app  # noqa: E402

from paper_repro import common, fig1, figure_files, profiles  # noqa: E402
from softq_tf import envs, sweep  # noqa: E402
from softq_tf.envs.multigoal import GOAL_NAMES  # noqa: E402
from softq_tf.running import compose_request, composition, experiment, runs  # noqa: E402

SHARED_GOAL = 0  # east, paid by both constituents
MIN_GOAL_FRACTION = fig1.MIN_GOAL_FRACTION  # a constituent "splits": each goal >= 10%
TITLES = {"sql-northeast": "SQL on north + east", "sql-southeast": "SQL on south + east",
          "composed": "composed: (Q_NE + Q_SE) / 2", "sql-scratch": "SQL from scratch on the mean",
          "ddpg-average": "DDPG: mean of the two actions"}
COLORS = {"sql-northeast": "tab:blue", "sql-southeast": "tab:cyan", "composed": "tab:green",
          "sql-scratch": "tab:purple", "ddpg-average": "tab:orange"}


def scratch_steps(preset):
    """Environment steps of the scratch run: the ``min_pool`` - 1 warm-up steps without an
    update, then as many steps as it takes to make the composition's number of updates."""
    loop_config = runs.build_configs("sql", None, profiles.overrides_for(preset, "sql"))[1]
    updates = preset["compose"]["steps"]
    return loop_config.min_pool - 1 + -(-updates // loop_config.updates_per_step)


def grid_of(root, preset, seed_list):
    """The sweep's runs: SQL and DDPG on each constituent task, SQL from scratch on the
    combined one."""
    grid = common.trials(root, preset, seed_list, preset["tasks"])
    grid.update(common.trials(root, preset, seed_list, dict(combined=dict(
        env=preset["combined"], total_steps=scratch_steps(preset))), algos=("sql",)))
    return grid


def compositions(root, preset, grid, seed_list):
    """Per seed, the composition folder of the two SQL constituents: reused when finished,
    else fitted (or resumed). Raises ValueError for a folder holding another composition, or
    with --plot_only for one not finished."""
    folders = []
    for i, seed in enumerate(seed_list):
        logdir = sweep.trial_dir(root, "composed", preset["combined"], seed)
        request = compose_request.check_request(
            [grid["sql", task][i].logdir for task in preset["tasks"]], None, logdir, seed,
            resume=os.path.exists(os.path.join(logdir, "config.json")), **preset["compose"])
        if not compose_request.is_finished(logdir):
            if common.FLAGS.plot_only:
                raise ValueError(f"--plot_only: no finished composition at {logdir}; run "
                                 "without --plot_only first")
            composition.execute(request)
        folders.append(logdir)
    return folders


def updates_of(folder):
    """The gradient updates a run or composition applied: its newest checkpoint's step counter."""
    prefix = os.path.join(folder, "checkpoints", f"ckpt-{runs.steps_done(folder)}")
    return int(tf.train.load_checkpoint(prefix).get_tensor("step/.ATTRIBUTES/VARIABLE_VALUE"))


class AveragedActions:
    """The mean of deterministic policies' actions: the follow-up's DDPG baseline for composing.

    Args:
      policies: loaded ``policy/`` SavedModels; only ``action_from_noise`` is used.
    """

    def __init__(self, policies):
        self.policies = policies

    def action_from_noise(self, observation, xi):
        return tf.add_n([p.action_from_noise(observation, xi) for p in self.policies]) / len(
            self.policies)


def policies_of(preset, grid, composed, i):
    """Seed number ``i``'s policies by name: (policy, its runs, env steps it took, updates, the
    env whose reward's level curves its panel shows)."""
    load = (lambda folder: tf.saved_model.load(os.path.join(folder, "policy")))
    tasks = list(preset["tasks"])
    sql_runs = [grid["sql", task][i] for task in tasks]
    ddpg_runs = [grid["ddpg", task][i] for task in tasks]
    scratch = grid["sql", "combined"][i]
    named = {f"sql-{task}": (load(t.logdir), [t.logdir], t.total_steps, updates_of(t.logdir),
                             t.env_id) for task, t in zip(tasks, sql_runs)}
    named["composed"] = (load(composed), [composed], 0, updates_of(composed), preset["combined"])
    named["sql-scratch"] = (load(scratch.logdir), [scratch.logdir], scratch.total_steps,
                            updates_of(scratch.logdir), preset["combined"])
    named["ddpg-average"] = (AveragedActions([load(t.logdir) for t in ddpg_runs]),
                             [t.logdir for t in ddpg_runs], sum(t.total_steps for t in ddpg_runs),
                             sum(updates_of(t.logdir) for t in ddpg_runs), preset["combined"])
    return named


def evaluate(preset, named, seed):
    """Each policy's goal fractions, return on the combined task and costs; and trajectories."""
    results, trajectories = {}, {}
    for name, (policy, folders, env_steps, updates, _) in named.items():
        paths, goals, returns = fig1.evaluate_goals(policy, preset["eval_episodes"], seed=seed,
                                                    env_id=preset["combined"])
        fractions, no_goal = fig1.goal_fractions(goals)
        results[name] = dict(runs=folders, goal_fractions=dict(zip(GOAL_NAMES, fractions)),
                             no_goal_fraction=no_goal,
                             mean_return_on_combined_task=float(np.mean(returns)),
                             env_steps=env_steps, gradient_updates=updates)
        trajectories[name] = paths
    return results, trajectories


def claim(per_seed, preset):
    """The claim as numbers, over the seeds."""
    shared = GOAL_NAMES[SHARED_GOAL]
    splits = {}
    for task in preset["tasks"]:
        with gym.make(preset["tasks"][task]["env"]) as env:
            paying = [GOAL_NAMES[g] for g in env.unwrapped.tasks[0][1]]
        splits[f"sql-{task}"] = [all(seed["policies"][f"sql-{task}"]["goal_fractions"][g]
                                     >= MIN_GOAL_FRACTION for g in paying) for seed in per_seed]
    at_shared = {name: [seed["policies"][name]["goal_fractions"][shared] for seed in per_seed]
                 for name in TITLES}
    composed_most = [fraction > 0.5 for fraction in at_shared["composed"]]
    return dict(shared_goal=shared, fraction_at_shared_goal=at_shared, composed_new_env_steps=0,
                composed_ends_at_shared_goal_in_most_episodes=composed_most,
                constituents_split_between_their_goals=splits, min_goal_fraction=MIN_GOAL_FRACTION,
                holds=all(composed_most) and all(all(v) for v in splits.values()))


def draw(named, trajectories):
    fig, axes = plt.subplots(1, len(named), figsize=(4 * len(named), 4.6))
    for ax, (name, (_, _, env_steps, updates, env_id)) in zip(axes, named.items()):
        with gym.make(env_id) as env:
            tasks = env.unwrapped.tasks
        fig1.draw_trajectories(ax, trajectories[name], COLORS[name],
                               f"{TITLES[name]}\n{env_steps:,} env steps, {updates:,} updates",
                               tasks)
    fig.tight_layout()
    return fig


def main(argv):
    del argv
    preset, root, grid = common.runs_or_exit(profiles.COMPOSE, "compose", grid_of=grid_of)
    seed_list = common.seeds(preset)
    experiment.set_up_process(seed_list[0])  # quiet TensorFlow's INFO lines while composing
    envs.register_envs()
    composed = common.or_exit(compositions, root, preset, grid, seed_list)
    per_seed, drawn = [], None
    for i, seed in enumerate(seed_list):
        named = policies_of(preset, grid, composed[i], i)
        results, trajectories = evaluate(preset, named, seed=0)
        per_seed.append(dict(seed=seed, policies=results))
        if drawn is None:
            drawn = trajectories
            figure_files.save_figure(draw(named, trajectories), root, "compose")
    results = dict(
        figure="compose", beyond_the_paper="the future work of Sec. 6 (Haarnoja et al. 2018), "
        "not a figure of the paper", profile=common.FLAGS.profile, goals=dict(zip(
            GOAL_NAMES, fig1.GOALS.tolist())),
        tasks=dict({name: task["env"] for name, task in preset["tasks"].items()},
                   combined=preset["combined"]),
        episodes_per_policy=preset["eval_episodes"], evaluated_on=preset["combined"],
        seeds=per_seed, claim=claim(per_seed, preset), trajectories=drawn)
    figure_files.save_results(results, root, "compose")
    for seed in per_seed:
        for name, result in seed["policies"].items():
            fractions = ", ".join(f"{g} {f:.2f}" for g, f in result["goal_fractions"].items())
            print(f"seed {seed['seed']} {name}: {fractions}, none "
                  f"{result['no_goal_fraction']:.2f}; {result['env_steps']} env steps, "
                  f"{result['gradient_updates']} updates")
    print(f"claim holds: {results['claim']['holds']}")
    print(figure_files.outputs_line(root, "compose"))


if __name__ == "__main__":
    app.run(main)
