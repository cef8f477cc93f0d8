"""Soft value, Bellman target and SVGD direction on numbers worked out by hand."""
import math

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from softq_tf.learners import kernels, losses


def uniform_actions(shape, seed=0):
    return tf.constant(np.random.default_rng(seed).uniform(-1, 1, shape).astype(np.float32))


def test_soft_value_of_constant_q_is_c_plus_a_log2():
    for act_dim, c in [(1, 0.0), (2, -3.5), (6, 7.25)]:
        q = tf.fill([4, 16], c)
        value = losses.soft_value(q, uniform_actions([4, 16, act_dim]),
                                  losses.uniform_proposal(act_dim))
        np.testing.assert_allclose(value.numpy(), c + act_dim * math.log(2.0), rtol=1e-6)


def test_soft_value_matches_log_mean_exp():
    q = np.random.default_rng(0).normal(size=(3, 50)).astype(np.float32)
    expected = np.log(np.mean(np.exp(q), axis=1)) + 2 * math.log(2.0)
    value = losses.soft_value(tf.constant(q), uniform_actions([3, 50, 2]),
                              losses.uniform_proposal(2))
    np.testing.assert_allclose(value.numpy(), expected, rtol=1e-5)


@pytest.mark.parametrize("batch,particles,act_dim,scale", [(5, 16, 1, 1.0), (4, 50, 6, 30.0),
                                                           (2, 7, 3, 300.0)])
def test_soft_value_through_tfp_equals_logsumexp_minus_log_m_plus_a_log2(batch, particles, act_dim,
                                                                        scale):
    """Eq. 10 as reduce_logmeanexp of Q - log q(a) against the formula it replaced, for large Q
    too (reward scale 1/alpha = 1000 gives Q in the hundreds)."""
    rng = np.random.default_rng(particles)
    q = (scale * rng.normal(size=(batch, particles))).astype(np.float32)
    actions = uniform_actions([batch, particles, act_dim], seed=act_dim)
    value = losses.soft_value(tf.constant(q), actions, losses.uniform_proposal(act_dim))
    formula = (tf.reduce_logsumexp(q, axis=-1) - math.log(particles) + act_dim * math.log(2.0))
    np.testing.assert_allclose(value.numpy(), formula.numpy(), rtol=1e-6, atol=1e-5)


def test_uniform_proposal_is_2_to_the_minus_a_inside_the_box_only():
    proposal = losses.uniform_proposal(3)
    inside = proposal.log_prob(uniform_actions([4, 5, 3])).numpy()
    assert inside.shape == (4, 5)
    np.testing.assert_allclose(inside, -3 * math.log(2.0), rtol=1e-6)
    assert proposal.log_prob(tf.constant([[0.0, 1.5, 0.0]])).numpy()[0] == -np.inf


def test_soft_value_weights_each_particle_by_its_proposal_density():
    """A swapped-in proposal: q = N(0, I) on A = 2, weights exp(-log q(a_j)) computed by hand."""
    rng = np.random.default_rng(3)
    q = rng.normal(size=(3, 20)).astype(np.float32)
    actions = rng.normal(size=(3, 20, 2)).astype(np.float32)
    normal = tfp.distributions.Independent(tfp.distributions.Normal(tf.zeros(2), tf.ones(2)), 1)
    log_q = -np.sum(actions.astype(np.float64) ** 2, axis=-1) / 2 - math.log(2 * math.pi)
    expected = np.log(np.mean(np.exp(q - log_q), axis=1))
    value = losses.soft_value(tf.constant(q), tf.constant(actions), normal)
    np.testing.assert_allclose(value.numpy(), expected, rtol=1e-5)


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


def exact_log_one_minus_tanh_squared(u):
    """log(1 - tanh(u)^2) = log(4) - 2|u| - 2 log1p(exp(-2|u|)), in float64."""
    u = np.abs(np.asarray(u, np.float64))
    return math.log(4.0) - 2 * u - 2 * np.log1p(np.exp(-2 * u))


def test_tanh_log_density_matches_the_eps_form_away_from_saturation():
    rng = np.random.default_rng(4)
    actions = rng.uniform(-0.99, 0.99, (3, 8, 4)).astype(np.float32)
    u = np.arctanh(actions.astype(np.float64)).astype(np.float32)
    q = rng.normal(size=(3, 8)).astype(np.float32)
    eps_form = losses.squashed_log_density(tf.constant(q), tf.tanh(u))
    bijector = losses.tanh_log_density(tf.constant(q), tf.constant(u))
    np.testing.assert_allclose(bijector.numpy(), eps_form.numpy(), rtol=1e-4, atol=1e-4)


def test_tanh_log_density_is_exact_and_finite_at_saturation():
    u = np.array([[[20.0, -20.0], [50.0, -50.0], [0.0, 3.0]]], np.float32)  # [1, 3, 2]
    assert np.all(1.0 - np.tanh(u[:, :2]) ** 2 == 0.0)  # 1 - a^2 underflows in float32
    q = np.array([[1.0, -2.0, 0.5]], np.float32)
    bijector = losses.tanh_log_density(tf.constant(q), tf.constant(u)).numpy()
    expected = q + exact_log_one_minus_tanh_squared(u).sum(axis=-1)
    assert np.all(np.isfinite(bijector))
    np.testing.assert_allclose(bijector, expected, rtol=1e-6)
    eps_form = losses.squashed_log_density(tf.constant(q), tf.tanh(u)).numpy()
    not_exact = q[0, :2] + 2 * math.log(1e-6)  # the eps form's value there: log(eps) per dim
    np.testing.assert_allclose(eps_form[0, :2], not_exact, rtol=1e-5)


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
