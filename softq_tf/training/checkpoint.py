"""Resumable full training state, written so that a killed process never loses finished work.

A checkpoint ``ckpt-<step>`` in ``<logdir>/checkpoints`` is three things, written in this order:

1. ``ckpt-<step>.replay.npz``: the replay buffer
   (:meth:`softq_tf.training.replay.ReplayBuffer.save`, no pickle);
2. ``ckpt-<step>.loop.json``: loop counters, recent episode returns and the numpy generator's state;
3. ``ckpt-<step>.index`` / ``.data-*``: the learner's TensorFlow state (networks, target,
   optimizers, step counter, ``tf.random.Generator``) by ``tf.train.CheckpointManager``, which
   writes the tensors into ``ckpt-<step>_temp/`` and then merges them into place, and only
   afterwards rewrites its state file ``checkpoint`` (atomically: TensorFlow writes a temporary
   file and renames it) and deletes checkpoints beyond ``max_to_keep``.

A composition (:mod:`softq_tf.running.composition`) has no replay buffer: its checkpoints
(``Checkpointer(..., with_replay=False)``) have no ``.replay.npz``, and the rest is the same.

Side files are written with :func:`softq_tf.training.files.write_atomic` (a temporary file, flushed
to disk and renamed, then the folder flushed). Resuming does not trust the state file (it can lag
behind the files, and TensorFlow silently ignores a damaged one): it scans the directory for
``ckpt-<step>.index`` files and, newest first, takes the first checkpoint that passes :func:`verify`
(both side files parse and agree with the step and the learner's shapes, and every tensor reads back
with a matching checksum) and then restores. What a crash leaves behind:

- killed while writing side files: a ``*.tmp`` file, ignored and deleted by the next save;
- killed between the side files and the TensorFlow files: side files without an ``.index``; ignored;
- killed while TensorFlow writes: a ``ckpt-<step>_temp/`` folder or a truncated
  ``.index`` / ``.data`` file; the first is ignored, the second fails :func:`verify` and is
  skipped with a warning;
- killed after the TensorFlow files but before the state file: a complete checkpoint the state file
  does not list; the scan finds it and it is used.

Verification happens before any variable is assigned, so a damaged checkpoint cannot leave the
learner half-restored; should ``restore`` itself fail, the next older checkpoint is restored over
every variable. When checkpoints exist but none loads, resuming raises
:class:`NoUsableCheckpointError` instead of starting over (which would truncate ``progress.csv``).

What resume reproduces exactly, and what not (see README, "Crash safety and resume"): the learner's
variables, optimizer moments, step counter and random generators, the replay buffer and the loop's
numpy generator are restored bit for bit. The environment's internal state is not saved: the
episode running at the checkpoint restarts from ``reset`` (seeded by the episode index), so a run
resumed from a checkpoint taken mid-episode diverges from the uninterrupted one. From a checkpoint
at an episode boundary, a CLI run killed and resumed on ContinuousBandit-v0 was measured
bit-identical to the uninterrupted one (README); other hardware or thread counts may order float
reductions differently. A save that fails (a full disk: ``OSError`` ENOSPC, or TensorFlow's error
for it) removes what it wrote of its step (side files, ``*.tmp``, ``ckpt-<step>_temp/``, partial
``.index`` / ``.data``) and raises :class:`CheckpointWriteError`, one line naming the folder, the
newest complete checkpoint and the way on; the older checkpoints stay, so ``--resume`` continues
from that one once there is space. The test hooks of :func:`softq_tf.training.files.fault_point`
kill the process, or fail the save as a full disk would, at two points of a save.
"""
import json
import os
import shutil

import tensorflow as tf
from absl import logging

from softq_tf.training.files import (RunWriteError, fault_point, first_line, write_failure,
                                     write_json_atomic)
from softq_tf.training.progress import CHECKPOINT_FILE, checkpoint_steps  # noqa: F401 (re-exported)
from softq_tf.training.replay import ReplayBuffer

_DAMAGE = (OSError, ValueError, KeyError, IndexError, TypeError, tf.errors.OpError,
           AssertionError)


class NoUsableCheckpointError(ValueError):
    """Resuming was asked for, checkpoints exist, and none of them loads."""


class CheckpointWriteError(RunWriteError):
    """A checkpoint could not be written (e.g. the disk is full); what it wrote was removed and
    the older checkpoints are intact. The message is one line with the way on."""


def verify(prefix, spec, with_replay=True):
    """Loads and checks the side files of checkpoint ``prefix`` and reads back every tensor.

    Args:
      prefix: ``<directory>/ckpt-<step>``.
      spec: the learner's :class:`softq_tf.learners.specs.EnvSpec`; the replay buffer must match it.
      with_replay: the checkpoint has a replay buffer (False: a composition's, which has none).

    Returns:
      (replay buffer or None without one, loop state dict).

    Raises:
      ValueError, OSError, tf.errors.OpError: the checkpoint is incomplete or damaged.
    """
    step = int(prefix.rsplit("-", 1)[1])
    with open(f"{prefix}.loop.json") as f:
        loop_state = json.load(f)
    if not isinstance(loop_state, dict) or loop_state.get("step") != step:
        raise ValueError(f"{prefix}.loop.json does not describe step {step}")
    replay = ReplayBuffer.load(f"{prefix}.replay.npz") if with_replay else None
    if replay is not None and replay.shapes != (spec.obs_dim, spec.act_dim):
        raise ValueError(f"replay buffer holds (obs, action) sizes {replay.shapes}, the learner "
                         f"needs {(spec.obs_dim, spec.act_dim)}")
    reader = tf.train.load_checkpoint(prefix)
    for name in reader.get_variable_to_shape_map():
        reader.get_tensor(name)  # checks each tensor's stored crc32c
    return replay, loop_state


class Checkpointer:
    """Saves and restores learner, replay buffer and loop state together.

    Args:
      directory: where checkpoints go (``<logdir>/checkpoints``).
      learner: a :class:`softq_tf.learners.learner.Learner`; its ``spec`` and ``checkpoint_items()``
        are used.
      max_to_keep: how many recent checkpoints the manager keeps.
      with_replay: checkpoints carry a replay buffer (False: a composition's, which has none;
        :meth:`save` then takes None for it).
    """

    def __init__(self, directory, learner, max_to_keep=3, with_replay=True):
        self.directory, self._with_replay = directory, with_replay
        self._spec = learner.spec
        self._checkpoint = tf.train.Checkpoint(**learner.checkpoint_items())
        self._manager = tf.train.CheckpointManager(self._checkpoint, directory, max_to_keep,
                                                   checkpoint_name="ckpt")

    def save(self, step, replay, loop_state):
        """Writes checkpoint ``ckpt-<step>``, then deletes leftovers of older or unfinished saves.

        Returns:
          the checkpoint's prefix.

        Raises:
          CheckpointWriteError: a write failed (e.g. the disk is full); every file of
            ``ckpt-<step>`` was removed, the older checkpoints stay.
        """
        prefix = os.path.join(self.directory, f"ckpt-{step}")
        try:
            os.makedirs(self.directory, exist_ok=True)
            if self._with_replay:
                replay.save(f"{prefix}.replay.npz")
            write_json_atomic(f"{prefix}.loop.json", loop_state)
            fault_point("side_files", step)
            options = tf.train.CheckpointOptions(
                experimental_write_callbacks=[lambda _: fault_point("tf_files", step)])
            self._manager.save(checkpoint_number=step, options=options)
        except (OSError, tf.errors.OpError) as e:
            self._remove_files_of(step)
            raise CheckpointWriteError(write_failure(
                f"checkpoint ckpt-{step} in {self.directory}", e,
                checkpoint_steps(self.directory))) from None
        self._remove_stale(step)
        return prefix

    def _remove(self, name):
        """Deletes the file or folder ``name`` of the checkpoint directory."""
        path = os.path.join(self.directory, name)
        if os.path.isdir(path):
            shutil.rmtree(path)
        else:
            os.remove(path)

    def _remove_files_of(self, step):
        """Deletes every file and folder of checkpoint ``ckpt-<step>`` (a failed save's)."""
        names = os.listdir(self.directory) if os.path.isdir(self.directory) else []
        for name in names:
            match = CHECKPOINT_FILE.match(name)
            if match and int(match.group(1)) == step:
                self._remove(name)

    def _remove_stale(self, step):
        """Deletes files of checkpoints older than the oldest kept one, and, up to ``step``, side
        files without TensorFlow files, ``*.tmp`` files and ``_temp`` folders of killed saves."""
        kept = {int(p.rsplit("-", 1)[1]) for p in self._manager.checkpoints}
        complete = set(checkpoint_steps(self.directory))
        for name in os.listdir(self.directory):
            match = CHECKPOINT_FILE.match(name)
            if not match or int(match.group(1)) > step:
                continue
            n = int(match.group(1))
            leftover = name.endswith(("_temp", ".tmp"))
            superseded = n not in kept and (n < min(kept) or n not in complete)
            if leftover or superseded:
                self._remove(name)

    def restore_latest(self):
        """Restores the newest checkpoint that loads cleanly, skipping damaged ones with a warning.

        Returns:
          (replay, loop_state) of that checkpoint, or None when the directory holds no checkpoint.

        Raises:
          NoUsableCheckpointError: checkpoints exist but none loads (nothing is deleted or changed).
        """
        steps = checkpoint_steps(self.directory)
        problems = []
        for step in steps:
            prefix = os.path.join(self.directory, f"ckpt-{step}")
            try:
                replay, loop_state = verify(prefix, self._spec, self._with_replay)
                self._checkpoint.restore(prefix).assert_existing_objects_matched()
            except _DAMAGE as e:
                problems.append(f"ckpt-{step}: {first_line(e)}")
                logging.warning("skipping damaged checkpoint %s: %s", prefix, first_line(e))
                continue
            logging.info("resumed from %s", prefix)
            return replay, loop_state
        if problems:
            raise NoUsableCheckpointError(f"no checkpoint in {self.directory} loads "
                                          f"({'; '.join(problems)}); "
                                          "move the folder away to start the run over")
        return None
