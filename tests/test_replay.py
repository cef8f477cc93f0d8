"""ReplayBuffer: ring semantics, reproducible sampling, exact save/load without pickle, and the
in-graph append and sampling of the training loop's compiled step."""
import numpy as np
import pytest
import tensorflow as tf

from softq_tf import ReplayBuffer
from softq_tf.training.replay import pack_transition


def fill(buffer, n, start=0):
    for i in range(start, start + n):
        buffer.add(np.full(3, i), np.full(2, -i), float(i), np.full(3, i + 1), i % 3 == 0)


def assert_same_contents(a, b):
    a, b = a.contents(), b.contents()
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])


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
    assert (loaded.size, loaded.capacity) == (buffer.size, 8)
    assert int(loaded.next_index) == int(buffer.next_index) == n % 8
    assert_same_contents(loaded, buffer)
    fill(buffer, 4, start=100)
    fill(loaded, 4, start=100)
    assert_same_contents(loaded, buffer)


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


def test_append_and_sample_batch_inside_a_compiled_function():
    buffer, reference = ReplayBuffer(6, 3, 2), ReplayBuffer(6, 3, 2)
    fill(reference, 9)
    rows = np.stack([pack_transition(np.zeros(10, np.float32), np.full(3, i), np.full(2, -i),
                                     float(i), np.full(3, i + 1), i % 3 == 0) for i in range(9)])
    generator = tf.random.Generator.from_seed(0)

    @tf.function(jit_compile=True)
    def append_then_sample(row):
        buffer.append(row)
        return buffer.sample_batch(3000, generator)

    for row in rows:
        batch = append_then_sample(row)
    assert_same_contents(buffer, reference)  # the ring overwrote the three oldest
    counts = np.bincount(batch["reward"].numpy().astype(int), minlength=9)
    assert counts[:3].sum() == 0  # overwritten transitions are never drawn
    assert counts[3:].min() > 400  # the six held ones about uniformly (500 each)
    np.testing.assert_array_equal(batch["next_obs"].numpy()[:, 0], batch["reward"].numpy() + 1)
