"""The training plumbing: the environment loop, replay, checkpoints, metrics, evaluation, export.

May import: ``softq_tf.learners`` and ``softq_tf.envs``; never ``softq_tf.running`` or the CLIs.
"""
