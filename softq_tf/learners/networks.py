"""Keras models: the soft Q-function Q(s, a), the sampling network a = f(xi; s) and DDPG's actor.

Both take one observation per state and either one input per state ([B, A]) or K per state
([B, K, A]). The first layer is split into an observation half and an action (noise) half, which is
exactly a dense layer on the concatenation [s, a], but the observation half is computed once
per state instead of once per particle (paper Sec. 3.2-3.3: Q is evaluated at M or K particles
per state).

Weights are initialized as Keras does by default (Glorot-uniform kernels, zero biases). Each builder
takes ``init_rng``, a ``random.Random`` that draws every kernel initializer's seed by Keras's own
rule for an unseeded initializer (``randint(1, 10**9)``, from Python's global generator), so a
learner seeding it with its seed gets the weights a ``keras.utils.set_random_seed(seed)`` before
the build gave, without touching any global generator.
"""
import keras
import tensorflow as tf


def _check_sizes(hidden_sizes):
    sizes = tuple(int(s) for s in hidden_sizes)
    if not sizes or min(sizes) <= 0:
        raise ValueError(f"hidden_sizes={hidden_sizes!r} is invalid: give one or more positive "
                         "layer widths, e.g. (128, 128)")
    return sizes


def _dense(units, init_rng, **kwargs):
    """A ``keras.layers.Dense`` whose Glorot-uniform kernel initializer is seeded from ``init_rng``
    (a ``random.Random``; None: Keras's default, seeded from Python's global generator)."""
    seed = None if init_rng is None else init_rng.randint(1, 10**9)
    return keras.layers.Dense(units, kernel_initializer=keras.initializers.GlorotUniform(seed),
                              **kwargs)


class _TwoInputMLP(keras.Model):
    """ReLU MLP on the concatenation [obs, x], x of shape [B, D] or [B, K, D].

    Called Keras-style on one tuple ``(obs, x)``, which also lets SavedModel trace Keras' default
    signature.
    """

    def __init__(self, hidden_sizes, out_dim, name=None, init_rng=None):
        super().__init__(name=name)
        sizes = _check_sizes(hidden_sizes)
        self.obs_layer = _dense(sizes[0], init_rng, name="obs_in")
        self.x_layer = _dense(sizes[0], init_rng, use_bias=False, name="x_in")
        self.hidden_layers = [_dense(s, init_rng, activation="relu", name=f"hidden{i + 1}")
                              for i, s in enumerate(sizes[1:])]
        # TensorFlow checkpoints do not see layers inside Keras' tracked lists: an attribute per
        # layer puts each one in the checkpoint's object graph (otherwise a target network's hidden
        # layers, reached by no optimizer, were not saved at all).
        for i, layer in enumerate(self.hidden_layers):
            setattr(self, f"hidden_layer_{i + 1}", layer)
        self.out_layer = _dense(out_dim, init_rng, name="out")

    def call(self, inputs):
        obs, x = inputs
        h_obs = self.obs_layer(obs)  # [B, H]
        h_x = self.x_layer(x)  # [B, H] or [B, K, H]
        if len(x.shape) == 3:
            h_obs = h_obs[:, None, :]
        h = tf.nn.relu(h_obs + h_x)
        for layer in self.hidden_layers:
            h = layer(h)
        return self.out_layer(h)


class QNetwork(_TwoInputMLP):
    """Soft Q-function Q(s, a) (paper eq. 11): returns [B] or [B, K] values."""

    def __init__(self, hidden_sizes, name="q_network", init_rng=None):
        super().__init__(hidden_sizes, out_dim=1, name=name, init_rng=init_rng)

    def call(self, inputs):
        """(obs [B, O], action [B, A] or [B, K, A]) -> Q [B] or [B, K]."""
        return tf.squeeze(super().call(inputs), axis=-1)


class SamplingNetwork(_TwoInputMLP):
    """Sampling network a = tanh(u), u = MLP([s, xi]) with xi ~ N(0, I) (paper Sec. 3.3).

    Called on ``(obs [B, O], xi [B, A] or [B, K, A])``; returns actions of xi's shape in [-1, 1].
    :meth:`pre_squash` returns u itself, for the SVGD target written in u
    (``SQLConfig.squash_correction="bijector"``).
    """

    def __init__(self, act_dim, hidden_sizes, name="sampling_network", init_rng=None):
        super().__init__(hidden_sizes, out_dim=act_dim, name=name, init_rng=init_rng)

    def pre_squash(self, inputs):
        """(obs [B, O], xi [B, A] or [B, K, A]) -> u of xi's shape, the output before the tanh."""
        return super().call(inputs)

    def call(self, inputs):
        """(obs [B, O], xi [B, A] or [B, K, A]) -> actions tanh(u) in [-1, 1], xi's shape."""
        return tf.tanh(self.pre_squash(inputs))


def q_network(spec, hidden_sizes, init_rng=None):
    """Builds the soft Q-function for ``spec`` (weights created by one call on zeros; their
    initializers seeded from ``init_rng``, see the module doc)."""
    model = QNetwork(hidden_sizes, init_rng=init_rng)
    model((tf.zeros([1, spec.obs_dim]), tf.zeros([1, spec.act_dim])))
    return model


def sampling_network(spec, hidden_sizes, init_rng=None):
    """Builds the sampling network f(xi; s) for ``spec`` (noise has the action's size;
    initializers seeded from ``init_rng``)."""
    model = SamplingNetwork(spec.act_dim, hidden_sizes, init_rng=init_rng)
    model((tf.zeros([1, spec.obs_dim]), tf.zeros([1, spec.act_dim])))
    return model


def deterministic_actor(spec, hidden_sizes, init_rng=None):
    """Builds DDPG's actor mu(s) = tanh(MLP(s)) in [-1, 1]^A for ``spec`` (the baseline of the
    paper's Sec. 5; same hidden sizes and squashing as the sampling network, but no noise input;
    initializers seeded from ``init_rng``)."""
    sizes = _check_sizes(hidden_sizes)
    model = keras.Sequential(
        [_dense(s, init_rng, activation="relu", name=f"hidden{i}") for i, s in enumerate(sizes)]
        + [_dense(spec.act_dim, init_rng, activation="tanh", name="out")],
        name="deterministic_actor")
    model(tf.zeros([1, spec.obs_dim]))
    return model
