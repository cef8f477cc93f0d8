"""What every command-line entry point shares: one-line errors with an exit code, absl flag
parsing that treats a bad flag as bad input, the ``--env_kwargs`` JSON, and progress lines kept
free of libraries' INFO logs.

Exit codes across the project's CLIs: 0 success, 1 a failure while running (training, a trial),
2 bad input (nothing was started or changed), 3 stopped by SIGTERM or SIGINT after writing a
checkpoint (``softq_tf.train``; it resumes with ``--resume``).
"""
import importlib.util
import json
import logging
import os
import shlex
import sys

from absl import flags
from absl import logging as absl_logging


def fail(code, message):
    """Prints ``error: <message>`` as one line on stderr and exits with ``code``."""
    print(f"error: {' '.join(str(message).split())}", file=sys.stderr)
    sys.exit(code)


def plot_hint(folder):
    """``plot curves with: python -m softq_tf.plot <folder>``, for the lines that tell where a
    command's outputs are."""
    return f"plot curves with: python -m softq_tf.plot {shlex.quote(str(folder))}"


def parse_flags(argv):
    """absl's flag parsing (``app.run(..., flags_parser=parse_flags)``), but a bad flag is bad
    input: one ``error:`` line and exit code 2."""
    try:
        return flags.FLAGS(argv)
    except flags.Error as e:
        fail(2, e)


def parse_env_kwargs(text):
    """The ``--env_kwargs`` JSON object as a dict; ValueError naming the text otherwise."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        raise ValueError(f"--env_kwargs={text!r} is invalid: give a JSON object, e.g. "
                         "'{\"island_length\": 2.0}'")
    return value


class _DropInfoOf(logging.Filter):
    """Drops records below WARNING logged from files under any of ``folders``."""

    def __init__(self, folders):
        super().__init__()
        self.folders = tuple(os.path.join(folder, "") for folder in folders)

    def filter(self, record):
        return record.levelno >= logging.WARNING or not record.pathname.startswith(self.folders)


def drop_info_of(*packages):
    """Keeps the INFO (and DEBUG) lines that the installed ``packages`` log through absl out of
    the output; their warnings and errors still show. TensorFlow's checkpoint and SavedModel code
    logs through absl at INFO ("Sharding callback duration" at every checkpoint, "Writing
    fingerprint"), which ``TF_CPP_MIN_LOG_LEVEL`` (C++ logging) and ``tf.get_logger()`` (the
    ``tensorflow`` logger) do not reach. Finds the packages without importing them."""
    specs = [importlib.util.find_spec(name) for name in packages]
    folders = [folder for spec in specs if spec and spec.submodule_search_locations
               for folder in spec.submodule_search_locations]
    absl_logging.get_absl_logger().addFilter(_DropInfoOf(folders))
