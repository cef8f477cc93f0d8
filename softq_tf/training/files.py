"""How the package writes its state to disk: whole files replaced atomically, and one writer per
run folder.

:func:`write_atomic` is the one way a state file is replaced (a checkpoint's side files, the
replay ``.npz``, ``config.json``, the ``progress.csv`` rewrite on resume, a sweep's summary, a
file copied in by :func:`copy_atomic`): a reader, or a run resumed after a crash or power loss,
sees the old content or the new one, never a mix. :func:`hold_run_folder` keeps a second process
from training into a folder a live process is training in (a ``--resume`` on a running run, a
scheduler starting a job twice); :func:`run_folder_holder` tells which process that is.

A write of a run's files that fails (a full disk) removes what it wrote and raises
:class:`RunWriteError`, whose one-line message (:func:`write_failure`) names the file, the
newest complete checkpoint and the way on. ``SOFTQ_TF_TEST_CRASH_AT`` and
``SOFTQ_TF_TEST_FULL_DISK_AT`` (test hooks, see :func:`fault_point`) kill the process, or fail a
write as a full disk would, at a chosen point.
"""
import contextlib
import errno
import fcntl
import json
import os
import shutil
import signal

LOCK_FILE = ".lock"
CRASH_ENV_VAR = "SOFTQ_TF_TEST_CRASH_AT"
FULL_DISK_ENV_VAR = "SOFTQ_TF_TEST_FULL_DISK_AT"


class RunFolderBusyError(ValueError):
    """Another live process holds the run folder's lock (:func:`hold_run_folder`)."""


class RunWriteError(RuntimeError):
    """A file of a run could not be written (e.g. the disk is full); what the failed write left
    was removed and the complete checkpoints are intact. The message is one line with the way
    on (:func:`write_failure`)."""


def fault_point(point, where):
    """Test hooks at ``point`` of a write, each when its env var is ``<point>:<where>``:
    ``SOFTQ_TF_TEST_CRASH_AT`` SIGKILLs this process, ``SOFTQ_TF_TEST_FULL_DISK_AT`` raises
    ``OSError(ENOSPC)`` as a write to a full disk does.

    The points: ``side_files`` and ``tf_files`` of a checkpoint save of step ``where`` (after its
    side files; after its TensorFlow files, before the state file), ``progress`` (a
    ``progress.csv`` row of step ``where``, half written) and ``export`` (the SavedModel folder
    named ``where``, ``policy`` or ``q_function``, half written). Used by the crash-safety tests;
    unset in normal runs.
    """
    if os.environ.get(CRASH_ENV_VAR) == f"{point}:{where}":
        os.kill(os.getpid(), signal.SIGKILL)
    if os.environ.get(FULL_DISK_ENV_VAR) == f"{point}:{where}":
        raise OSError(errno.ENOSPC, f"{os.strerror(errno.ENOSPC)} ({FULL_DISK_ENV_VAR})")


def first_line(error):
    """The first line of ``error``'s text, or its type's name when it has none."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def write_failure(what, error, checkpoints):
    """The one-line message of a failed write of ``what`` (its partial content already
    removed) with ``error`` (``OSError``, or TensorFlow's error whose text says why), given
    ``checkpoints``, the run's complete checkpoint steps, newest first."""
    full_disk = os.strerror(errno.ENOSPC)  # TensorFlow's errors say it in their text
    full = getattr(error, "errno", None) == errno.ENOSPC or full_disk in str(error)
    cause = full_disk if full else first_line(error)
    where = (f"the newest complete checkpoint is ckpt-{checkpoints[0]} (step {checkpoints[0]})"
             if checkpoints else "there is no checkpoint, so --resume starts the run over")
    return (f"cannot write {what} ({cause}); what it wrote was removed and {where}: "
            f"{'free disk space' if full else 'fix the cause'}, then continue with --resume")


def _fsync_folder(folder):
    """Flushes ``folder``'s entries to disk, so a rename in it survives a power loss."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path, write, binary=False):
    """Replaces ``path`` with what ``write(f)`` writes to an open file ``f``, all or nothing.

    The content goes to ``<path>.tmp``, which is flushed, fsynced and renamed over ``path``; then
    the folder is fsynced, so the rename is on disk too. A process killed on the way leaves
    ``path`` as it was (and possibly the ``.tmp`` file, which the next write replaces); if
    ``write`` raises, the ``.tmp`` file is removed and the error propagates.

    Args:
      path: the file to replace or create.
      write: a callable taking the open temporary file.
      binary: open it in binary mode (``"wb"``) instead of text (``"w"``, no newline translation,
        as the csv module needs).
    """
    tmp = f"{path}.tmp"
    try:
        with open(tmp, "wb") if binary else open(tmp, "w", newline="") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise
    _fsync_folder(os.path.dirname(os.path.abspath(path)))


def write_json_atomic(path, data):
    """Writes ``data`` as JSON to ``path`` with :func:`write_atomic`."""
    write_atomic(path, lambda f: json.dump(data, f, indent=1))


def copy_atomic(source, path):
    """Replaces ``path`` with a copy of the file ``source`` (its bytes, then its modification
    time) with :func:`write_atomic`: a crash leaves ``path`` as it was, never a truncated copy."""
    with open(source, "rb") as f:
        write_atomic(path, lambda out: shutil.copyfileobj(f, out), binary=True)
    shutil.copystat(source, path)


def _holder_pid(fd):
    """The pid the holder wrote into the open lock file ``fd``; empty only in the instant between
    the holder's lock and its pid write."""
    return os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"


def run_folder_holder(logdir):
    """The pid (as text) of the live process holding ``logdir`` (:func:`hold_run_folder`), or None
    when none does (also when the folder or its lock file does not exist).

    It probes with a shared lock taken and dropped at once, so a process starting to train in the
    folder at that very instant may find it busy; nothing is written.
    """
    try:
        fd = os.open(os.path.join(logdir, LOCK_FILE), os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return None
    except BlockingIOError:
        return _holder_pid(fd)
    finally:
        os.close(fd)  # releases the probe's lock


@contextlib.contextmanager
def hold_run_folder(logdir):
    """Holds the run folder ``logdir`` for the block: no other process can hold it meanwhile.

    The hold is an advisory ``fcntl.flock`` on ``<logdir>/.lock`` (created if missing, left in
    place afterwards), which holds the holder's pid. The kernel releases it when the holder's
    process ends however it ends, so a run killed with SIGKILL leaves no stale lock. The folder
    must exist. ``flock`` is reliable on local file systems; on network file systems it depends on
    the server.

    Raises:
      RunFolderBusyError: another process holds it (one line naming the folder and its pid);
        nothing in the folder is changed.
    """
    path = os.path.join(logdir, LOCK_FILE)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder_pid(fd)
            raise RunFolderBusyError(
                f"--logdir={logdir!r} is in use by process {holder}, which holds {path}: one "
                "process trains in a run folder at a time; wait for it to end or stop it with "
                "SIGTERM, then --resume") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock
