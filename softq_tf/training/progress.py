"""Reading a run's state without TensorFlow: its ``progress.csv`` (written by
:class:`softq_tf.training.metrics.MetricsWriter`) and the steps of its checkpoints. The sweep, the
training CLI's checks and the figure scripts read runs that other processes train.
"""
import csv
import os
import re

# The JSON asset of an exported policy/ or q_function/: its specs and its run's config.json.
METADATA_FILE = "softq_tf.json"
# ckpt-<step>.index / .data-* / .replay.npz / .loop.json, and ckpt-<step>_temp/ while TF writes.
CHECKPOINT_FILE = re.compile(r"^ckpt-(\d+)(\.|_temp$)")


def read_progress(logdir):
    """Reads ``progress.csv`` into a dict of column -> list of floats (empty cells become nan;
    every column of the header, with no values before the first row), leaving out a last row that
    a live run is still appending (one with cells missing)."""
    with open(os.path.join(logdir, "progress.csv"), newline="") as f:
        reader = csv.DictReader(f)
        rows = [row for row in reader if None not in row.values()]
        columns = reader.fieldnames or []
    return {c: [float(r[c]) if r[c] != "" else float("nan") for r in rows] for c in columns}


def checkpoint_steps(directory):
    """Steps of every ``ckpt-<step>.index`` in ``directory``, newest first (complete or not)."""
    if not os.path.isdir(directory):
        return []
    steps = {int(m.group(1)) for name in os.listdir(directory)
             if (m := CHECKPOINT_FILE.match(name)) and name.endswith(".index")}
    return sorted(steps, reverse=True)
