"""One composition end to end (paper Sec. 6; Haarnoja et al. 2018): the constituents' soft
Q-functions added into :class:`softq_tf.learners.compose.ComposedQ`, a sampler fit to it by
amortized SVGD on the constituents' replayed states, and the result exported like any SQL run's.

This is the library side of ``python -m softq_tf.compose`` and of ``paper_repro.compose``. A
composition folder holds ``config.json`` (``kind: composition``: the constituents, each with the
checkpoint read, the weights, the settings), ``progress.csv``, ``tensorboard/``,
``checkpoints/`` (sampler, optimizer, step and generator; no replay buffer), ``.lock`` (held while
a process fits in it) and, once finished, ``policy/`` and ``q_function/`` SavedModels with the
signatures of any run's (:mod:`softq_tf.training.export`). The fit takes no environment step.

The request (constituents, weights, config.json) is :mod:`softq_tf.running.compose_request`,
which needs no TensorFlow.
"""
import os
import shlex
import time

import numpy as np
import tensorflow as tf
from absl import logging

from softq_tf.learners import compose, sql
from softq_tf.running import xla_cpu
from softq_tf.training import export, loop
from softq_tf.training.checkpoint import Checkpointer
from softq_tf.training.files import hold_run_folder, write_json_atomic
from softq_tf.training.metrics import MetricsWriter

# progress.csv's first columns: updates done, environment steps taken (always 0), speed, time.
COLUMNS = ("step", "env_steps", "updates_per_sec", "elapsed_sec")


class ConstituentError(ValueError):
    """A constituent run's checkpoint cannot be read (its networks or its replay pool)."""


def load_constituent(part):
    """The Q-network, the sampling network and the replayed states [N, O] of a
    :class:`softq_tf.running.compose_request.Constituent`'s checkpoint.

    Raises:
      ConstituentError: the checkpoint does not hold both networks, or its replay pool is
        unreadable.
    """
    learner = sql.SoftQLearner(part.spec, part.run.learner_config, part.run.seed)
    try:
        restored = tf.train.Checkpoint(q=learner.q, sampler=learner.sampler).restore(part.prefix)
        restored.expect_partial()  # the target, optimizers, counters and generator stay behind
        restored.assert_existing_objects_matched()
        with np.load(f"{part.prefix}.replay.npz", allow_pickle=False) as replay:
            states = np.asarray(replay["obs"], np.float32)  # ReplayBuffer.save's field
    except (AssertionError, KeyError, OSError, ValueError, tf.errors.OpError) as e:
        raise ConstituentError(f"--runs: {part.prefix} cannot be composed: "
                         f"{str(e).strip().splitlines()[0]}") from None
    return learner.q, learner.sampler, states


def fit(fitter, states, config, logdir, resume=False, stop=None):
    """Runs ``config.steps`` updates of ``fitter`` on ``states``, logging to
    ``logdir/progress.csv`` and checkpointing to ``logdir/checkpoints`` (with ``resume``, from the
    newest loadable checkpoint there: the result is bit for bit the uninterrupted one's).

    Args:
      fitter: a :class:`softq_tf.learners.compose.ComposedSamplerFit`.
      states: [N, O] float32 tensor of the states to fit at.
      config: the :class:`softq_tf.learners.configs.ComposeConfig`.
      logdir: the composition folder.
      resume: continue from its newest checkpoint, if any.
      stop: a callable polled before every update (e.g. :class:`softq_tf.running.cli.SignalStop`);
        once it returns true, the fit checkpoints and raises
        :class:`softq_tf.training.loop.StopRequested`.

    Returns:
      dict with ``steps`` (updates done) and ``last_stats``.

    Raises:
      softq_tf.training.loop.StopRequested: ``stop`` asked to stop (checkpointed).
      softq_tf.training.loop.NonFiniteError: a gradient was non-finite (the last finite state is
        checkpointed first).
      softq_tf.training.checkpoint.NoUsableCheckpointError: with ``resume``, checkpoints exist
        and none loads.
    """
    checkpointer = Checkpointer(os.path.join(logdir, "checkpoints"), fitter,
                                config.keep_checkpoints, with_replay=False)
    restored = checkpointer.restore_latest() if resume else None
    step = saved_step = restored[1]["step"] if restored else 0
    writer = MetricsWriter(logdir, fitter.stat_names, resume_step=step if resume else None,
                           leading=COLUMNS)
    start = last_time = time.time()
    last_step, stats = step, {}
    try:
        while step < config.steps:
            if stop is not None and stop():
                if saved_step != step:
                    checkpointer.save(step, None, dict(step=step))
                raise loop.StopRequested(step)
            stats = fitter.train_step(states)
            if not stats["finite"]:
                checkpointer.save(step, None, dict(step=step))
                raise loop.NonFiniteError(f"non-finite SVGD gradient at update {step + 1}; the "
                                          "last finite state is checkpointed")
            step += 1
            if step % config.log_every == 0 or step == config.steps:
                now = time.time()
                row = dict(step=step, env_steps=0, elapsed_sec=now - start,
                           updates_per_sec=(step - last_step) / max(now - last_time, 1e-9),
                           **{k: float(v) for k, v in stats.items() if k != "finite"})
                writer.write(row)
                last_time, last_step = now, step
                logging.info("update %d/%d | %.0f updates/s | q/mean %.4g", step, config.steps,
                             row["updates_per_sec"], row["q/mean"])
            if config.checkpoint_every and step % config.checkpoint_every == 0:
                checkpointer.save(step, None, dict(step=step))
                saved_step = step
        if saved_step != step:
            checkpointer.save(step, None, dict(step=step))
    finally:
        writer.close()
    return dict(steps=step, last_stats={k: float(v) for k, v in stats.items()})


def execute(request, stop=None):
    """Fits the composition ``request`` (a :class:`softq_tf.running.compose_request.Composition`)
    and exports ``policy/`` and ``q_function/`` into its logdir, holding the folder
    (:func:`softq_tf.training.files.hold_run_folder`) throughout. ``stop``: as :func:`fit`'s.

    Returns:
      the summary of :func:`fit`.

    Raises:
      softq_tf.training.files.RunFolderBusyError: another process holds the folder.
      ConstituentError: a constituent's checkpoint cannot be read.
      softq_tf.training.loop.StopRequested: ``stop`` asked to stop (checkpointed, nothing
        exported).
    """
    logdir, config = request.logdir, request.config
    os.makedirs(logdir, exist_ok=True)
    with hold_run_folder(logdir):
        config_path = os.path.join(logdir, "config.json")
        if not os.path.exists(config_path):
            write_json_atomic(config_path, request.to_json())
        loaded = [load_constituent(part) for part in request.constituents]
        composed_q = compose.ComposedQ([q for q, _, _ in loaded], request.weights)
        xla_cpu.use_xnn_fusions()  # before the first XLA compile
        spec = request.constituents[0].spec
        fitter = compose.ComposedSamplerFit(
            spec, composed_q, request.sampler_source.run.learner_config, config.batch_size,
            request.seed, loaded[config.init_sampler - 1][1] if config.init_sampler else None)
        states = tf.constant(np.concatenate([s for _, _, s in loaded]))
        summary = fit(fitter, states, config, logdir, request.resume, stop)
        export.export_run(logdir, fitter.policy, composed_q, spec, request.to_json())
    logging.info("composed %d runs with weights %s: %d updates on %d replayed states, no "
                 "environment step; exported to %s", len(request.constituents),
                 list(request.weights), summary["steps"], int(states.shape[0]), logdir)
    return summary


def outputs_line(request, finished):
    """One line telling where the composition's files are: at its start (``finished`` False) or
    once it has exported its policy (with the command that evaluates it)."""
    folder = shlex.quote(request.logdir)
    files = "config.json, progress.csv, tensorboard/, checkpoints/"
    if not finished:
        return (f"outputs in {request.logdir}: {files}; policy/ and q_function/ at the end; "
                f"watch with: tensorboard --logdir {folder}")
    envs = ", ".join(sorted({part.run.env_id for part in request.constituents}))
    return (f"outputs in {request.logdir}: {files}, policy/ and q_function/ (SavedModels); "
            "evaluate the composed policy on the task paid the weighted sum of the rewards of "
            f"{envs} with: python -m softq_tf.evaluate "
            f"--policy={shlex.quote(os.path.join(request.logdir, 'policy'))} --env=ENV_ID")
