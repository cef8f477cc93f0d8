"""The environment loop of Algorithm 1: collect with the current policy, store, update, log, save.

Data flow: env.reset(seed) and ``learner.start_episode()`` -> action (uniform on [-1, 1]^A for the
first ``min_pool`` steps unless ``LoopConfig.random_warmup`` is False, then the learner's
``collect_action``) -> env.step -> store (obs, action, reward, next_obs, terminated).
Only ``terminated`` is stored: a time-limit truncation still bootstraps from V(s'). After warm-up,
:class:`TrainAndAct` stores the transition, runs the updates on minibatches it samples from the
replay buffer in the graph, and returns the next action. By default
(``LoopConfig.overlap_env_step``) it samples the action first and the updates then run on a worker
thread while the environment takes that action's step; serially, it is one graph call per step in
Algorithm 1's order.
"""
import collections
import concurrent.futures
import os
import time

import numpy as np
import tensorflow as tf
from absl import logging

from softq_tf.checkpoint import Checkpointer
from softq_tf.configs import LoopConfig
from softq_tf.metrics import EpisodeMetrics, MetricsWriter
from softq_tf.replay import ReplayBuffer, pack_transition
from softq_tf.specs import EnvSpec, denormalize_action


_ALIGN_FLOATS = 16  # 64 bytes, the alignment TensorFlow's CPU kernels require of tensor memory


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


def rollout(env, policy, rng, seed=None):
    """Runs one episode with ``policy.action_from_noise`` and noise from ``rng``.

    Returns:
      dict with ``observations`` [T + 1, O], ``actions`` [T, A] (env bounds), ``rewards`` [T],
      ``terminated`` (bool), ``infos`` (the reset's info dict, then every step's: T + 1, beside
      the observations) and ``final_info`` (the last step's info dict).
    """
    obs, info = env.reset(seed=seed)
    observations, actions, rewards, infos = [obs], [], [], [info]
    done, terminated = False, False
    act_dim = env.action_space.shape[0]
    while not done:
        xi = rng.standard_normal((1, act_dim)).astype(np.float32)
        action = policy.action_from_noise(np.asarray(obs, np.float32)[None], xi).numpy()[0]
        obs, reward, terminated, truncated, info = env.step(action)
        observations.append(obs)
        actions.append(action)
        rewards.append(reward)
        infos.append(info)
        done = terminated or truncated
    return dict(observations=np.asarray(observations), actions=np.asarray(actions),
                rewards=np.asarray(rewards, np.float64), terminated=bool(terminated),
                infos=infos, final_info=info)


def evaluate(env, policy, episodes, seed):
    """Mean undiscounted return and length of ``episodes`` rollouts (episode i reset with seed + i)."""
    rng = np.random.default_rng(seed)
    runs = [rollout(env, policy, rng, seed + i) for i in range(episodes)]
    return (float(np.mean([r["rewards"].sum() for r in runs])),
            float(np.mean([len(r["rewards"]) for r in runs])))


class TrainAndAct:
    """The training loop's graph calls once learning has started: store, update, act.

    Serial (``overlap=False``), in Algorithm 1's order, in one graph call per environment step:
    store the transition just taken in ``replay`` (paper: "replay memory D"), run
    ``updates_per_step`` updates of ``learner`` on minibatches sampled uniformly in the graph with
    ``learner.rng``, then sample the next action with the updated networks. One call instead of
    several, and no minibatch copied from numpy, because per-call and per-copy overheads are a large
    share of a step on a CPU (``benchmarks/README.md``).

    Overlapped (``overlap=True``): one call stores the transition and samples the next action, then
    the updates start in a second call on a worker thread, so they run while the caller steps the
    environment with that action; :meth:`wait` collects them. The updates and their minibatches are
    the same as in the serial order; the difference is that each action comes from the networks
    one update behind (before this step's update instead of after it). TensorFlow releases Python's
    global lock while a graph runs, so the environment's step and the update share the CPU cores.

    Args:
      learner: a :class:`softq_tf.learner.Learner`; its ``update``, ``collect_action``, ``rng``,
        ``spec``, ``stat_names`` and ``config.jit_compile`` are used.
      replay: the :class:`softq_tf.replay.ReplayBuffer` to store into and sample from.
      batch_size: transitions per update.
      updates_per_step: updates per call (>= 1).
      overlap: run the updates on a worker thread after the action is sampled (see above).

    Calling it with ``(transition, obs)``, a transition ``(obs, action, reward, next_obs,
    terminated)`` as for :meth:`ReplayBuffer.add` and the observation to act on, returns
    ``(action, env_action, stats)``: the next action [A] in [-1, 1]^A and the same mapped to the
    env's bounds (numpy float32; :meth:`EnvSpec.to_env_action`'s map, computed in float32), and
    the last update's statistics as floats, plus ``finite`` (every update was finite, hence
    applied). Overlapped, ``stats`` is None: :meth:`wait` returns them, and must be called before
    the next call.
    """

    def __init__(self, learner, replay, batch_size, updates_per_step=1, overlap=False):
        width, obs_dim, act_dim = replay.row_width, replay.shapes[0], learner.spec.act_dim
        self._width, self._act_dim = width, act_dim
        self._stat_names = tuple(learner.stat_names)
        low, high = tf.constant(learner.spec.low), tf.constant(learner.spec.high)

        def update():
            return learner.update(replay.sample_batch(batch_size, learner.rng))

        def updates():
            """[finite, stats...] of ``updates_per_step`` updates."""
            finite = tf.constant(True)
            # All but the last update in a loop, so the graph holds the update twice whatever the
            # count; the last one runs outside it because its statistics are returned.
            if updates_per_step > 1:
                (finite,) = tf.while_loop(
                    lambda _: True, lambda ok: (tf.logical_and(ok, update()["finite"]),),
                    (finite,), maximum_iterations=updates_per_step - 1)
            stats = update()
            finite = tf.logical_and(finite, stats["finite"])
            return tf.concat([[tf.cast(finite, tf.float32)],
                              tf.stack([stats[name] for name in self._stat_names])], axis=0)

        def act(packed):
            """[action, env_action] for the observation in ``packed``."""
            action = learner.collect_action(packed[:, width:])[0]
            return tf.concat([action, denormalize_action(action, low, high)], axis=0)

        def train_and_act(packed):
            replay.append(packed[0, :width])
            statistics = updates()
            # Runs after the updates' writes (automatic control dependencies keep program order).
            # One output row: every output tensor costs the caller a conversion.
            return tf.concat([act(packed), statistics], axis=0)

        def store_and_act(packed):
            replay.append(packed[0, :width])
            return act(packed)

        packed_spec = tf.TensorSpec([1, width + obs_dim], tf.float32, name="packed")
        jit_compile = learner.config.jit_compile
        if overlap:
            self._call = _flat_call(store_and_act, [packed_spec], jit_compile)
            self._updates = _flat_call(updates, [], jit_compile)
            self._worker = concurrent.futures.ThreadPoolExecutor(1, "softq-update")
        else:
            self._call = _flat_call(train_and_act, [packed_spec], jit_compile)
            self._worker = None
        self._pending = None
        self._input = _aligned_row(width + obs_dim)

    def __call__(self, transition, obs):
        if self._pending is not None:
            raise RuntimeError("TrainAndAct: the running updates were not collected with wait()")
        # The input is handed over through DLPack, which wraps the row's memory instead of copying
        # it (measured in the loop: ~14 us a step against ~85 us for tf.constant). Rewriting the row
        # at the next call is safe: the call is synchronous and keeps no reference to its input.
        pack_transition(self._input[0, :self._width], *transition)
        self._input[0, self._width:] = obs
        row = self._call(tf.experimental.dlpack.from_dlpack(self._input.__dlpack__())).numpy()
        action, env_action = row[:self._act_dim], row[self._act_dim:2 * self._act_dim]
        if self._worker is None:
            return action, env_action, self._stats(row[2 * self._act_dim:])
        self._pending = self._worker.submit(lambda: self._updates().numpy())
        return action, env_action, None

    def wait(self):
        """Blocks until the overlapped updates started by the last call end and returns their
        statistics (as the serial call does); None when none are running."""
        if self._pending is None:
            return None
        pending, self._pending = self._pending, None
        return self._stats(pending.result())

    def close(self):
        """Waits for running updates (discarding their statistics) and stops the worker thread."""
        if self._worker is not None:
            self._pending = None
            self._worker.shutdown(wait=True)

    def _stats(self, row):
        """{stat name: float, "finite": bool} from an ``updates()`` row."""
        return dict(zip(self._stat_names, row[1:].tolist()), finite=bool(row[0] == 1.0))


def _flat_call(fn, input_signature, jit_compile):
    """``fn`` traced once as a tf.function, returned as a callable of its tensor inputs that
    returns its single output tensor.

    A ConcreteFunction call binds its structured signature in Python first (~30 us a call,
    measured); the flat call of its traced function is what it runs after that binding.
    """
    concrete = tf.function(fn, input_signature=input_signature,
                           jit_compile=jit_compile).get_concrete_function()
    call, captured = concrete.inference_fn.call_flat, concrete.captured_inputs
    return lambda *inputs: call(*inputs, *captured)[0]


def _aligned_row(size):
    """A float32 numpy array [1, size] whose memory starts on a 64-byte boundary, which
    TensorFlow's CPU kernels require of memory they are handed (they abort otherwise)."""
    raw = np.empty(size + _ALIGN_FLOATS, np.float32)
    start = (-raw.ctypes.data % (4 * _ALIGN_FLOATS)) // 4
    return raw[None, start:start + size]


def _check_finite(env_id, step, **values):
    """Raises NonFiniteError naming the env, the step and the value unless all are finite."""
    for name, value in values.items():
        if not np.isfinite(value).all():
            raise NonFiniteError(f"env {env_id} returned a non-finite {name} ({value!r}) at "
                                 f"step {step}; training stopped")


def _check_compatible(env, learner, config):
    """Raises TypeError / ValueError when ``config`` is no LoopConfig or env and learner disagree."""
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
    """Starts episode number ``episodes`` with its own seed, so a resumed run restarts it the same."""
    obs, _ = env.reset(seed=seed + 7919 * episodes)
    _check_finite(env_id, step, **{"observation from reset": obs})
    return obs


def train(env, learner, config, logdir=None, seed=0, eval_env=None, resume=False, env_id=None,
          replay=None, stop=None):
    """Trains ``learner`` on ``env`` for ``config.total_steps`` environment steps.

    Args:
      env: a Gymnasium env whose spaces match ``learner.spec``. The ``info`` values its unwrapped
        env declares as ``episode_metrics`` become ``progress.csv`` columns, reduced over each log
        interval (:class:`softq_tf.metrics.EpisodeMetrics`).
      learner: a :class:`softq_tf.learner.Learner` (e.g. :class:`softq_tf.sql.SoftQLearner` or
        :class:`softq_tf.ddpg.DDPGLearner`).
      config: :class:`LoopConfig`.
      logdir: where progress.csv, TensorBoard files and checkpoints go (None: nothing is written).
      seed: seeds the numpy generator (warm-up actions) and the env resets (episode i is reset
        with ``seed + 7919 * i``); minibatches and the policy's noise come from ``learner.rng``.
      eval_env: env for evaluations (defaults to ``env``).
      resume: continue from the newest loadable checkpoint in ``logdir`` if there is one (see
        :mod:`softq_tf.checkpoint` for what is restored exactly).
      env_id: name used in error messages.
      replay: the buffer to fill (default: a new one of ``config.replay_capacity``); pass one to
        pre-load transitions or to inspect them afterwards. A resumed checkpoint's buffer replaces it.
      stop: a callable without arguments (e.g. ``threading.Event().is_set``) polled before every
        environment step; once it returns true, training waits for the update in flight, writes a
        checkpoint at the current step (with a ``logdir``) and raises :class:`StopRequested`.
        ``python -m softq_tf.train`` sets it on SIGTERM and SIGINT.

    Returns:
      dict with ``steps``, ``episodes`` and ``last_stats`` (the final update's statistics).

    Raises:
      TypeError, ValueError: ``config`` is not a LoopConfig, env and learner disagree, or checkpoints
        exist in ``logdir`` but none loads (with ``resume``).
      NonFiniteError: the env returned NaN/Inf (from ``step`` or ``reset``) or an update was
        non-finite; a checkpoint of the last finite state is written first.
      StopRequested: ``stop`` returned true before the run's last step; a checkpoint at that step
        is written first.
    """
    _check_compatible(env, learner, config)
    spec, env_id = learner.spec, env_id or str(env.spec.id if env.spec else env)
    if replay is None:
        replay = ReplayBuffer(config.replay_capacity, spec.obs_dim, spec.act_dim)
    rng = np.random.default_rng(seed)
    step, progress_state, checkpointer = 0, None, None
    # The action chosen for the next step, normalized and in the env's bounds (see TrainAndAct);
    # kept in checkpoints taken at an episode boundary, where the resumed run restarts from the very
    # same reset observation.
    next_action, next_env_action, episode_length = None, None, 0
    saved_step = None  # the step of the newest checkpoint on disk, if known
    if logdir is not None:
        os.makedirs(logdir, exist_ok=True)
        checkpointer = Checkpointer(f"{logdir}/checkpoints", learner, config.keep_checkpoints)
        restored = checkpointer.restore_latest() if resume else None
        if restored is not None:
            replay, loop_state = restored
            step, progress_state = loop_state["step"], loop_state["progress"]
            saved_step = step
            rng.bit_generator.state = loop_state["rng"]
            if loop_state.get("next_action") is not None:
                next_action = np.asarray(loop_state["next_action"], np.float32)
                # Checkpoints written before the env action was kept: map it here.
                next_env_action = np.asarray(loop_state.get("next_env_action")
                                             or spec.to_env_action(next_action), np.float32)
    progress = _Progress(config.total_steps, step, env, progress_state)
    writer = (MetricsWriter(logdir, progress.metrics.columns + tuple(learner.stat_names),
                            resume_step=step) if logdir else None)
    stats = {}

    def save_checkpoint():
        nonlocal saved_step
        if checkpointer is not None:
            at_boundary = next_action is not None and episode_length == 0
            checkpointer.save(step, replay, dict(
                step=step, progress=progress.state(), rng=rng.bit_generator.state,
                next_action=next_action.tolist() if at_boundary else None,
                next_env_action=next_env_action.tolist() if at_boundary else None))
            saved_step = step

    train_and_act = None

    def check_updates(finished):
        """Keeps the statistics of the updates of ``step`` (None: none finished) unless they are
        non-finite, which stops training."""
        nonlocal stats
        if finished is None:
            return
        if not finished["finite"]:
            raise NonFiniteError(
                f"non-finite loss or gradient at step {step} on env {env_id} "
                f"(loss/q={float(finished['loss/q'])}); training stopped, the last "
                "finite state is checkpointed")
        stats = finished

    try:
        # After a resume the interrupted episode cannot be continued: it starts again from reset.
        obs = _reset(env, env_id, seed, progress.episodes, step)
        if next_action is None:  # else the checkpoint was taken after the episode had started
            learner.start_episode()
        episode_return = 0.0
        train_and_act = TrainAndAct(learner, replay, config.batch_size, config.updates_per_step,
                                    overlap=config.overlap_env_step)
        collect_action = tf.function(learner.collect_action, input_signature=[
            tf.TensorSpec([1, spec.obs_dim], tf.float32)])
        while step < config.total_steps:
            # Here the previous step is complete (stored, logged, checkpointed if due) but for the
            # overlapped update, which the checkpoint must include.
            if stop is not None and stop():
                check_updates(train_and_act.wait())
                if saved_step != step:
                    save_checkpoint()
                raise StopRequested(step)
            if step < config.min_pool and config.random_warmup:
                action = rng.uniform(-1.0, 1.0, spec.act_dim).astype(np.float32)
                env_action = spec.to_env_action(action)
            elif next_action is not None:
                action, env_action = next_action, next_env_action
            else:  # the policy's warm-up, step 0 with min_pool = 0, or a resume mid-episode
                action = collect_action(np.asarray(obs, np.float32)[None]).numpy()[0]
                env_action = spec.to_env_action(action)
            next_obs, reward, terminated, truncated, info = env.step(env_action)
            check_updates(train_and_act.wait())  # overlapped: they ran during env.step
            _check_finite(env_id, step + 1, observation=next_obs, reward=reward)
            progress.metrics.observe(info)
            transition = (obs, action, reward, next_obs, terminated)
            step += 1
            episode_return += float(reward)
            episode_length += 1
            obs = next_obs
            if terminated or truncated:
                progress.end_episode(episode_return, episode_length)
                obs = _reset(env, env_id, seed, progress.episodes, step)
                learner.start_episode()
                episode_return, episode_length = 0.0, 0

            next_action = None
            if step < config.min_pool:
                replay.add(*transition)
            else:  # store, update and pick the next action (overlapped: the updates only start)
                next_action, next_env_action, finished = train_and_act(transition, obs)
                check_updates(finished)

            eval_due = config.eval_every and step % config.eval_every == 0
            log_due = step % config.log_every == 0 or step == config.total_steps or eval_due
            checkpoint_due = config.checkpoint_every and step % config.checkpoint_every == 0
            if eval_due or log_due or checkpoint_due:
                check_updates(train_and_act.wait())
            eval_result = None
            if eval_due:
                eval_result = evaluate(eval_env or env, learner.policy, config.eval_episodes,
                                       seed=10_000 + step)
            if log_due:
                row = progress.row(step, stats, eval_result)
                if writer:
                    writer.write(row)
            if checkpoint_due:
                save_checkpoint()
        check_updates(train_and_act.wait())
    except NonFiniteError:
        save_checkpoint()
        raise
    finally:
        if train_and_act is not None:
            train_and_act.close()
        if writer:
            writer.close()
    if not config.checkpoint_every or step % config.checkpoint_every:
        save_checkpoint()
    return dict(steps=step, episodes=progress.episodes,
                last_stats={k: float(v) for k, v in stats.items()})
