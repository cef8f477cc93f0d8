"""Multi-goal point mass: spaces, dynamics, reward and goal termination."""
import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import softq_tf  # noqa: F401  (registers the envs)
from softq_tf.envs.multigoal import GOALS, CombinedMultiGoalEnv, MultiGoalEnv, goal_distance_cost


def test_check_env_and_registration():
    env = gym.make("softq_tf/MultiGoal-v0")
    check_env(env.unwrapped)
    assert env.spec.max_episode_steps == 20


def test_dynamics_and_reward():
    env = MultiGoalEnv(init_sigma=0.0)
    obs, _ = env.reset(seed=0)
    np.testing.assert_array_equal(obs, [0.0, 0.0])
    obs, reward, terminated, _, info = env.step(np.array([1.0, 0.5]))
    np.testing.assert_allclose(obs, [1.0, 0.5])
    expected = -((1 - 5) ** 2 + 0.5 ** 2) - 30 * (1 + 0.25)
    assert reward == pytest.approx(expected) and not terminated and info["goal"] == -1


def test_each_goal_terminates_with_bonus():
    for index, goal in enumerate(GOALS):
        env = MultiGoalEnv(init_sigma=0.0)
        env.reset(seed=0)
        for _ in range(4):
            env.step(goal / 5.0)
        obs, reward, terminated, _, info = env.step(goal / 5.0 * 0.5)
        assert terminated and info["goal"] == index
        assert reward == pytest.approx(-goal_distance_cost(obs) - 30 * 0.25 + 10.0)


def test_positions_are_clipped_to_the_arena():
    env = MultiGoalEnv(init_sigma=0.0)
    env.reset(seed=0)
    for _ in range(12):
        obs, *_ = env.step(np.array([-1.0, 1.0]))
    np.testing.assert_array_equal(obs, [-7.0, 7.0])


@pytest.mark.parametrize("kwargs,name", [({"goal_radius": 0}, "goal_radius"),
                                         ({"action_cost": -1}, "action_cost")])
def test_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        MultiGoalEnv(**kwargs)


def walk_to(env, goal_index):
    """Four full steps toward a goal, then half a step: ends 0.5 from it (inside its radius)."""
    env.reset(seed=0)
    direction = GOALS[goal_index] / 5.0
    for _ in range(4):
        env.step(direction)
    return env.step(direction * 0.5)


def test_only_paying_goals_pay_but_every_goal_terminates():
    env = MultiGoalEnv(init_sigma=0.0, paying_goals=(0, 2))  # east and north
    obs, reward, terminated, _, info = walk_to(env, 3)  # south: ends the episode, no bonus
    np.testing.assert_allclose(obs, [0.0, -4.5])
    # Distance to the nearest *paying* goal: east, 5^2 + 4.5^2 = 45.25; action cost 30 * 0.25.
    assert terminated and info["goal"] == 3 and reward == pytest.approx(-45.25 - 7.5)
    _, reward, terminated, _, info = walk_to(env, 0)  # east: 0.5^2 from it, plus the bonus
    assert terminated and info["goal"] == 0 and reward == pytest.approx(-0.25 - 7.5 + 10.0)


def test_combined_task_pays_the_weighted_sum_with_the_same_dynamics():
    combined = CombinedMultiGoalEnv(tasks=((0, 2), (0, 3)), task_weights=(0.25, 0.75))
    parts = [MultiGoalEnv(paying_goals=(0, 2)), MultiGoalEnv(paying_goals=(0, 3))]
    rng = np.random.default_rng(0)
    goals_reached = set()
    for episode in range(30):
        obs = [env.reset(seed=episode)[0] for env in [combined] + parts][0]
        terminated = False
        for _ in range(20):  # the registered horizon
            if terminated:
                break
            action = 0.3 * (GOALS[episode % 4] - obs) + rng.uniform(-0.5, 0.5, 2)  # to a goal
            (obs, reward, terminated, _, info), *steps = [
                env.step(action) for env in [combined] + parts]
            for step in steps:  # same position, end and goal; the reward is the weighted sum
                np.testing.assert_array_equal(step[0], obs)
                assert step[2] == terminated and step[4] == info
            assert reward == pytest.approx(0.25 * steps[0][1] + 0.75 * steps[1][1])
        goals_reached.add(info["goal"])
    assert goals_reached == {0, 1, 2, 3}  # paying or not, every goal ends an episode


def test_composing_tasks_are_registered():
    tasks = {env_id: gym.make(env_id).unwrapped.tasks for env_id in (
        "softq_tf/MultiGoalNorthEast-v0", "softq_tf/MultiGoalSouthEast-v0",
        "softq_tf/MultiGoalNorthEastSouthEast-v0", "softq_tf/MultiGoal-v0")}
    assert list(tasks.values()) == [((1.0, (0, 2)),), ((1.0, (0, 3)),),
                                    ((0.5, (0, 2)), (0.5, (0, 3))), ((1.0, (0, 1, 2, 3)),)]


@pytest.mark.parametrize("kwargs,name", [
    ({"paying_goals": ()}, "paying_goals"), ({"paying_goals": (0, 0)}, "paying_goals"),
    ({"paying_goals": (4,)}, "paying_goals"), ({"task_weights": (0.6, 0.6)}, "task_weights"),
    ({"task_weights": (1.0,)}, "task_weights"), ({"task_weights": (-1.0, 2.0)}, "task_weights")])
def test_bad_composing_arguments(kwargs, name):
    env_class = CombinedMultiGoalEnv if "task_weights" in kwargs else MultiGoalEnv
    with pytest.raises(ValueError, match=name):
        env_class(**kwargs)
