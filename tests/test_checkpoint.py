"""Checkpoints: what a killed save leaves behind, damaged files, and what restore picks."""
import os
import shutil

import gymnasium as gym
import pytest
import tensorflow as tf

from conftest import assert_same_state
from softq_tf import NoUsableCheckpointError, train
from softq_tf.training.checkpoint import Checkpointer, CheckpointWriteError, checkpoint_steps
from test_loop import CounterEnv, make_learner, small_loop


def restored_from(directory, step):
    learner = make_learner()
    tf.train.Checkpoint(**learner.checkpoint_items()).restore(f"{directory}/ckpt-{step}")
    return learner


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A run of 50 steps with checkpoints every 10 steps, keeping the last 3 (30, 40 and 50)."""
    logdir = tmp_path_factory.mktemp("run")
    train(gym.wrappers.TimeLimit(CounterEnv(), 5), make_learner(),
          small_loop(total_steps=50, checkpoint_every=10), logdir=str(logdir))
    return logdir / "checkpoints"


@pytest.fixture
def ckpt_dir(finished_run, tmp_path):
    """A fresh copy of :func:`finished_run`'s checkpoints for each test to damage."""
    return shutil.copytree(finished_run, tmp_path / "checkpoints")


def restore(directory):
    learner = make_learner()
    restored = Checkpointer(directory, learner).restore_latest()
    return learner, restored


@pytest.mark.parametrize("damage", ["truncate_data", "truncate_index", "garbage_index",
                                    "garbage_loop_json", "missing_replay"])
def test_damaged_newest_is_skipped_and_older_restored_exactly(ckpt_dir, damage, caplog):
    learner = make_learner()
    tf.train.Checkpoint(**learner.checkpoint_items()).restore(f"{ckpt_dir}/ckpt-50")
    prefix = f"{ckpt_dir}/ckpt-50"
    if damage.startswith("truncate"):
        path = prefix + (".index" if damage == "truncate_index" else ".data-00000-of-00001")
        os.truncate(path, os.path.getsize(path) // 2)
    elif damage == "garbage_index":
        with open(prefix + ".index", "wb") as f:
            f.write(os.urandom(300))
    elif damage == "garbage_loop_json":
        with open(prefix + ".loop.json", "w") as f:
            f.write("{not json")
    else:
        os.remove(prefix + ".replay.npz")
    # restore over a learner already holding ckpt-50's values: nothing of them may survive
    replay, loop_state = Checkpointer(ckpt_dir, learner).restore_latest()
    assert loop_state["step"] == 40 and len(replay) == 40
    assert "skipping damaged checkpoint" in caplog.text and "ckpt-50" in caplog.text
    assert_same_state(learner, restored_from(ckpt_dir, 40))


def test_state_file_is_not_trusted(ckpt_dir):
    """A checkpoint written just before a kill that missed the state file, or a garbled state
    file."""
    with open(f"{ckpt_dir}/checkpoint", "w") as f:
        f.write('model_checkpoint_path: "ckpt-30"\nall_model_checkpoint_paths: "ckpt-30"\n')
    assert restore(ckpt_dir)[1][1]["step"] == 50
    with open(f"{ckpt_dir}/checkpoint", "wb") as f:
        f.write(b"\x00garbage{")
    learner, (_, loop_state) = restore(ckpt_dir)
    assert loop_state["step"] == 50
    assert_same_state(learner, restored_from(ckpt_dir, 50))


def test_leftovers_of_killed_saves_are_ignored_then_removed(ckpt_dir):
    # killed after the side files of ckpt-60, while TF wrote it, or while writing a side file
    for name in ("ckpt-60.loop.json", "ckpt-60.replay.npz", "ckpt-50.loop.json.tmp"):
        with open(f"{ckpt_dir}/{name}", "w") as f:
            f.write("partial")
    os.makedirs(f"{ckpt_dir}/ckpt-60_temp")
    learner = make_learner()
    checkpointer = Checkpointer(ckpt_dir, learner)
    replay, loop_state = checkpointer.restore_latest()
    assert loop_state["step"] == 50
    checkpointer.save(60, replay, dict(loop_state, step=60))
    names = sorted(os.listdir(ckpt_dir))
    assert not [n for n in names if n.endswith((".tmp", "_temp"))], names
    assert checkpoint_steps(ckpt_dir) == [60, 50, 40]
    assert restore(ckpt_dir)[1][1]["step"] == 60


def test_a_save_on_a_full_disk_removes_what_it_wrote_and_names_the_way_on(ckpt_dir,
                                                                         monkeypatch):
    learner = make_learner()
    checkpointer = Checkpointer(ckpt_dir, learner)
    replay, loop_state = checkpointer.restore_latest()
    before = sorted(os.listdir(ckpt_dir))

    def full_disk_mid_write(**_):  # as TensorFlow's SaveV2 fails on a full disk
        os.makedirs(f"{ckpt_dir}/ckpt-60_temp")
        with open(f"{ckpt_dir}/ckpt-60_temp/part-00000-of-00001.data-00000-of-00001", "wb") as f:
            f.write(b"partial")
        with open(f"{ckpt_dir}/ckpt-60.index", "wb") as f:
            f.write(b"partial")
        raise tf.errors.ResourceExhaustedError(
            None, None, f"{ckpt_dir}/ckpt-60_temp/part-00000; No space left on device")

    monkeypatch.setattr(checkpointer._manager, "save", full_disk_mid_write)
    with pytest.raises(CheckpointWriteError) as raised:
        checkpointer.save(60, replay, dict(loop_state, step=60))
    assert str(raised.value) == (
        f"cannot write checkpoint ckpt-60 in {ckpt_dir} (No space left on device); what it "
        "wrote was removed and the newest complete checkpoint is ckpt-50 (step 50): free disk "
        "space, then continue with --resume")
    assert sorted(os.listdir(ckpt_dir)) == before  # side files, _temp/ and .index all gone
    assert restore(ckpt_dir)[1][1]["step"] == 50


def test_keeps_the_last_n_without_orphans(finished_run):
    assert sorted(os.listdir(finished_run)) == ["checkpoint"] + [
        f"ckpt-{s}{suffix}" for s in (30, 40, 50)
        for suffix in (".data-00000-of-00001", ".index", ".loop.json", ".replay.npz")]


def test_no_loadable_checkpoint_is_an_error_that_keeps_the_files(ckpt_dir):
    for step in (30, 40, 50):
        os.remove(f"{ckpt_dir}/ckpt-{step}.replay.npz")
    before = sorted(os.listdir(ckpt_dir))
    with pytest.raises(NoUsableCheckpointError, match="no checkpoint .* loads"):
        restore(ckpt_dir)
    assert sorted(os.listdir(ckpt_dir)) == before
