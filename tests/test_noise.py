"""Exploration noise: the Ornstein-Uhlenbeck process has its known stationary moments."""
import numpy as np
import pytest
import tensorflow as tf

from softq_tf.learners import noise


def draws(process, steps, seed=0):
    """``steps`` successive samples [steps, A], drawn in one graph (as the training loop does)."""
    generator = tf.random.Generator.from_seed(seed)

    @tf.function
    def run():
        out = tf.TensorArray(tf.float32, size=steps)
        for i in tf.range(steps):
            out = out.write(i, process.sample(generator))
        return out.stack()

    return run().numpy()


def test_ou_noise_has_the_stationary_variance_and_lag_one_correlation():
    """x' = (1 - theta) x + sigma eps: var = sigma^2 / (1 - (1 - theta)^2), corr(x, x') = 1 - theta.
    """
    sigma, theta = 0.3, 0.15
    x = draws(noise.OrnsteinUhlenbeckNoise(2, sigma, theta), 40_000)[500:]  # past the start-up
    np.testing.assert_allclose(x.var(axis=0), sigma ** 2 / (1 - (1 - theta) ** 2), rtol=0.08)
    lag_one = [np.corrcoef(x[:-1, i], x[1:, i])[0, 1] for i in range(2)]
    np.testing.assert_allclose(lag_one, 1 - theta, atol=0.015)


def test_ou_reset_returns_to_zero():
    process = noise.OrnsteinUhlenbeckNoise(3)
    draws(process, 10)
    assert np.any(process.state.numpy() != 0)
    process.reset()
    np.testing.assert_array_equal(process.state.numpy(), 0.0)


def test_gaussian_noise_is_independent_with_sigma():
    x = draws(noise.GaussianNoise(2, sigma=0.5), 20_000)
    np.testing.assert_allclose(x.std(axis=0), 0.5, rtol=0.03)
    assert abs(np.corrcoef(x[:-1, 0], x[1:, 0])[0, 1]) < 0.03


def test_unknown_noise_kind_is_a_clear_error():
    with pytest.raises(ValueError, match="noise='pink' is invalid: must be one of ou, gaussian"):
        noise.make_noise("pink", 2, 0.3)
