"""The configs of a run, without TensorFlow: the learners' hyperparameters (:class:`SQLConfig`,
:class:`DDPGConfig`), the training loop's (:class:`LoopConfig`) and how a composition of soft
Q-functions fits its sampler (:class:`ComposeConfig`, :func:`composition_weights`), each validated
when built.

The command-line entry points build and check them before they import TensorFlow, so bad input
fails within a second; ``softq_tf.learners.sql.SQLConfig``, ``softq_tf.learners.ddpg.DDPGConfig``
and ``softq_tf.training.loop.LoopConfig`` are these classes.
"""
import dataclasses
import math

from softq_tf.learners.config_utils import (finite_floats, non_negative_int, positive_float,
                                            positive_int, require, validate_shared_fields)

NOISE_KINDS = ("ou", "gaussian")


def validate_noise(kind, sigma, theta=0.15):
    """Raises ValueError naming ``noise``, ``noise_sigma`` or ``noise_theta`` (the DDPGConfig
    fields) unless ``kind`` is one of :data:`NOISE_KINDS`, ``sigma`` > 0 and ``theta`` in (0, 1]."""
    require(kind in NOISE_KINDS, "noise", kind, f"must be one of {', '.join(NOISE_KINDS)}")
    positive_float("noise_sigma", sigma)
    require(isinstance(theta, (int, float)) and 0.0 < theta <= 1.0, "noise_theta", theta,
            "must be in (0, 1]")


SQUASH_CORRECTIONS = ("eps", "bijector")  # SQLConfig.squash_correction


@dataclasses.dataclass(frozen=True)
class SQLConfig:
    """Hyperparameters of soft Q-learning. Defaults: the authors' later, faster settings
    (docs/REPRODUCTION.md, "later code"); the paper's Appendix D.1 values are in
    ``paper_repro.profiles``.

    Attributes:
      hidden_sizes: ReLU layer widths of Q and of the sampler (paper: (200, 200); later code: 128s).
      q_lr: Adam learning rate of Q (paper 1e-3; later code 3e-4).
      policy_lr: Adam learning rate of the sampler (paper 1e-4; later code 3e-4).
      discount: gamma (0.99 in all of the authors' code).
      reward_scale: 1/alpha, the inverse entropy weight (paper: alpha = 0.1 -> 10 for locomotion).
      value_particles: M (K_V), uniform action samples for the soft value, eq. 10 (paper 50).
      kernel_particles: K, sampler particles per state for SVGD, eq. 13 (paper 32).
      kernel_update_ratio: fraction of the K particles that receive the Stein direction, as in
        both of the authors' implementations (``n_updated = int(K * ratio)``); the other
        K - n_updated are fixed and form the expectation in eq. 13. In (0, 1), leaving >= 2 fixed
        and >= 1 updated (K = 3 at 0.5: 1 updated, 2 fixed).
      kernel_h_min: floor on the kernel bandwidth.
      target_update_period: steps between target updates (paper 1000; swimmer 5000).
      tau: target update rate; 1.0 = hard copy (paper).
      squash_eps: epsilon in the tanh correction sum log(1 - a^2 + eps) (squash_correction "eps").
      squash_correction: how the SVGD target accounts for the sampler's tanh. "eps" (default, the
        authors' code): particles a = tanh(u), target Q(s, a) + sum log(1 - a^2 + squash_eps),
        kernel and Stein direction in a. "bijector": particles u (the sampler's pre-squash output),
        target Q(s, tanh u) + log-det-Jacobian of ``tfp.bijectors.Tanh``
        (:func:`softq_tf.learners.losses.tanh_log_density`), kernel and direction in u: the same
        target values up to eps, exact and finite at saturation, and the actions' target is
        exp(Q(s, a)) itself (the eps form's: exp(Q) (1 - a^2)); ``svgd/phi_norm`` and
        ``kernel/bandwidth`` are then in u.
      greedy_candidates: actions sampled per state by ``policy.greedy_action``.
      jit_compile: compile ``train_step`` with XLA (fuses the many small ops of the kernel and the
        particle layers; measured faster on CPU by ``benchmarks.throughput``). Same math; results
        differ from the plain graph only by float rounding.
      anneal_steps: fine-tuning (Appendix D.1: 20 epochs = 200,000): over this many updates alpha
        falls log-linearly from 1/``reward_scale`` to 1/``final_reward_scale``, i.e. the reward
        scale rises from ``reward_scale`` (set it to the pretrained run's) to
        ``final_reward_scale``, and stays there. 0 (default): the reward scale stays
        ``reward_scale``.
      final_reward_scale: 1/alpha at the end of annealing (Appendix D.1: alpha 0.001 -> 1000);
        must be >= ``reward_scale`` (alpha only falls) when ``anneal_steps`` > 0.
      noise_set_size: fine-tuning: K_xi > 0 draws the acting noise xi uniformly from a fixed set of
        K_xi vectors (drawn once from N(0, I) with the seed) instead of afresh from N(0, I).
        0 (default): fresh noise. The SVGD particles of the update always use fresh noise.
      noise_set_steps: over this many updates the set in use shrinks linearly from K_xi vectors to
        the first one (Appendix D.1: 20 epochs), so acting becomes deterministic; 0: the whole set
        throughout.
    """

    hidden_sizes: tuple = (128, 128)
    q_lr: float = 3e-4
    policy_lr: float = 3e-4
    discount: float = 0.99
    reward_scale: float = 1.0
    value_particles: int = 16
    kernel_particles: int = 16
    kernel_update_ratio: float = 0.5
    kernel_h_min: float = 1e-3
    target_update_period: int = 1000
    tau: float = 1.0
    squash_eps: float = 1e-6
    squash_correction: str = "eps"
    greedy_candidates: int = 64
    jit_compile: bool = True
    anneal_steps: int = 0
    final_reward_scale: float = 1000.0
    noise_set_size: int = 0
    noise_set_steps: int = 0

    def __post_init__(self):
        validate_shared_fields(self)
        for name in ("kernel_h_min", "squash_eps", "final_reward_scale"):
            positive_float(name, getattr(self, name))
        for name in ("anneal_steps", "noise_set_size", "noise_set_steps"):
            non_negative_int(name, getattr(self, name))
        require(not self.anneal_steps or self.final_reward_scale >= self.reward_scale,
                "final_reward_scale", self.final_reward_scale,
                f"must be >= reward_scale={self.reward_scale!r}: annealing only lowers alpha "
                "(1/reward_scale), so the final alpha cannot be above the start")
        require(not self.noise_set_steps or self.noise_set_size > 0, "noise_set_steps",
                self.noise_set_steps, "needs noise_set_size > 0 (the set that shrinks)")
        require(self.squash_correction in SQUASH_CORRECTIONS, "squash_correction",
                self.squash_correction, f"must be one of {SQUASH_CORRECTIONS}")
        for name in ("value_particles", "kernel_particles", "greedy_candidates"):
            positive_int(name, getattr(self, name))
        require(0.0 < self.kernel_update_ratio < 1.0, "kernel_update_ratio",
                self.kernel_update_ratio, "must be in the open interval (0, 1)")
        require(self.num_fixed >= 2 and self.kernel_particles - self.num_fixed >= 1,
                "kernel_update_ratio", self.kernel_update_ratio,
                f"with kernel_particles={self.kernel_particles} it must leave >= 2 fixed and "
                ">= 1 updated particles")

    @property
    def num_fixed(self):
        """Particles per state that the SVGD expectation runs over: K - int(K * ratio), the
        authors' split."""
        return self.kernel_particles - int(self.kernel_particles * self.kernel_update_ratio)


@dataclasses.dataclass(frozen=True)
class DDPGConfig:
    """Hyperparameters of the DDPG baseline. Defaults match :class:`SQLConfig`'s
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
        validate_noise(self.noise, self.noise_sigma, self.noise_theta)


@dataclasses.dataclass(frozen=True)
class LoopConfig:
    """How long and how to train (paper Appendix D.1 values in ``paper_repro.profiles``).

    Attributes:
      total_steps: environment steps in the whole run.
      batch_size: transitions per update (paper 64; later code 128).
      min_pool: steps before learning starts (paper 1e4), taken with uniform random actions or,
        with ``random_warmup=False``, with the learner's policy.
      replay_capacity: replay pool size (paper 1e6).
      updates_per_step: gradient updates per environment step (paper 1).
      log_every: steps between progress rows and progress lines.
      eval_every: steps between evaluations (0 = never).
      eval_episodes: episodes per evaluation.
      checkpoint_every: steps between checkpoints (0 = only at the end of the run).
      keep_checkpoints: how many recent checkpoints are kept.
      random_warmup: act uniformly at random during the ``min_pool`` warm-up (True) or with the
        learner's policy (False), as the authors' code does and as fine-tuning needs: a pretrained
        policy explores from the first step instead of being replaced by noise.
      overlap_env_step: run each step's updates while the environment takes the next step (on a
        worker thread, see :class:`TrainAndAct`): faster, and each action comes from the networks
        one update behind. False keeps Algorithm 1's exact order (update, then act).
    """

    total_steps: int = 100_000
    batch_size: int = 128
    min_pool: int = 1000
    replay_capacity: int = 1_000_000
    updates_per_step: int = 1
    log_every: int = 1000
    eval_every: int = 0
    eval_episodes: int = 5
    checkpoint_every: int = 10_000
    keep_checkpoints: int = 3
    random_warmup: bool = True
    overlap_env_step: bool = True

    def __post_init__(self):
        finite_floats(self)
        for name in ("total_steps", "batch_size", "replay_capacity", "updates_per_step",
                     "log_every", "eval_episodes", "keep_checkpoints"):
            positive_int(name, getattr(self, name))
        for name in ("min_pool", "eval_every", "checkpoint_every"):
            non_negative_int(name, getattr(self, name))
        for name in ("random_warmup", "overlap_env_step"):
            require(isinstance(getattr(self, name), bool), name, getattr(self, name),
                    "must be True or False")


def composition_weights(weights, count, normalize=False):
    """The weights w_i of a composed soft Q-function sum_i w_i Q_i of ``count`` constituents, as a
    tuple of floats.

    Weights summing to one keep the constituents' alpha: sum_i w_i Q_i approximates the soft Q of
    the reward sum_i w_i r_i, which for equal weights is the mean reward, so "sum or mean" is one
    answer. Weights summing to s != 1 would act as alpha / s (a colder or hotter policy); they are
    refused unless ``normalize`` divides them by their sum.

    Args:
      weights: one number per constituent; None or empty: equal weights 1 / ``count``.
      count: the number of constituents.
      normalize: divide the weights by their sum (which must then be > 0) instead of requiring
        that they sum to one.

    Raises:
      ValueError: one line naming the weights: the wrong count, a negative or non-finite weight,
        or (without ``normalize``) a sum other than 1 (within 1e-6).
    """
    if not weights:
        return (1.0 / count,) * count
    try:
        values = tuple(float(w) for w in weights)
    except (TypeError, ValueError):
        values = (math.nan,)
    text = ",".join(str(w) for w in weights)
    require(len(values) == count, "weights", text,
            f"give one weight per run: {len(values)} given for {count} runs")
    require(all(math.isfinite(w) and w >= 0 for w in values), "weights", text,
            "every weight must be a finite number >= 0")
    total = sum(values)
    if normalize:
        require(total > 0, "weights", text, "with normalization their sum must be > 0")
        return tuple(w / total for w in values)
    require(abs(total - 1.0) <= 1e-6, "weights", text,
            f"they sum to {total:g}, not 1 (a sum s != 1 acts as alpha / s); give weights "
            "summing to 1 or normalize them (--normalize)")
    return values


@dataclasses.dataclass(frozen=True)
class ComposeConfig:
    """How a composed policy's sampling network is fit to exp(sum_i w_i Q_i) by amortized SVGD,
    with no environment step (:mod:`softq_tf.learners.compose`). The SVGD settings (K, the kernel,
    the squash correction, the learning rate, the network's size) are the constituents' SQL
    config's.

    Attributes:
      steps: SVGD updates of the sampler (eq. 13-14).
      batch_size: states per update, drawn uniformly from the constituents' replay pools.
      init_sampler: 0: a fresh sampler (seeded); i >= 1: start from the sampler of the i-th
        constituent (1-based, in the order given).
      log_every: updates between progress rows.
      checkpoint_every: updates between checkpoints (0 = only at the end).
      keep_checkpoints: how many recent checkpoints are kept.
    """

    steps: int = 5000
    batch_size: int = 128
    init_sampler: int = 0
    log_every: int = 500
    checkpoint_every: int = 1000
    keep_checkpoints: int = 3

    def __post_init__(self):
        for name in ("steps", "batch_size", "log_every", "keep_checkpoints"):
            positive_int(name, getattr(self, name))
        for name in ("init_sampler", "checkpoint_every"):
            non_negative_int(name, getattr(self, name))
