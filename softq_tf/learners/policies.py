"""Policies as ``tf.Module`` s with fixed input signatures, ready for ``tf.saved_model``.

:class:`SamplingPolicy` is the energy-based policy pi(a|s) ~ exp(Q(s, a)) of the paper, sampled
through the amortized SVGD network a = f(xi; s) (Sec. 3.3). :class:`DeterministicPolicy` is DDPG's
actor mu(s), exported with the same signatures. Methods return actions in the environment's bounds,
except ``normalized_action``, which returns the network's [-1, 1]^A output that training stores.
"""
import tensorflow as tf

from softq_tf.learners.specs import denormalize_action


def _input_signatures(spec):
    """The TensorSpecs of the policies' inputs: observation [None, O], xi [None, A] and n."""
    return (tf.TensorSpec([None, spec.obs_dim], tf.float32, name="observation"),
            tf.TensorSpec([None, spec.act_dim], tf.float32, name="xi"),
            tf.TensorSpec([], tf.int32, name="n"))


class SamplingPolicy(tf.Module):
    """Samples a = f(xi; s), xi ~ N(0, I), and maps it to the environment's action box.

    Args:
      sampler: a :class:`softq_tf.learners.networks.SamplingNetwork`.
      spec: the :class:`softq_tf.learners.specs.EnvSpec` the sampler was built for.
      q_network: optional soft Q-function; enables :meth:`greedy_action`.
      greedy_candidates: how many sampled actions :meth:`greedy_action` chooses from.
    """

    def __init__(self, sampler, spec, q_network=None, greedy_candidates=64, name="sampling_policy"):
        super().__init__(name=name)
        self.sampler = sampler
        self.q_network = q_network
        self.greedy_candidates = int(greedy_candidates)
        self.spec = spec
        self.obs_dim, self.act_dim = spec.obs_dim, spec.act_dim
        self.action_low = tf.constant(spec.low, tf.float32)
        self.action_high = tf.constant(spec.high, tf.float32)
        obs_sig, xi_sig, n_sig = _input_signatures(spec)
        self.normalized_action = tf.function(self._normalized_action,
                                             input_signature=[obs_sig, xi_sig])
        self.action_from_noise = tf.function(self._action_from_noise,
                                             input_signature=[obs_sig, xi_sig])
        self.sample_action = tf.function(self._sample_action, input_signature=[obs_sig])
        self.sample_actions = tf.function(self._sample_actions, input_signature=[obs_sig, n_sig])
        if q_network is not None:
            self.greedy_action = tf.function(self._greedy_action, input_signature=[obs_sig])

    def _to_env(self, action):
        return denormalize_action(action, self.action_low, self.action_high)

    def _normalized_action(self, observation, xi):
        """[B, O], [B, A] -> [B, A] in [-1, 1]^A, deterministic given xi."""
        return self.sampler((observation, xi))

    def _action_from_noise(self, observation, xi):
        """[B, O], [B, A] -> [B, A] in the env's bounds, deterministic given xi."""
        return self._to_env(self.sampler((observation, xi)))

    def _sample_action(self, observation):
        """[B, O] -> one sampled action per observation, [B, A]."""
        xi = tf.random.normal([tf.shape(observation)[0], self.act_dim])
        return self._action_from_noise(observation, xi)

    def _sample_actions(self, observation, n):
        """[B, O], n -> n sampled actions per observation, [B, n, A]."""
        xi = tf.random.normal([tf.shape(observation)[0], n, self.act_dim])
        return self._to_env(self.sampler((observation, xi)))

    def _greedy_action(self, observation):
        """[B, O] -> the best of ``greedy_candidates`` sampled actions by Q, [B, A]."""
        xi = tf.random.normal([tf.shape(observation)[0], self.greedy_candidates, self.act_dim])
        candidates = self.sampler((observation, xi))  # [B, N, A]
        best = tf.argmax(self.q_network((observation, candidates)), axis=1)  # [B]
        return self._to_env(tf.gather(candidates, best, batch_dims=1))


class DeterministicPolicy(tf.Module):
    """DDPG's policy a = mu(s), mapped to the environment's action box, with the signatures of
    :class:`SamplingPolicy` so that both export and evaluate alike.

    It has no noise input: ``xi`` is accepted by ``normalized_action`` / ``action_from_noise`` for
    the shared signature and ignored, ``sample_actions`` repeats mu(s) n times and ``greedy_action``
    is ``sample_action``. Exploration noise is the learner's
    (:meth:`softq_tf.learners.ddpg.DDPGLearner.collect_action`).

    Args:
      actor: the network mu (:func:`softq_tf.learners.networks.deterministic_actor`),
        [B, O] -> [B, A].
      spec: the :class:`softq_tf.learners.specs.EnvSpec` the actor was built for.
    """

    def __init__(self, actor, spec, name="deterministic_policy"):
        super().__init__(name=name)
        self.actor, self.spec = actor, spec
        self.action_low = tf.constant(spec.low, tf.float32)
        self.action_high = tf.constant(spec.high, tf.float32)
        obs_sig, xi_sig, n_sig = _input_signatures(spec)
        self.normalized_action = tf.function(lambda observation, xi: self.actor(observation),
                                             input_signature=[obs_sig, xi_sig])
        self.action_from_noise = tf.function(lambda observation, xi: self._action(observation),
                                             input_signature=[obs_sig, xi_sig])
        self.sample_action = tf.function(self._action, input_signature=[obs_sig])
        self.sample_actions = tf.function(self._actions, input_signature=[obs_sig, n_sig])
        self.greedy_action = self.sample_action

    def _action(self, observation):
        """[B, O] -> mu(s) in the env's bounds, [B, A]."""
        return denormalize_action(self.actor(observation), self.action_low, self.action_high)

    def _actions(self, observation, n):
        """[B, O], n -> mu(s) repeated, [B, n, A]."""
        return tf.repeat(self._action(observation)[:, None, :], n, axis=1)
