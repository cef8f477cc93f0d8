"""The math of soft Q-learning as plain TensorFlow functions (no variables, callable alone).

Paper equations, in reward-scaled units (alpha = 1, rewards multiplied by
``reward_scale`` = 1/alpha):
- eq. 10, :func:`soft_value`: V(s') = log E_{a~q}[exp(Q(s', a)) / q(a)], importance-sampled as the
  log-mean-exp of Q(s', a_j) - log q(a_j) over M draws a_j ~ q; the default proposal q,
  :func:`uniform_proposal`, is uniform on [-1, 1]^A (log q = -A log 2).
- eq. 11, :func:`soft_bellman_target` and :func:`soft_bellman_loss`: y = reward_scale * r +
  discount * (1 - terminated) * V(s'), loss 0.5 * mean((y - Q(s, a))^2).
- eq. 13, :func:`svgd_direction`: phi(a_i) = mean_j [kappa(a_j, a_i) grad log p(a_j) +
  grad_{a_j} kappa(a_j, a_i)] over the fixed particles a_j.
- :func:`squashed_log_density`: the SVGD target log p(a) = Q(s, a) + sum log(1 - a^2 + eps), the
  tanh correction of the authors' 2018 code; :func:`tanh_log_density`: the same target written in
  the pre-squash u (a = tanh u), Q(s, tanh u) + log |det d tanh(u) / du|, exact and finite at any u.
"""
import tensorflow as tf
import tensorflow_probability as tfp

from softq_tf.learners import kernels


def uniform_proposal(act_dim):
    """The value particles' proposal q of eq. 10: uniform on [-1, 1]^A, one event of A dimensions.

    Its ``log_prob`` of [..., A] actions is [...], -A log 2 inside the box (-inf outside).
    """
    box = tfp.distributions.Uniform(low=-tf.ones([act_dim]), high=tf.ones([act_dim]))
    return tfp.distributions.Independent(box, reinterpreted_batch_ndims=1)


def soft_value(q_values, actions, proposal):
    """Soft value V(s') = log E_{a~q}[exp(Q(s', a)) / q(a)] from M samples of q (eq. 10).

    Args:
      q_values: [B, M] Q(s', a_j).
      actions: [B, M, A] the a_j, drawn from ``proposal`` (by the caller).
      proposal: the distribution q of the a_j (e.g. :func:`uniform_proposal`); only its
        ``log_prob`` is used: log(1 / q(a_j)) is each particle's log importance weight.

    Returns:
      [B] log (1/M) sum_j exp(Q(s', a_j) - log q(a_j)).
    """
    return tfp.math.reduce_logmeanexp(q_values - proposal.log_prob(actions), axis=-1)


def soft_bellman_target(reward, terminated, next_value, reward_scale, discount):
    """Target of the soft Bellman backup (eq. 11), a constant for the Q update.

    Args:
      reward: [B] environment rewards.
      terminated: [B] 1.0 where the episode ended in a terminal state (never for a time-limit cut).
      next_value: [B] V(s') from :func:`soft_value` on the target network.
      reward_scale: 1/alpha.
      discount: gamma.

    Returns:
      [B] y = reward_scale * r + discount * (1 - terminated) * V(s').
    """
    target = reward_scale * reward + discount * (1.0 - terminated) * next_value
    return tf.stop_gradient(target)


def soft_bellman_loss(q_pred, target):
    """J_Q of eq. 11: 0.5 * mean((y - Q(s, a))^2)."""
    return 0.5 * tf.reduce_mean(tf.square(target - q_pred))


def squashed_log_density(q_values, actions, eps=1e-6):
    """Unnormalized log density of tanh-squashed actions for SVGD: Q + sum log(1 - a^2 + eps).

    Args:
      q_values: [..., K] Q(s, a) at the particles.
      actions: [..., K, A] the particles, in [-1, 1]^A.
      eps: keeps the log finite at the boundary (authors' code: 1e-6).
    """
    return q_values + tf.reduce_sum(tf.math.log(1.0 - tf.square(actions) + eps), axis=-1)


def tanh_log_density(q_values, pre_squash):
    """Unnormalized log density of the pre-squash particles u for SVGD in u (a = tanh u):
    Q(s, tanh u) + sum log(1 - tanh(u)^2), the log-det-Jacobian of ``tfp.bijectors.Tanh``.

    This is :func:`squashed_log_density` without eps, computed stably (2 (log 2 - u - softplus(-2u))
    per dimension), so it stays exact and finite where 1 - tanh(u)^2 rounds to 0. It is the exact
    log density of u when the actions follow exp(Q(s, a)).

    Args:
      q_values: [..., K] Q(s, tanh u) at the particles.
      pre_squash: [..., K, A] the particles u.
    """
    return q_values + tfp.bijectors.Tanh().forward_log_det_jacobian(pre_squash, event_ndims=1)


def svgd_direction(fixed_actions, grad_log_p, updated_actions, h_min=1e-3, repulsive=True):
    """Stein variational direction phi at the updated particles (eq. 13).

    Args:
      fixed_actions: [N, Kf, A] particles the expectation runs over (constants).
      grad_log_p: [N, Kf, A] grad_a log p(a) at the fixed particles.
      updated_actions: [N, Ku, A] particles that receive the direction.
      h_min: kernel bandwidth floor.
      repulsive: include the kernel-gradient term (the one that keeps particles apart). Setting it
        to False is an ablation: the direction becomes a kernel-smoothed gradient ascent on log p,
        which collapses onto modes.

    Returns:
      (phi, h): phi [N, Ku, A] the direction, h [N] the kernel bandwidths.
    """
    kappa, kappa_grad, h = kernels.adaptive_isotropic_gaussian_kernel(
        fixed_actions, updated_actions, h_min)  # [N, Kf, Ku], [N, Kf, Ku, A]
    attraction = kappa[..., None] * grad_log_p[:, :, None, :]  # [N, Kf, Ku, A]
    if repulsive:
        attraction = attraction + kappa_grad
    return tf.reduce_mean(attraction, axis=1), h


def ddpg_critic_loss(q_pred, reward, terminated, next_q, reward_scale, discount):
    """DDPG's critic loss: eq. 11's regression with the hard backup Q'(s', mu'(s')) in place of the
    soft value V(s') (the alpha -> 0 limit): 0.5 * mean((y - Q(s, a))^2), y = reward_scale * r +
    discount * (1 - terminated) * Q'(s', mu'(s')), y held constant.

    Args:
      q_pred: [B] Q(s, a) of the critic.
      reward, terminated: [B] as for :func:`soft_bellman_target`.
      next_q: [B] target critic at the target actor's action, Q'(s', mu'(s')).
      reward_scale, discount: as for :func:`soft_bellman_target`.
    """
    target = soft_bellman_target(reward, terminated, next_q, reward_scale, discount)
    return soft_bellman_loss(q_pred, target)


def ddpg_actor_loss(q_at_actor):
    """DDPG's actor loss -mean_s Q(s, mu(s)); its gradient in mu's weights is the deterministic
    policy gradient (Silver et al. 2014; Lillicrap et al. 2016).

    Args:
      q_at_actor: [B] Q(s, mu(s)), differentiable in the actor's weights.
    """
    return -tf.reduce_mean(q_at_actor)
