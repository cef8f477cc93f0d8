"""The adaptive RBF kernel against an independent numpy computation."""
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from softq_tf.learners import kernels


def numpy_kernel(xs, ys, h_min):
    n, kx, _ = xs.shape
    kappa = np.zeros((n, kx, ys.shape[1]))
    grad = np.zeros((n, kx, ys.shape[1], xs.shape[2]))
    hs = np.zeros(n)
    for b in range(n):
        sq = np.array([[np.sum((x - y) ** 2) for y in ys[b]] for x in xs[b]])
        flat = np.sort(sq.ravel())
        median = flat[(flat.size - 1) // 2]  # lower median
        h = max(median / np.log(kx), h_min)
        hs[b] = h
        for i, x in enumerate(xs[b]):
            for j, y in enumerate(ys[b]):
                kappa[b, i, j] = np.exp(-np.sum((x - y) ** 2) / h)
                grad[b, i, j] = -2.0 * (x - y) / h * kappa[b, i, j]
    return kappa, grad, hs


@pytest.mark.parametrize("kx,ky,dim", [(4, 4, 2), (5, 3, 1), (8, 8, 6)])
def test_kernel_matches_numpy(kx, ky, dim):
    rng = np.random.default_rng(kx * 10 + ky)
    xs = rng.uniform(-1, 1, (3, kx, dim)).astype(np.float32)
    ys = rng.uniform(-1, 1, (3, ky, dim)).astype(np.float32)
    kappa, grad, h = kernels.adaptive_isotropic_gaussian_kernel(tf.constant(xs), tf.constant(ys))
    ref_kappa, ref_grad, ref_h = numpy_kernel(xs.astype(np.float64), ys.astype(np.float64), 1e-3)
    np.testing.assert_allclose(h.numpy(), ref_h, rtol=1e-5)
    np.testing.assert_allclose(kappa.numpy(), ref_kappa, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(grad.numpy(), ref_grad, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("n", [1, 2, 15, 16, 1024])
def test_lower_median_is_the_lower_50th_percentile(n):
    """The bandwidth's median is the lower one: element (n - 1) // 2 of the sorted row, which is
    tfp.stats.percentile's 50th with interpolation="lower"; on ties and zeros too."""
    rng = np.random.default_rng(n)
    values = rng.exponential(size=(6, n)).astype(np.float32)
    values[1] = np.round(values[1], 1)  # ties
    values[2, : n // 2] = 0.0  # zeros (coinciding particles)
    values[3] = 0.0
    reference = tfp.stats.percentile(values, 50.0, axis=-1, interpolation="lower")
    np.testing.assert_array_equal(kernels.lower_median(tf.constant(values)).numpy(),
                                  reference.numpy())


def test_kernel_gradient_is_autodiff_gradient_wrt_xs():
    rng = np.random.default_rng(0)
    xs = tf.constant(rng.uniform(-1, 1, (2, 4, 3)).astype(np.float32))
    ys = tf.constant(rng.uniform(-1, 1, (2, 5, 3)).astype(np.float32))
    with tf.GradientTape() as tape:
        tape.watch(xs)
        kappa, grad, _ = kernels.adaptive_isotropic_gaussian_kernel(xs, ys)
        total = tf.reduce_sum(kappa)
    # Bandwidth is a constant, so d sum(kappa) / d x_i = sum_j grad[:, i, j].
    np.testing.assert_allclose(tape.gradient(total, xs).numpy(),
                               tf.reduce_sum(grad, axis=2).numpy(), rtol=1e-4, atol=1e-6)


def test_bandwidth_floor_for_collapsed_particles():
    xs = tf.zeros([2, 4, 2])
    kappa, grad, h = kernels.adaptive_isotropic_gaussian_kernel(xs, xs, h_min=1e-3)
    assert np.all(h.numpy() >= 1e-3)
    np.testing.assert_allclose(kappa.numpy(), 1.0)
    np.testing.assert_allclose(grad.numpy(), 0.0)


def test_kernel_needs_two_particles():
    with pytest.raises(ValueError, match="at least 2"):
        kernels.adaptive_isotropic_gaussian_kernel(tf.zeros([1, 1, 2]), tf.zeros([1, 3, 2]))
