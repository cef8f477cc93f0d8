"""softq-tf: soft Q-learning with deep energy-based policies (Haarnoja et al., ICML 2017) in TF 2,
and the paper's DDPG baseline.

Importing the package registers the ``softq_tf/`` Gymnasium environments; nothing else happens.
"""
from softq_tf.envs import ENV_IDS, register_envs
from softq_tf.checkpoint import NoUsableCheckpointError
from softq_tf.ddpg import DDPGConfig, DDPGLearner
from softq_tf.experiment import load_pretrained
from softq_tf.export import load_policy, load_q_function, save_policy, save_q_function
from softq_tf.loop import LoopConfig, NonFiniteError, StopRequested, evaluate, rollout, train
from softq_tf.policies import DeterministicPolicy, SamplingPolicy
from softq_tf.replay import ReplayBuffer
from softq_tf.specs import EnvSpec
from softq_tf.sql import SoftQLearner, SQLConfig

register_envs()

__all__ = [
    "DDPGConfig", "DDPGLearner", "DeterministicPolicy", "ENV_IDS", "EnvSpec", "LoopConfig",
    "NoUsableCheckpointError", "NonFiniteError", "ReplayBuffer", "SQLConfig", "SamplingPolicy",
    "SoftQLearner", "StopRequested", "evaluate", "load_policy", "load_pretrained",
    "load_q_function", "register_envs", "rollout", "save_policy", "save_q_function", "train",
]
