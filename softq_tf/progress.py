"""Reading a run's ``progress.csv`` (written by :class:`softq_tf.metrics.MetricsWriter`), without
TensorFlow: the sweep and the figure scripts read runs that other processes train.
"""
import csv
import os


def read_progress(logdir):
    """Reads ``progress.csv`` into a dict of column -> list of floats (empty cells become nan)."""
    with open(os.path.join(logdir, "progress.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    columns = rows[0].keys() if rows else []
    return {c: [float(r[c]) if r[c] != "" else float("nan") for r in rows] for c in columns}
