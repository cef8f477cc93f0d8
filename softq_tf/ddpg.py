"""DDPG (Lillicrap et al., 2016), the paper's baseline in Sec. 5, on the same networks, buffer and
loop as soft Q-learning.

- Critic: Q(s, a) regressed on y = reward_scale * r + discount * (1 - terminated) * Q'(s', mu'(s'))
  with the target critic Q' and target actor mu' (:func:`softq_tf.losses.ddpg_critic_loss`).
- Actor: mu(s) = tanh(MLP(s)) ascends Q(s, mu(s)) (:func:`softq_tf.losses.ddpg_actor_loss`).
- Targets: like SQL's, a delayed copy every ``target_update_period`` steps (paper Appendix D.1 uses
  the same hard copy every 1000 steps for both algorithms); ``tau`` < 1 gives Polyak averaging.
- Exploration: Ornstein-Uhlenbeck noise added to mu(s) and clipped to [-1, 1]^A while collecting
  (paper Appendix D.1: sigma 0.3, theta 0.15), reset at every episode start.

Both gradients are computed from the same parameters and applied together only when every one is
finite, as in :class:`softq_tf.sql.SoftQLearner`.
"""
import dataclasses

import keras
import tensorflow as tf

from softq_tf import losses, networks, noise, policies, updates
from softq_tf.config_utils import validate_shared_fields

STAT_NAMES = ("loss/q", "q/mean", "q_next/mean", "loss/actor", "action/abs_mean")


@dataclasses.dataclass(frozen=True)
class DDPGConfig:
    """Hyperparameters of the DDPG baseline. Defaults match :class:`softq_tf.sql.SQLConfig`'s
    wherever the two share a field, so that the two compare on equal footing; the paper's values
    (Appendix D.1, "for SQL and DDPG alike") are in ``paper_repro.profiles``.

    Attributes:
      hidden_sizes: ReLU layer widths of the critic and of the actor (paper: (200, 200)).
      q_lr: Adam learning rate of the critic (paper 1e-3).
      policy_lr: Adam learning rate of the actor (paper 1e-4).
      discount: gamma.
      reward_scale: multiplies rewards in the critic's target.
      target_update_period: steps between target updates (paper 1000; swimmer 5000).
      tau: target update rate; 1.0 = hard copy (paper).
      noise: exploration noise, ``ou`` (paper) or ``gaussian``.
      noise_sigma: noise scale in the normalized action square (paper Appendix D.1: 0.3).
      noise_theta: OU pull toward 0 per step (0.15).
      jit_compile: compile the update with XLA, as for SQL.
    """

    hidden_sizes: tuple = (128, 128)
    q_lr: float = 3e-4
    policy_lr: float = 3e-4
    discount: float = 0.99
    reward_scale: float = 1.0
    target_update_period: int = 1000
    tau: float = 1.0
    noise: str = "ou"
    noise_sigma: float = 0.3
    noise_theta: float = 0.15
    jit_compile: bool = True

    def __post_init__(self):
        validate_shared_fields(self)
        noise.validate(self.noise, self.noise_sigma, self.noise_theta)


class DDPGLearner:
    """Owns the critic, the actor, their targets, optimizers, exploration noise and the update.

    The interface is :class:`softq_tf.sql.SoftQLearner`'s, so :func:`softq_tf.loop.train`,
    checkpoints and export take either: ``train_step(batch)`` (compiled ``update``), ``update``,
    ``collect_action``, ``start_episode``, ``policy``, ``q``, ``stat_names``, ``networks``,
    ``checkpoint_items``.

    Args:
      spec: :class:`softq_tf.specs.EnvSpec`.
      config: :class:`DDPGConfig`.
      seed: seeds weight initialization and the learner's ``tf.random.Generator``.
    """

    def __init__(self, spec, config=DDPGConfig(), seed=0):
        self.spec, self.config = spec, config
        keras.utils.set_random_seed(seed)
        self.q = networks.q_network(spec, config.hidden_sizes)
        self.target_q = networks.q_network(spec, config.hidden_sizes)
        self.actor = networks.deterministic_actor(spec, config.hidden_sizes)
        self.target_actor = networks.deterministic_actor(spec, config.hidden_sizes)
        self.target_q.set_weights(self.q.get_weights())
        self.target_actor.set_weights(self.actor.get_weights())
        self.q_optimizer = keras.optimizers.Adam(config.q_lr)
        self.policy_optimizer = keras.optimizers.Adam(config.policy_lr)
        self.q_optimizer.build(self.q.trainable_variables)
        self.policy_optimizer.build(self.actor.trainable_variables)
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="train_step")
        self.rng = tf.random.Generator.from_seed(seed)
        self.noise = noise.make_noise(config.noise, spec.act_dim, config.noise_sigma,
                                      config.noise_theta)
        self.policy = policies.DeterministicPolicy(self.actor, spec)
        self.train_step = updates.compile_train_step(self.update, spec, config.jit_compile)

    @property
    def stat_names(self):
        """Names of the scalar statistics ``train_step`` returns (besides ``finite``)."""
        return STAT_NAMES

    def networks(self):
        """The trained networks by name: what fine-tuning starts from."""
        return dict(q=self.q, target_q=self.target_q, actor=self.actor,
                    target_actor=self.target_actor)

    def checkpoint_items(self):
        """Everything that makes up the learner's state, for ``tf.train.Checkpoint``."""
        items = dict(self.networks(), q_optimizer=self.q_optimizer,
                     policy_optimizer=self.policy_optimizer, step=self.step, rng=self.rng)
        if isinstance(self.noise, noise.OrnsteinUhlenbeckNoise):
            items["noise_state"] = self.noise.state
        return items

    def start_episode(self):
        """Resets the exploration noise; the training loop calls it after every env reset."""
        self.noise.reset()

    def collect_action(self, obs):
        """clip(mu(s) + noise, -1, 1) [1, A] for data collection at ``obs`` [1, O]; traceable."""
        noisy = self.actor(obs) + self.noise.sample(self.rng)[None]
        return tf.clip_by_value(noisy, -1.0, 1.0)

    def update(self, batch):
        """One DDPG update on ``batch`` (critic and actor from the same parameters); traceable.

        Args:
          batch: dict with ``obs [B, O]``, ``action [B, A]`` (in [-1, 1]), ``reward [B]``,
            ``next_obs [B, O]``, ``terminated [B]``.

        Returns:
          dict of scalar tensors: :data:`STAT_NAMES` and ``finite``.
        """
        cfg, obs = self.config, batch["obs"]
        next_obs = batch["next_obs"]
        next_q = self.target_q((next_obs, self.target_actor(next_obs)))  # [B]
        with tf.GradientTape() as tape:
            q_pred = self.q((obs, batch["action"]))  # [B]
            q_loss = losses.ddpg_critic_loss(q_pred, batch["reward"], batch["terminated"], next_q,
                                             cfg.reward_scale, cfg.discount)
        q_grads = tape.gradient(q_loss, self.q.trainable_variables)
        with tf.GradientTape() as tape:
            mu = self.actor(obs)  # [B, A]
            actor_loss = losses.ddpg_actor_loss(self.q((obs, mu)))
        actor_grads = tape.gradient(actor_loss, self.actor.trainable_variables)

        finite = updates.all_finite([q_loss, actor_loss] + q_grads + actor_grads)
        updates.apply_if_finite(
            finite, [(self.q_optimizer, q_grads, self.q.trainable_variables),
                     (self.policy_optimizer, actor_grads, self.actor.trainable_variables)],
            self.step, [(self.target_q, self.q), (self.target_actor, self.actor)],
            cfg.target_update_period, cfg.tau)
        return {
            "loss/q": q_loss,
            "q/mean": tf.reduce_mean(q_pred),
            "q_next/mean": tf.reduce_mean(next_q),
            "loss/actor": actor_loss,
            "action/abs_mean": tf.reduce_mean(tf.abs(mu)),
            "finite": finite,
        }
