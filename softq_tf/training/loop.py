"""The environment loop of Algorithm 1: collect with the current policy, store, update, log, save.

Data flow: env.reset(seed) and ``learner.start_episode()`` -> action (uniform on [-1, 1]^A for the
first ``min_pool`` steps unless ``LoopConfig.random_warmup`` is False, then the learner's
``collect_action``) -> env.step -> store (obs, action, reward, next_obs, terminated).
Only ``terminated`` is stored: a time-limit truncation still bootstraps from V(s'). After warm-up,
:class:`TrainAndAct` stores the transition, runs the updates on minibatches it samples from the
replay buffer in the graph, and returns the next action. By default
(``LoopConfig.overlap_env_step``) it samples the action first and the updates then run on a worker
thread while the environment takes that action's step; serially, it is one graph call per step in
Algorithm 1's order (:mod:`softq_tf.training.graph_step`). Evaluations run
:func:`softq_tf.training.evaluation.evaluate`; :class:`LoopCallback` objects hear of every progress
row and checkpoint written.
"""
import collections
import os
import time

import numpy as np
import tensorflow as tf
from absl import logging

from softq_tf.training.checkpoint import Checkpointer
from softq_tf.learners.configs import LoopConfig
from softq_tf.training.evaluation import evaluate
from softq_tf.training.graph_step import TrainAndAct
from softq_tf.training.metrics import EpisodeMetrics, MetricsWriter
from softq_tf.training.replay import ReplayBuffer
from softq_tf.learners.specs import EnvSpec


class NonFiniteError(RuntimeError):
    """Raised when the environment or the update produces NaN or Inf."""


class StopRequested(Exception):
    """Raised by :func:`train` when its ``stop`` callable asked for a stop.

    Attributes:
      step: the environment steps done; with a ``logdir``, the newest checkpoint is at this step,
        so ``train(..., resume=True)`` continues from exactly here.
    """

    def __init__(self, step):
        super().__init__(f"training stopped on request at step {step}")
        self.step = step


class LoopCallback:
    """What :func:`train` tells of its outputs as it writes them; subclass it and override the
    methods you need (here they do nothing). Pass instances as ``train(..., callbacks=[...])``.

    A Ray Tune trainable, for example, reports each row from :meth:`on_log` and hands Tune the
    folder from :meth:`on_checkpoint`. The calls run on the training thread between environment
    steps, so a slow callback slows training; an exception a callback raises ends training and
    propagates out of :func:`train`.
    """

    def on_log(self, step, row):
        """Called after the progress row of ``step`` is written to ``progress.csv`` (computed alike
        without a ``logdir``): ``row`` is that row as a dict of column -> value (a copy)."""

    def on_checkpoint(self, step, checkpoint_dir):
        """Called after checkpoint ``ckpt-<step>`` is completely written (all its files, and
        TensorFlow's state file listing it) to ``checkpoint_dir``, i.e. ``<logdir>/checkpoints``:
        the periodic ones, the one at the end of the run, and those written on a stop request or
        before a :class:`NonFiniteError`. Never called without a ``logdir``."""


def _check_finite(env_id, step, **values):
    """Raises NonFiniteError naming the env, the step and the value unless all are finite."""
    for name, value in values.items():
        if not np.isfinite(value).all():
            raise NonFiniteError(f"env {env_id} returned a non-finite {name} ({value!r}) at "
                                 f"step {step}; training stopped")


def _check_compatible(env, learner, config):
    """Raises TypeError / ValueError when ``config`` is no LoopConfig or env and learner
    disagree."""
    if not isinstance(config, LoopConfig):
        raise TypeError(f"config must be a softq_tf.LoopConfig, got {type(config).__name__}")
    env_spec = EnvSpec.from_env(env)
    if env_spec != learner.spec:
        raise ValueError(f"env spec {env_spec} does not match the learner's spec {learner.spec}: "
                         "build the learner with EnvSpec.from_env(env)")


class _Progress:
    """Counts episodes, the task's episode metrics and timing, and turns them into progress rows
    and lines.

    ``state()`` is what a checkpoint keeps of it (episode count, the returns and lengths behind the
    ``episode_return`` / ``episode_length`` columns, the metrics of the interval so far), so rows
    after a resume hold the same values.
    """

    def __init__(self, total_steps, start_step, env, state=None):
        state = state or {}
        self.total = total_steps
        self.episodes = state.get("episodes", 0)
        self.returns = collections.deque(state.get("returns", ()), maxlen=10)
        self.lengths = collections.deque(state.get("lengths", ()), maxlen=10)
        self.metrics = EpisodeMetrics.of_env(env, state.get("metrics"))
        self._start, self._last_time, self._last_step = time.time(), time.time(), start_step

    def state(self):
        return dict(episodes=self.episodes, returns=list(self.returns), lengths=list(self.lengths),
                    metrics=self.metrics.state())

    def end_episode(self, episode_return, episode_length):
        self.episodes += 1
        self.returns.append(episode_return)
        self.lengths.append(episode_length)

    def row(self, step, stats, eval_result):
        now = time.time()
        sps = (step - self._last_step) / max(now - self._last_time, 1e-9)
        self._last_time, self._last_step = now, step
        mean = (lambda xs: float(np.mean(xs)) if xs else float("nan"))
        row = dict(step=step, episodes=self.episodes, episode_return=mean(self.returns),
                   episode_length=mean(self.lengths), steps_per_sec=sps,
                   elapsed_sec=now - self._start,
                   eval_return=eval_result[0] if eval_result else "")
        row.update(self.metrics.take_row())
        row.update({k: float(v) for k, v in stats.items() if k != "finite"})
        eta = (self.total - step) / max(sps, 1e-9)
        logging.info("step %d/%d (%.0f%%) | %.0f steps/s | return %.3g | eta %.0fs", step,
                     self.total, 100.0 * step / self.total, sps, row["episode_return"], eta)
        return row


def _reset(env, env_id, seed, episodes, step):
    """Starts episode number ``episodes`` with its own seed, so a resumed run restarts it the
    same."""
    obs, _ = env.reset(seed=seed + 7919 * episodes)
    _check_finite(env_id, step, **{"observation from reset": obs})
    return obs


class _Run:
    """One :func:`train` call's state, carried from one environment step to the next, and what
    reads or changes it: the checkpoint, the check of each update, the progress row.

    Attributes:
      replay: the buffer being filled (a resumed checkpoint's, if any).
      rng: the loop's numpy generator (warm-up actions).
      step: environment steps done.
      episode_length: steps of the running episode.
      next_action, next_env_action: the action chosen for the next step, normalized and in the env's
        bounds (see :class:`softq_tf.training.graph_step.TrainAndAct`), or None; kept in checkpoints
        taken at an episode boundary, where the resumed run restarts from the very same reset
        observation.
      saved_step: the step of the newest checkpoint on disk, if known.
      stats: the statistics of the last finite update.
      progress: the run's :class:`_Progress`.
    """

    def __init__(self, env, learner, config, replay, logdir, seed, resume, env_id, callbacks):
        self.replay, self.env_id, self.callbacks = replay, env_id, tuple(callbacks)
        self.rng = np.random.default_rng(seed)
        self.step, self.episode_length, self.saved_step, self.stats = 0, 0, None, {}
        self.next_action = self.next_env_action = None
        self.checkpointer, progress_state = None, None
        if logdir is not None:
            os.makedirs(logdir, exist_ok=True)
            self.checkpointer = Checkpointer(f"{logdir}/checkpoints", learner,
                                             config.keep_checkpoints)
            restored = self.checkpointer.restore_latest() if resume else None
            if restored is not None:
                self.replay, loop_state = restored
                progress_state = self._restore(loop_state)
        self.progress = _Progress(config.total_steps, self.step, env, progress_state)
        self.writer = (MetricsWriter(logdir, self.progress.metrics.columns
                                     + tuple(learner.stat_names), resume_step=self.step)
                       if logdir else None)

    def _restore(self, loop_state):
        """Takes the step, generator and next action of a checkpoint's loop state; returns its
        progress state."""
        self.step = self.saved_step = loop_state["step"]
        self.rng.bit_generator.state = loop_state["rng"]
        if loop_state["next_action"] is not None:
            self.next_action = np.asarray(loop_state["next_action"], np.float32)
            self.next_env_action = np.asarray(loop_state["next_env_action"], np.float32)
        return loop_state["progress"]

    def save_checkpoint(self):
        """Writes a checkpoint at the current step (with a ``logdir``), then tells the callbacks."""
        if self.checkpointer is None:
            return
        at_boundary = self.next_action is not None and self.episode_length == 0
        self.checkpointer.save(self.step, self.replay, dict(
            step=self.step, progress=self.progress.state(), rng=self.rng.bit_generator.state,
            next_action=self.next_action.tolist() if at_boundary else None,
            next_env_action=self.next_env_action.tolist() if at_boundary else None))
        self.saved_step = self.step
        for callback in self.callbacks:
            callback.on_checkpoint(self.step, self.checkpointer.directory)

    def check_updates(self, finished):
        """Keeps the statistics of the updates of this step (None: none finished) unless they
        are non-finite, which stops training."""
        if finished is None:
            return
        if not finished["finite"]:
            raise NonFiniteError(
                f"non-finite loss or gradient at step {self.step} on env {self.env_id} "
                f"(loss/q={float(finished['loss/q'])}); training stopped, the last "
                "finite state is checkpointed")
        self.stats = finished

    def log(self, eval_result):
        """Writes the progress row of the current step (with a ``logdir``), then tells the
        callbacks."""
        row = self.progress.row(self.step, self.stats, eval_result)
        if self.writer:
            self.writer.write(row)
        for callback in self.callbacks:
            callback.on_log(self.step, dict(row))

    def close(self):
        """Closes the progress writer."""
        if self.writer:
            self.writer.close()


def _check_callbacks(callbacks):
    """Raises TypeError naming the first of ``callbacks`` that is no :class:`LoopCallback`."""
    for callback in callbacks:
        if not isinstance(callback, LoopCallback):
            raise TypeError(f"callbacks must be softq_tf.LoopCallback objects, got "
                            f"{type(callback).__name__} ({callback!r})")


def train(env, learner, config, logdir=None, seed=0, eval_env=None, resume=False, env_id=None,
          replay=None, stop=None, callbacks=()):
    """Trains ``learner`` on ``env`` for ``config.total_steps`` environment steps.

    Args:
      env: a Gymnasium env whose spaces match ``learner.spec``. The ``info`` values its unwrapped
        env declares as ``episode_metrics`` become ``progress.csv`` columns, reduced over each log
        interval (:class:`softq_tf.training.metrics.EpisodeMetrics`).
      learner: a :class:`softq_tf.learners.learner.Learner` (e.g.
        :class:`softq_tf.learners.sql.SoftQLearner` or :class:`softq_tf.learners.ddpg.DDPGLearner`).
      config: :class:`LoopConfig`.
      logdir: where progress.csv, TensorBoard files and checkpoints go (None: nothing is written).
      seed: seeds the numpy generator (warm-up actions) and the env resets (episode i is reset
        with ``seed + 7919 * i``); minibatches and the policy's noise come from ``learner.rng``.
      eval_env: env for evaluations (defaults to ``env``).
      resume: continue from the newest loadable checkpoint in ``logdir`` if there is one (see
        :mod:`softq_tf.training.checkpoint` for what is restored exactly).
      env_id: name used in error messages.
      replay: the buffer to fill (default: a new one of ``config.replay_capacity``); pass one to
        pre-load transitions or to inspect them afterwards. A resumed checkpoint's buffer
        replaces it.
      stop: a callable without arguments (e.g. ``threading.Event().is_set``) polled before every
        environment step; once it returns true, training waits for the update in flight, writes a
        checkpoint at the current step (with a ``logdir``) and raises :class:`StopRequested`.
        ``python -m softq_tf.train`` sets it on SIGTERM and SIGINT.
      callbacks: :class:`LoopCallback` objects, told of every progress row and checkpoint written,
        in this order.

    Returns:
      dict with ``steps``, ``episodes`` and ``last_stats`` (the final update's statistics).

    Raises:
      TypeError, ValueError: ``config`` is not a LoopConfig, a callback is no LoopCallback, env
        and learner disagree, or checkpoints exist in ``logdir`` but none loads (with ``resume``).
      NonFiniteError: the env returned NaN/Inf (from ``step`` or ``reset``) or an update was
        non-finite; a checkpoint of the last finite state is written first.
      StopRequested: ``stop`` returned true before the run's last step; a checkpoint at that step
        is written first.
    """
    _check_compatible(env, learner, config)
    _check_callbacks(callbacks)
    spec, env_id = learner.spec, env_id or str(env.spec.id if env.spec else env)
    if replay is None:
        replay = ReplayBuffer(config.replay_capacity, spec.obs_dim, spec.act_dim)
    run = _Run(env, learner, config, replay, logdir, seed, resume, env_id, callbacks)
    train_and_act = None
    try:
        # After a resume the interrupted episode cannot be continued: it starts again from reset.
        obs = _reset(env, env_id, seed, run.progress.episodes, run.step)
        if run.next_action is None:  # else the checkpoint was taken after the episode had started
            learner.start_episode()
        episode_return = 0.0
        train_and_act = TrainAndAct(learner, run.replay, config.batch_size,
                                    config.updates_per_step, overlap=config.overlap_env_step)
        collect_action = tf.function(learner.collect_action, input_signature=[
            tf.TensorSpec([1, spec.obs_dim], tf.float32)])
        while run.step < config.total_steps:
            # Here the previous step is complete (stored, logged, checkpointed if due) but for the
            # overlapped update, which the checkpoint must include.
            if stop is not None and stop():
                run.check_updates(train_and_act.wait())
                if run.saved_step != run.step:
                    run.save_checkpoint()
                raise StopRequested(run.step)
            if run.step < config.min_pool and config.random_warmup:
                action = run.rng.uniform(-1.0, 1.0, spec.act_dim).astype(np.float32)
                env_action = spec.to_env_action(action)
            elif run.next_action is not None:
                action, env_action = run.next_action, run.next_env_action
            else:  # the policy's warm-up, step 0 with min_pool = 0, or a resume mid-episode
                action = collect_action(np.asarray(obs, np.float32)[None]).numpy()[0]
                env_action = spec.to_env_action(action)
            next_obs, reward, terminated, truncated, info = env.step(env_action)
            run.check_updates(train_and_act.wait())  # overlapped: they ran during env.step
            _check_finite(env_id, run.step + 1, observation=next_obs, reward=reward)
            run.progress.metrics.observe(info)
            transition = (obs, action, reward, next_obs, terminated)
            run.step += 1
            episode_return += float(reward)
            run.episode_length += 1
            obs = next_obs
            if terminated or truncated:
                run.progress.end_episode(episode_return, run.episode_length)
                obs = _reset(env, env_id, seed, run.progress.episodes, run.step)
                learner.start_episode()
                episode_return, run.episode_length = 0.0, 0

            run.next_action = None
            if run.step < config.min_pool:
                run.replay.add(*transition)
            else:  # store, update and pick the next action (overlapped: the updates only start)
                run.next_action, run.next_env_action, finished = train_and_act(transition, obs)
                run.check_updates(finished)

            step = run.step
            eval_due = config.eval_every and step % config.eval_every == 0
            log_due = step % config.log_every == 0 or step == config.total_steps or eval_due
            checkpoint_due = config.checkpoint_every and step % config.checkpoint_every == 0
            if eval_due or log_due or checkpoint_due:
                run.check_updates(train_and_act.wait())
            eval_result = None
            if eval_due:
                eval_result = evaluate(eval_env or env, learner.policy, config.eval_episodes,
                                       seed=10_000 + step)
            if log_due:
                run.log(eval_result)
            if checkpoint_due:
                run.save_checkpoint()
        run.check_updates(train_and_act.wait())
    except NonFiniteError:
        run.save_checkpoint()
        raise
    finally:
        if train_and_act is not None:
            train_and_act.close()
        run.close()
    if not config.checkpoint_every or run.step % config.checkpoint_every:
        run.save_checkpoint()
    return dict(steps=run.step, episodes=run.progress.episodes,
                last_stats={k: float(v) for k, v in run.stats.items()})
