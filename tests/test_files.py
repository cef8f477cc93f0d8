"""State files: atomic replacement, and the lock that keeps one writer per run folder."""
import json
import os

import pytest

from softq_tf.training import files
from softq_tf.training.files import (LOCK_FILE, RunFolderBusyError, copy_atomic, hold_run_folder,
                                     run_folder_holder, write_atomic, write_json_atomic)


def test_write_atomic_writes_text_binary_and_json(tmp_path):
    path = tmp_path / "state"
    write_atomic(path, lambda f: f.write("a,b\r\n1,2\n"))
    assert path.read_bytes() == b"a,b\r\n1,2\n"  # text as written: no newline translation
    write_atomic(path, lambda f: f.write(b"\x00\x01"), binary=True)
    assert path.read_bytes() == b"\x00\x01"
    write_json_atomic(path, {"step": 3})
    assert json.loads(path.read_text()) == {"step": 3}
    assert os.listdir(tmp_path) == ["state"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "state.json"
    write_json_atomic(path, {"step": 1})

    def write_half_then_fail(f):
        f.write('{"step": 2, "replay')
        f.flush()
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_atomic(path, write_half_then_fail)
    assert json.loads(path.read_text()) == {"step": 1}
    assert os.listdir(tmp_path) == ["state.json"]


def test_a_held_run_folder_refuses_a_second_holder_naming_folder_and_pid(tmp_path):
    with hold_run_folder(tmp_path):
        assert (tmp_path / LOCK_FILE).read_text() == f"{os.getpid()}\n"
        # flock conflicts between two opens of the file even within one process.
        with pytest.raises(RunFolderBusyError) as busy:
            with hold_run_folder(tmp_path):
                pass
        message = str(busy.value)
        assert str(tmp_path) in message and f"process {os.getpid()}" in message
        assert "\n" not in message
    with hold_run_folder(tmp_path):  # released at the end of the block
        pass


def test_copy_atomic_copies_bytes_and_time_or_leaves_the_old_file(tmp_path, monkeypatch):
    source, path = tmp_path / "source", tmp_path / "copy"
    source.write_bytes(b"new\x00content")
    os.utime(source, (1_000_000, 1_000_000))
    path.write_bytes(b"old")
    copy_atomic(source, path)
    assert path.read_bytes() == b"new\x00content" and path.stat().st_mtime == 1_000_000

    def copy_half_then_fail(f, out):
        out.write(f.read(3))
        out.flush()
        raise OSError("disk full")

    source.write_bytes(b"newer content")
    monkeypatch.setattr(files.shutil, "copyfileobj", copy_half_then_fail)
    with pytest.raises(OSError, match="disk full"):
        copy_atomic(source, path)
    assert path.read_bytes() == b"new\x00content"  # not truncated to b"new"
    assert sorted(os.listdir(tmp_path)) == ["copy", "source"]


def test_run_folder_holder_names_the_live_holder(tmp_path):
    assert run_folder_holder(tmp_path / "missing") is None
    assert run_folder_holder(tmp_path) is None  # no lock file yet
    with hold_run_folder(tmp_path):
        assert run_folder_holder(tmp_path) == str(os.getpid())
    assert run_folder_holder(tmp_path) is None  # a lock file left behind holds nothing
    with hold_run_folder(tmp_path):  # the probe took nothing away
        pass
