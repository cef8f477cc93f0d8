"""How the package writes its state to disk: whole files replaced atomically.

:func:`write_atomic` is the one way a state file is replaced (a checkpoint's side files, the
replay ``.npz``, ``config.json``, the ``progress.csv`` rewrite on resume, a sweep's summary): a
reader, or a run resumed after a crash or power loss, sees the old content or the new one, never
a mix.
"""
import contextlib
import json
import os


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
