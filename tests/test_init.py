"""The package's import: envs without TensorFlow, public names loaded on first use."""
import subprocess
import sys

import pytest

import softq_tf

MAKE_EVERY_ENV = """
import sys
import gymnasium as gym
import softq_tf.envs
for env_id in softq_tf.envs.ENV_IDS:
    gym.make(env_id).reset(seed=0)
print(sorted(name for name in sys.modules if name.split(".")[0] in ("tensorflow", "keras")))
"""


def test_envs_are_made_without_importing_tensorflow():
    result = subprocess.run([sys.executable, "-c", MAKE_EVERY_ENV], capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]"


def test_public_names_load_their_modules_and_unknown_names_are_errors():
    from softq_tf.learners import sql

    assert softq_tf.SoftQLearner is sql.SoftQLearner
    assert set(softq_tf.__all__) <= set(dir(softq_tf))
    with pytest.raises(AttributeError, match="no_such_name"):
        softq_tf.no_such_name  # noqa: B018
