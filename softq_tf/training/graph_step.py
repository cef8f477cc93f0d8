"""The training loop's graph calls once learning has started (:class:`TrainAndAct`): store the
transition, update on minibatches sampled in the graph, act, in as few calls as possible.

Per-call and per-copy overheads are a large share of a step on a CPU (``benchmarks/README.md``),
so a call is one flat call of a traced function (:func:`_flat_call`) on an input row handed over
without a copy (:func:`_aligned_row`).
"""
import concurrent.futures

import numpy as np
import tensorflow as tf
from absl import logging

from softq_tf.training.replay import pack_transition
from softq_tf.learners.specs import denormalize_action

_ALIGN_FLOATS = 16  # 64 bytes, the alignment TensorFlow's CPU kernels require of tensor memory
# TensorFlow releases (major, minor) whose private ConcreteFunction.inference_fn.call_flat was
# checked against the public call: from the first to the last, inclusive.
_FLAT_CALL_CHECKED = ((2, 16), (2, 21))


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
      learner: a :class:`softq_tf.learners.learner.Learner`; its ``update``, ``collect_action``,
        ``rng``, ``spec``, ``stat_names`` and ``config.jit_compile`` are used.
      replay: the :class:`softq_tf.training.replay.ReplayBuffer` to store into and sample from.
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


def _flat_call_checked(version):
    """True when TensorFlow ``version`` (``tf.__version__``, e.g. "2.21.0") is a release whose
    private flat call :func:`_flat_call` uses was checked (:data:`_FLAT_CALL_CHECKED`); False for
    other releases and for version strings it cannot read."""
    try:
        release = tuple(int(part) for part in version.split(".")[:2])
    except ValueError:
        return False
    return _FLAT_CALL_CHECKED[0] <= release <= _FLAT_CALL_CHECKED[1]


def _flat_call(fn, input_signature, jit_compile):
    """``fn`` traced once as a tf.function, returned as a callable of its tensor inputs that
    returns its single output tensor.

    A ConcreteFunction call binds its structured signature in Python first (~30 us a call,
    measured); the flat call of its traced function (``inference_fn.call_flat``, private) is what
    it runs after that binding. The flat call is used only on the TensorFlow releases it was
    checked on; elsewhere, or when the private attribute is missing, the concrete function is
    called the public way, with the same results.
    """
    concrete = tf.function(fn, input_signature=input_signature,
                           jit_compile=jit_compile).get_concrete_function()
    call = getattr(getattr(concrete, "inference_fn", None), "call_flat", None)
    if call is None or not _flat_call_checked(tf.__version__):
        logging.info("TensorFlow %s: the training loop calls its graph the public way (the flat "
                     "call was checked on %s to %s)", tf.__version__,
                     *(".".join(map(str, v)) for v in _FLAT_CALL_CHECKED))
        return concrete
    captured = concrete.captured_inputs
    return lambda *inputs: call(*inputs, *captured)[0]


def _aligned_row(size):
    """A float32 numpy array [1, size] whose memory starts on a 64-byte boundary, which
    TensorFlow's CPU kernels require of memory they are handed (they abort otherwise)."""
    raw = np.empty(size + _ALIGN_FLOATS, np.float32)
    start = (-raw.ctypes.data % (4 * _ALIGN_FLOATS)) // 4
    return raw[None, start:start + size]

