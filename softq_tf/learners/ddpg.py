"""DDPG (Lillicrap et al., 2016), the paper's baseline in Sec. 5, on the same networks, buffer and
loop as soft Q-learning.

- Critic: Q(s, a) regressed on y = reward_scale * r + discount * (1 - terminated) * Q'(s', mu'(s'))
  with the target critic Q' and target actor mu'
  (:func:`softq_tf.learners.losses.ddpg_critic_loss`).
- Actor: mu(s) = tanh(MLP(s)) ascends Q(s, mu(s))
  (:func:`softq_tf.learners.losses.ddpg_actor_loss`).
- Targets: like SQL's, a delayed copy every ``target_update_period`` steps (paper Appendix D.1 uses
  the same hard copy every 1000 steps for both algorithms); ``tau`` < 1 gives Polyak averaging.
- Exploration: Ornstein-Uhlenbeck noise added to mu(s) and clipped to [-1, 1]^A while collecting
  (paper Appendix D.1: sigma 0.3, theta 0.15), reset at every episode start.

Both gradients are computed from the same parameters and applied together only when every one is
finite, as in :class:`softq_tf.learners.sql.SoftQLearner`.
"""
import tensorflow as tf

from softq_tf.learners import losses, networks, noise, policies, updates
from softq_tf.learners.configs import DDPGConfig
from softq_tf.learners.learner import LearnerBase

STAT_NAMES = ("loss/q", "q/mean", "q_next/mean", "loss/actor", "action/abs_mean")


class DDPGLearner(LearnerBase):
    """DDPG, a :class:`softq_tf.learners.learner.Learner`: the critic Q, its target and their
    optimizers (:class:`softq_tf.learners.learner.LearnerBase`), the actor mu with its target and
    optimizer, the exploration noise and the DDPG update.

    Args:
      spec: :class:`softq_tf.learners.specs.EnvSpec`.
      config: :class:`DDPGConfig`.
      seed: seeds weight initialization and the learner's ``tf.random.Generator`` (no global
        generator is touched).
    """

    def __init__(self, spec, config=DDPGConfig(), seed=0):
        super().__init__(spec, config, seed)

    def _build_policy(self, seed, init_rng):
        """The actor (trained by ``policy_optimizer``) and its target copy, the exploration noise
        and the deterministic policy mu(s)."""
        cfg, spec = self.config, self.spec
        self.actor = networks.deterministic_actor(spec, cfg.hidden_sizes, init_rng)
        self.target_actor = networks.deterministic_actor(spec, cfg.hidden_sizes, init_rng)
        self.target_actor.set_weights(self.actor.get_weights())
        self.noise = noise.make_noise(cfg.noise, spec.act_dim, cfg.noise_sigma, cfg.noise_theta)
        self.policy = policies.DeterministicPolicy(self.actor, spec)
        return self.actor

    @property
    def stat_names(self):
        """Names of the scalar statistics ``train_step`` returns (besides ``finite``)."""
        return STAT_NAMES

    def networks(self):
        """The trained networks by name: what fine-tuning starts from."""
        return dict(q=self.q, target_q=self.target_q, actor=self.actor,
                    target_actor=self.target_actor)

    def _exploration_state(self):
        """The Ornstein-Uhlenbeck noise's state (Gaussian noise has none)."""
        if isinstance(self.noise, noise.OrnsteinUhlenbeckNoise):
            return dict(noise_state=self.noise.state)
        return {}

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
