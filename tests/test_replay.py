"""ReplayBuffer: ring semantics, reproducible sampling, exact save/load without pickle."""
import numpy as np
import pytest

from softq_tf import ReplayBuffer


def fill(buffer, n, start=0):
    for i in range(start, start + n):
        buffer.add(np.full(3, i), np.full(2, -i), float(i), np.full(3, i + 1), i % 3 == 0)


def test_ring_buffer_overwrites_oldest():
    buffer = ReplayBuffer(5, 3, 2)
    fill(buffer, 7)
    assert len(buffer) == 5
    batch = buffer.sample(200, np.random.default_rng(0))
    assert set(batch["reward"].tolist()) == {2.0, 3.0, 4.0, 5.0, 6.0}
    np.testing.assert_array_equal(batch["next_obs"][:, 0], batch["reward"] + 1)
    np.testing.assert_array_equal(batch["terminated"], (batch["reward"] % 3 == 0))


def test_sampling_is_reproducible():
    buffer = ReplayBuffer(100, 3, 2)
    fill(buffer, 50)
    a = buffer.sample(16, np.random.default_rng(7))
    b = buffer.sample(16, np.random.default_rng(7))
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])


@pytest.mark.parametrize("n", [3, 11])  # before and after wrap-around
def test_save_load_round_trip(tmp_path, n):
    buffer = ReplayBuffer(8, 3, 2)
    fill(buffer, n)
    path = str(tmp_path / "replay.npz")
    buffer.save(path)
    loaded = ReplayBuffer.load(path)
    assert (loaded.size, loaded.capacity, loaded._next) == (buffer.size, 8, buffer._next)
    for key in buffer._data:
        np.testing.assert_array_equal(loaded._data[key], buffer._data[key])
    fill(buffer, 4, start=100)
    fill(loaded, 4, start=100)
    for key in buffer._data:
        np.testing.assert_array_equal(loaded._data[key], buffer._data[key])


def test_damaged_file_is_a_clear_error(tmp_path):
    path = tmp_path / "replay.npz"
    path.write_bytes(b"not a zip file")
    with pytest.raises(ValueError, match="unreadable"):
        ReplayBuffer.load(str(path))


def test_bad_capacity_and_empty_sample():
    with pytest.raises(ValueError, match="capacity"):
        ReplayBuffer(0, 3, 2)
    with pytest.raises(ValueError, match="empty"):
        ReplayBuffer(4, 3, 2).sample(1, np.random.default_rng(0))
