"""Steps per second of the MuJoCo tasks against Gymnasium's plain Swimmer-v5 / Ant-v5.

Each task runs with uniformly random actions (resetting at episode ends), interleaved with its
Gymnasium baseline in the same process, and the ratio task / baseline is reported (target >= 0.8:
walls, rewards and info should cost little next to the physics). Medians over ``--rounds``.

    python -m benchmarks.env_speed [--steps=2000] [--rounds=3] [--out=env_speed.json]
"""
import json
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402

import softq_tf.envs  # noqa: E402

flags.DEFINE_integer("steps", 2000, "Env steps per measurement.")
flags.DEFINE_integer("rounds", 3, "Measurements per env (the median is reported).")
flags.DEFINE_string("out", "env_speed.json", "Where to write the results as JSON.")
FLAGS = flags.FLAGS

TARGET_RATIO = 0.8
BASELINES = {
    "softq_tf/SwimmerFinish-v1": "Swimmer-v5",
    "softq_tf/QuadrupedMaze-v1": "Ant-v5",
    "softq_tf/QuadrupedPretrain-v1": "Ant-v5",
    "softq_tf/QuadrupedHallwayWide-v1": "Ant-v5",
    "softq_tf/QuadrupedHallwayNarrow-v1": "Ant-v5",
    "softq_tf/QuadrupedUMaze-v1": "Ant-v5",
}


def steps_per_second(env_id, steps, seed=0):
    """Env steps per second of ``gym.make(env_id)`` under uniformly random actions."""
    env = gym.make(env_id)
    env.reset(seed=seed)
    actions = np.random.default_rng(seed).uniform(
        env.action_space.low, env.action_space.high, (steps,) + env.action_space.shape
    ).astype(env.action_space.dtype)
    start = time.perf_counter()
    for action in actions:
        _, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            env.reset()
    elapsed = time.perf_counter() - start
    env.close()
    return steps / elapsed


def measure(env_id, baseline_id, steps, rounds):
    """Median steps/s of a task and its baseline, measured alternately; returns a result row."""
    task, base = [], []
    for round_index in range(rounds):
        base.append(steps_per_second(baseline_id, steps, seed=round_index))
        task.append(steps_per_second(env_id, steps, seed=round_index))
    task_rate, base_rate = statistics.median(task), statistics.median(base)
    return dict(env_id=env_id, baseline=baseline_id, steps_per_s=round(task_rate, 1),
                baseline_steps_per_s=round(base_rate, 1), ratio=round(task_rate / base_rate, 3))


def main(argv):
    del argv  # unused
    softq_tf.envs.register_envs()
    rows = [measure(env_id, base, FLAGS.steps, FLAGS.rounds) for env_id, base in BASELINES.items()]
    print(f"{'task':36s} {'steps/s':>9s} {'baseline':>10s} {'steps/s':>9s} {'ratio':>6s}")
    for row in rows:
        flag = "" if row["ratio"] >= TARGET_RATIO else f"  < {TARGET_RATIO}"
        print(f"{row['env_id']:36s} {row['steps_per_s']:9.0f} {row['baseline']:>10s} "
              f"{row['baseline_steps_per_s']:9.0f} {row['ratio']:6.2f}{flag}")
    with open(FLAGS.out, "w", encoding="utf-8") as f:
        json.dump(dict(steps=FLAGS.steps, rounds=FLAGS.rounds, target_ratio=TARGET_RATIO,
                       results=rows), f, indent=2)


if __name__ == "__main__":
    app.run(main)
