"""SavedModel export: loads in a process that never imports softq_tf, matches the live policy."""
import json
import subprocess
import sys

import numpy as np
import tensorflow as tf

from conftest import make_batch
from softq_tf import (DDPGConfig, DDPGLearner, SoftQLearner, load_policy, load_q_function,
                      save_policy, save_q_function)

LOADER = r"""
import json, os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
import numpy as np
import tensorflow as tf
policy = tf.saved_model.load(sys.argv[1])
q_function = tf.saved_model.load(sys.argv[2])
obs = np.array(json.loads(sys.argv[3]), np.float32)
xi = np.array(json.loads(sys.argv[4]), np.float32)
env_action = np.array(json.loads(sys.argv[5]), np.float32)
sig = policy.signatures
print(json.dumps({
    "softq_tf_imported": any(m.startswith("softq_tf") for m in sys.modules),
    "signatures": sorted(sig.keys()),
    "serving": sig["serving_default"](observation=obs)["action"].numpy().tolist(),
    "many": sig["sample_actions"](observation=obs, n=tf.constant(50))["actions"].numpy().tolist(),
    "from_noise": sig["action_from_noise"](observation=obs, xi=xi)["action"].numpy().tolist(),
    "greedy": sig["greedy_action"](observation=obs)["action"].numpy().tolist(),
    "q": q_function.signatures["q_values"](observation=obs, action=env_action)["q_values"].numpy().tolist(),
}))
"""


def test_saved_policy_loads_without_softq_tf(tmp_path, tiny_spec, tiny_config):
    learner = SoftQLearner(tiny_spec, tiny_config, seed=0)
    for i in range(3):
        learner.train_step(make_batch(tiny_spec, 16, seed=i))
    save_policy(learner.policy, str(tmp_path / "policy"))
    save_q_function(learner.q, tiny_spec, str(tmp_path / "q_function"))
    rng = np.random.default_rng(0)
    obs = rng.normal(size=(4, tiny_spec.obs_dim)).astype(np.float32)
    xi = rng.normal(size=(4, tiny_spec.act_dim)).astype(np.float32)
    normalized = rng.uniform(-1, 1, size=(4, tiny_spec.act_dim)).astype(np.float32)
    out = subprocess.run(
        [sys.executable, "-c", LOADER, str(tmp_path / "policy"), str(tmp_path / "q_function"),
         json.dumps(obs.tolist()), json.dumps(xi.tolist()),
         json.dumps(tiny_spec.to_env_action(normalized).tolist())],
        capture_output=True, text=True, timeout=120, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert not result["softq_tf_imported"]
    assert set(result["signatures"]) == {"serving_default", "sample_action", "sample_actions",
                                         "action_from_noise", "greedy_action"}
    low, high = np.array(tiny_spec.low), np.array(tiny_spec.high)
    for key, shape in [("serving", (4, 2)), ("many", (4, 50, 2)), ("greedy", (4, 2))]:
        actions = np.array(result[key])
        assert actions.shape == shape
        assert np.all(actions >= low) and np.all(actions <= high)
    live = learner.policy.action_from_noise(obs, xi).numpy()
    np.testing.assert_array_equal(np.array(result["from_noise"], np.float32), live)
    live_q = learner.q((obs, normalized)).numpy()  # q_values maps env-bounded actions back
    np.testing.assert_allclose(np.array(result["q"]), live_q, rtol=1e-5, atol=1e-5)


def test_exports_carry_specs_and_config(tmp_path, tiny_spec, tiny_config):
    learner = SoftQLearner(tiny_spec, tiny_config, seed=0)
    config = {"env": "tiny", "learner": {"hidden_sizes": [16, 16]}}
    save_policy(learner.policy, str(tmp_path / "policy"), config)
    save_q_function(learner.q, tiny_spec, str(tmp_path / "q_function"), config)
    asset = json.loads((tmp_path / "policy" / "assets" / "softq_tf.json").read_text())
    assert asset["observation"] == {"shape": [None, 3], "dtype": "float32"}
    assert asset["action"]["low"] == [-2.0, -1.0] and asset["config"] == config
    policy, q_function = load_policy(tmp_path / "policy"), load_q_function(tmp_path / "q_function")
    assert policy.spec == tiny_spec == q_function.spec and q_function.config == config
    rng = np.random.default_rng(0)
    obs = rng.normal(size=(4, 3))  # float64 is accepted and cast
    xi = rng.normal(size=(4, 2)).astype(np.float32)
    np.testing.assert_array_equal(policy.action_from_noise(obs, xi),
                                  learner.policy.action_from_noise(obs.astype(np.float32), xi))
    normalized = rng.uniform(-1, 1, size=(4, 2)).astype(np.float32)
    np.testing.assert_allclose(q_function.q_values(obs, tiny_spec.to_env_action(normalized)),
                               learner.q((obs.astype(np.float32), normalized)), rtol=1e-5,
                               atol=1e-5)


def test_saved_ddpg_policy_is_its_actor_in_the_env_bounds(tmp_path, tiny_spec):
    learner = DDPGLearner(tiny_spec, DDPGConfig(hidden_sizes=(8,), jit_compile=False))
    save_policy(learner.policy, str(tmp_path / "policy"))
    loaded = tf.saved_model.load(str(tmp_path / "policy"))
    obs = np.random.default_rng(0).normal(size=(3, tiny_spec.obs_dim)).astype(np.float32)
    expected = tiny_spec.to_env_action(learner.actor(obs).numpy())
    np.testing.assert_allclose(loaded.signatures["sample_action"](observation=obs)["action"],
                               expected, rtol=1e-5, atol=1e-6)
    actions = loaded.sample_actions(obs, tf.constant(4)).numpy()
    assert actions.shape == (3, 4, tiny_spec.act_dim)
    np.testing.assert_allclose(actions, np.repeat(expected[:, None], 4, axis=1), rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(loaded.greedy_action(obs), expected, rtol=1e-5, atol=1e-6)
