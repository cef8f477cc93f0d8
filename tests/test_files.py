"""State files: atomic replacement."""
import json
import os

import pytest

from softq_tf.files import write_atomic, write_json_atomic


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
