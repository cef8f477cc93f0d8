"""Policies: the greedy action is the sampled candidate with the highest Q."""
import numpy as np
import tensorflow as tf

from softq_tf import EnvSpec, SamplingPolicy

BATCH, CANDIDATES = 5, 16


class RecordingQ(tf.Module):
    """Q(s, a) = -||a - 0.3||^2 that keeps the last candidates [B, N, A] it scored."""

    def __init__(self, act_dim):
        super().__init__()
        self.seen = tf.Variable(tf.zeros([BATCH, CANDIDATES, act_dim]))

    def __call__(self, inputs):
        _, actions = inputs
        self.seen.assign(actions)
        return -tf.reduce_sum(tf.square(actions - 0.3), axis=-1)


def test_greedy_action_is_the_candidate_with_the_highest_q():
    spec = EnvSpec(obs_dim=3, act_dim=2, low=(-2.0, 0.0), high=(2.0, 1.0))
    q = RecordingQ(spec.act_dim)
    policy = SamplingPolicy(lambda inputs: tf.tanh(inputs[1]), spec, q, CANDIDATES)
    obs = np.zeros([BATCH, spec.obs_dim], np.float32)
    greedy = policy.greedy_action(obs).numpy()
    candidates = q.seen.numpy()  # [B, N, A], normalized
    scores = -np.sum(np.square(candidates - 0.3), axis=-1)
    best = candidates[np.arange(BATCH), np.argmax(scores, axis=1)]
    np.testing.assert_allclose(greedy, spec.to_env_action(best), rtol=1e-6, atol=1e-6)
    # The candidates differ, so a random one would not do: the best is unique and not the first.
    assert len(np.unique(candidates.reshape(-1, spec.act_dim), axis=0)) == BATCH * CANDIDATES
    assert np.any(np.argmax(scores, axis=1) != 0)
