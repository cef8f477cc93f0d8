"""Building runs from requests: overrides, validation, and training a stock Gymnasium env."""
import os

import pytest

from softq_tf import experiment


def test_overrides_are_typed_and_routed():
    learner, loop = experiment.build_configs("sql", 500, ["hidden_sizes=(64, 32)",
                                                          "reward_scale=0.1", "min_pool=1e3"])
    assert learner.hidden_sizes == (64, 32) and learner.reward_scale == 0.1
    assert loop.min_pool == 1000 and loop.total_steps == 500


def test_prepare_refuses_to_overwrite_a_run(tmp_path):
    (tmp_path / "progress.csv").write_text("step\n")
    with pytest.raises(ValueError, match="--resume"):
        experiment.prepare("softq_tf/MultiGoal-v0", logdir=str(tmp_path))


def test_trains_a_stock_gymnasium_env(tmp_path):
    run = experiment.prepare("Pendulum-v1", total_steps=120, logdir=str(tmp_path / "pendulum"),
                             overrides=["min_pool=60", "batch_size=16", "hidden_sizes=16",
                                        "log_every=60"])
    summary = experiment.execute(run)
    assert summary["steps"] == 120
    assert os.path.exists(tmp_path / "pendulum" / "policy" / "saved_model.pb")
