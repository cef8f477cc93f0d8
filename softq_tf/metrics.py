"""Training logs: ``progress.csv`` (one row per log interval) and TensorBoard event files.

No plotting here: results are data; ``paper_repro`` draws them.
"""
import csv
import os

import tensorflow as tf

LOOP_COLUMNS = ("step", "episodes", "episode_return", "episode_length", "eval_return",
                "steps_per_sec", "elapsed_sec")


class MetricsWriter:
    """Appends rows to ``logdir/progress.csv`` and scalars to ``logdir/tensorboard``.

    Args:
      logdir: the run folder.
      stat_names: learner statistics that get a column each, after :data:`LOOP_COLUMNS`.
      resume_step: when resuming, rows logged after this step (work lost with the crash) are dropped,
        so the file has no duplicated rows.
    """

    def __init__(self, logdir, stat_names, resume_step=None):
        self.columns = LOOP_COLUMNS + tuple(stat_names)
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
        tmp = self.path + ".tmp"
        with open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, self.columns, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)
        os.replace(tmp, self.path)

    def write(self, row):
        """Writes one row (missing columns stay empty) and its numbers to TensorBoard."""
        with open(self.path, "a", newline="") as f:
            csv.DictWriter(f, self.columns, extrasaction="ignore").writerow(row)
        with self._summary.as_default(step=int(row["step"])):
            for key, value in row.items():
                if key != "step" and value is not None and value != "":
                    tf.summary.scalar(key, float(value))
        self._summary.flush()

    def close(self):
        self._summary.close()


def read_progress(logdir):
    """Reads ``progress.csv`` into a dict of column -> list of floats (empty cells become nan)."""
    with open(os.path.join(logdir, "progress.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    columns = rows[0].keys() if rows else []
    return {c: [float(r[c]) if r[c] != "" else float("nan") for r in rows] for c in columns}
