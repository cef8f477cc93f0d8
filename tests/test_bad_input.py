"""Bad input gives a clear error naming the problem and never touches data already written.

Public API (ValueError / TypeError whose message names the problem; also inf and nan in every
float field of SQLConfig, DDPGConfig and LoopConfig):
 1. SQLConfig(hidden_sizes=())                    2. SQLConfig(discount=1.5)
 3. SQLConfig(q_lr=-1e-3)                         4. SQLConfig(kernel_particles=2)
                                                     (too few to split)
 5. LoopConfig(batch_size=0)                      6. LoopConfig(min_pool=-1)
 7. LoopConfig(total_steps=1.5)                   8. LoopConfig(checkpoint_every=True)
    LoopConfig(overlap_env_step="yes")
 9. ReplayBuffer(10, obs_dim=-1, act_dim=2)      10. ReplayBuffer.load of a truncated file
11. ReplayBuffer.load of a file whose size exceeds its capacity
12. EnvSpec.from_spaces with a Discrete action space
13. EnvSpec.from_spaces with an unbounded Box    14. train() with a LoopConfig given as a dict
15. train() with an env whose spaces differ from the learner's spec
    train() with a callback that is no LoopCallback
16. load_policy on a missing path                17. load_policy on a SavedModel
                                                     softq_tf did not write
18. LoadedPolicy.sample_action, wrong shape      19. LoadedPolicy.sample_action, integer dtype
20. LoadedPolicy.sample_actions with n=0         21. LoadedQFunction.q_values, action of wrong width
22. experiment.build_configs with an unknown override key
23. experiment.prepare with a negative seed      24. experiment.prepare(resume=True),
                                                     corrupt config.json
25. train(resume=True) where no checkpoint loads (the files stay)

CLI (``python -m softq_tf.train``: exit code 2, one ``error:`` line, no traceback, nothing changed;
more cases in test_train.py):
26. --total_steps=abc (a flag absl cannot parse)
27. --resume on a folder whose config.json is corrupt
28. --resume on a folder whose only checkpoint is garbage
"""
import dataclasses
import math
import os
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest
import tensorflow as tf

from softq_tf import (DDPGConfig, EnvSpec, LoopConfig, NoUsableCheckpointError, ReplayBuffer,
                      SoftQLearner, SQLConfig, load_policy, load_q_function, save_policy,
                      save_q_function, train)
from softq_tf.running import experiment
from test_loop import CounterEnv, make_learner, small_loop

BOX = gym.spaces.Box(-1, 1, (2,), np.float32)


@pytest.fixture(scope="module")
def exported(tmp_path_factory, tiny_spec_module):
    folder = tmp_path_factory.mktemp("export")
    learner = SoftQLearner(tiny_spec_module, SQLConfig(hidden_sizes=(8,), kernel_particles=4,
                                                       value_particles=4))
    save_policy(learner.policy, str(folder / "policy"))
    save_q_function(learner.q, tiny_spec_module, str(folder / "q_function"))
    return folder


@pytest.fixture(scope="module")
def tiny_spec_module():
    return EnvSpec(obs_dim=3, act_dim=2, low=(-2.0, -1.0), high=(2.0, 1.0))


def damaged_replay(tmp_path):
    path = tmp_path / "replay.npz"
    buffer = ReplayBuffer(8, 3, 2)
    buffer.add(np.zeros(3), np.zeros(2), 0.0, np.zeros(3), False)
    buffer.save(str(path))
    os.truncate(path, os.path.getsize(path) - 40)
    return str(path)


def oversized_replay(tmp_path):
    path = tmp_path / "replay.npz"
    arrays = {k: np.zeros((5, 3 if "obs" in k else 2 if k == "action" else 1)[:1 + (
        k in ("obs", "next_obs", "action"))], np.float32) for k in
        ("obs", "action", "reward", "next_obs", "terminated")}
    np.savez(path, capacity=4, next=1, size=5, **arrays)
    return str(path)


def plain_saved_model(tmp_path):
    module = tf.Module()
    module.v = tf.Variable(1.0)
    tf.saved_model.save(module, str(tmp_path / "plain"))
    return str(tmp_path / "plain")


def corrupt_config(tmp_path):
    (tmp_path / "config.json").write_text('{"env": "softq_tf/MultiGoal-v0", "loop": {')
    return str(tmp_path)


def unloadable_checkpoints(tmp_path):
    checkpoints = tmp_path / "checkpoints"
    checkpoints.mkdir()
    for suffix in (".index", ".data-00000-of-00001", ".loop.json", ".replay.npz"):
        (checkpoints / f"ckpt-10{suffix}").write_bytes(b"\x00garbage")
    train(gym.wrappers.TimeLimit(CounterEnv(), 5), make_learner(), small_loop(),
          logdir=str(tmp_path), resume=True)


def mismatched_env(_):
    env = gym.wrappers.TimeLimit(CounterEnv(), 5)
    learner = SoftQLearner(EnvSpec(2, 1, (-1.0,), (1.0,)), SQLConfig(hidden_sizes=(8,)))
    train(env, learner, small_loop())


API_CASES = [
    ("hidden_sizes", lambda _: SQLConfig(hidden_sizes=())),
    ("discount=1.5", lambda _: SQLConfig(discount=1.5)),
    ("q_lr", lambda _: SQLConfig(q_lr=-1e-3)),
    ("kernel_update_ratio", lambda _: SQLConfig(kernel_particles=2)),
    ("batch_size=0", lambda _: LoopConfig(batch_size=0)),
    ("min_pool=-1", lambda _: LoopConfig(min_pool=-1)),
    ("total_steps=1.5", lambda _: LoopConfig(total_steps=1.5)),
    ("checkpoint_every=True", lambda _: LoopConfig(checkpoint_every=True)),
    ("overlap_env_step='yes'", lambda _: LoopConfig(overlap_env_step="yes")),
    ("obs_dim=-1", lambda _: ReplayBuffer(10, -1, 2)),
    ("unreadable", lambda p: ReplayBuffer.load(damaged_replay(p))),
    ("capacity 4", lambda p: ReplayBuffer.load(oversized_replay(p))),
    ("Box action space", lambda _: EnvSpec.from_spaces(BOX, gym.spaces.Discrete(3))),
    ("unbounded", lambda _: EnvSpec.from_spaces(
        BOX, gym.spaces.Box(-np.inf, np.inf, (2,), np.float32))),
    ("LoopConfig", lambda _: train(gym.wrappers.TimeLimit(CounterEnv(), 5), make_learner(),
                                   dict(total_steps=10))),
    ("does not match the learner", mismatched_env),
    ("callbacks must be softq_tf.LoopCallback objects, got builtin_function", lambda _: train(
        gym.wrappers.TimeLimit(CounterEnv(), 5), make_learner(), small_loop(),
        callbacks=[print])),
    ("no SavedModel", lambda p: load_policy(str(p / "missing"))),
    ("softq_tf.json", lambda p: load_policy(plain_saved_model(p))),
    ("seed=-1", lambda p: experiment.prepare("softq_tf/MultiGoal-v0", seed=-1,
                                             logdir=str(p / "run"))),
    ("no_such_key", lambda _: experiment.build_configs("sql", 100, ["no_such_key=1"])),
    ("config.json is damaged", lambda p: experiment.prepare(
        "softq_tf/MultiGoal-v0", logdir=corrupt_config(p), resume=True)),
    ("no checkpoint .* loads", unloadable_checkpoints),
]


@pytest.mark.parametrize("message,call", API_CASES, ids=[m for m, _ in API_CASES])
def test_api_bad_input_names_the_problem(tmp_path, message, call):
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    with pytest.raises((ValueError, TypeError), match=message):
        call(tmp_path)
    assert all(p.read_bytes() == data for p, data in before.items())


FLOAT_FIELDS = [(config, field.name) for config in (SQLConfig, DDPGConfig, LoopConfig)
                for field in dataclasses.fields(config) if field.type is float]


def test_float_fields_are_found():
    assert {name for _, name in FLOAT_FIELDS} >= {"reward_scale", "discount", "noise_sigma"}


@pytest.mark.parametrize("config,name", FLOAT_FIELDS,
                         ids=[f"{c.__name__}.{n}" for c, n in FLOAT_FIELDS])
@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan], ids=["inf", "-inf", "nan"])
def test_every_float_field_refuses_inf_and_nan(config, name, value):
    with pytest.raises(ValueError) as raised:
        config(**{name: value})
    assert str(raised.value) == f"{name}={value!r} is invalid: must be a finite number"


@pytest.mark.parametrize("message,call", [
    ("shape \\(2, 4\\)", lambda m: load_policy(m / "policy").sample_action(np.zeros((2, 4)))),
    ("dtype int64", lambda m: load_policy(m / "policy").sample_action(
        np.zeros((2, 3), np.int64))),
    ("n=0", lambda m: load_policy(m / "policy").sample_actions(np.zeros((2, 3)), 0)),
    ("action has shape \\(2, 3\\)", lambda m: load_q_function(m / "q_function").q_values(
        np.zeros((2, 3)), np.zeros((2, 3)))),
])
def test_loaded_exports_check_their_inputs(exported, message, call):
    with pytest.raises(ValueError, match=message):
        call(exported)


def test_damaged_files_stay_untouched_after_failed_resume(tmp_path):
    with pytest.raises(NoUsableCheckpointError):
        unloadable_checkpoints(tmp_path)
    assert (tmp_path / "checkpoints" / "ckpt-10.index").read_bytes() == b"\x00garbage"
    assert not (tmp_path / "progress.csv").exists()


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "softq_tf.train", *args], capture_output=True,
                          text=True, timeout=300, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))


def cli_run_folder(tmp_path, config_text, checkpoint_bytes=None):
    (tmp_path / "config.json").write_text(config_text)
    (tmp_path / "progress.csv").write_text("step\n10\n")
    if checkpoint_bytes is not None:
        (tmp_path / "checkpoints").mkdir()
        (tmp_path / "checkpoints" / "ckpt-10.index").write_bytes(checkpoint_bytes)
    return tmp_path


VALID_CONFIG = ('{"env": "softq_tf/ContinuousBandit-v0", "algo": "sql", "seed": 0, '
                '"learner": {"hidden_sizes": [8]}, "loop": {"total_steps": 20}}')


@pytest.mark.parametrize("make_args,message", [
    (lambda p: ["--total_steps=abc"], "total_steps"),
    (lambda p: ["--resume", f"--logdir={cli_run_folder(p, '{[')}"], "config.json is damaged"),
    (lambda p: ["--resume", f"--logdir={cli_run_folder(p, VALID_CONFIG, b'garbage')}"],
     "no checkpoint"),
])
def test_cli_bad_input_is_one_line_exit_2_and_changes_nothing(tmp_path, make_args, message):
    args = make_args(tmp_path)
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    result = run_cli(*args)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0], result.stderr[-2000:]
    # Only the run folder's lock file may appear (softq_tf.training.files.hold_run_folder: it stays,
    # as deleting it would race with another process taking the lock).
    after = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file() and p.name != ".lock"}
    assert after == before
