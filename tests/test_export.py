"""SavedModel export: specs and config carried, loaded back as the live policy (the export of every
learner loading without softq_tf: tests/test_learner_contract.py)."""
import json

import numpy as np
import tensorflow as tf

from softq_tf import (DDPGConfig, DDPGLearner, SoftQLearner, load_policy, load_q_function,
                      save_policy, save_q_function)

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
