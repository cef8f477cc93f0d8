"""The DDPG baseline: its update, its exploration, and learning a bandit's known optimum."""
import gymnasium as gym
import numpy as np
import pytest
import tensorflow as tf

from conftest import make_batch
from softq_tf import DDPGConfig, DDPGLearner, EnvSpec, LoopConfig, train


class QuadraticBandit(gym.Env):
    """One step, constant observation, reward -(a - 0.3)^2: the optimal action is 0.3."""

    observation_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)
    action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.zeros(1, np.float32), {}

    def step(self, action):
        return np.zeros(1, np.float32), -float((action[0] - 0.3) ** 2), True, False, {}


BANDIT_SPEC = EnvSpec(1, 1, (-1.0,), (1.0,))


def small_config(**kwargs):
    return DDPGConfig(**dict(dict(hidden_sizes=(32, 32), q_lr=1e-3, policy_lr=1e-3,
                                  jit_compile=False), **kwargs))


def test_critic_regresses_on_the_target_networks_backup(tiny_spec):
    """Q moves toward r + gamma * Q'(s', mu'(s')) computed by hand from the target networks."""
    learner = DDPGLearner(tiny_spec, small_config(q_lr=1e-2, target_update_period=10_000), seed=1)
    batch = make_batch(tiny_spec, 32, seed=0)
    next_q = learner.target_q((batch["next_obs"], learner.target_actor(batch["next_obs"])))
    target = batch["reward"] + 0.99 * (1 - batch["terminated"]) * next_q.numpy()
    errors = []
    for _ in range(200):
        errors.append(np.mean((learner.q((batch["obs"], batch["action"])).numpy() - target) ** 2))
        learner.train_step(batch)
    assert errors[-1] < 0.05 * errors[0]


def test_collect_action_adds_ou_noise_to_mu_and_clips(tiny_spec):
    learner = DDPGLearner(tiny_spec, small_config(noise_sigma=5.0), seed=0)
    obs = tf.zeros([1, tiny_spec.obs_dim])
    actions = np.array([learner.collect_action(obs).numpy()[0] for _ in range(50)])
    assert np.all(np.abs(actions) <= 1.0) and np.any(np.abs(actions) == 1.0)
    learner.start_episode()
    np.testing.assert_array_equal(learner.noise.state.numpy(), 0.0)
    assert not np.allclose(actions, learner.actor(obs).numpy())


def test_ddpg_learns_the_optimal_action_of_a_bandit():
    learner = DDPGLearner(BANDIT_SPEC, small_config(noise_sigma=0.5), seed=0)
    train(QuadraticBandit(), learner, LoopConfig(total_steps=2000, batch_size=64, min_pool=200,
                                                 log_every=500, checkpoint_every=0))
    obs = np.zeros((1, 1), np.float32)
    mu = float(learner.policy.sample_action(obs)[0, 0])
    assert abs(mu - 0.3) < 0.05, mu
    # measured: mu 0.28, Q within 0.001 of the reward; the critic has learned the reward around the
    # optimum
    for a in (0.1, 0.3, 0.5):
        q = float(learner.q((obs, np.full((1, 1), a, np.float32)))[0])
        assert abs(q + (a - 0.3) ** 2) < 0.02, (a, q)


def test_bad_noise_settings_are_clear_errors():
    for kwargs, message in [(dict(noise="pink"), "noise='pink' is invalid"),
                            (dict(noise_sigma=-1.0), "noise_sigma=-1.0 is invalid"),
                            (dict(noise_theta=2.0), "noise_theta=2.0 is invalid")]:
        with pytest.raises(ValueError, match=message):
            DDPGConfig(**kwargs)
