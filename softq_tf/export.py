"""Deployable snapshots: the policy and the soft Q-function as SavedModels.

``policy/`` loads with ``tf.saved_model.load`` alone (no softq_tf import) and has the signatures
``serving_default`` / ``sample_action`` (observation [None, O] -> action [None, A]), ``sample_actions``
(observation, n -> [None, n, A]), ``action_from_noise`` (observation, xi -> action) and
``greedy_action``; each returns a dict with the key ``action`` (``actions`` for ``sample_actions``).
``q_function/`` has ``q_values`` (observation [None, O], action [None, A] in the env's bounds -> dict
with ``q_values`` [None]).
"""
import tensorflow as tf


class QFunction(tf.Module):
    """Soft Q-function on environment-bounded actions, for export."""

    def __init__(self, q_network, spec, name="q_function"):
        super().__init__(name=name)
        self.q_network = q_network
        self.action_low = tf.constant(spec.low, tf.float32)
        self.action_high = tf.constant(spec.high, tf.float32)
        self.q_values = tf.function(self._q_values, input_signature=[
            tf.TensorSpec([None, spec.obs_dim], tf.float32, name="observation"),
            tf.TensorSpec([None, spec.act_dim], tf.float32, name="action")])

    def _q_values(self, observation, action):
        normalized = 2.0 * (action - self.action_low) / (self.action_high - self.action_low) - 1.0
        return self.q_network((observation, normalized))


def _signatures(policy):
    signatures = {
        "sample_action": tf.function(lambda observation: {
            "action": policy.sample_action(observation)}).get_concrete_function(
                policy.sample_action.input_signature[0]),
        "sample_actions": tf.function(lambda observation, n: {
            "actions": policy.sample_actions(observation, n)}).get_concrete_function(
                *policy.sample_actions.input_signature),
        "action_from_noise": tf.function(lambda observation, xi: {
            "action": policy.action_from_noise(observation, xi)}).get_concrete_function(
                *policy.action_from_noise.input_signature),
    }
    signatures["serving_default"] = signatures["sample_action"]
    if policy.q_network is not None:
        signatures["greedy_action"] = tf.function(lambda observation: {
            "action": policy.greedy_action(observation)}).get_concrete_function(
                policy.greedy_action.input_signature[0])
    return signatures


def save_policy(policy, path):
    """Writes ``policy`` (a :class:`softq_tf.policies.SamplingPolicy`) as a SavedModel at ``path``."""
    tf.saved_model.save(policy, path, signatures=_signatures(policy))


def save_q_function(q_network, spec, path):
    """Writes the soft Q-function with a ``q_values`` signature as a SavedModel at ``path``."""
    module = QFunction(q_network, spec)
    signature = tf.function(lambda observation, action: {
        "q_values": module.q_values(observation, action)}).get_concrete_function(
            *module.q_values.input_signature)
    tf.saved_model.save(module, path, signatures={"q_values": signature})


def load_policy(path):
    """Loads an exported policy; call ``.sample_action(obs)`` etc. or use ``.signatures``."""
    return tf.saved_model.load(path)
