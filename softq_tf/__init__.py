"""softq-tf: soft Q-learning with deep energy-based policies (Haarnoja et al., ICML 2017) in TF 2,
and the paper's DDPG baseline.

Importing the package registers the ``softq_tf/`` Gymnasium environments; nothing else happens.
The public names below load their modules, and TensorFlow with them, on first use (PEP 562), so
``import softq_tf.envs`` and ``gym.make("softq_tf/...")`` never import TensorFlow; nor do the
configs (``SQLConfig``, ``DDPGConfig``, ``LoopConfig``).
"""
import importlib

from softq_tf.envs import ENV_IDS, register_envs

# Public name -> the module that defines it.
_EXPORTS = {
    "NoUsableCheckpointError": "checkpoint",
    "DDPGConfig": "configs", "LoopConfig": "configs", "SQLConfig": "configs",
    "DDPGLearner": "ddpg",
    "load_pretrained": "experiment",
    "evaluate": "evaluation", "rollout": "evaluation",
    "load_policy": "export", "load_q_function": "export", "save_policy": "export",
    "save_q_function": "export",
    "Learner": "learner",
    "LoopCallback": "loop", "NonFiniteError": "loop", "StopRequested": "loop", "train": "loop",
    "DeterministicPolicy": "policies", "SamplingPolicy": "policies",
    "ReplayBuffer": "replay",
    "EnvSpec": "specs",
    "SoftQLearner": "sql",
}

register_envs()

__all__ = sorted([*_EXPORTS, "ENV_IDS", "register_envs"])


def __getattr__(name):
    """Loads a public name's module on first use (PEP 562)."""
    if name not in _EXPORTS:
        raise AttributeError(f"module 'softq_tf' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"softq_tf.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted([*globals(), *_EXPORTS])
