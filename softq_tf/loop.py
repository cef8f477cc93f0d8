"""The environment loop of Algorithm 1: collect with the current policy, store, update, log, save.

Data flow: env.reset(seed) -> action (uniform on [-1, 1]^A for the first ``min_pool`` steps, then
``policy.normalized_action(obs, xi)``) -> env.step -> replay.add(obs, action, reward, next_obs,
terminated). Only ``terminated`` is stored: a time-limit truncation still bootstraps from V(s').
"""
import collections
import dataclasses
import math
import time

import numpy as np
from absl import logging

from softq_tf.checkpoint import Checkpointer
from softq_tf.config_utils import positive_int, require
from softq_tf.metrics import MetricsWriter
from softq_tf.replay import ReplayBuffer


class NonFiniteError(RuntimeError):
    """Raised when the environment or the update produces NaN or Inf."""


@dataclasses.dataclass(frozen=True)
class LoopConfig:
    """How long and how to train (paper Appendix D.1 values in ``paper_repro.profiles``).

    Attributes:
      total_steps: environment steps in the whole run.
      batch_size: transitions per update (paper 64; later code 128).
      min_pool: steps with uniform random actions before learning starts (paper 1e4).
      replay_capacity: replay pool size (paper 1e6).
      updates_per_step: gradient updates per environment step (paper 1).
      log_every: steps between progress rows and progress lines.
      eval_every: steps between evaluations (0 = never).
      eval_episodes: episodes per evaluation.
      checkpoint_every: steps between checkpoints (0 = only at the end of the run).
      keep_checkpoints: how many recent checkpoints are kept.
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

    def __post_init__(self):
        for name in ("total_steps", "batch_size", "replay_capacity", "updates_per_step",
                     "log_every", "eval_episodes", "keep_checkpoints"):
            positive_int(name, getattr(self, name))
        for name in ("min_pool", "eval_every", "checkpoint_every"):
            value = getattr(self, name)
            require(isinstance(value, int) and value >= 0, name, value,
                    "must be a non-negative integer")


def rollout(env, policy, rng, seed=None):
    """Runs one episode with ``policy.action_from_noise`` and noise from ``rng``.

    Returns:
      dict with ``observations`` [T + 1, O], ``actions`` [T, A] (env bounds), ``rewards`` [T],
      ``terminated`` (bool) and ``final_info`` (the last step's info dict).
    """
    obs, info = env.reset(seed=seed)
    observations, actions, rewards = [obs], [], []
    done, terminated = False, False
    act_dim = env.action_space.shape[0]
    while not done:
        xi = rng.standard_normal((1, act_dim)).astype(np.float32)
        action = policy.action_from_noise(np.asarray(obs, np.float32)[None], xi)[0].numpy()
        obs, reward, terminated, truncated, info = env.step(action)
        observations.append(obs)
        actions.append(action)
        rewards.append(reward)
        done = terminated or truncated
    return dict(observations=np.asarray(observations), actions=np.asarray(actions),
                rewards=np.asarray(rewards, np.float64), terminated=bool(terminated),
                final_info=info)


def evaluate(env, policy, episodes, seed):
    """Mean undiscounted return and length of ``episodes`` rollouts (episode i reset with seed + i)."""
    rng = np.random.default_rng(seed)
    runs = [rollout(env, policy, rng, seed + i) for i in range(episodes)]
    return (float(np.mean([r["rewards"].sum() for r in runs])),
            float(np.mean([len(r["rewards"]) for r in runs])))


def _check_finite(env_id, step, **values):
    for name, value in values.items():
        if not np.all(np.isfinite(value)):
            raise NonFiniteError(f"env {env_id} returned a non-finite {name} ({value!r}) at "
                                 f"step {step}; training stopped")


class _Progress:
    """Counts episodes and timing, and turns them into progress rows and lines."""

    def __init__(self, total_steps, start_step, episodes):
        self.total = total_steps
        self.episodes = episodes
        self.returns = collections.deque(maxlen=10)
        self.lengths = collections.deque(maxlen=10)
        self._start, self._last_time, self._last_step = time.time(), time.time(), start_step

    def row(self, step, stats, eval_result):
        now = time.time()
        sps = (step - self._last_step) / max(now - self._last_time, 1e-9)
        self._last_time, self._last_step = now, step
        mean = (lambda xs: float(np.mean(xs)) if xs else float("nan"))
        row = dict(step=step, episodes=self.episodes, episode_return=mean(self.returns),
                   episode_length=mean(self.lengths), steps_per_sec=sps,
                   elapsed_sec=now - self._start,
                   eval_return=eval_result[0] if eval_result else "")
        row.update({k: float(v) for k, v in stats.items() if k != "finite"})
        eta = (self.total - step) / max(sps, 1e-9)
        logging.info("step %d/%d (%.0f%%) | %.0f steps/s | return %.3g | eta %.0fs", step,
                     self.total, 100.0 * step / self.total, sps, row["episode_return"], eta)
        return row


def train(env, learner, config, logdir=None, seed=0, eval_env=None, resume=False, env_id=None,
          replay=None):
    """Trains ``learner`` on ``env`` for ``config.total_steps`` environment steps.

    Args:
      env: a Gymnasium env whose action space matches ``learner.spec``.
      learner: e.g. :class:`softq_tf.sql.SoftQLearner` (``policy``, ``train_step``, ``spec``).
      config: :class:`LoopConfig`.
      logdir: where progress.csv, TensorBoard files and checkpoints go (None: nothing is written).
      seed: seeds the numpy generator (actions, replay sampling) and the first env reset.
      eval_env: env for evaluations (defaults to ``env``).
      resume: continue from the newest loadable checkpoint in ``logdir`` if there is one.
      env_id: name used in error messages.
      replay: the buffer to fill (default: a new one of ``config.replay_capacity``); pass one to
        pre-load transitions or to inspect them afterwards. A resumed checkpoint's buffer replaces it.

    Returns:
      dict with ``steps``, ``episodes`` and ``last_stats`` (the final update's statistics).

    Raises:
      NonFiniteError: the env returned NaN/Inf or an update was non-finite; a checkpoint of the last
        finite state is written first.
    """
    spec, env_id = learner.spec, env_id or str(env.spec.id if env.spec else env)
    if replay is None:
        replay = ReplayBuffer(config.replay_capacity, spec.obs_dim, spec.act_dim)
    rng = np.random.default_rng(seed)
    step, episodes = 0, 0
    checkpointer = None
    if logdir is not None:
        checkpointer = Checkpointer(f"{logdir}/checkpoints", learner, config.keep_checkpoints)
        restored = checkpointer.restore_latest() if resume else None
        if restored is not None:
            replay, loop_state = restored
            step, episodes = loop_state["step"], loop_state["episodes"]
            rng.bit_generator.state = loop_state["rng"]
    writer = MetricsWriter(logdir, learner.stat_names, resume_step=step) if logdir else None
    progress = _Progress(config.total_steps, step, episodes)
    stats = {}

    def save_checkpoint():
        if checkpointer is not None:
            checkpointer.save(step, replay, dict(step=step, episodes=progress.episodes,
                                                 rng=rng.bit_generator.state))

    # After a resume the interrupted episode cannot be restored: a new one starts.
    obs, _ = env.reset(seed=seed + 7919 * episodes)
    episode_return, episode_length = 0.0, 0
    try:
        while step < config.total_steps:
            if step < config.min_pool:
                action = rng.uniform(-1.0, 1.0, spec.act_dim).astype(np.float32)
            else:
                xi = rng.standard_normal((1, spec.act_dim)).astype(np.float32)
                action = learner.policy.normalized_action(
                    np.asarray(obs, np.float32)[None], xi)[0].numpy()
            next_obs, reward, terminated, truncated, _ = env.step(spec.to_env_action(action))
            _check_finite(env_id, step + 1, observation=next_obs, reward=reward)
            replay.add(obs, action, reward, next_obs, terminated)
            step += 1
            episode_return += float(reward)
            episode_length += 1
            obs = next_obs
            if terminated or truncated:
                progress.episodes += 1
                progress.returns.append(episode_return)
                progress.lengths.append(episode_length)
                obs, _ = env.reset()
                episode_return, episode_length = 0.0, 0

            if step >= config.min_pool:
                for _ in range(config.updates_per_step):
                    stats = learner.train_step(replay.sample(config.batch_size, rng))
                    if not bool(stats["finite"]):
                        raise NonFiniteError(
                            f"non-finite loss or gradient at step {step} on env {env_id} "
                            f"(loss/q={float(stats['loss/q'])}); training stopped, the last "
                            "finite state is checkpointed")

            eval_result = None
            if config.eval_every and step % config.eval_every == 0:
                eval_result = evaluate(eval_env or env, learner.policy, config.eval_episodes,
                                       seed=10_000 + step)
            if step % config.log_every == 0 or step == config.total_steps or eval_result:
                row = progress.row(step, stats, eval_result)
                if writer:
                    writer.write(row)
            if config.checkpoint_every and step % config.checkpoint_every == 0:
                save_checkpoint()
    except NonFiniteError:
        save_checkpoint()
        raise
    finally:
        if writer:
            writer.close()
    if not config.checkpoint_every or step % config.checkpoint_every:
        save_checkpoint()
    return dict(steps=step, episodes=progress.episodes,
                last_stats={k: float(v) for k, v in stats.items()})
