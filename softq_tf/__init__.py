"""softq-tf: soft Q-learning with deep energy-based policies (Haarnoja et al., ICML 2017) in TF 2,
and the paper's DDPG baseline.

Parts, each importing only those listed before it: ``envs`` (the tasks), ``learners`` (the
paper's equations and the two learners), ``training`` (the environment loop and what it writes),
``running`` (a run end to end, sweeps, compositions); the commands users type sit on top as
modules of their own (``python -m softq_tf.train``, ``evaluate``, ``sweep``, ``compose``).

Importing the package registers the ``softq_tf/`` Gymnasium environments; nothing else happens.
The public names below load their modules, and TensorFlow with them, on first use (PEP 562), so
``import softq_tf.envs`` and ``gym.make("softq_tf/...")`` never import TensorFlow; nor do the
configs (``SQLConfig``, ``DDPGConfig``, ``LoopConfig``, ``ComposeConfig``).
"""
import importlib

from softq_tf.envs import ENV_IDS, register_envs  # noqa: F401 - ENV_IDS is public (in __all__)

# Public name -> the module that defines it.
_EXPORTS = {
    "ComposeConfig": "learners.configs", "DDPGConfig": "learners.configs",
    "LoopConfig": "learners.configs", "SQLConfig": "learners.configs",
    "ComposedQ": "learners.compose", "ComposedSamplerFit": "learners.compose",
    "DDPGLearner": "learners.ddpg",
    "Learner": "learners.learner",
    "DeterministicPolicy": "learners.policies", "SamplingPolicy": "learners.policies",
    "EnvSpec": "learners.specs",
    "SoftQLearner": "learners.sql",
    "NoUsableCheckpointError": "training.checkpoint",
    "evaluate": "training.evaluation", "rollout": "training.evaluation",
    "load_policy": "training.export", "load_q_function": "training.export",
    "save_policy": "training.export", "save_q_function": "training.export",
    "LoopCallback": "training.loop", "NonFiniteError": "training.loop",
    "StopRequested": "training.loop", "train": "training.loop",
    "ReplayBuffer": "training.replay",
    "load_pretrained": "running.experiment",
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
