"""Resumable full training state.

A checkpoint ``ckpt-<step>`` is the learner's TensorFlow state (networks, target, optimizers, step
counter, random generator) written by ``tf.train.CheckpointManager``, plus two side files written
*before* it, each atomically (temporary file, then rename): ``ckpt-<step>.replay.npz`` (the replay
buffer) and ``ckpt-<step>.loop.json`` (loop counters and the numpy generator's state). The manager lists
a checkpoint only after its TensorFlow files are complete, so a listed checkpoint with both side files
is whole; a damaged newest checkpoint is skipped with a warning in favour of the one before it.
"""
import json
import os

import tensorflow as tf
from absl import logging

from softq_tf.replay import ReplayBuffer


def write_json_atomic(path, data):
    """Writes ``data`` as JSON to ``path`` through a temporary file and a rename."""
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        json.dump(data, f, indent=1)
    os.replace(tmp, path)


class Checkpointer:
    """Saves and restores learner, replay buffer and loop state together.

    Args:
      directory: where checkpoints go (``<logdir>/checkpoints``).
      learner: an object with ``checkpoint_items()`` (e.g. :class:`softq_tf.sql.SoftQLearner`).
      max_to_keep: how many recent checkpoints are kept.
    """

    def __init__(self, directory, learner, max_to_keep=3):
        self.directory = directory
        self._checkpoint = tf.train.Checkpoint(**learner.checkpoint_items())
        self._manager = tf.train.CheckpointManager(self._checkpoint, directory, max_to_keep,
                                                   checkpoint_name="ckpt")

    def save(self, step, replay, loop_state):
        """Writes checkpoint ``ckpt-<step>`` and removes side files of checkpoints the manager dropped."""
        prefix = os.path.join(self.directory, f"ckpt-{step}")
        os.makedirs(self.directory, exist_ok=True)
        replay.save(f"{prefix}.replay.npz")
        write_json_atomic(f"{prefix}.loop.json", loop_state)
        self._manager.save(checkpoint_number=step)
        kept = set(self._manager.checkpoints)
        for name in os.listdir(self.directory):
            for suffix in (".replay.npz", ".loop.json"):
                owner = os.path.join(self.directory, name[:-len(suffix)])
                if name.endswith(suffix) and owner not in kept:
                    os.remove(os.path.join(self.directory, name))
        return prefix

    def restore_latest(self):
        """Restores the newest checkpoint that loads cleanly.

        Returns:
          (replay, loop_state) of that checkpoint, or None when there is none to restore.
        """
        for prefix in reversed(self._manager.checkpoints):
            try:
                replay = ReplayBuffer.load(f"{prefix}.replay.npz")
                with open(f"{prefix}.loop.json") as f:
                    loop_state = json.load(f)
                self._checkpoint.restore(prefix).assert_existing_objects_matched()
            except (OSError, ValueError, tf.errors.OpError, AssertionError) as e:
                logging.warning("skipping damaged checkpoint %s: %s", prefix,
                                str(e).splitlines()[0] if str(e) else type(e).__name__)
                continue
            logging.info("resumed from %s", prefix)
            return replay, loop_state
        return None
