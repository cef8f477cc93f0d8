"""Composing soft Q-functions (softq_tf.learners.compose): the composed Q is the weighted sum, the
weights are checked, and a sampler fit to it samples the composed task's max-ent policy."""
import random

import keras
import numpy as np
import pytest
import tensorflow as tf

from softq_tf import ComposeConfig, ComposedQ, ComposedSamplerFit, EnvSpec, SQLConfig
from softq_tf.envs import bandit
from softq_tf.learners import networks
from softq_tf.learners.configs import composition_weights


def test_composed_q_is_the_weighted_sum_of_its_networks(tiny_spec):
    q_networks = [networks.q_network(tiny_spec, (16, 16), random.Random(seed)) for seed in range(3)]
    weights = (0.2, 0.3, 0.5)
    composed = ComposedQ(q_networks, weights)
    rng = np.random.default_rng(0)
    obs = rng.normal(size=(32, 3)).astype(np.float32)
    for shape in [(32, 2), (32, 7, 2)]:  # one action per state, and K particles per state
        actions = rng.uniform(-1, 1, shape).astype(np.float32)
        expected = sum(np.float32(w) * q((obs, actions)).numpy()
                       for w, q in zip(weights, q_networks))
        got = composed((obs, actions)).numpy()
        assert got.shape == shape[:-1]
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)
    assert composed.task_weights == weights


def test_composition_weights_known_answers_and_bad_ones():
    assert composition_weights(None, 4) == (0.25,) * 4  # equal weights: the mean
    assert composition_weights(["0.25", "0.75"], 2) == (0.25, 0.75)
    assert composition_weights([1, 3], 2, normalize=True) == (0.25, 0.75)
    for weights, count, normalize, message in [
            ([0.5], 2, False, "one weight per run"), ([-0.5, 1.5], 2, False, ">= 0"),
            (["nan", 1], 2, False, "finite"), (["inf", 0], 2, True, "finite"),
            ([0.6, 0.6], 2, False, "sum to 1.2"), ([0, 0], 2, True, "sum must be > 0")]:
        with pytest.raises(ValueError, match=message):
            composition_weights(weights, count, normalize)
    with pytest.raises(ValueError, match="init_sampler"):
        ComposeConfig(init_sampler=-1)


ALPHA = 0.1
TASKS = (dict(tilt=0.5), dict(tilt=-0.3))  # the right well, the left well favoured
WEIGHTS = (0.5, 0.5)


class BanditQ(keras.Model):
    """The exact soft Q-function of a bandit at discount 0: Q(a) = r(a) / alpha."""

    def __init__(self, task):
        super().__init__()
        self.task = dict(bandit.ContinuousBanditEnv().reward_kwargs, **task)

    def call(self, inputs):
        a = inputs[1][..., 0]
        t = self.task
        return (-t["depth"] * (a ** 2 - t["well"] ** 2) ** 2 + t["tilt"] * a) / ALPHA


def kolmogorov_smirnov(samples, grid, density):
    """(D, asymptotic p-value) of ``samples`` against the CDF of ``density`` on ``grid``,
    integrated numerically (cumulative trapezoid); p with Stephens' small-sample correction."""
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (density[1:] + density[:-1]) * np.diff(grid))])
    x = np.sort(samples)
    f = np.interp(x, grid, cdf / cdf[-1])
    n = len(x)
    d = max(np.max(np.arange(1, n + 1) / n - f), np.max(f - np.arange(n) / n))
    lam = (np.sqrt(n) + 0.12 + 0.11 / np.sqrt(n)) * d
    k = np.arange(1, 101)
    return d, float(np.clip(2 * np.sum((-1.0) ** (k - 1) * np.exp(-2 * k ** 2 * lam ** 2)), 0, 1))


def test_bandit_composed_sampler_matches_the_closed_form_and_neither_constituent():
    """Discount 0: Q_i = r_i / alpha exactly, so the composed policy is the closed form
    exp(sum_i w_i r_i(a) / alpha) (1 - a^2) / Z (tanh correction). A Kolmogorov-Smirnov test of
    2000 samples accepts it (p > 0.01) and rejects each constituent's density (p < 1e-6)."""
    spec = EnvSpec(1, 1, (-1.0,), (1.0,))
    composed = ComposedQ([BanditQ(task) for task in TASKS], WEIGHTS)
    config = SQLConfig(hidden_sizes=(64, 64), kernel_particles=64, policy_lr=1e-3)
    fit = ComposedSamplerFit(spec, composed, config, batch_size=16, seed=0)
    states = tf.zeros([1, 1])
    for _ in range(1000):
        assert fit.train_step(states)["finite"]
    assert int(fit.step) == 1000
    rng = np.random.default_rng(0)
    samples = fit.policy.normalized_action(
        np.zeros((2000, 1), np.float32), rng.standard_normal((2000, 1)).astype(np.float32))
    samples = samples.numpy()[:, 0]
    grid = np.linspace(-1, 1, 20001)
    d, p = kolmogorov_smirnov(samples, grid,
                              bandit.composed_target_density(grid, ALPHA, WEIGHTS, TASKS))
    assert p > 0.01, (d, p)
    for task in TASKS:
        d_task, p_task = kolmogorov_smirnov(samples, grid,
                                            bandit.target_density(grid, ALPHA, **task))
        assert p_task < 1e-6 and d_task > 10 * d, (task, d_task, d)
