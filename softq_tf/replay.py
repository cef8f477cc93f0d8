"""Replay pool of transitions (paper Algorithm 1, "replay memory D"): a numpy ring buffer.

Saved as a plain ``.npz`` of arrays (no pickle), written atomically, so a checkpoint can carry it.
"""
import os
import zipfile

import numpy as np

FIELDS = ("obs", "action", "reward", "next_obs", "terminated")


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


class ReplayBuffer:
    """Fixed-capacity ring buffer; the oldest transitions are overwritten first.

    Transitions are stored as packed float32 rows (see :func:`field_columns`), so a sampled batch is
    one array: one gather here and one tensor conversion when it is handed to a compiled update.

    Args:
      capacity: the most transitions kept (paper: 1e6).
      obs_dim: O.
      act_dim: A.
    """

    def __init__(self, capacity, obs_dim, act_dim):
        for name, value in (("capacity", capacity), ("obs_dim", obs_dim), ("act_dim", act_dim)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
                raise ValueError(f"replay {name}={value!r} is invalid: it must be a positive integer")
        self.capacity = int(capacity)
        self._obs_dim, self._act_dim = int(obs_dim), int(act_dim)
        self._rows = np.zeros((self.capacity, 2 * obs_dim + act_dim + 2), np.float32)
        self._data = unpack_rows(self._rows, obs_dim, act_dim)  # views into self._rows
        self._next = 0
        self.size = 0

    def __len__(self):
        return self.size

    @property
    def shapes(self):
        """(O, A): the observation and action sizes the buffer stores."""
        return self._obs_dim, self._act_dim

    def add(self, obs, action, reward, next_obs, terminated):
        """Stores one transition. ``terminated`` is the env's terminal flag, never a time-limit cut."""
        i = self._next
        self._data["obs"][i] = obs
        self._data["action"][i] = action
        self._data["reward"][i] = reward
        self._data["next_obs"][i] = next_obs
        self._data["terminated"][i] = float(terminated)
        self._next = (i + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, n, rng):
        """Returns n transitions drawn uniformly with replacement, as a dict of float32 arrays.

        Args:
          n: batch size.
          rng: a ``numpy.random.Generator`` (the caller owns it, so sampling is reproducible).
        """
        return unpack_rows(self.sample_rows(n, rng), self._obs_dim, self._act_dim)

    def sample_rows(self, n, rng):
        """Like :meth:`sample`, as packed rows [n, 2 O + A + 2] (see :func:`unpack_rows`)."""
        if self.size == 0:
            raise ValueError("cannot sample from an empty replay buffer")
        return self._rows[rng.integers(0, self.size, size=n)]

    def save(self, path):
        """Writes the filled part and the write position to ``path`` (.npz, atomically)."""
        tmp = f"{path}.tmp"
        filled = {k: v[:self.size] for k, v in self._data.items()}
        with open(tmp, "wb") as f:
            np.savez(f, capacity=self.capacity, next=self._next, size=self.size, **filled)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)

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
            for k in FIELDS:
                if len(data[k]) != size:
                    raise ValueError(f"{k} holds {len(data[k])} rows, expected {size}")
                buffer._data[k][:size] = data[k]
            buffer.size, buffer._next = size, next_index
        except (OSError, KeyError, IndexError, ValueError, EOFError, zipfile.BadZipFile) as e:
            raise ValueError(f"replay buffer file {path} is unreadable: {e}") from e
        return buffer
