"""The adaptive RBF kernel of amortized SVGD (paper eq. 13, Appendix D.1).

kappa(a, a') = exp(-||a - a'||^2 / h), with the bandwidth h chosen per state by the median heuristic.
The paper writes h = d / (2 log(M + 1)) for the median pairwise distance d; like the authors' code we use
h = median of the squared distances between the two particle sets / log(Kx), floored at ``h_min``.
"""
import tensorflow as tf


def median_bandwidth(sq_dists, num_xs, h_min=1e-3):
    """Median-heuristic bandwidth per state.

    Args:
      sq_dists: [N, Kx, Ky] squared distances between the particle sets of each state.
      num_xs: Kx, the number of particles the gradient is taken at.
      h_min: lower bound on the bandwidth.

    Returns:
      [N] bandwidths h = max(lower_median(sq_dists) / log(Kx), h_min), treated as constants.
    """
    n_pairs = sq_dists.shape[-1] * sq_dists.shape[-2]
    flat = tf.reshape(sq_dists, [-1, n_pairs])  # [N, Kx * Ky]
    # The (n // 2 + 1)-th largest value is the lower median (the authors' choice).
    top, _ = tf.math.top_k(flat, k=n_pairs // 2 + 1, sorted=True)
    median = top[:, -1]
    h = tf.maximum(median / tf.math.log(float(num_xs)), h_min)
    return tf.stop_gradient(h)


def adaptive_isotropic_gaussian_kernel(xs, ys, h_min=1e-3):
    """RBF kernel between two particle sets per state, and its gradient w.r.t. the first set.

    Args:
      xs: [N, Kx, A] particles the gradient is taken at (Kx >= 2).
      ys: [N, Ky, A] second particle set.
      h_min: lower bound on the bandwidth.

    Returns:
      (kappa, grad, h): kappa [N, Kx, Ky] = exp(-||x_i - y_j||^2 / h);
      grad [N, Kx, Ky, A] = d kappa / d x_i = -2 (x_i - y_j) / h * kappa; h [N] the bandwidths.
    """
    num_xs = xs.shape[-2]
    if num_xs is None or num_xs < 2:
        raise ValueError(f"the kernel needs at least 2 particles in xs, got {num_xs}")
    diff = xs[:, :, None, :] - ys[:, None, :, :]  # [N, Kx, Ky, A]
    sq_dists = tf.reduce_sum(tf.square(diff), axis=-1)  # [N, Kx, Ky]
    h = median_bandwidth(sq_dists, num_xs, h_min)  # [N]
    h_exp = h[:, None, None]
    kappa = tf.exp(-sq_dists / h_exp)  # [N, Kx, Ky]
    grad = -2.0 * diff / h_exp[..., None] * kappa[..., None]  # [N, Kx, Ky, A]
    return kappa, grad, h
