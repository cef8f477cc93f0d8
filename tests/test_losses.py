"""Soft value, Bellman target and SVGD direction on numbers worked out by hand."""
import math

import numpy as np
import tensorflow as tf

from softq_tf import kernels, losses


def test_soft_value_of_constant_q_is_c_plus_a_log2():
    for act_dim, c in [(1, 0.0), (2, -3.5), (6, 7.25)]:
        q = tf.fill([4, 16], c)
        np.testing.assert_allclose(losses.soft_value(q, act_dim).numpy(),
                                   c + act_dim * math.log(2.0), rtol=1e-6)


def test_soft_value_matches_log_mean_exp():
    q = np.random.default_rng(0).normal(size=(3, 50)).astype(np.float32)
    expected = np.log(np.mean(np.exp(q), axis=1)) + 2 * math.log(2.0)
    np.testing.assert_allclose(losses.soft_value(tf.constant(q), 2).numpy(), expected, rtol=1e-5)


def test_bellman_target_terminal_is_scaled_reward():
    reward = tf.constant([1.0, -2.0, 0.5])
    target = losses.soft_bellman_target(reward, tf.ones(3), tf.constant([100.0, 5.0, -3.0]),
                                        reward_scale=10.0, discount=0.99)
    np.testing.assert_allclose(target.numpy(), 10.0 * reward.numpy())


def test_bellman_target_bootstraps_when_not_terminal():
    target = losses.soft_bellman_target(tf.constant([1.0]), tf.zeros(1), tf.constant([4.0]),
                                        reward_scale=2.0, discount=0.5)
    np.testing.assert_allclose(target.numpy(), [2.0 + 0.5 * 4.0])


def test_bellman_loss_is_half_mse():
    loss = losses.soft_bellman_loss(tf.constant([1.0, 3.0]), tf.constant([0.0, 0.0]))
    np.testing.assert_allclose(loss.numpy(), 0.5 * (1.0 + 9.0) / 2)


def test_squashed_log_density():
    a = tf.constant([[[0.5, 0.0]]])
    expected = 2.0 + math.log(1 - 0.25 + 1e-6) + math.log(1 + 1e-6)
    np.testing.assert_allclose(losses.squashed_log_density(tf.constant([[2.0]]), a).numpy(),
                               [[expected]], rtol=1e-6)


def test_svgd_direction_matches_eq13_by_hand():
    rng = np.random.default_rng(1)
    fixed = rng.uniform(-1, 1, (2, 4, 2)).astype(np.float32)
    updated = rng.uniform(-1, 1, (2, 3, 2)).astype(np.float32)
    grad_log_p = rng.normal(size=(2, 4, 2)).astype(np.float32)
    phi, _ = losses.svgd_direction(tf.constant(fixed), tf.constant(grad_log_p),
                                   tf.constant(updated))
    kappa, kgrad, _ = kernels.adaptive_isotropic_gaussian_kernel(tf.constant(fixed),
                                                                 tf.constant(updated))
    kappa, kgrad = kappa.numpy(), kgrad.numpy()
    expected = np.zeros((2, 3, 2))
    for b in range(2):
        for i in range(3):
            expected[b, i] = np.mean([kappa[b, j, i] * grad_log_p[b, j] + kgrad[b, j, i]
                                      for j in range(4)], axis=0)
    np.testing.assert_allclose(phi.numpy(), expected, rtol=1e-5, atol=1e-6)
    no_repulsion, _ = losses.svgd_direction(tf.constant(fixed), tf.constant(grad_log_p),
                                            tf.constant(updated), repulsive=False)
    expected_attraction = np.einsum("bji,bjd->bid", kappa, grad_log_p) / 4
    np.testing.assert_allclose(no_repulsion.numpy(), expected_attraction, rtol=1e-5, atol=1e-6)


def test_ddpg_critic_loss_by_hand():
    # y = 2 * [1, -1] + 0.5 * (1 - [0, 1]) * [4, 100] = [4, -2]; Q = [3, 0]: 0.5 * mean([1, 4])
    loss = losses.ddpg_critic_loss(tf.constant([3.0, 0.0]), tf.constant([1.0, -1.0]),
                                   tf.constant([0.0, 1.0]), tf.constant([4.0, 100.0]),
                                   reward_scale=2.0, discount=0.5)
    np.testing.assert_allclose(loss.numpy(), 1.25, rtol=1e-6)


def test_ddpg_actor_loss_is_minus_mean_q():
    np.testing.assert_allclose(losses.ddpg_actor_loss(tf.constant([1.0, 2.0, 6.0])).numpy(), -3.0)
