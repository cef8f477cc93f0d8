"""Shared fixtures: quiet TensorFlow, tiny configs and a transition-batch factory."""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from softq_tf import EnvSpec, SQLConfig  # noqa: E402


@pytest.fixture
def tiny_spec():
    return EnvSpec(obs_dim=3, act_dim=2, low=(-2.0, -1.0), high=(2.0, 1.0))


@pytest.fixture
def tiny_config():
    # Plain graph: each XLA compile costs seconds, which unit tests of the math need not pay;
    # tests/test_sql.py checks that the XLA step computes the same update.
    return SQLConfig(hidden_sizes=(16, 16), kernel_particles=8, value_particles=8,
                     jit_compile=False)


def make_batch(spec, n, seed=0):
    """A random transition batch with normalized actions."""
    rng = np.random.default_rng(seed)
    return dict(
        obs=rng.normal(size=(n, spec.obs_dim)).astype(np.float32),
        action=rng.uniform(-1, 1, (n, spec.act_dim)).astype(np.float32),
        reward=rng.normal(size=n).astype(np.float32),
        next_obs=rng.normal(size=(n, spec.obs_dim)).astype(np.float32),
        terminated=(rng.uniform(size=n) < 0.2).astype(np.float32),
    )
