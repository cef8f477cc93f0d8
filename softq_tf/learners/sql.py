"""Soft Q-learning (paper Algorithm 1): the learner and its one compiled update.

- eq. 10-11: the soft Q-function is regressed on
  y = reward_scale * r + discount * (1 - terminated) * V(s'), with V(s') importance-sampled from the
  *target* Q-function at M uniform actions (:func:`softq_tf.learners.losses.soft_value`).
- eq. 13-14: the sampling network is trained by amortized SVGD (:func:`amortized_svgd_gradients`)
  toward pi(a|s) ~ exp(Q(s, a)), with the tanh correction of the authors' code (or, with
  ``squash_correction="bijector"``, on the pre-squash u toward its exact density).
- Fine-tuning (Appendix D.1, optional): alpha annealed log-linearly, i.e. the reward scale rising
  from ``reward_scale`` to ``final_reward_scale`` over ``anneal_steps`` updates, and the acting
  noise xi drawn from a fixed set of ``noise_set_size`` vectors that shrinks to one over
  ``noise_set_steps`` updates (:mod:`softq_tf.learners.schedules`).
- The target network is a delayed copy: every ``target_update_period`` steps
  target <- tau * Q + (1 - tau) * target. There is no target policy (Algorithm 1's mention of one
  was a mistake, per the authors).

Departures from the paper, all following the authors' code (see docs/REPRODUCTION.md): the bandwidth
rule of :mod:`softq_tf.learners.kernels`; the squash correction in the SVGD target; rewards scaled
by 1/alpha instead of dividing Q by alpha. Ours alone: the M uniform value particles are drawn
independently per state (the code shares one set across the batch), and both gradients are computed
from the same parameters and applied together only when every one is finite.
"""
import tensorflow as tf

from softq_tf.learners import losses, networks, policies, schedules, updates
from softq_tf.learners.configs import SQLConfig
from softq_tf.learners.learner import LearnerBase

STAT_NAMES = ("loss/q", "q/mean", "v_next/mean", "svgd/phi_norm", "kernel/bandwidth")


def amortized_svgd_gradients(sampler, obs, xi, log_density, num_fixed, h_min=1e-3,
                             repulsive=True, pre_squash=False):
    """Gradients of the sampler's weights along the Stein direction (eq. 13-14).

    The sampler maps K noise draws per state to particles; the first ``num_fixed`` are held fixed
    and define the direction phi (eq. 13), which is pushed through the remaining, updated particles
    into the weights (eq. 14): d loss / d weights = -sum phi * d updated / d weights.

    Args:
      sampler: network mapping (obs [B, O], xi [B, K, A]) to particles [B, K, A], called on a tuple.
      obs: [B, O] states.
      xi: [B, K, A] noise.
      log_density: fn(obs [B, O], actions [B, Kf, A]) -> [B, Kf] unnormalized log target density.
      num_fixed: Kf, 2 <= Kf < K.
      h_min: kernel bandwidth floor.
      repulsive: keep the kernel-gradient term of eq. 13 (False only for ablations).
      pre_squash: the particles are the sampler's pre-squash outputs u (``sampler.pre_squash``, a
        :class:`softq_tf.learners.networks.SamplingNetwork`) instead of its actions; ``log_density``
        is then a density of u.

    Returns:
      (gradients for ``sampler.trainable_variables``, phi [B, K - Kf, A], bandwidths [B]).
    """
    # Fixed particles are constants: run the sampler on their noise outside the tape, so that
    # backpropagation covers only the updated ones.
    particles = sampler.pre_squash if pre_squash else sampler
    fixed = tf.stop_gradient(particles((obs, xi[:, :num_fixed])))  # [B, Kf, A]
    with tf.GradientTape() as tape:
        updated = particles((obs, xi[:, num_fixed:]))  # [B, Ku, A]
    with tf.GradientTape() as inner:
        inner.watch(fixed)
        log_p = log_density(obs, fixed)  # [B, Kf]
    grad_log_p = tf.stop_gradient(inner.gradient(log_p, fixed))  # [B, Kf, A]
    phi, h = losses.svgd_direction(fixed, grad_log_p, updated, h_min, repulsive)
    grads = tape.gradient(updated, sampler.trainable_variables, output_gradients=-phi)
    return grads, phi, h


def svgd_target(q_network, config):
    """The unnormalized log density amortized SVGD moves the sampler toward (eq. 13): exp(Q(s, a))
    with the tanh correction ``config.squash_correction`` names.

    Args:
      q_network: a soft Q-function, ``(obs [B, O], actions [B, K, A]) -> [B, K]`` (e.g.
        :class:`softq_tf.learners.networks.QNetwork`, or a composition of several:
        :class:`softq_tf.learners.compose.ComposedQ`).
      config: an :class:`SQLConfig`; ``squash_correction`` and ``squash_eps`` are read.

    Returns:
      (log_density, pre_squash) for :func:`amortized_svgd_gradients`: with "eps",
      Q(s, a) + sum log(1 - a^2 + eps) of the actions (:func:`losses.squashed_log_density`) and
      False; with "bijector", Q(s, tanh u) + log |det d tanh(u) / du| of the pre-squash u
      (:func:`losses.tanh_log_density`) and True.
    """
    if config.squash_correction == "bijector":  # SVGD on u = atanh(a)
        return (lambda obs, u: losses.tanh_log_density(q_network((obs, tf.tanh(u))), u)), True
    return (lambda obs, actions: losses.squashed_log_density(
        q_network((obs, actions)), actions, config.squash_eps)), False


class SoftQLearner(LearnerBase):
    """Soft Q-learning, a :class:`softq_tf.learners.learner.Learner`: Q, the target Q and their
    optimizers (:class:`softq_tf.learners.learner.LearnerBase`), the sampling network f(xi; s)
    with its optimizer, and the update of eq. 10-14.

    Args:
      spec: :class:`softq_tf.learners.specs.EnvSpec`.
      config: :class:`SQLConfig`.
      seed: seeds weight initialization, the learner's ``tf.random.Generator`` and the fixed noise
        set (no global generator is touched).

    ``update_from_noise`` is the update given its random draws, for tests of the math.
    """

    def __init__(self, spec, config=SQLConfig(), seed=0):
        # eq. 10's q: supplies log q(a) of the value particles, which update() draws from self.rng.
        self.value_proposal = losses.uniform_proposal(spec.act_dim)
        super().__init__(spec, config, seed)

    def _build_policy(self, seed, init_rng):
        """The sampling network (trained by ``policy_optimizer``), the fixed noise set if
        ``noise_set_size`` (Appendix D.1) and the energy-based policy that samples from it."""
        cfg, spec = self.config, self.spec
        self.sampler = networks.sampling_network(spec, cfg.hidden_sizes, init_rng)
        self.noise_set = None
        if cfg.noise_set_size:  # K_xi fixed noise vectors [K_xi, A] (Appendix D.1)
            self.noise_set = tf.Variable(tf.random.stateless_normal(
                [cfg.noise_set_size, spec.act_dim], seed=[seed, 1]), trainable=False,
                name="noise_set")
        self.policy = policies.SamplingPolicy(self.sampler, spec, self.q, cfg.greedy_candidates)
        return self.sampler

    @property
    def stat_names(self):
        """Names of the scalar statistics ``train_step`` returns (besides ``finite``); with a
        schedule on, also its current value (``schedule/reward_scale``,
        ``schedule/noise_set_size``)."""
        return STAT_NAMES + tuple(name for name, on in (
            ("schedule/reward_scale", self.config.anneal_steps),
            ("schedule/noise_set_size", self.noise_set is not None)) if on)

    def networks(self):
        """The trained networks by name: what fine-tuning starts from."""
        return dict(q=self.q, target_q=self.target_q, sampler=self.sampler)

    def _exploration_state(self):
        """The fixed noise set, when there is one."""
        return {} if self.noise_set is None else dict(noise_set=self.noise_set)

    def reward_scale(self):
        """1/alpha at the current step: ``reward_scale``, or its log-linear annealing toward
        ``final_reward_scale`` (Appendix D.1); a float32 scalar tensor, traceable."""
        cfg = self.config
        if not cfg.anneal_steps:
            return tf.constant(cfg.reward_scale, tf.float32)
        return schedules.log_linear(cfg.reward_scale, cfg.final_reward_scale, self.step,
                                    cfg.anneal_steps)

    def noise_set_in_use(self):
        """How many of the fixed noise vectors acting draws from at the current step (Appendix
        D.1's K_xi, shrinking linearly to 1); int32 scalar tensor. Needs ``noise_set_size`` > 0."""
        return schedules.shrinking_set_size(self.config.noise_set_size, self.step,
                                            self.config.noise_set_steps)

    def update(self, batch):
        """One SQL update (eq. 10-14) on ``batch``, its random draws from ``self.rng``; traceable
        (``train_step`` is this, compiled). Returns the statistics dict of ``train_step``."""
        cfg, act_dim = self.config, self.spec.act_dim
        batch_size = tf.shape(batch["obs"])[0]
        uniform = self.rng.uniform([batch_size, cfg.value_particles, act_dim], -1.0, 1.0)
        xi = self.rng.normal([batch_size, cfg.kernel_particles, act_dim])
        return self.update_from_noise(batch, uniform, xi)

    def start_episode(self):
        """Nothing to reset: the policy's noise xi is drawn afresh at every step. The training loop
        calls it after every env reset (DDPG resets its exploration noise there)."""

    def collect_action(self, obs):
        """Normalized actions a = f(xi; s) [N, A] for data collection at ``obs`` [N, O], with
        xi ~ N(0, I) from ``self.rng`` (the paper's SQL adds no exploration noise), or, with a noise
        set, xi drawn uniformly from its first :meth:`noise_set_in_use` vectors; traceable."""
        count = tf.shape(obs)[0]
        if self.noise_set is None:
            xi = self.rng.normal([count, self.spec.act_dim])
        else:
            index = self.rng.uniform([count], 0, self.noise_set_in_use(), dtype=tf.int32)
            xi = tf.gather(self.noise_set, index)
        return self.sampler((obs, xi))

    def update_from_noise(self, batch, uniform, xi):
        """One SQL update given its random draws (``train_step`` draws them from ``self.rng``).

        Args:
          batch: transitions, as for ``train_step``.
          uniform: [B, M, A] value particles drawn from ``self.value_proposal`` (eq. 10), by
            default uniform on [-1, 1]^A.
          xi: [B, K, A] sampler noise, N(0, I) (eq. 13-14).

        Returns:
          the statistics dict of ``train_step``.
        """
        cfg = self.config
        obs, action = batch["obs"], batch["action"]

        # eq. 10: soft value of s' from the target Q at M uniform actions per state.
        next_q = self.target_q((batch["next_obs"], uniform))  # [B, M]
        v_next = losses.soft_value(next_q, uniform, self.value_proposal)  # [B]
        # eq. 11: regress Q(s, a) on the soft Bellman target.
        reward_scale = self.reward_scale()
        target = losses.soft_bellman_target(batch["reward"], batch["terminated"], v_next,
                                            reward_scale, cfg.discount)
        with tf.GradientTape() as tape:
            q_pred = self.q((obs, action))  # [B]
            q_loss = losses.soft_bellman_loss(q_pred, target)
        q_grads = tape.gradient(q_loss, self.q.trainable_variables)

        # eq. 13-14: amortized SVGD toward exp(Q), from the same Q parameters.
        log_density, pre_squash = svgd_target(self.q, cfg)
        policy_grads, phi, h = amortized_svgd_gradients(
            self.sampler, obs, xi, log_density, cfg.num_fixed, cfg.kernel_h_min,
            pre_squash=pre_squash)

        finite = updates.all_finite([q_loss] + q_grads + policy_grads)
        updates.apply_if_finite(
            finite, [(self.q_optimizer, q_grads, self.q.trainable_variables),
                     (self.policy_optimizer, policy_grads, self.sampler.trainable_variables)],
            self.step, [(self.target_q, self.q)], cfg.target_update_period, cfg.tau)
        stats = {
            "loss/q": q_loss,
            "q/mean": tf.reduce_mean(q_pred),
            "v_next/mean": tf.reduce_mean(v_next),
            "svgd/phi_norm": tf.reduce_mean(tf.norm(phi, axis=-1)),
            "kernel/bandwidth": tf.reduce_mean(h),
            "finite": finite,
        }
        if cfg.anneal_steps:
            stats["schedule/reward_scale"] = reward_scale
        if self.noise_set is not None:
            stats["schedule/noise_set_size"] = tf.cast(self.noise_set_in_use(), tf.float32)
        return stats
