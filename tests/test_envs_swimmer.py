"""SwimmerFinish-v1: Gymnasium API, determinism, a centre-of-mass reward that shaking cannot earn,
and where the finish bonus is paid."""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from gymnasium.utils.env_checker import check_env  # noqa: E402

import softq_tf.envs  # noqa: E402
from softq_tf.envs.swimmer import SwimmerFinishEnv  # noqa: E402

ENV_ID = "softq_tf/SwimmerFinish-v1"
softq_tf.envs.register_envs()


def make():
    return gym.make(ENV_ID).unwrapped


def step_from(env, x, x_velocity):
    """One zero-torque step from a straight swimmer at tip x with x velocity ``x_velocity``.

    Straight and at rest relative to itself, the swimmer's centre of mass is at its tip's x.
    """
    env.reset(seed=0)
    qpos, qvel = np.zeros(env.model.nq), np.zeros(env.model.nv)
    qpos[0], qvel[0] = x, x_velocity
    env.set_state(qpos, qvel)
    return env.step(np.zeros(2, np.float32))


def test_check_env_passes():
    check_env(make(), skip_render_check=True)


def test_spaces_and_horizon():
    env = gym.make(ENV_ID)
    assert env.observation_space.shape == (10,)
    assert env.action_space.shape == (2,) and np.all(env.action_space.high == 1.0)
    assert env.spec.max_episode_steps == 500
    obs, info = env.reset(seed=0)
    assert obs[0] == info["tip_x"]  # tip x and angles are observed: they fix the centre of mass
    assert abs(info["com_x"]) < 0.1 + 0.05  # starts within the start noise of the origin


def test_same_seed_and_actions_give_same_trajectory():
    actions = np.random.default_rng(0).uniform(-1, 1, (50, 2)).astype(np.float32)
    runs = []
    for _ in range(2):
        env = make()
        observations = [env.reset(seed=7)[0]]
        observations += [env.step(a)[0] for a in actions]
        runs.append(np.array(observations))
    np.testing.assert_array_equal(runs[0], runs[1])


def test_bonus_only_past_the_line():
    env = make()
    line = env.finish_line
    _, reward_before, _, _, before = step_from(env, line - 0.5, 0.0)
    _, reward_past, _, _, past = step_from(env, line + 0.5, 0.0)
    assert before["reward_finish"] == 0.0 and not before["past_finish_line"]
    assert past["reward_finish"] == env.finish_bonus == 1.0 and past["past_finish_line"]
    assert reward_past - reward_before == pytest.approx(env.finish_bonus, abs=1e-6)


def test_backward_motion_earns_the_speed_reward_and_no_bonus():
    env = make()
    _, forward_reward, _, _, forward = step_from(env, 0.0, 0.5)
    _, backward_reward, _, _, backward = step_from(env, 0.0, -0.5)
    assert forward["com_x_velocity"] > 0.1 and backward["com_x_velocity"] < -0.1
    assert backward_reward == pytest.approx(forward_reward, rel=1e-9)
    # Far behind the start, as far as the line is ahead: speed reward, still no bonus.
    _, reward, _, _, info = step_from(env, -3 * env.finish_line, -0.5)
    assert info["reward_finish"] == 0.0 and reward == pytest.approx(forward_reward, rel=1e-9)


def wave(t, dt):
    """An open-loop travelling wave: the two rotors a sixth of a period apart, 0.7 Hz."""
    phase = 2 * np.pi * 0.7 * t * dt
    return np.clip(3 * np.sin([phase, phase - np.pi / 3]), -1, 1).astype(np.float32)


def speed_reward_and_travel(actions):
    """Sum of ``reward_speed`` and centre-of-mass displacement over one episode of ``actions``."""
    env = gym.make(ENV_ID)
    _, info = env.reset(seed=0)
    start, total = info["com_x"], 0.0
    for t in range(500):
        _, _, _, _, info = env.step(actions(t, env.unwrapped.dt))
        total += info["reward_speed"]
    return total, info["com_x"] - start


def test_shaking_in_place_earns_far_less_than_swimming():
    wave_reward, wave_travel = speed_reward_and_travel(wave)
    shakes = (  # bang-bang torques: rotors opposed, flipped every step; together, every 3 steps
        lambda t, dt: np.array([1.0, -1.0], np.float32) * (1 if t % 2 == 0 else -1),
        lambda t, dt: np.full(2, 1.0 if (t // 3) % 2 == 0 else -1.0, np.float32))
    for shake in shakes:
        shake_reward, shake_travel = speed_reward_and_travel(shake)
        assert abs(shake_travel) < 0.5 and wave_travel > 3.0
        assert shake_reward < 0.25 * wave_reward, (shake_reward, wave_reward)


def test_a_simple_gait_crosses_within_one_episode():
    # Open-loop travelling wave, a slow gait (0.17 m/s) next to trained ones.
    env = gym.make(ENV_ID)
    env.reset(seed=0)
    for t in range(500):
        _, _, terminated, truncated, info = env.step(wave(t, env.unwrapped.dt))
        assert not terminated
        if info["past_finish_line"]:
            break
    assert info["past_finish_line"] and t < 250, (t, info["com_x"])
    assert info["com_x"] >= env.unwrapped.finish_line


@pytest.mark.slow
def test_random_policy_never_crosses_in_100_episodes():
    env = gym.make(ENV_ID)
    env.action_space.seed(0)
    farthest = -np.inf
    for episode in range(100):
        env.reset(seed=episode)
        done = False
        while not done:
            _, _, terminated, truncated, info = env.step(env.action_space.sample())
            assert not info["past_finish_line"]
            farthest = max(farthest, info["com_x"])
            done = terminated or truncated
    assert farthest < env.unwrapped.finish_line


@pytest.mark.parametrize("kwargs, name", [
    (dict(finish_line=0.0), "finish_line"),
    (dict(finish_line=-2.0), "finish_line"),
    (dict(finish_line=0.05), "finish_line"),  # inside the start noise (+-0.1)
    (dict(finish_line=float("inf")), "finish_line"),
    (dict(finish_bonus=-1.0), "finish_bonus"),
    (dict(ctrl_cost_weight=-1e-4), "ctrl_cost_weight"),
    (dict(reset_noise_scale=-0.1), "reset_noise_scale"),
])
def test_bad_arguments_raise_value_error_naming_them(kwargs, name):
    with pytest.raises(ValueError, match=name):
        SwimmerFinishEnv(**kwargs)
    with pytest.raises(ValueError, match=name):
        gym.make(ENV_ID, **kwargs)
