"""What a learner is to the rest of softq_tf (:class:`Learner`), and the setup every learner
shares (:class:`LearnerBase`): :class:`softq_tf.learners.sql.SoftQLearner` and
:class:`softq_tf.learners.ddpg.DDPGLearner` derive from it and differ only in their policy networks,
their exploration and their update.
"""
import abc
import random
import typing

import keras
import tensorflow as tf

from softq_tf.learners import networks, updates


@typing.runtime_checkable
class Learner(typing.Protocol):
    """The interface the training loop (:func:`softq_tf.training.loop.train`,
    :class:`softq_tf.training.graph_step.TrainAndAct`), the checkpointer
    (:class:`softq_tf.training.checkpoint.Checkpointer`), fine-tuning
    (:func:`softq_tf.running.experiment.load_pretrained`) and the exporter
    (:mod:`softq_tf.training.export`) rely on.

    Attributes:
      spec: the :class:`softq_tf.learners.specs.EnvSpec` the networks are built for; actions are
        normalized to [-1, 1]^A everywhere but in ``policy``.
      config: the algorithm's config; the loop reads ``config.jit_compile``.
      rng: the learner's ``tf.random.Generator``: every random draw of :meth:`update` and
        :meth:`collect_action`, and the loop's minibatch indices (derived from the seed).
      step: int64 variable counting the updates applied.
      q: the Q-function network, ``(obs [B, O], action [B, A]) -> [B]``; exported as
        ``q_function/``.
      policy: a :class:`softq_tf.learners.policies.SamplingPolicy` or
        :class:`softq_tf.learners.policies.DeterministicPolicy`: evaluation and the
        ``policy/`` export.
      stat_names: names of the scalar statistics :meth:`update` returns (besides ``finite``);
        they become ``progress.csv`` columns.
      train_step: :meth:`update` compiled as one ``tf.function`` with a fixed input signature
        (:func:`softq_tf.learners.updates.compile_train_step`).
    """

    spec: object
    config: object
    rng: tf.random.Generator
    step: tf.Variable
    q: keras.Model
    policy: tf.Module
    stat_names: tuple
    train_step: typing.Callable

    @abc.abstractmethod
    def update(self, batch):
        """One update on ``batch`` (a dict with ``obs [B, O]``, ``action [B, A]`` (normalized),
        ``reward [B]``, ``next_obs [B, O]``, ``terminated [B]``), applied only when every loss and
        gradient is finite; traceable. Returns a dict of scalar tensors: ``stat_names`` and the
        boolean ``finite``."""

    @abc.abstractmethod
    def collect_action(self, obs):
        """Normalized actions [N, A] to collect data with at ``obs`` [N, O], exploration
        included, drawn from ``rng``; traceable."""

    @abc.abstractmethod
    def start_episode(self):
        """Called by the training loop after every env reset (e.g. to reset exploration noise)."""

    @abc.abstractmethod
    def networks(self):
        """The trained networks by name (Q, its target and the policy's): what fine-tuning
        starts from."""

    @abc.abstractmethod
    def checkpoint_items(self):
        """Everything that makes up the learner's state, by name, for ``tf.train.Checkpoint``."""


class LearnerBase(Learner):
    """The setup both learners share: Q and its target copy, the policy's networks (built by the
    subclass's :meth:`_build_policy`), two Adam optimizers built up front (so a checkpoint can be
    restored before the first update), the step counter, the generator and the compiled update.

    Construction touches no global generator: weight initialization is seeded from ``seed``
    (:mod:`softq_tf.learners.networks`), drawn in the order Q, target Q, then the subclass's
    networks, and the generator is ``tf.random.Generator.from_seed(seed)``. Seeding Python's,
    numpy's and TensorFlow's global generators is the entry points' job
    (``python -m softq_tf.train``).

    Args:
      spec: :class:`softq_tf.learners.specs.EnvSpec`.
      config: the algorithm's config (:mod:`softq_tf.learners.configs`).
      seed: seeds weight initialization and the learner's ``tf.random.Generator``.
    """

    def __init__(self, spec, config, seed=0):
        self.spec, self.config = spec, config
        init_rng = random.Random(seed)
        self.q = networks.q_network(spec, config.hidden_sizes, init_rng)
        self.target_q = networks.q_network(spec, config.hidden_sizes, init_rng)
        self.target_q.set_weights(self.q.get_weights())
        policy_network = self._build_policy(seed, init_rng)
        self.q_optimizer = keras.optimizers.Adam(config.q_lr)
        self.policy_optimizer = keras.optimizers.Adam(config.policy_lr)
        self.q_optimizer.build(self.q.trainable_variables)
        self.policy_optimizer.build(policy_network.trainable_variables)
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="train_step")
        self.rng = tf.random.Generator.from_seed(seed)
        self.train_step = updates.compile_train_step(self.update, spec, config.jit_compile)

    @abc.abstractmethod
    def _build_policy(self, seed, init_rng):
        """Builds the policy's networks (their initializers seeded from ``init_rng``), the
        exploration state and ``self.policy``; returns the network ``policy_optimizer`` trains."""

    def _exploration_state(self):
        """Exploration variables a checkpoint must hold besides networks, optimizers, step and
        generator, by name (none unless a subclass has some)."""
        return {}

    def checkpoint_items(self):
        """Everything that makes up the learner's state, for ``tf.train.Checkpoint``: the
        networks, both optimizers, the step counter, the generator and the exploration state."""
        return dict(self.networks(), q_optimizer=self.q_optimizer,
                    policy_optimizer=self.policy_optimizer, step=self.step, rng=self.rng,
                    **self._exploration_state())
