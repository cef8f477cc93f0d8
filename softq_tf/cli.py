"""What every command-line entry point shares: one-line errors with an exit code, and absl flag
parsing that treats a bad flag as bad input.

Exit codes across the project's CLIs: 0 success, 1 a failure while running (training, a trial),
2 bad input (nothing was started or changed), 3 stopped by SIGTERM or SIGINT after writing a
checkpoint (``softq_tf.train``; it resumes with ``--resume``).
"""
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
