"""Building runs from requests: overrides, validation, and training a stock Gymnasium env."""
import json
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


def test_ddpg_overrides_reach_its_config():
    learner, _ = experiment.build_configs("ddpg", 500, ["noise=gaussian", "noise_sigma=0.2"])
    assert learner.noise == "gaussian" and learner.noise_sigma == 0.2
    with pytest.raises(ValueError, match="kernel_particles"):  # an SQL-only field
        experiment.build_configs("ddpg", 500, ["kernel_particles=8"])


def test_trains_ddpg_on_a_stock_gymnasium_env_and_exports(tmp_path):
    logdir = tmp_path / "pendulum-ddpg"
    run = experiment.prepare("Pendulum-v1", "ddpg", total_steps=120, logdir=str(logdir),
                             overrides=["min_pool=60", "batch_size=16", "hidden_sizes=16",
                                        "log_every=60"])
    assert experiment.execute(run)["steps"] == 120
    assert experiment.load_run(str(logdir / "config.json")).learner_config == run.learner_config
    for name in ("policy", "q_function"):
        assert os.path.exists(logdir / name / "saved_model.pb")


def test_env_kwargs_reach_the_env_and_are_recorded(tmp_path):
    logdir = tmp_path / "maze"
    run = experiment.prepare("softq_tf/QuadrupedMaze-v1", total_steps=10, logdir=str(logdir),
                             env_kwargs={"island_length": 2.0})
    assert run.to_json()["env_kwargs"] == {"island_length": 2.0}
    env = experiment.make_env(run.env_id, run.env_kwargs)
    assert tuple(env.unwrapped.target) == (5.0, 0.0)  # passage_width + island_length
    os.makedirs(logdir)
    (logdir / "config.json").write_text(json.dumps(run.to_json()))
    assert experiment.load_run(str(logdir / "config.json")).env_kwargs == {"island_length": 2.0}
