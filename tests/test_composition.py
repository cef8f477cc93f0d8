"""A composition end to end (softq_tf.running.composition, ``python -m softq_tf.compose``): killed
and resumed it ends bit-identical to an uninterrupted one, its exports load and evaluate as any
policy's, and bad input is one line, exit 2, before TensorFlow is imported."""
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from conftest import assert_bad_input_before_tensorflow
from softq_tf import load_policy, load_q_function
from softq_tf.running import compose_request, experiment
from softq_tf.training.checkpoint import checkpoint_steps
from softq_tf.training.files import CRASH_ENV_VAR

BANDIT = "softq_tf/ContinuousBandit-v0"
TINY = ["min_pool=20", "batch_size=8", "hidden_sizes=8,8", "kernel_particles=4",
        "value_particles=4", "log_every=50", "checkpoint_every=0", "reward_scale=10",
        "jit_compile=false"]
FIT = ["--steps=30", "--log_every=10", "--checkpoint_every=10", "--batch_size=8"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Finished runs on bandits with the right and the left well favoured (SQL), and DDPG."""
    root = tmp_path_factory.mktemp("constituents")
    for name, algo, tilt in [("right", "sql", 0.5), ("left", "sql", -0.3), ("ddpg", "ddpg", 0.1)]:
        overrides = TINY if algo == "sql" else [o for o in TINY if "particles" not in o]
        experiment.execute(experiment.prepare(BANDIT, algo, total_steps=60,
                                              logdir=str(root / name), overrides=overrides,
                                              env_kwargs={"tilt": tilt}))
    return root


def compose(*args, crash_at=None):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    env.pop(CRASH_ENV_VAR, None)
    if crash_at:
        env[CRASH_ENV_VAR] = crash_at
    return subprocess.run([sys.executable, "-m", "softq_tf.compose", *args],
                          capture_output=True, text=True, timeout=300, env=env)


@pytest.fixture(scope="module")
def composed(runs):
    """An uninterrupted composition of the two SQL runs."""
    logdir = runs / "composed"
    result = compose(f"--runs={runs / 'right'},{runs / 'left'}", f"--logdir={logdir}", *FIT)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.splitlines()[0].startswith(f"outputs in {logdir}")
    assert "python -m softq_tf.evaluate --policy=" in result.stdout.splitlines()[-1]
    return logdir


def tensors(prefix):
    reader = tf.train.load_checkpoint(str(prefix))
    return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()}


def progress(logdir):
    with open(logdir / "progress.csv") as f:
        return [{k: v for k, v in row.items() if not k.endswith("_sec")}
                for row in csv.DictReader(f)]


def test_killed_composition_resumes_bit_identical_to_an_uninterrupted_one(runs, composed):
    logdir = runs / "killed"
    runs_flag = f"--runs={runs / 'right'},{runs / 'left'}"
    killed = compose(runs_flag, f"--logdir={logdir}", *FIT, crash_at="side_files:20")
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    assert not (logdir / "policy").exists()
    resumed = compose(f"--logdir={logdir}", "--resume")  # the saved settings
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"resumed from {logdir}/checkpoints/ckpt-10" in resumed.stderr
    uninterrupted, continued = (tensors(d / "checkpoints" / "ckpt-30") for d in (composed, logdir))
    assert uninterrupted.keys() == continued.keys() and len(uninterrupted) > 10
    for name, value in uninterrupted.items():  # sampler, Adam moments, step, generator
        np.testing.assert_array_equal(continued[name], value, err_msg=name)
    assert progress(logdir) == progress(composed)  # rows 10, 20, 30 once each, same numbers
    assert [row["env_steps"] for row in progress(logdir)] == ["0", "0", "0"]
    obs, xi = np.zeros((5, 1), np.float32), np.linspace(-2, 2, 5, dtype=np.float32)[:, None]
    np.testing.assert_array_equal(load_policy(logdir / "policy").action_from_noise(obs, xi),
                                  load_policy(composed / "policy").action_from_noise(obs, xi))


def test_sigterm_checkpoints_exits_3_with_one_line_and_resume_finishes(runs):
    logdir = runs / "stopped"
    command = [sys.executable, "-m", "softq_tf.compose", f"--runs={runs / 'right'},{runs / 'left'}",
               f"--logdir={logdir}", "--steps=2000", "--log_every=10", "--checkpoint_every=0",
               "--batch_size=8"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    deadline = time.time() + 120
    while not (logdir / "progress.csv").exists() or len(progress(logdir)) < 2:
        assert time.time() < deadline and process.poll() is None
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    stderr = process.communicate(timeout=120)[1]
    assert process.returncode == 3, stderr[-3000:]
    assert "Traceback" not in stderr
    step = checkpoint_steps(logdir / "checkpoints")[0]  # checkpoint_every=0: the stop's own
    assert stderr.splitlines()[-1] == (f"error: stopped by SIGTERM at update {step}; checkpoint "
                                       "written, continue with --resume")
    assert 20 <= step < 2000 and not (logdir / "policy").exists()
    resumed = compose(f"--logdir={logdir}", "--resume")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert [int(row["step"]) for row in progress(logdir)] == list(range(10, 2001, 10))
    assert compose_request.is_finished(str(logdir))


def test_exports_load_evaluate_and_hold_the_weighted_sum(runs, composed):
    saved = json.loads((composed / "config.json").read_text())
    assert saved["kind"] == "composition" and saved["weights"] == [0.5, 0.5]
    assert [part["checkpoint_step"] for part in saved["runs"]] == [60, 60]
    assert compose_request.is_finished(str(composed))
    policy = load_policy(composed / "policy")
    actions = policy.sample_actions(np.zeros((3, 1), np.float32), 4).numpy()
    assert actions.shape == (3, 4, 1) and np.all(np.abs(actions) <= 1)
    rng = np.random.default_rng(0)
    obs = np.zeros((64, 1), np.float32)
    action = rng.uniform(-1, 1, (64, 1)).astype(np.float32)
    constituents = [load_q_function(runs / name / "q_function") for name in ("right", "left")]
    expected = sum(0.5 * q.q_values(obs, action).numpy() for q in constituents)
    np.testing.assert_allclose(load_q_function(composed / "q_function").q_values(obs, action),
                               expected, rtol=1e-6, atol=1e-6)
    evaluated = subprocess.run(
        [sys.executable, "-m", "softq_tf.evaluate", f"--policy={composed / 'policy'}",
         f"--env={BANDIT}", "--episodes=2"], capture_output=True, text=True, timeout=300,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    assert "mean over 2 episodes" in evaluated.stdout


def edited_copy(runs, name, edit):
    """A copy of the finished run ``right`` with ``edit(folder)`` applied."""
    copy = runs / name
    if not copy.exists():
        shutil.copytree(runs / "right", copy)
        edit(copy)
    return copy


def edit_config(**changes):
    def edit(folder):
        config = json.loads((folder / "config.json").read_text())
        for key, value in changes.items():
            section, _, field = key.rpartition(".")
            (config[section] if section else config)[field] = value
        (folder / "config.json").write_text(json.dumps(config))
    return edit


@pytest.mark.parametrize("case,message", [
    ("ddpg", "is a ddpg run: its Q-function is not energy-based"),
    ("other_spaces", "composing needs the same spaces"),
    ("other_alpha", "needs one alpha"),
    ("unfinished", "is not a finished run"),
    ("export", "is inside a run, not a run: give its folder"),
    ("one_weight", "give one weight per run: 1 given for 2 runs"),
    ("negative", "every weight must be a finite number >= 0"),
    ("not_finite", "every weight must be a finite number >= 0"),
    ("sum", "they sum to 1.5, not 1"),
    ("resume_other_weights", "weights is [0.5, 0.5] there, [0.25, 0.75] here"),
])
def test_bad_input_is_one_line_and_exit_2_before_tensorflow(runs, composed, case, message):
    right = runs / "right"
    other = {
        "ddpg": lambda: runs / "ddpg",
        "other_spaces": lambda: edited_copy(runs, "multigoal", edit_config(
            env="softq_tf/MultiGoal-v0", env_kwargs={})),
        "other_alpha": lambda: edited_copy(runs, "alpha", edit_config(
            **{"learner.reward_scale": 1.0})),
        "unfinished": lambda: edited_copy(runs, "unfinished",
                                          lambda folder: shutil.rmtree(folder / "policy")),
        "export": lambda: runs / "left" / "q_function",
    }.get(case, lambda: runs / "left")()
    args = [f"--runs={right},{other}", f"--logdir={runs / 'never'}"]
    args += {"one_weight": ["--weights=0.5"], "negative": ["--weights=-0.5,1.5"],
             "not_finite": ["--weights=nan,1"], "sum": ["--weights=0.75,0.75"],
             "resume_other_weights": ["--resume", f"--logdir={composed}",
                                      "--weights=1,3", "--normalize"]}.get(case, [])
    assert_bad_input_before_tensorflow("softq_tf.compose", message, *args)
    assert not (runs / "never").exists()
