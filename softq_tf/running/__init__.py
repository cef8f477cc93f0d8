"""Running things: a run end to end, requests checked without TensorFlow, sweeps and their engines.

May import: ``softq_tf.training``, ``softq_tf.learners``, ``softq_tf.envs``; never the CLIs above.
"""
