"""Keras models: the soft Q-function Q(s, a), the sampling network a = f(xi; s) and DDPG's actor.

Both take one observation per state and either one input per state ([B, A]) or K per state
([B, K, A]). The first layer is split into an observation half and an action (noise) half, which is
exactly a dense layer on the concatenation [s, a], but the observation half is computed once per state
instead of once per particle (paper Sec. 3.2-3.3: Q is evaluated at M or K particles per state).
"""
import keras
import tensorflow as tf


def _check_sizes(hidden_sizes):
    sizes = tuple(int(s) for s in hidden_sizes)
    if not sizes or min(sizes) <= 0:
        raise ValueError(f"hidden_sizes={hidden_sizes!r} is invalid: give one or more positive "
                         "layer widths, e.g. (128, 128)")
    return sizes


class _TwoInputMLP(keras.Model):
    """ReLU MLP on the concatenation [obs, x], x of shape [B, D] or [B, K, D].

    Called Keras-style on one tuple ``(obs, x)``, which also lets SavedModel trace Keras' default
    signature.
    """

    def __init__(self, hidden_sizes, out_dim, name=None):
        super().__init__(name=name)
        sizes = _check_sizes(hidden_sizes)
        self.obs_layer = keras.layers.Dense(sizes[0], name="obs_in")
        self.x_layer = keras.layers.Dense(sizes[0], use_bias=False, name="x_in")
        self.hidden_layers = [keras.layers.Dense(s, activation="relu", name=f"hidden{i + 1}")
                              for i, s in enumerate(sizes[1:])]
        # TensorFlow checkpoints do not see layers inside Keras' tracked lists: an attribute per
        # layer puts each one in the checkpoint's object graph (otherwise a target network's hidden
        # layers, reached by no optimizer, were not saved at all).
        for i, layer in enumerate(self.hidden_layers):
            setattr(self, f"hidden_layer_{i + 1}", layer)
        self.out_layer = keras.layers.Dense(out_dim, name="out")

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

    def __init__(self, hidden_sizes, name="q_network"):
        super().__init__(hidden_sizes, out_dim=1, name=name)

    def call(self, inputs):
        """(obs [B, O], action [B, A] or [B, K, A]) -> Q [B] or [B, K]."""
        return tf.squeeze(super().call(inputs), axis=-1)


class SamplingNetwork(_TwoInputMLP):
    """Sampling network a = tanh(u), u = MLP([s, xi]) with xi ~ N(0, I) (paper Sec. 3.3).

    Called on ``(obs [B, O], xi [B, A] or [B, K, A])``; returns actions of xi's shape in [-1, 1].
    :meth:`pre_squash` returns u itself, for the SVGD target written in u
    (``SQLConfig.squash_correction="bijector"``).
    """

    def __init__(self, act_dim, hidden_sizes, name="sampling_network"):
        super().__init__(hidden_sizes, out_dim=act_dim, name=name)

    def pre_squash(self, inputs):
        """(obs [B, O], xi [B, A] or [B, K, A]) -> u of xi's shape, the output before the tanh."""
        return super().call(inputs)

    def call(self, inputs):
        """(obs [B, O], xi [B, A] or [B, K, A]) -> actions tanh(u) in [-1, 1], xi's shape."""
        return tf.tanh(self.pre_squash(inputs))


def q_network(spec, hidden_sizes):
    """Builds the soft Q-function for ``spec`` (weights created by one call on zeros)."""
    model = QNetwork(hidden_sizes)
    model((tf.zeros([1, spec.obs_dim]), tf.zeros([1, spec.act_dim])))
    return model


def sampling_network(spec, hidden_sizes):
    """Builds the sampling network f(xi; s) for ``spec`` (noise has the action's size)."""
    model = SamplingNetwork(spec.act_dim, hidden_sizes)
    model((tf.zeros([1, spec.obs_dim]), tf.zeros([1, spec.act_dim])))
    return model


def deterministic_actor(spec, hidden_sizes):
    """Builds DDPG's actor mu(s) = tanh(MLP(s)) in [-1, 1]^A for ``spec`` (the baseline of the
    paper's Sec. 5; same hidden sizes and squashing as the sampling network, but no noise input)."""
    sizes = _check_sizes(hidden_sizes)
    model = keras.Sequential(
        [keras.layers.Dense(s, activation="relu", name=f"hidden{i}") for i, s in enumerate(sizes)]
        + [keras.layers.Dense(spec.act_dim, activation="tanh", name="out")],
        name="deterministic_actor")
    model(tf.zeros([1, spec.obs_dim]))
    return model
