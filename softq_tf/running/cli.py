"""What every command-line entry point shares: one-line errors with an exit code, absl flag
parsing that treats a bad flag as bad input, the ``--env_kwargs`` JSON, and progress lines kept
free of libraries' INFO logs.

Exit codes across the project's CLIs: 0 success, 1 a failure while running (training, a trial),
2 bad input (nothing was started or changed), 3 stopped by SIGTERM or SIGINT after writing a
checkpoint (``softq_tf.train`` and ``softq_tf.compose`` with :class:`SignalStop`; they resume with
``--resume``).

A process started by another one that must not outlive it (a sweep's trial) is given the starter's
pid in :data:`PARENT_ENV_VAR` and calls :func:`stop_with_parent` first thing.
"""
import ctypes
import importlib.util
import json
import logging
import os
import shlex
import signal
import sys

from absl import flags
from absl import logging as absl_logging

# Holds the pid of the process that started this one, when this one must stop when it dies.
PARENT_ENV_VAR = "SOFTQ_TF_STOP_WITH_PARENT"
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def fail(code, message):
    """Prints ``error: <message>`` as one line on stderr and exits with ``code``."""
    print(f"error: {' '.join(str(message).split())}", file=sys.stderr)
    sys.exit(code)


def stop_with_parent():
    """When :data:`PARENT_ENV_VAR` holds a pid, makes this process get SIGTERM when that parent
    dies, however it dies (SIGKILL included), so it stops as on SIGTERM instead of running on
    orphaned.

    Linux only (``prctl(PR_SET_PDEATHSIG, SIGTERM)``; elsewhere nothing is done). The signal comes
    when the parent's *thread* that started this process ends, so the parent must start it from a
    thread that lives as long as it waits for it. A parent that died before the call is not
    signalled for: then this process's parent is no longer that pid, and it exits with code 3 and
    one line, before it has written anything.
    """
    parent = os.environ.get(PARENT_ENV_VAR)
    if not parent or not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if str(os.getppid()) != parent:
        fail(3, f"stopped: process {parent}, which started this one, has ended; rerun it to "
             "resume")


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


class SignalStop:
    """A context manager: inside its block, SIGTERM and SIGINT request a clean stop instead of
    ending the process; the previous handlers are restored on exit.

    Pass it as ``stop`` to :func:`softq_tf.running.experiment.execute` or
    :func:`softq_tf.running.composition.execute`: calling it tells whether a signal arrived, which
    the training loop checks before every step (a composition's fit before every update).
    Repeated signals change nothing.

    Attributes:
      signal_name: the first signal received (``"SIGTERM"``, ``"SIGINT"``), None until then.
    """

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self):
        self.signal_name = None
        self._previous = {}

    def __call__(self):
        return self.signal_name is not None

    def _handle(self, signum, frame):
        # Only an attribute is set: logging here could re-enter a stderr write the signal
        # interrupted, which Python refuses with a RuntimeError.
        if self.signal_name is None:
            self.signal_name = signal.Signals(signum).name

    def __enter__(self):
        self._previous = {signum: signal.signal(signum, self._handle) for signum in self.SIGNALS}
        return self

    def __exit__(self, *exc_info):
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        return False
