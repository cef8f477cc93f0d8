"""Training logs: ``progress.csv`` (one row per log interval) and TensorBoard event files, and the
task's own episode metrics that go into them.

No plotting here: results are data; ``paper_repro`` draws them.
"""
import csv
import errno
import io
import os

import tensorflow as tf

from softq_tf.training.files import RunWriteError, fault_point, write_atomic, write_failure
from softq_tf.training.progress import checkpoint_steps

LOOP_COLUMNS = ("step", "episodes", "episode_return", "episode_length", "eval_return",
                "steps_per_sec", "elapsed_sec")


REDUCTIONS = {"max": max, "min": min}


class EpisodeMetrics:
    """The ``info`` values a task asks the training loop to log, reduced over each log interval.

    A task declares them as ``episode_metrics``, an attribute of its unwrapped env: a sequence of
    ``(info key, reduction)`` pairs with the reduction ``"max"`` or ``"min"``, e.g. the swimmer's
    ``(("com_x", "max"), ("com_x", "min"))``. Each becomes a ``progress.csv`` column named
    ``<reduction>_<key>`` (``max_com_x``) holding the reduction over every step of the interval;
    the same reduction over the rows gives it since the start of training (Figures 3 and 6).

    Args:
      declared: the ``(key, reduction)`` pairs.
      state: what :meth:`state` returned at a checkpoint, to continue the interval after a resume.
    """

    def __init__(self, declared=(), state=None):
        self.declared = tuple((str(key), str(reduction)) for key, reduction in declared)
        for key, reduction in self.declared:
            if reduction not in REDUCTIONS:
                raise ValueError(f"episode metric ({key!r}, {reduction!r}) is invalid: the "
                                 f"reduction must be one of {', '.join(REDUCTIONS)}")
        self.columns = tuple(f"{reduction}_{key}" for key, reduction in self.declared)
        self._values = dict(state or {})

    @classmethod
    def of_env(cls, env, state=None):
        """The metrics ``env`` (or the env it wraps) declares; none when it declares nothing."""
        return cls(getattr(env.unwrapped, "episode_metrics", ()), state)

    def observe(self, info):
        """Folds one step's ``info`` into the interval's values.

        Raises:
          KeyError: ``info`` lacks a declared key (a task that declares what it does not report).
        """
        for (key, reduction), column in zip(self.declared, self.columns):
            if key not in info:
                raise KeyError(f"the env declares episode metric {key!r} but its step info has "
                               f"only {sorted(info)}")
            value = float(info[key])
            previous = self._values.get(column)
            self._values[column] = value if previous is None else REDUCTIONS[reduction](
                previous, value)

    def take_row(self):
        """{column: the interval's value, or "" where no step was observed}; starts a new
        interval."""
        row = {column: self._values.get(column, "") for column in self.columns}
        self._values = {}
        return row

    def state(self):
        """The interval's values so far (JSON-serializable), for a checkpoint."""
        return dict(self._values)


class MetricsWriter:
    """Appends rows to ``logdir/progress.csv`` and scalars to ``logdir/tensorboard``.

    Args:
      logdir: the run folder.
      columns: columns after ``leading`` (the task's episode metrics, the learner's
        statistics).
      resume_step: when resuming, rows logged after this step (work lost with the crash) are
        dropped, so the file has no duplicated rows.
      leading: the first columns, starting with ``step``: the training loop's
        (:data:`LOOP_COLUMNS`) by default; a composition has its own.
    """

    def __init__(self, logdir, columns, resume_step=None, leading=LOOP_COLUMNS):
        self.columns = tuple(leading) + tuple(columns)
        self.path = os.path.join(logdir, "progress.csv")
        if resume_step is not None and os.path.exists(self.path):
            self._truncate_after(resume_step)
        if not os.path.exists(self.path):
            with open(self.path, "w", newline="") as f:
                csv.writer(f).writerow(self.columns)
        self._summary = tf.summary.create_file_writer(os.path.join(logdir, "tensorboard"))

    def _truncate_after(self, step):
        with open(self.path, newline="") as f:
            rows = [r for r in csv.DictReader(f) if int(r["step"]) <= step]

        def write(f):
            writer = csv.DictWriter(f, self.columns, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)

        write_atomic(self.path, write)

    def write(self, row):
        """Writes one row (missing columns stay empty) and its numbers to TensorBoard.

        Raises:
          softq_tf.training.files.RunWriteError: the row could not be written (e.g. the disk is
            full); what it wrote of it was cut off, so ``--resume`` continues the file.
        """
        line = io.StringIO(newline="")
        csv.DictWriter(line, self.columns, extrasaction="ignore").writerow(row)
        data = line.getvalue().encode()
        with open(self.path, "ab", buffering=0) as f:
            start = f.seek(0, os.SEEK_END)
            try:
                if f.write(data) != len(data):  # a short write: the disk filled on the way
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                fault_point("progress", row["step"])
            except OSError as e:
                os.truncate(self.path, start)
                raise RunWriteError(write_failure(self.path, e, checkpoint_steps(
                    os.path.join(os.path.dirname(self.path), "checkpoints")))) from None
        with self._summary.as_default(step=int(row["step"])):
            for key, value in row.items():
                if key != "step" and value is not None and value != "":
                    tf.summary.scalar(key, float(value))
        self._summary.flush()

    def close(self):
        self._summary.close()
