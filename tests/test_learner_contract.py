"""What every learner promises the loop, checkpoints and export, checked over each of them (as
Stable-Baselines3 runs its save/load tests over every algorithm): one trace, no non-finite update
applied, the same weights from the same seed, every value through a checkpoint, the exported policy
in a process without softq_tf, and an exact resume at an episode boundary."""
import json
import subprocess
import sys

import numpy as np
import pytest

from conftest import assert_same_state, assert_same_values, learner_state, make_batch
from softq_tf import (DDPGConfig, DDPGLearner, EnvSpec, ReplayBuffer, SoftQLearner, SQLConfig,
                      save_policy, save_q_function)
from softq_tf.training.checkpoint import Checkpointer
from test_loop import assert_resume_at_step_20_is_bit_identical

ALGOS = ("sql", "ddpg")
SPEC = EnvSpec(obs_dim=3, act_dim=2, low=(-2.0, -1.0), high=(2.0, 1.0))


def make(algo, spec=SPEC, seed=0):
    """A small plain-graph learner of ``algo`` with two hidden layers (so target networks have a
    hidden layer that no optimizer reaches)."""
    if algo == "sql":
        config = SQLConfig(hidden_sizes=(8, 8), kernel_particles=4, value_particles=4,
                           jit_compile=False)
        return SoftQLearner(spec, config, seed=seed)
    return DDPGLearner(spec, DDPGConfig(hidden_sizes=(8, 8), jit_compile=False), seed=seed)


def trained(algo, steps=3, seed=0):
    """A learner after ``steps`` updates on random batches, so optimizer moments are non-zero."""
    learner = make(algo, seed=seed)
    for i in range(steps):
        learner.train_step(make_batch(SPEC, 16, seed=i))
    return learner


@pytest.mark.parametrize("algo", ALGOS)
def test_train_step_traces_once_for_any_batch_size(algo):
    learner = make(algo)
    for n in (32, 7, 64, 32, 1, 16):
        stats = learner.train_step(make_batch(SPEC, n, seed=n))
    assert learner.train_step.experimental_get_tracing_count() == 1
    assert set(stats) == set(learner.stat_names) | {"finite"} and bool(stats["finite"])
    assert int(learner.step) == 6


@pytest.mark.parametrize("algo", ALGOS)
def test_non_finite_update_is_not_applied(algo):
    """One NaN reward: the update reports it and changes no weight, moment or step counter (the
    generator has moved: the update drew its noise before it knew)."""
    learner = trained(algo)
    before = learner_state(learner)
    batch = make_batch(SPEC, 16)
    batch["reward"][3] = np.nan
    assert not bool(learner.train_step(batch)["finite"])
    assert int(learner.step) == 3
    assert_same_values(before, learner_state(learner), skip=("rng",))


@pytest.mark.parametrize("algo", ALGOS)
def test_same_seed_gives_identical_weights(algo):
    first, second, other = trained(algo, 5, seed=3), trained(algo, 5, seed=3), trained(algo, 5, 4)
    assert_same_state(first, second)
    assert any(not np.array_equal(a.numpy(), b.numpy())
               for a, b in zip(first.q.weights, other.q.weights))


@pytest.mark.parametrize("algo", ALGOS)
def test_checkpoint_round_trip_restores_every_value(algo, tmp_path):
    """Networks (hidden layers of the targets included), optimizer moments, step counter,
    generator and, for DDPG, the exploration noise's state, into a learner of another seed."""
    saved, fresh = trained(algo), make(algo, seed=1)
    replay = ReplayBuffer(8, SPEC.obs_dim, SPEC.act_dim)
    Checkpointer(str(tmp_path), saved).save(3, replay, dict(step=3))
    assert any(not np.array_equal(value, learner_state(fresh)[key])
               for key, value in learner_state(saved).items())
    assert Checkpointer(str(tmp_path), fresh).restore_latest()[1] == dict(step=3)
    assert_same_state(saved, fresh)


LOADER = r"""
import json, os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
import numpy as np
import tensorflow as tf
obs = np.array(json.loads(sys.argv[1]), np.float32)
xi = np.array(json.loads(sys.argv[2]), np.float32)
env_action = np.array(json.loads(sys.argv[3]), np.float32)
results = {}
for folder in sys.argv[4:]:
    sig = tf.saved_model.load(f"{folder}/policy").signatures
    q_values = tf.saved_model.load(f"{folder}/q_function").signatures["q_values"]
    results[folder] = {
        "signatures": sorted(sig.keys()),
        "serving": sig["serving_default"](observation=obs)["action"].numpy().tolist(),
        "many": sig["sample_actions"](observation=obs, n=tf.constant(50))["actions"].numpy()
                .tolist(),
        "from_noise": sig["action_from_noise"](observation=obs, xi=xi)["action"].numpy().tolist(),
        "greedy": sig["greedy_action"](observation=obs)["action"].numpy().tolist(),
        "q": q_values(observation=obs, action=env_action)["q_values"].numpy().tolist(),
        "softq_tf_imported": any(m.startswith("softq_tf") for m in sys.modules),
    }
print(json.dumps(results))
"""


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    """Each learner, trained 3 updates and exported, and what one child process that imports
    TensorFlow alone got from loading every export: (learners, inputs, child results by algo)."""
    root = tmp_path_factory.mktemp("exports")
    learners = {algo: trained(algo) for algo in ALGOS}
    for algo, learner in learners.items():
        save_policy(learner.policy, str(root / algo / "policy"))
        save_q_function(learner.q, SPEC, str(root / algo / "q_function"))
    rng = np.random.default_rng(0)
    inputs = dict(obs=rng.normal(size=(4, SPEC.obs_dim)).astype(np.float32),
                  xi=rng.normal(size=(4, SPEC.act_dim)).astype(np.float32),
                  normalized=rng.uniform(-1, 1, size=(4, SPEC.act_dim)).astype(np.float32))
    out = subprocess.run(
        [sys.executable, "-c", LOADER, json.dumps(inputs["obs"].tolist()),
         json.dumps(inputs["xi"].tolist()),
         json.dumps(SPEC.to_env_action(inputs["normalized"]).tolist()),
         *(str(root / algo) for algo in ALGOS)],
        capture_output=True, text=True, timeout=120, check=True)
    results = json.loads(out.stdout.strip().splitlines()[-1])
    return learners, inputs, {algo: results[str(root / algo)] for algo in ALGOS}


@pytest.mark.parametrize("algo", ALGOS)
def test_exported_policy_loads_without_softq_tf_and_acts_as_the_live_one(algo, exports):
    learners, inputs, loaded = exports
    learner, result = learners[algo], loaded[algo]
    assert not result["softq_tf_imported"]
    assert set(result["signatures"]) == {"serving_default", "sample_action", "sample_actions",
                                         "action_from_noise", "greedy_action"}
    low, high = np.array(SPEC.low), np.array(SPEC.high)
    for key, shape in [("serving", (4, 2)), ("many", (4, 50, 2)), ("greedy", (4, 2))]:
        actions = np.array(result[key])
        assert actions.shape == shape
        assert np.all(actions >= low) and np.all(actions <= high)
    live = learner.policy.action_from_noise(inputs["obs"], inputs["xi"]).numpy()
    np.testing.assert_array_equal(np.array(result["from_noise"], np.float32), live)
    live_q = learner.q((inputs["obs"], inputs["normalized"])).numpy()  # q_values maps env actions
    np.testing.assert_allclose(np.array(result["q"]), live_q, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("algo", ALGOS)
def test_resume_at_an_episode_boundary_is_bit_identical(algo, tmp_path):
    """Killed at step 20 (an episode end) and resumed == never interrupted, in every checkpointed
    value (DDPG: with the exploration noise's state)."""
    learner = assert_resume_at_step_20_is_bit_identical(
        tmp_path, make=lambda: make(algo, EnvSpec(1, 1, (-1.0,), (1.0,))))
    assert int(learner.step) == 40 - 10 + 1
