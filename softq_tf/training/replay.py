"""Replay pool of transitions (paper Algorithm 1, "replay memory D"): a ring buffer of packed rows.

The rows live in a ``tf.Variable`` so that the training loop's compiled step can store the newest
transition and sample its minibatches inside the graph (:meth:`ReplayBuffer.append`,
:meth:`ReplayBuffer.sample_batch`): no minibatch is gathered in numpy and copied into TensorFlow at
every step (see ``benchmarks/README.md`` for what that saves). The eager methods (:meth:`add`,
:meth:`sample`, :meth:`contents`, :meth:`save` / :meth:`load`) serve warm-up, tests and checkpoints.

Saved as a plain ``.npz`` of arrays (no pickle), written atomically, so a checkpoint can carry it.
"""
import zipfile

import numpy as np
import tensorflow as tf

from softq_tf.training.files import write_atomic


def row_width(obs_dim, act_dim):
    """Width 2 O + A + 2 of a packed transition row."""
    return 2 * obs_dim + act_dim + 2


def field_columns(obs_dim, act_dim):
    """Column slices of each field in a packed transition row [obs | action | reward | next_obs |
    terminated] of width 2 O + A + 2; reward and terminated are single columns (an int index)."""
    return {"obs": slice(0, obs_dim), "action": slice(obs_dim, obs_dim + act_dim),
            "reward": obs_dim + act_dim,
            "next_obs": slice(obs_dim + act_dim + 1, 2 * obs_dim + act_dim + 1),
            "terminated": 2 * obs_dim + act_dim + 1}


def unpack_rows(rows, obs_dim, act_dim):
    """Splits packed rows [B, 2 O + A + 2] (numpy or TF) into the batch dict of ``train_step``."""
    return {name: rows[:, columns] for name, columns in field_columns(obs_dim, act_dim).items()}


def pack_transition(out, obs, action, reward, next_obs, terminated):
    """Writes one transition into the packed numpy row ``out`` [2 O + A + 2] and returns it.

    ``terminated`` is the env's terminal flag, never a time-limit cut (a cut still bootstraps).
    """
    # Concatenated in the order of field_columns' layout.
    return np.concatenate([obs, action, [reward], next_obs, [float(terminated)]], out=out)


class ReplayBuffer(tf.Module):
    """Fixed-capacity ring buffer; the oldest transitions are overwritten first.

    Args:
      capacity: the most transitions kept (paper: 1e6).
      obs_dim: O.
      act_dim: A.

    Attributes:
      rows: ``tf.Variable`` [capacity, 2 O + A + 2] of packed transitions
        (see :func:`field_columns`); slot i holds the i-th transition modulo ``capacity``.
      next_index: ``tf.Variable`` (int64), the slot the next transition goes to.
      filled: ``tf.Variable`` (int64), how many slots hold a transition (``size``).
    """

    def __init__(self, capacity, obs_dim, act_dim):
        super().__init__(name="replay_buffer")
        for name, value in (("capacity", capacity), ("obs_dim", obs_dim), ("act_dim", act_dim)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
                raise ValueError(f"replay {name}={value!r} is invalid: it must be a positive "
                                 "integer")
        self.capacity = int(capacity)
        self._obs_dim, self._act_dim = int(obs_dim), int(act_dim)
        self.row_width = row_width(self._obs_dim, self._act_dim)
        self.rows = tf.Variable(tf.zeros([self.capacity, self.row_width]), trainable=False,
                                name="rows")
        self.next_index = tf.Variable(0, dtype=tf.int64, trainable=False, name="next_index")
        self.filled = tf.Variable(0, dtype=tf.int64, trainable=False, name="filled")
        self._row = np.zeros(self.row_width, np.float32)  # scratch row for add()
        # add() through XLA: one call (~70 us) instead of ~300 us of eager ops.
        self._append_compiled = tf.function(
            self.append, jit_compile=True,
            input_signature=[tf.TensorSpec([self.row_width], tf.float32)])

    @property
    def size(self):
        """How many transitions the buffer holds (at most ``capacity``)."""
        return int(self.filled)

    def __len__(self):
        return self.size

    @property
    def shapes(self):
        """(O, A): the observation and action sizes the buffer stores."""
        return self._obs_dim, self._act_dim

    def add(self, obs, action, reward, next_obs, terminated):
        """Stores one transition. ``terminated`` is the env's terminal flag, never a time-limit
        cut."""
        row = pack_transition(self._row, obs, action, reward, next_obs, terminated)
        self._append_compiled(tf.constant(row))

    def append(self, row):
        """Stores one packed transition row [2 O + A + 2]; runs eagerly or inside a tf.function."""
        self.rows.scatter_nd_update(self.next_index[None, None], row[None])
        self.next_index.assign((self.next_index + 1) % self.capacity)
        self.filled.assign(tf.minimum(self.filled + 1, self.capacity))

    def sample_batch(self, n, generator):
        """n transitions drawn uniformly with replacement by ``generator`` (a
        ``tf.random.Generator``), as the batch dict of ``train_step``; for use inside a tf.function.
        The buffer must not be empty."""
        indices = generator.uniform([n], 0, self.filled, dtype=tf.int64)
        return unpack_rows(tf.gather(self.rows, indices), self._obs_dim, self._act_dim)

    def sample(self, n, rng):
        """Returns n transitions drawn uniformly with replacement, as a dict of float32 arrays.

        Args:
          n: batch size.
          rng: a ``numpy.random.Generator`` (the caller owns it, so sampling is reproducible).
        """
        if self.size == 0:
            raise ValueError("cannot sample from an empty replay buffer")
        rows = tf.gather(self.rows, rng.integers(0, self.size, size=n)).numpy()
        return unpack_rows(rows, self._obs_dim, self._act_dim)

    def contents(self):
        """The filled slots as a dict of float32 arrays, in slot order (slot i first)."""
        rows = self.rows[:self.size].numpy()
        return unpack_rows(rows, self._obs_dim, self._act_dim)

    def save(self, path):
        """Writes the filled part and the write position to ``path`` (.npz, with
        :func:`softq_tf.training.files.write_atomic`)."""
        contents = self.contents()
        write_atomic(path, lambda f: np.savez(f, capacity=self.capacity, next=int(self.next_index),
                                              size=self.size, **contents), binary=True)

    @classmethod
    def load(cls, path):
        """Reads a buffer written by :meth:`save`; raises ValueError on a damaged file."""
        try:
            with np.load(path, allow_pickle=False) as f:
                data = {k: f[k] for k in f.files}
            buffer = cls(int(data["capacity"]), data["obs"].shape[1], data["action"].shape[1])
            size, next_index = int(data["size"]), int(data["next"])
            if not (0 <= size <= buffer.capacity and 0 <= next_index < buffer.capacity):
                raise ValueError(f"size {size} / position {next_index} do not fit capacity "
                                 f"{buffer.capacity}")
            rows = np.zeros((size, buffer.row_width), np.float32)
            for name, columns in field_columns(*buffer.shapes).items():
                if len(data[name]) != size:
                    raise ValueError(f"{name} holds {len(data[name])} rows, expected {size}")
                rows[:, columns] = data[name]
            if size:
                buffer.rows[:size].assign(rows)
            buffer.next_index.assign(next_index)
            buffer.filled.assign(size)
        except (OSError, KeyError, IndexError, ValueError, EOFError, zipfile.BadZipFile) as e:
            raise ValueError(f"replay buffer file {path} is unreadable: {e}") from e
        return buffer
