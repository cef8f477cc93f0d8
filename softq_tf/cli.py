"""What every command-line entry point shares: one-line errors with an exit code, absl flag
parsing that treats a bad flag as bad input, and the ``--env_kwargs`` JSON.

Exit codes across the project's CLIs: 0 success, 1 a failure while running (training, a trial),
2 bad input (nothing was started or changed), 3 stopped by SIGTERM or SIGINT after writing a
checkpoint (``softq_tf.train``; it resumes with ``--resume``).
"""
import json
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
