"""Replay pool of transitions (paper Algorithm 1, "replay memory D"): a numpy ring buffer.

Saved as a plain ``.npz`` of arrays (no pickle), written atomically, so a checkpoint can carry it.
"""
import os
import zipfile

import numpy as np

FIELDS = ("obs", "action", "reward", "next_obs", "terminated")


class ReplayBuffer:
    """Fixed-capacity ring buffer; the oldest transitions are overwritten first.

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
        self._data = {
            "obs": np.zeros((self.capacity, obs_dim), np.float32),
            "action": np.zeros((self.capacity, act_dim), np.float32),
            "reward": np.zeros((self.capacity,), np.float32),
            "next_obs": np.zeros((self.capacity, obs_dim), np.float32),
            "terminated": np.zeros((self.capacity,), np.float32),
        }
        self._next = 0
        self.size = 0

    def __len__(self):
        return self.size

    @property
    def shapes(self):
        """(O, A): the observation and action sizes the buffer stores."""
        return self._data["obs"].shape[1], self._data["action"].shape[1]

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
        if self.size == 0:
            raise ValueError("cannot sample from an empty replay buffer")
        idx = rng.integers(0, self.size, size=n)
        return {k: v[idx] for k, v in self._data.items()}

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
