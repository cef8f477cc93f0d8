"""Building runs from requests: overrides, validation, and training a stock Gymnasium env."""
import json
import os
import shutil

import numpy as np
import pytest
import tensorflow as tf

from softq_tf import EnvSpec, SoftQLearner
from softq_tf.running import experiment
from softq_tf.training.checkpoint import checkpoint_steps
from softq_tf.training.files import LOCK_FILE, RunFolderBusyError, hold_run_folder


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


TINY = ["min_pool=20", "batch_size=8", "hidden_sizes=8,8", "kernel_particles=4",
        "value_particles=4", "log_every=50", "checkpoint_every=50"]
BANDIT = "softq_tf/ContinuousBandit-v0"


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory):
    """A finished SQL run on the bandit: what the fine-tuning tests start from."""
    logdir = tmp_path_factory.mktemp("pretrained") / "run"
    experiment.execute(experiment.prepare(BANDIT, total_steps=100, logdir=str(logdir),
                                          overrides=TINY + ["reward_scale=10"]))
    return logdir


def restored_networks(run_dir):
    """The run's networks as in its last checkpoint, restored with its whole learner state."""
    run = experiment.load_run(str(run_dir / "config.json"))
    learner = experiment.ALGOS[run.algo][1](
        EnvSpec.from_env(experiment.make_env(run.env_id)), run.learner_config, run.seed)
    prefix = run_dir / "checkpoints" / f"ckpt-{checkpoint_steps(run_dir / 'checkpoints')[0]}"
    tf.train.Checkpoint(**learner.checkpoint_items()).restore(str(prefix))
    return learner


def test_fine_tuning_starts_from_the_pretrained_networks_with_fresh_optimizers(pretrained):
    source = restored_networks(pretrained)
    assert int(source.q_optimizer.iterations) > 0  # the pretrained optimizer has moved
    spec = EnvSpec.from_env(experiment.make_env(BANDIT))
    learner = SoftQLearner(spec, experiment.build_configs("sql", 10, TINY)[0], seed=7)
    fresh = [w.numpy() for w in learner.sampler.weights]
    experiment.load_pretrained(learner, str(pretrained))
    for name in ("q", "target_q", "sampler"):
        for a, b in zip(getattr(source, name).weights, getattr(learner, name).weights):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert any(not np.array_equal(a, b.numpy()) for a, b in zip(fresh, learner.sampler.weights))
    assert int(learner.q_optimizer.iterations) == int(learner.policy_optimizer.iterations) == 0
    assert int(learner.step) == 0


def test_fine_tuning_run_records_its_start_and_resumes_from_its_own_checkpoint(pretrained,
                                                                              tmp_path):
    """A fine-tuning run killed after its step-100 checkpoint resumes from that checkpoint, even
    with the pretrained run gone, and ends bit-identical to an uninterrupted one (every bandit
    step ends an episode, so every checkpoint is at an episode boundary)."""
    source = tmp_path / "pretrained"
    shutil.copytree(pretrained, source)

    def fine_tune(name):
        run = experiment.prepare(BANDIT, total_steps=150, logdir=str(tmp_path / name),
                                 overrides=TINY + ["reward_scale=10", "anneal_steps=100",
                                                   "noise_set_size=4", "noise_set_steps=100"],
                                 init_from=str(source))
        experiment.execute(run)
        return tmp_path / name

    uninterrupted, interrupted = fine_tune("a"), fine_tune("b")
    saved = json.loads((interrupted / "config.json").read_text())
    assert saved["init_from"] == str(source)
    shutil.rmtree(interrupted / "policy")  # as if killed after the step-100 checkpoint
    for path in (interrupted / "checkpoints").glob("ckpt-150*"):
        path.unlink()
    shutil.move(source, tmp_path / "moved-away")
    experiment.execute(experiment.prepare(BANDIT, logdir=str(interrupted), resume=True))
    for a, b in zip(restored_networks(uninterrupted).networks().values(),
                    restored_networks(interrupted).networks().values()):
        for x, y in zip(a.weights, b.weights):
            np.testing.assert_array_equal(x.numpy(), y.numpy())


@pytest.mark.parametrize("change,args,message", [
    (None, dict(overrides=["hidden_sizes=8,9"]), r"weight 3 has shape \(8, 8\) there and \(8, 9\)"),
    (None, dict(algo="ddpg", overrides=["hidden_sizes=8,8"]), "is a sql run; this run is ddpg"),
    (None, dict(env_id="softq_tf/MultiGoal-v0"), "needs the same spaces"),
    ("unfinished", {}, "not a finished run: it has no exported policy/"),
    ("not a run", {}, "not a run: it has no config.json"),
])
def test_fine_tuning_rejects_runs_it_cannot_start_from(pretrained, tmp_path, change, args,
                                                       message):
    source = tmp_path / "source"
    shutil.copytree(pretrained, source)
    if change == "unfinished":
        shutil.rmtree(source / "policy")
    elif change == "not a run":
        (source / "config.json").unlink()
    request = dict(env_id=BANDIT, total_steps=50, logdir=str(tmp_path / "new"), overrides=TINY)
    request.update(args)
    with pytest.raises(ValueError, match=message):
        experiment.prepare(init_from=str(source), **request)
    assert not (tmp_path / "new").exists()  # nothing written


def test_prepare_and_execute_close_their_envs_also_on_error(tmp_path, monkeypatch):
    built, closed = [], []
    make_env = experiment.make_env

    def recording_make_env(*args, **kwargs):
        env = make_env(*args, **kwargs)
        close = env.close
        env.close = lambda: (closed.append(env), close())
        built.append(env)
        return env

    def failing_train(*args, **kwargs):
        raise RuntimeError("training broke")

    monkeypatch.setattr(experiment, "make_env", recording_make_env)
    run = experiment.prepare(BANDIT, total_steps=10, logdir=str(tmp_path / "run"),
                             overrides=TINY + ["eval_every=5"])
    assert len(built) == 1 and closed == built  # the env built to validate the request
    monkeypatch.setattr(experiment.loop, "train", failing_train)
    with pytest.raises(RuntimeError, match="training broke"):
        experiment.execute(run)
    # and the training and evaluation envs, each once
    assert len(built) == len(closed) == 3 and {id(e) for e in closed} == {id(e) for e in built}
    with hold_run_folder(run.logdir):  # released as well
        pass


def test_execute_in_a_held_run_folder_raises_and_writes_nothing(tmp_path):
    run = experiment.prepare(BANDIT, total_steps=10, logdir=str(tmp_path / "run"), overrides=TINY)
    os.makedirs(run.logdir)
    with hold_run_folder(run.logdir):
        with pytest.raises(RunFolderBusyError, match=f"in use by process {os.getpid()}"):
            experiment.execute(run)
    assert os.listdir(run.logdir) == [LOCK_FILE]


def test_outputs_line_names_the_run_folder_files_and_how_to_look_at_them():
    run = experiment.Run("softq_tf/QuadrupedMaze-v1", "sql", 0, "runs/my maze", None, None, False,
                         {"island_length": 2.0})
    started = experiment.outputs_line(run, finished=False)
    assert started.startswith("outputs in runs/my maze: config.json, progress.csv, tensorboard/")
    assert "policy/" in started and "evaluate" not in started
    assert started.endswith("watch with: tensorboard --logdir 'runs/my maze'")
    finished = experiment.outputs_line(run, finished=True)
    assert ("python -m softq_tf.evaluate --policy='runs/my maze/policy' "
            "--env=softq_tf/QuadrupedMaze-v1 --env_kwargs='{\"island_length\": 2.0}'") in finished
    assert finished.endswith("; plot curves with: python -m softq_tf.plot 'runs/my maze'")
