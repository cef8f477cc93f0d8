"""Composing skills (paper Sec. 6, future work; Haarnoja et al. 2018, "Composable Deep
Reinforcement Learning for Robotic Manipulation"): soft Q-functions added into a policy for a new
task, with no new experience.

For tasks with the same dynamics, discount and alpha and rewards r_i, the soft Q-function of the
task paid sum_i w_i r_i (w_i >= 0, summing to 1) is close to sum_i w_i Q_i, with a gap bounded by a
term that grows with the divergence between the constituents' max-ent policies (Haarnoja et al.
2018, Lemma 1 and Theorem 1). :class:`ComposedQ` is that sum over the constituents' Keras
Q-networks; its energy-based policy is pi(a|s) ~ exp(sum_i w_i Q_i(s, a) / alpha), in this
package's reward-scaled units (Q already holds 1/alpha) exp(sum_i w_i Q_i(s, a)).
:class:`ComposedSamplerFit` trains a sampling network toward it by SQL's amortized SVGD
(eq. 13-14, :func:`softq_tf.learners.sql.amortized_svgd_gradients`) on states alone: no Bellman
backup, no environment step.

Sum or mean: with weights summing to one (:func:`softq_tf.learners.configs.composition_weights`)
the weighted sum is the mean for equal weights, and the mean reward is the task composed.
"""
import random

import keras
import tensorflow as tf

from softq_tf.learners import networks, policies, sql, updates
from softq_tf.learners.configs import composition_weights

STAT_NAMES = ("q/mean", "svgd/phi_norm", "kernel/bandwidth")


class ComposedQ(keras.Model):
    """Q(s, a) = sum_i w_i Q_i(s, a) over soft Q-networks of tasks with the same spaces, alpha
    and dynamics; called like one of them.

    Args:
      q_networks: the constituents' Q-networks, ``(obs [B, O], action [B, A] or [B, K, A]) -> [B]
        or [B, K]`` (:class:`softq_tf.learners.networks.QNetwork`).
      weights: w_i, one per network, >= 0 and summing to one (default: equal).

    Attributes:
      task_weights: the weights as a tuple of floats (``weights`` is Keras's name for variables).
      q_networks: the constituents, in order.
    """

    def __init__(self, q_networks, weights=None, name="composed_q"):
        super().__init__(name=name)
        self.q_networks = tuple(q_networks)
        if not self.q_networks:
            raise ValueError("q_networks is empty: give one or more Q-networks to compose")
        self.task_weights = composition_weights(weights, len(self.q_networks))
        # One attribute per network, so that checkpoints and SavedModels track each one.
        for i, q_network in enumerate(self.q_networks):
            setattr(self, f"q_network_{i + 1}", q_network)

    def call(self, inputs):
        """(obs [B, O], action [B, A] or [B, K, A]) -> sum_i w_i Q_i, [B] or [B, K]."""
        return tf.add_n([weight * q_network(inputs)
                         for weight, q_network in zip(self.task_weights, self.q_networks)])


class ComposedSamplerFit:
    """A sampling network a = f(xi; s) fit toward exp(Q(s, a)) of a fixed soft Q-function (a
    :class:`ComposedQ`) by amortized SVGD: SQL's policy update (eq. 13-14) without its Q update,
    on states given rather than collected.

    Construction touches no global generator: the sampler's initial weights are seeded from
    ``seed`` (as :class:`softq_tf.learners.learner.LearnerBase` seeds its networks) unless
    ``initial_sampler`` gives them, and every draw comes from ``rng``, seeded with ``seed``.

    Args:
      spec: the :class:`softq_tf.learners.specs.EnvSpec` of the constituents.
      q_network: the Q-function to fit to (left unchanged).
      config: an :class:`softq_tf.learners.configs.SQLConfig`: the sampler's ``hidden_sizes``,
        ``policy_lr``, ``kernel_particles``, ``num_fixed``, ``kernel_h_min``, the squash
        correction, ``greedy_candidates`` and ``jit_compile``.
      batch_size: states per update.
      seed: seeds the initial weights and ``rng``.
      initial_sampler: a sampling network of the same shape to start from (e.g. a constituent's),
        or None.

    Attributes:
      spec, config, q: as given (``q`` is ``q_network``).
      sampler: the :class:`softq_tf.learners.networks.SamplingNetwork` being fit.
      policy: a :class:`softq_tf.learners.policies.SamplingPolicy` of ``sampler`` (its
        ``greedy_action`` ranks by ``q``), exportable as any SQL policy.
      policy_optimizer, step, rng: Adam, the count of applied updates, the generator.
      stat_names: the statistics ``train_step`` returns besides ``finite``.
      train_step: :meth:`update` compiled, ``states [N, O] -> stats``.
    """

    stat_names = STAT_NAMES

    def __init__(self, spec, q_network, config, batch_size, seed=0, initial_sampler=None):
        self.spec, self.q, self.config, self.batch_size = spec, q_network, config, batch_size
        self.sampler = networks.sampling_network(spec, config.hidden_sizes, random.Random(seed))
        if initial_sampler is not None:
            self.sampler.set_weights(initial_sampler.get_weights())
        self.policy_optimizer = keras.optimizers.Adam(config.policy_lr)
        self.policy_optimizer.build(self.sampler.trainable_variables)
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="fit_step")
        self.rng = tf.random.Generator.from_seed(seed)
        self.policy = policies.SamplingPolicy(self.sampler, spec, q_network,
                                              config.greedy_candidates)
        self.train_step = tf.function(self.update, jit_compile=config.jit_compile,
                                      input_signature=[tf.TensorSpec([None, spec.obs_dim])])

    def checkpoint_items(self):
        """What a checkpoint holds: the sampler, its optimizer, the step counter and the
        generator (the Q-function is the constituents' and is not saved)."""
        return dict(sampler=self.sampler, policy_optimizer=self.policy_optimizer, step=self.step,
                    rng=self.rng)

    def update(self, states):
        """One update on ``batch_size`` states drawn uniformly from ``states`` [N, O] with K noise
        draws each, all from ``rng``; traceable. Returns :meth:`update_from_noise`'s statistics."""
        index = self.rng.uniform([self.batch_size], 0, tf.shape(states, tf.int64)[0],
                                 dtype=tf.int64)
        xi = self.rng.normal([self.batch_size, self.config.kernel_particles, self.spec.act_dim])
        return self.update_from_noise(tf.gather(states, index), xi)

    def update_from_noise(self, obs, xi):
        """One SVGD update of the sampler (eq. 13-14) toward exp(Q) at ``obs`` [B, O] with noise
        ``xi`` [B, K, A], applied only if every gradient is finite.

        Returns:
          dict of scalars: ``q/mean`` (mean Q at the updated particles, before the update),
          ``svgd/phi_norm``, ``kernel/bandwidth`` and the boolean ``finite``.
        """
        cfg = self.config
        log_density, pre_squash = sql.svgd_target(self.q, cfg)
        grads, phi, h = sql.amortized_svgd_gradients(
            self.sampler, obs, xi, log_density, cfg.num_fixed, cfg.kernel_h_min,
            pre_squash=pre_squash)
        finite = updates.all_finite(grads)
        q_mean = tf.reduce_mean(self.q((obs, self.sampler((obs, xi[:, cfg.num_fixed:])))))
        updates.apply_if_finite(finite, [(self.policy_optimizer, grads,
                                          self.sampler.trainable_variables)],
                                self.step, [], 1, 1.0)
        return {"q/mean": q_mean, "svgd/phi_norm": tf.reduce_mean(tf.norm(phi, axis=-1)),
                "kernel/bandwidth": tf.reduce_mean(h), "finite": finite}
