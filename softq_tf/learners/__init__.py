"""The paper's math and the learners: eq. 10-14 as functions, networks, policies,
configs, SQL, DDPG.

May import: ``softq_tf.envs`` only (nothing of training or running); TensorFlow but no file I/O.
"""
