"""Gymnasium registration of the paper's environments under the ``softq_tf/`` namespace.

Entry points are strings, so MuJoCo is imported only when ``gym.make`` builds a MuJoCo task.
Importing ``softq_tf`` calls :func:`register_envs`; calling it again is harmless.

Following Gymnasium, a task whose reward or dynamics change gets a new version: the swimmer and the
quadruped tasks are at v1 since their rewards moved from one link's frame to the centre of mass.
Asking for an older version gets Gymnasium's own error naming the current one.

May import: Gymnasium and MuJoCo, nothing else of softq_tf: every other part builds on the tasks.
"""
import gymnasium as gym

_ENVS = {
    # id: (entry point, max_episode_steps, kwargs)
    "softq_tf/MultiGoal-v0": ("softq_tf.envs.multigoal:MultiGoalEnv", 20, {}),
    # Composing skills (Sec. 6): two tasks sharing the east goal, and their rewards' mean.
    "softq_tf/MultiGoalNorthEast-v0": ("softq_tf.envs.multigoal:MultiGoalEnv", 20,
                                       {"paying_goals": (0, 2)}),
    "softq_tf/MultiGoalSouthEast-v0": ("softq_tf.envs.multigoal:MultiGoalEnv", 20,
                                       {"paying_goals": (0, 3)}),
    "softq_tf/MultiGoalNorthEastSouthEast-v0": ("softq_tf.envs.multigoal:CombinedMultiGoalEnv", 20,
                                                {"tasks": ((0, 2), (0, 3))}),
    "softq_tf/ContinuousBandit-v0": ("softq_tf.envs.bandit:ContinuousBanditEnv", 1, {}),
    "softq_tf/SwimmerFinish-v1": ("softq_tf.envs.swimmer:SwimmerFinishEnv", 500, {}),
    "softq_tf/QuadrupedMaze-v1": ("softq_tf.envs.quadruped:QuadrupedMazeEnv", 500, {}),
    "softq_tf/QuadrupedPretrain-v1": ("softq_tf.envs.quadruped:QuadrupedPretrainEnv", 500, {}),
    "softq_tf/QuadrupedHallwayWide-v1": (
        "softq_tf.envs.quadruped:QuadrupedHallwayEnv", 500, {"hallway": "wide"}),
    "softq_tf/QuadrupedHallwayNarrow-v1": (
        "softq_tf.envs.quadruped:QuadrupedHallwayEnv", 500, {"hallway": "narrow"}),
    # Our variants of the three above, paid for the distance gained rather than for speed.
    "softq_tf/QuadrupedPretrainOutward-v1": (
        "softq_tf.envs.quadruped:QuadrupedPretrainEnv", 500, {"reward": "outward"}),
    "softq_tf/QuadrupedHallwayWideOutward-v1": (
        "softq_tf.envs.quadruped:QuadrupedHallwayEnv", 500, {"hallway": "wide",
                                                              "reward": "outward"}),
    "softq_tf/QuadrupedHallwayNarrowOutward-v1": (
        "softq_tf.envs.quadruped:QuadrupedHallwayEnv", 500, {"hallway": "narrow",
                                                              "reward": "outward"}),
    "softq_tf/QuadrupedUMaze-v1": ("softq_tf.envs.quadruped:QuadrupedUMazeEnv", 500, {}),
}

ENV_IDS = tuple(_ENVS)


def register_envs():
    """Registers every ``softq_tf/`` environment with Gymnasium (idempotent)."""
    for env_id, (entry_point, max_episode_steps, kwargs) in _ENVS.items():
        if env_id not in gym.registry:
            gym.register(id=env_id, entry_point=entry_point,
                         max_episode_steps=max_episode_steps, kwargs=kwargs)
