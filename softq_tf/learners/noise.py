"""Exploration noise of the DDPG baseline, in the normalized action square [-1, 1]^A.

The paper's DDPG used Ornstein-Uhlenbeck noise (Appendix D.1: sigma 0.3; the project page says 0.1;
theta 0.15 in both), as rllab's ``OUStrategy``: x <- x + theta * (0 - x) + sigma * N(0, I) each
step, x = 0 at the start of each episode. :class:`GaussianNoise` (independent N(0, sigma^2) per
step) is the common alternative. Both draw from a ``tf.random.Generator`` passed in, so they trace
into the training loop's graph and resume exactly from a checkpoint (the OU state is a variable).
"""
import tensorflow as tf

from softq_tf.learners.configs import validate_noise

class OrnsteinUhlenbeckNoise(tf.Module):
    """Temporally correlated noise x_{t+1} = x_t - theta x_t + sigma eps_t, eps_t ~ N(0, I).

    Args:
      act_dim: A.
      sigma: scale of the innovation (paper Appendix D.1: 0.3).
      theta: pull toward 0 per step (0.15).
    """

    def __init__(self, act_dim, sigma=0.3, theta=0.15, name="ou_noise"):
        super().__init__(name=name)
        validate_noise("ou", sigma, theta)
        self.sigma, self.theta = float(sigma), float(theta)
        self.state = tf.Variable(tf.zeros([act_dim]), trainable=False, name="state")

    def sample(self, generator):
        """Advances the process one step and returns the new x [A]; traceable."""
        eps = generator.normal(self.state.shape)
        return self.state.assign(self.state - self.theta * self.state + self.sigma * eps)

    def reset(self):
        """Starts a new episode at x = 0."""
        self.state.assign(tf.zeros_like(self.state))


class GaussianNoise(tf.Module):
    """Independent noise sigma * eps_t, eps_t ~ N(0, I), per step.

    Args:
      act_dim: A.
      sigma: standard deviation.
    """

    def __init__(self, act_dim, sigma=0.3, name="gaussian_noise"):
        super().__init__(name=name)
        validate_noise("gaussian", sigma)
        self.sigma, self.act_dim = float(sigma), int(act_dim)

    def sample(self, generator):
        """One draw [A]; traceable."""
        return self.sigma * generator.normal([self.act_dim])

    def reset(self):
        """Nothing to reset: draws are independent."""


def make_noise(kind, act_dim, sigma, theta=0.15):
    """The noise named ``kind`` (one of :data:`softq_tf.learners.configs.NOISE_KINDS`); ValueError
    (:func:`softq_tf.learners.configs.validate_noise`) for another name or a bad
    ``sigma`` / ``theta``."""
    validate_noise(kind, sigma, theta)
    if kind == "ou":
        return OrnsteinUhlenbeckNoise(act_dim, sigma, theta)
    return GaussianNoise(act_dim, sigma)
