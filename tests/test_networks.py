"""Networks: the split first layer is a dense layer on the concatenation [obs, x]."""
import random

import keras
import numpy as np
import pytest

from softq_tf import EnvSpec
from softq_tf.learners import networks


@pytest.fixture
def spec():
    return EnvSpec(obs_dim=3, act_dim=2, low=(-1.0, -1.0), high=(1.0, 1.0))


def numpy_mlp(model, obs, x):
    """The model by hand: ReLU layers on the concatenation [obs, x] (obs repeated per particle)."""
    if x.ndim == 3:
        obs = np.repeat(obs[:, None, :], x.shape[1], axis=1)
    kernel = np.concatenate([model.obs_layer.kernel.numpy(), model.x_layer.kernel.numpy()])
    h = np.maximum(np.concatenate([obs, x], axis=-1) @ kernel + model.obs_layer.bias.numpy(), 0)
    for layer in model.hidden_layers:
        h = np.maximum(h @ layer.kernel.numpy() + layer.bias.numpy(), 0)
    return h @ model.out_layer.kernel.numpy() + model.out_layer.bias.numpy()


@pytest.mark.parametrize("particles", [None, 5])
def test_q_network_is_an_mlp_on_the_concatenation(spec, particles):
    q = networks.q_network(spec, (8, 8))
    rng = np.random.default_rng(0)
    obs = rng.normal(size=(4, 3)).astype(np.float32)
    shape = (4, 2) if particles is None else (4, particles, 2)
    action = rng.uniform(-1, 1, shape).astype(np.float32)
    np.testing.assert_allclose(q((obs, action)), numpy_mlp(q, obs, action)[..., 0], rtol=1e-5,
                               atol=1e-6)


@pytest.mark.parametrize("particles", [None, 5])
def test_sampler_is_a_tanh_mlp_on_the_concatenation(spec, particles):
    sampler = networks.sampling_network(spec, (8, 8))
    rng = np.random.default_rng(1)
    obs = rng.normal(size=(4, 3)).astype(np.float32)
    xi = rng.normal(size=(4, 2) if particles is None else (4, particles, 2)).astype(np.float32)
    actions = sampler((obs, xi)).numpy()
    np.testing.assert_allclose(actions, np.tanh(numpy_mlp(sampler, obs, xi)), rtol=1e-5, atol=1e-6)
    assert actions.shape == xi.shape and np.all(np.abs(actions) <= 1.0)
    pre_squash = sampler.pre_squash((obs, xi)).numpy()  # u, with a = tanh(u)
    np.testing.assert_allclose(pre_squash, numpy_mlp(sampler, obs, xi), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.tanh(pre_squash), actions, rtol=1e-6, atol=1e-7)


def test_deterministic_actor_is_a_tanh_mlp_on_the_observation(spec):
    actor = networks.deterministic_actor(spec, (8, 8))
    obs = np.random.default_rng(2).normal(size=(4, 3)).astype(np.float32)
    h = obs
    for layer in actor.layers[:-1]:
        h = np.maximum(h @ layer.kernel.numpy() + layer.bias.numpy(), 0)
    out = actor.layers[-1]
    expected = np.tanh(h @ out.kernel.numpy() + out.bias.numpy())
    np.testing.assert_allclose(actor(obs).numpy(), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("build", [networks.q_network, networks.sampling_network,
                                   networks.deterministic_actor])
def test_init_rng_gives_the_weights_of_keras_seeded_globally(spec, build):
    """A network built with init_rng = random.Random(seed) has the weights Keras gives after
    keras.utils.set_random_seed(seed), whatever the global state then is."""
    keras.utils.set_random_seed(11)
    globally_seeded = build(spec, (8, 8)).get_weights()
    keras.utils.set_random_seed(12)
    seeded = build(spec, (8, 8), random.Random(11)).get_weights()
    other_seed = build(spec, (8, 8), random.Random(12)).get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(globally_seeded, seeded, strict=True))
    assert not np.array_equal(seeded[0], other_seed[0])
