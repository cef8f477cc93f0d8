"""What every command-line entry point shares: one-line errors with an exit code, absl flag
parsing that treats a bad flag as bad input, the ``--env_kwargs`` JSON, and quiet TensorFlow logs.

Exit codes across the project's CLIs: 0 success, 1 a failure while running (training, a trial),
2 bad input (nothing was started or changed), 3 stopped by SIGTERM or SIGINT after writing a
checkpoint (``softq_tf.train``; it resumes with ``--resume``).
"""
import importlib.util
import json
import logging
import os
import sys

from absl import flags


def fail(code, message):
    """Prints ``error: <message>`` as one line on stderr and exits with ``code``."""
    print(f"error: {' '.join(str(message).split())}", file=sys.stderr)
    sys.exit(code)


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


class _DropTensorFlowInfo(logging.Filter):
    """Drops log records below WARNING that come from files under ``folder`` (TensorFlow's)."""

    folder = None  # set by quiet_tensorflow_logs

    def filter(self, record):
        return (record.levelno >= logging.WARNING or self.folder is None
                or not record.pathname.startswith(self.folder))


_DROP_TENSORFLOW_INFO = _DropTensorFlowInfo()


def quiet_tensorflow_logs():
    """Keeps TensorFlow's INFO lines (a SavedModel export writes a dozen: signature renames,
    fingerprints, saver timings) out of a command's output. TensorFlow logs them through absl, the
    logger the commands' own progress lines use, so they are filtered by the file they come from;
    warnings and errors still show."""
    spec = importlib.util.find_spec("tensorflow")  # finds the package without importing it
    if spec is not None and spec.origin:
        _DROP_TENSORFLOW_INFO.folder = os.path.dirname(spec.origin) + os.sep
        logging.getLogger("absl").addFilter(_DROP_TENSORFLOW_INFO)
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
