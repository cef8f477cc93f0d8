"""Quadruped tasks: shared spaces, Gymnasium API, determinism, rewards, walls and termination."""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from gymnasium.utils.env_checker import check_env  # noqa: E402

import softq_tf.envs  # noqa: E402
from softq_tf.envs import quadruped  # noqa: E402

softq_tf.envs.register_envs()
TASKS = [env_id for env_id in softq_tf.envs.ENV_IDS if "Quadruped" in env_id]


def place(env, xy, z=0.55, velocity=(0.0, 0.0), quat=(1.0, 0.0, 0.0, 0.0)):
    """Puts the torso at (xy, z) in Ant's initial leg pose with horizontal ``velocity``."""
    env.reset(seed=0)
    qpos, qvel = env.init_qpos.copy(), np.zeros(env.model.nv)
    qpos[:2], qpos[2], qpos[3:7] = xy, z, quat
    qvel[:2] = velocity
    env.set_state(qpos, qvel)


def push(env, start, waypoints, steps, force=30.0):
    """Pushes the torso (a horizontal force, 3.3x the robot's weight) through ``waypoints``.

    The legs stay limp; termination is ignored so the push goes on. Returns the info of every step.
    """
    place(env, start)
    torso = env.model.body("torso").id
    remaining, infos = [np.asarray(w, float) for w in waypoints], []
    for _ in range(steps):
        if len(remaining) > 1 and np.linalg.norm(remaining[0] - env.data.qpos[:2]) < 0.5:
            remaining.pop(0)
        heading = remaining[0] - env.data.qpos[:2]
        env.data.xfrc_applied[torso, :2] = (force * heading / np.linalg.norm(heading)
                                            - 5.0 * env.data.qvel[:2])
        infos.append(env.step(np.zeros(8, np.float32))[4])
    return infos


@pytest.mark.parametrize("env_id", TASKS)
def test_check_env_passes(env_id):
    check_env(gym.make(env_id).unwrapped, skip_render_check=True)


def test_all_tasks_share_one_observation_and_action_space():
    envs = [gym.make(env_id) for env_id in TASKS]
    for env in envs:
        assert env.observation_space == envs[0].observation_space
        assert env.action_space == envs[0].action_space
        assert env.spec.max_episode_steps == 500
    assert envs[0].observation_space.shape == (29,)  # qpos 15 (incl. torso x, y) + qvel 14
    assert envs[0].action_space.shape == (8,)
    assert np.all(envs[0].action_space.low == -1) and np.all(envs[0].action_space.high == 1)


@pytest.mark.parametrize("env_id", TASKS)
def test_same_seed_and_actions_give_same_trajectory_and_positions_in_info(env_id):
    actions = np.random.default_rng(0).uniform(-1, 1, (40, 8)).astype(np.float32)
    runs = []
    for _ in range(2):
        env = gym.make(env_id)
        observations = [env.reset(seed=3)[0]]
        for action in actions:
            obs, _, _, _, info = env.step(action)
            assert obs[0] == info["torso_x"] and obs[1] == info["torso_y"]
            # The centre of mass stays within the robot's reach of the torso centre.
            assert np.hypot(info["com_x"] - obs[0], info["com_y"] - obs[1]) < 0.5
            observations.append(obs)
        runs.append(np.array(observations))
    np.testing.assert_array_equal(runs[0], runs[1])


def test_torso_radius_matches_the_model():
    env = gym.make("softq_tf/QuadrupedPretrain-v1").unwrapped
    assert env.model.geom("torso_geom").size[0] == quadruped.TORSO_RADIUS


@pytest.mark.parametrize("pose, flipped", [
    (dict(z=0.55), False),
    (dict(z=0.55, quat=(0.0, 1.0, 0.0, 0.0)), True),  # upside down
    (dict(z=1.6), True),  # above the healthy range
])
def test_episode_ends_when_the_robot_flips(pose, flipped):
    env = gym.make("softq_tf/QuadrupedPretrain-v1").unwrapped
    place(env, (0.0, 0.0), **pose)
    assert env.step(np.zeros(8, np.float32))[2] is flipped


def test_pretraining_reward_is_the_same_speed_in_any_direction():
    env = gym.make("softq_tf/QuadrupedPretrain-v1").unwrapped
    rewards = []
    for direction in [(1, 0), (0, -1), (-1, 1), (1, 1)]:
        # Airborne for the whole step (feet ~0.3 m below the torso), so nothing slows it.
        velocity = 1.5 * np.array(direction) / np.linalg.norm(direction)
        place(env, (0.0, 0.0), z=0.9, velocity=velocity)
        rewards.append(env.step(np.zeros(8, np.float32))[1])
    np.testing.assert_allclose(rewards, 1.5, rtol=1e-6)


@pytest.mark.parametrize("position, velocity, expected", [
    ((2.0, 0.0), (1.5, 0.0), 1.5),    # straight out along +x
    ((0.0, -2.0), (0.0, -1.5), 1.5),  # straight out along -y
    ((-2.0, 2.0), (1.5, -1.5), -1.5 * np.sqrt(2)),  # straight back towards the origin
    ((2.0, 0.0), (0.0, 1.5), 0.0),    # sideways: the distance barely changes
])
def test_outward_reward_is_the_growth_of_the_distance_from_the_origin(position, velocity,
                                                                       expected):
    env = gym.make("softq_tf/QuadrupedPretrainOutward-v1").unwrapped
    place(env, position, z=0.9, velocity=velocity)  # airborne for the step, as above
    _, reward, _, _, info = env.step(np.zeros(8, np.float32))
    before = np.array([info["com_x"], info["com_y"]]) - env.dt * np.array(
        [info["com_x_velocity"], info["com_y_velocity"]])
    by_hand = (np.hypot(info["com_x"], info["com_y"]) - np.linalg.norm(before)) / env.dt
    assert reward == pytest.approx(by_hand, rel=1e-9)
    assert reward == pytest.approx(expected, abs=0.1)


@pytest.mark.parametrize("hallway", ["Wide", "Narrow"])
def test_outward_hallway_pays_running_along_it_either_way(hallway):
    env = gym.make(f"softq_tf/QuadrupedHallway{hallway}Outward-v1").unwrapped
    for sign in (1, -1):
        place(env, (sign * 2.0, 0.0), z=0.9, velocity=(sign * 1.5, 0.0))
        assert env.step(np.zeros(8, np.float32))[1] == pytest.approx(1.5, abs=0.05)


@pytest.mark.parametrize("env_id", ["softq_tf/QuadrupedPretrain-v1",
                                    "softq_tf/QuadrupedPretrainOutward-v1"])
def test_healthy_reward_is_paid_for_every_step_that_does_not_flip(env_id):
    rewards = {}
    for bonus in (0.0, 0.5):
        env = gym.make(env_id, healthy_reward=bonus).unwrapped
        for quat in ((1.0, 0.0, 0.0, 0.0), (0.0, 1.0, 0.0, 0.0)):  # upright, upside down
            place(env, (1.0, 0.0), z=0.55, velocity=(0.5, 0.0), quat=quat)
            rewards[bonus, quat[0]] = env.step(np.zeros(8, np.float32))[1]
    assert rewards[0.5, 1.0] == pytest.approx(rewards[0.0, 1.0] + 0.5)  # upright: the bonus
    assert rewards[0.5, 0.0] == pytest.approx(rewards[0.0, 0.0])  # flipped: none


def test_control_cost_is_its_weight_times_the_squared_action():
    action = np.array([0.5, -1.0, 0.0, 0.2, 0.0, 0.0, 1.0, -0.3], np.float32)
    rewards = []
    for weight in (0.0, 0.5):
        env = gym.make("softq_tf/QuadrupedHallwayNarrowOutward-v1", ctrl_cost_weight=weight)
        env.reset(seed=2)
        rewards.append(env.step(action)[1])
    assert rewards[1] == pytest.approx(rewards[0] - 0.5 * np.sum(np.square(action)))


def test_outward_rewards_of_an_episode_add_up_to_the_distance_gained():
    env = gym.make("softq_tf/QuadrupedPretrainOutward-v1")
    _, info = env.reset(seed=5)
    start = np.hypot(info["com_x"], info["com_y"])
    rng, total = np.random.default_rng(5), 0.0
    for _ in range(500):
        _, reward, terminated, truncated, info = env.step(rng.uniform(-1, 1, 8).astype(np.float32))
        total += reward
        if terminated or truncated:
            break
    gained = np.hypot(info["com_x"], info["com_y"]) - start
    assert total * env.unwrapped.dt == pytest.approx(gained, rel=1e-9, abs=1e-12)


def test_shaking_in_place_earns_less_outward_than_speed():
    """Bang-bang torques flipped every step: paid as speed, barely paid as distance gained.

    Measured (seed 0, 500 steps, no flip): 116 as speed, 20.5 outward (the centre of mass ends about
    1 m from the origin, and 1 m / 0.05 s = 20).
    """
    signs = np.array([1, -1] * 4, np.float32)
    returns = {}
    for env_id in ("softq_tf/QuadrupedPretrain-v1", "softq_tf/QuadrupedPretrainOutward-v1"):
        env = gym.make(env_id)
        env.reset(seed=0)
        returns[env_id] = sum(env.step(signs * (-1) ** t)[1] for t in range(500))
    outward, speed = (returns["softq_tf/QuadrupedPretrainOutward-v1"],
                      returns["softq_tf/QuadrupedPretrain-v1"])
    assert speed > 100
    assert outward < 0.25 * speed


@pytest.mark.parametrize("hallway", ["wide", "narrow"])
def test_hallway_walls_bound_the_sideways_position(hallway):
    env = gym.make("softq_tf/QuadrupedHallwayWide-v1" if hallway == "wide"
                   else "softq_tf/QuadrupedHallwayNarrow-v1").unwrapped
    half = quadruped.HALLWAY_WIDTHS[hallway] / 2
    for side in (1, -1):
        infos = push(env, (0.0, 0.0), [(2.0, side * 20.0)], steps=150)
        y = np.array([info["torso_y"] for info in infos])
        assert np.abs(y).max() <= half - quadruped.TORSO_RADIUS + 0.02
        assert np.abs(y).max() > half - 1.5  # the push did reach the wall


def test_narrow_hallway_is_narrower_than_wide():
    assert quadruped.HALLWAY_WIDTHS["narrow"] < quadruped.HALLWAY_WIDTHS["wide"]


def test_maze_threshold_from_geometry():
    env = gym.make("softq_tf/QuadrupedMaze-v1").unwrapped
    # Target (11, 0); the upper passage's open part ends at the corner (9, 1.5).
    assert env.threshold == pytest.approx(np.hypot(11.0 - 9.0, 1.5))
    np.testing.assert_allclose(env.target, (11.0, 0.0))


def test_maze_upper_passage_is_blocked():
    env = gym.make("softq_tf/QuadrupedMaze-v1").unwrapped
    for route in ([(11.0, 0.0)], [(11.0, 3.0), (11.0, 0.0)]):  # straight at T, or along the passage
        infos = push(env, (7.0, 3.0), route, steps=200)
        assert min(info["distance"] for info in infos) >= env.threshold


def test_maze_lower_passage_is_open():
    env = gym.make("softq_tf/QuadrupedMaze-v1").unwrapped
    infos = push(env, (0.0, 0.0), [(0.0, -3.0), (11.0, -3.0), (11.0, 0.0)], steps=400)
    assert min(info["distance"] for info in infos) < 0.5


def test_umaze_divider_separates_start_and_target():
    env = gym.make("softq_tf/QuadrupedUMaze-v1").unwrapped
    infos = push(env, (0.0, 0.0), [(0.0, 5.0)], steps=150)
    assert min(info["distance"] for info in infos) > 3.0  # target (0, 5), divider y in [1.5, 3.5]


@pytest.mark.parametrize("env_id, offset", [("softq_tf/QuadrupedMaze-v1", (0.0, -2.0)),
                                             ("softq_tf/QuadrupedUMaze-v1", (1.0, 0.0))])
def test_target_reward_is_a_gaussian_bump(env_id, offset):
    env = gym.make(env_id).unwrapped
    place(env, env.target, z=0.9)
    _, reward_at_target, _, _, info = env.step(np.zeros(8, np.float32))
    assert info["distance"] < 0.05 and reward_at_target == pytest.approx(1.0, abs=1e-3)
    place(env, env.target + offset, z=0.9)  # half a bump width away, clear of the walls
    _, reward, _, _, info = env.step(np.zeros(8, np.float32))
    assert info["distance"] == pytest.approx(env.bump_std / 2, abs=0.05)
    assert reward == pytest.approx(np.exp(-0.5 * (info["distance"] / env.bump_std) ** 2))


@pytest.mark.parametrize("env_id, kwargs, name", [
    ("softq_tf/QuadrupedHallwayWide-v1", dict(hallway="medium"), "hallway"),
    ("softq_tf/QuadrupedPretrain-v1", dict(reward="distance"), "reward"),
    ("softq_tf/QuadrupedPretrainOutward-v1", dict(healthy_reward=-1.0), "healthy_reward"),
    ("softq_tf/QuadrupedHallwayWide-v1", dict(ctrl_cost_weight=-0.5), "ctrl_cost_weight"),
    ("softq_tf/QuadrupedHallwayWide-v1", dict(length=-5.0), "length"),
    ("softq_tf/QuadrupedMaze-v1", dict(passage_width=-3.0), "passage_width"),
    ("softq_tf/QuadrupedMaze-v1", dict(passage_width=0.4), "passage_width"),
    ("softq_tf/QuadrupedMaze-v1", dict(island_width=-1.0), "island_width"),
    ("softq_tf/QuadrupedMaze-v1", dict(island_length=0.0), "island_length"),
    ("softq_tf/QuadrupedMaze-v1", dict(barrier_thickness=9.0), "barrier_thickness"),
    ("softq_tf/QuadrupedMaze-v1", dict(target=(5.0, 0.0)), "target"),  # inside the island
    ("softq_tf/QuadrupedMaze-v1", dict(target=(9.2, 3.0)), "target"),  # inside the barrier
    ("softq_tf/QuadrupedMaze-v1", dict(target=(40.0, 0.0)), "target"),  # outside the maze
    ("softq_tf/QuadrupedMaze-v1", dict(bump_std=0.0), "bump_std"),
    ("softq_tf/QuadrupedUMaze-v1", dict(corridor_width=-3.0), "corridor_width"),
    ("softq_tf/QuadrupedUMaze-v1", dict(divider_width=-2.0), "divider_width"),
    ("softq_tf/QuadrupedUMaze-v1", dict(target=(2.0, 2.5)), "target"),  # inside the divider
    ("softq_tf/QuadrupedPretrain-v1", dict(reset_noise_scale=-0.1), "reset_noise_scale"),
])
def test_bad_arguments_raise_value_error_naming_them(env_id, kwargs, name):
    with pytest.raises(ValueError, match=name):
        gym.make(env_id, **kwargs)
