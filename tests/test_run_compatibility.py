"""A run folder written before the modules moved into subpackages (``tests/fixtures``) resumes,
fine-tunes and loads with today's code: config.json, checkpoints and exports name no module."""
import csv
import json
import os
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import pytest

import softq_tf

OLD_RUN = pathlib.Path(__file__).parent / "fixtures" / "run_before_layout"
BANDIT = "softq_tf/ContinuousBandit-v0"
ENV = {"TF_CPP_MIN_LOG_LEVEL": "2"}


@pytest.fixture
def old_run(tmp_path):
    copy = tmp_path / "old"
    shutil.copytree(OLD_RUN, copy)
    return copy


def train(*args):
    return subprocess.run([sys.executable, "-m", "softq_tf.train", *args], capture_output=True,
                          text=True, timeout=300, env=dict(os.environ, **ENV))


def test_an_old_run_resumes_and_is_extended(old_run):
    result = train(f"--logdir={old_run}", "--resume", "--total_steps=150")
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"resumed from {old_run}/checkpoints/ckpt-100" in result.stderr
    with open(old_run / "progress.csv") as f:
        assert [int(row["step"]) for row in csv.DictReader(f)] == [50, 100, 150]
    config = json.loads((old_run / "config.json").read_text())
    assert config["total_steps_history"] == [100, 150]  # the old file had no history
    assert softq_tf.load_policy(str(old_run / "policy")).config["loop"]["total_steps"] == 150


def test_an_old_run_is_fine_tuned_from(old_run, tmp_path):
    result = train(f"--env={BANDIT}", "--total_steps=60", f"--logdir={tmp_path / 'new'}",
                   f"--init_from={old_run}", "--override=min_pool=50", "--override=log_every=60",
                   "--override=hidden_sizes=8", "--override=batch_size=16",
                   "--override=kernel_particles=4", "--override=value_particles=4")
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads((tmp_path / "new" / "config.json").read_text())["init_from"] == str(old_run)


def test_an_old_export_loads_and_acts():
    policy = softq_tf.load_policy(str(OLD_RUN / "policy"))
    q_function = softq_tf.load_q_function(str(OLD_RUN / "q_function"))
    observation = np.zeros((3, 1), np.float32)
    actions = np.asarray(policy.sample_action(observation))
    assert actions.shape == (3, 1) and np.all(np.abs(actions) <= 1.0)
    assert np.asarray(q_function.q_values(observation, actions)).shape == (3,)
