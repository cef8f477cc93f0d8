"""Shared fixtures: quiet TensorFlow, tiny configs, a transition-batch factory, a learner's whole
state and a check that a CLI rejects bad input before it imports TensorFlow."""
import os
import subprocess
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

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


def learner_state(learner):
    """Every value ``learner``'s checkpoint holds (``checkpoint_items``: networks, optimizers,
    step, generator, ...) as {"<item>/<index>": numpy array}."""
    state = {}
    for name, item in learner.checkpoint_items().items():
        if isinstance(item, tf.Variable):
            variables = [item]
        elif isinstance(item, tf.random.Generator):
            variables = [item.state]
        else:  # a Keras model or optimizer
            variables = item.variables
        state.update({f"{name}/{i}": v.numpy() for i, v in enumerate(variables)})
    return state


def assert_same_values(first, second, skip=()):
    """Asserts two :func:`learner_state` dicts bit-identical, but for the items named in
    ``skip``."""
    assert first.keys() == second.keys()
    for key, value in first.items():
        if key.split("/")[0] not in skip:
            np.testing.assert_array_equal(value, second[key], err_msg=key)


def assert_same_state(a, b):
    """Asserts learners ``a`` and ``b`` hold bit-identical checkpoint values."""
    assert_same_values(learner_state(a), learner_state(b))


# Runs a module as ``python -m`` does (runpy) and prints, at exit, whether TensorFlow was imported.
_RUN_MODULE_REPORTING_TF = """
import atexit, runpy, sys
atexit.register(lambda: print("tensorflow imported:", "tensorflow" in sys.modules))
module, sys.argv = sys.argv[1], sys.argv[1:]
runpy.run_module(module, run_name="__main__", alter_sys=True)
"""


def run_module_reporting_tensorflow(module, *args, timeout=300):
    """Runs ``python -m <module> <args>`` in a child process with TensorFlow's logging left at its
    defaults; its stdout ends with ``tensorflow imported: True`` or ``False``."""
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    return subprocess.run([sys.executable, "-c", _RUN_MODULE_REPORTING_TF, module, *args],
                          capture_output=True, text=True, timeout=timeout, env=env)


def assert_bad_input_before_tensorflow(module, message, *args, timeout=300):
    """Runs ``python -m <module> <args>`` as :func:`run_module_reporting_tensorflow` does and
    asserts that it exited 2 with exactly one line on stderr, an ``error:`` line naming
    ``message``, without importing TensorFlow."""
    result = run_module_reporting_tensorflow(module, *args, timeout=timeout)
    assert result.returncode == 2, result.stderr[-2000:]
    assert result.stderr.splitlines() == [result.stderr.strip()], result.stderr[-2000:]
    assert result.stderr.startswith("error:") and message in result.stderr, result.stderr
    assert result.stdout.splitlines()[-1] == "tensorflow imported: False", result.stdout
