"""Deployable snapshots: the policy and the soft Q-function as SavedModels.

``policy/`` loads with ``tf.saved_model.load`` alone (no softq_tf import) and has the signatures
``serving_default`` / ``sample_action`` (observation [None, O] -> action [None, A]),
``sample_actions`` (observation, n -> [None, n, A]), ``action_from_noise``
(observation, xi -> action) and ``greedy_action``; each returns a dict with the key ``action``
(``actions`` for ``sample_actions``). ``q_function/`` has ``q_values`` (observation [None, O],
action [None, A] in the env's bounds -> dict with ``q_values`` [None]).

Both carry ``assets/softq_tf.json`` (:data:`METADATA_FILE`, a ``tf.saved_model.Asset`` on the root
as ``metadata``): the observation and action specs (shapes, dtype, action bounds) and the run's
config. :func:`load_policy` and :func:`load_q_function` read it and check every input against it,
so a wrong shape or dtype is a ValueError naming the problem rather than a TensorFlow signature
mismatch. Each SavedModel is written into ``<path>.tmp`` and renamed into place, so a killed export
never leaves a half-written ``policy/``; a failed one (a full disk) removes ``<path>.tmp``.
:func:`export_run` writes both into a run folder.
"""
import json
import os
import shutil
import tempfile

import numpy as np
import tensorflow as tf

from softq_tf.training.files import RunWriteError, fault_point, write_failure
from softq_tf.training.progress import METADATA_FILE, checkpoint_steps
from softq_tf.learners.specs import EnvSpec, normalize_action

_POLICY_FUNCTIONS = ("sample_action", "sample_actions", "action_from_noise", "greedy_action",
                     "normalized_action")


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
        normalized = normalize_action(action, self.action_low, self.action_high)
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
    if hasattr(policy, "greedy_action"):
        signatures["greedy_action"] = tf.function(lambda observation: {
            "action": policy.greedy_action(observation)}).get_concrete_function(
                policy.greedy_action.input_signature[0])
    return signatures


def metadata(spec, config=None):
    """The specs (and ``config``, a JSON-able dict) that an export carries as its JSON asset."""
    return dict(observation=dict(shape=[None, spec.obs_dim], dtype="float32"),
                action=dict(shape=[None, spec.act_dim], dtype="float32", low=list(spec.low),
                            high=list(spec.high)),
                config=config or {})


def _save(module, path, signatures, info):
    """Saves ``module`` with ``info`` attached as a JSON asset, into ``<path>.tmp``, then renames.

    Between the two renames a killed process leaves ``<path>.old`` (the previous export) behind.
    """
    tmp, old = f"{path}.tmp", f"{path}.old"
    for leftover in (tmp, old):
        shutil.rmtree(leftover, ignore_errors=True)
    with tempfile.TemporaryDirectory() as folder:
        asset_path = os.path.join(folder, METADATA_FILE)
        with open(asset_path, "w") as f:
            json.dump(info, f, indent=1)
        module.metadata = tf.saved_model.Asset(asset_path)
        try:
            tf.saved_model.save(module, tmp, signatures=signatures)
            fault_point("export", os.path.basename(path))
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    if os.path.exists(path):
        os.replace(path, old)
    os.replace(tmp, path)
    shutil.rmtree(old, ignore_errors=True)


def save_policy(policy, path, config=None):
    """Writes ``policy`` (:class:`softq_tf.learners.policies.SamplingPolicy` or
    ``DeterministicPolicy``) as a SavedModel at ``path``.

    Args:
      policy: the policy to export.
      path: the SavedModel folder (replaced if it exists).
      config: optional JSON-able dict (e.g. the run's ``config.json``) stored in the metadata asset.
    """
    root = tf.Module(name="exported_policy")
    root.policy = policy
    for name in _POLICY_FUNCTIONS:
        if hasattr(policy, name):
            setattr(root, name, getattr(policy, name))
    _save(root, path, _signatures(policy), metadata(policy.spec, config))


def save_q_function(q_network, spec, path, config=None):
    """Writes the soft Q-function with a ``q_values`` signature as a SavedModel at ``path``.

    Args:
      q_network: the Keras Q-network (normalized actions).
      spec: its :class:`softq_tf.learners.specs.EnvSpec`.
      path: the SavedModel folder (replaced if it exists).
      config: optional JSON-able dict stored in the metadata asset.
    """
    module = QFunction(q_network, spec)
    signature = tf.function(lambda observation, action: {
        "q_values": module.q_values(observation, action)}).get_concrete_function(
            *module.q_values.input_signature)
    _save(module, path, {"q_values": signature}, metadata(spec, config))


def export_run(logdir, policy, q_network, spec, config):
    """Exports a finished run's ``policy/`` (:func:`save_policy`) and ``q_function/``
    (:func:`save_q_function`) into its folder ``logdir``, each carrying ``config``.

    Raises:
      softq_tf.training.files.RunWriteError: a SavedModel could not be written (e.g. the disk is
        full): what it wrote was removed; one line naming it and the run's newest complete
        checkpoint, from which ``--resume`` exports again.
    """
    # policy/ last: a run counts as finished once it has one (softq_tf.running.runs.is_finished).
    saves = (("q_function", lambda path: save_q_function(q_network, spec, path, config)),
             ("policy", lambda path: save_policy(policy, path, config)))
    for name, save in saves:
        path = os.path.join(logdir, name)
        try:
            save(path)
        except (OSError, tf.errors.OpError) as e:
            raise RunWriteError(write_failure(
                path, e, checkpoint_steps(os.path.join(logdir, "checkpoints")))) from None


def _check_input(name, value, width):
    """``value`` as a float32 [B, width] array; ValueError naming ``name`` if it cannot be one."""
    if isinstance(value, tf.Tensor):
        value = value.numpy()
    array = np.asarray(value)
    if not np.issubdtype(array.dtype, np.floating):
        raise ValueError(f"{name} has dtype {array.dtype}: expected floating point (float32)")
    if array.ndim != 2 or array.shape[1] != width:
        raise ValueError(f"{name} has shape {array.shape}: expected [batch, {width}]")
    return array.astype(np.float32, copy=False)


def _load(path, kind):
    """Loads the SavedModel at ``path`` and its metadata; ValueError if either is missing."""
    if not os.path.isfile(os.path.join(str(path), "saved_model.pb")):
        raise ValueError(f"{kind} path {path!r} holds no SavedModel (no saved_model.pb)")
    module = tf.saved_model.load(str(path))
    asset = getattr(module, "metadata", None)
    if asset is None:
        raise ValueError(f"{kind} at {path!r} has no {METADATA_FILE} asset: it was not exported "
                         "by softq_tf.save_policy / save_q_function; load it with "
                         "tf.saved_model.load")
    info = json.loads(tf.io.read_file(asset.asset_path).numpy())
    action = info["action"]
    spec = EnvSpec(obs_dim=info["observation"]["shape"][1], act_dim=action["shape"][1],
                   low=tuple(action["low"]), high=tuple(action["high"]))
    return module, spec, info["config"]


class LoadedPolicy:
    """An exported policy whose methods check their inputs against the exported specs.

    Attributes:
      spec: the :class:`softq_tf.learners.specs.EnvSpec` the policy was trained for.
      config: the run configuration stored at export ({} if none was given).
      module: the raw loaded SavedModel (``module.signatures`` for the serving signatures).
    """

    def __init__(self, module, spec, config):
        self.module, self.spec, self.config = module, spec, config

    def _obs(self, observation):
        return _check_input("observation", observation, self.spec.obs_dim)

    def sample_action(self, observation):
        """[B, O] -> [B, A] sampled actions in the env's bounds."""
        return self.module.sample_action(self._obs(observation))

    def sample_actions(self, observation, n):
        """[B, O], n -> [B, n, A] sampled actions."""
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n <= 0:
            raise ValueError(f"n={n!r} is invalid: must be a positive integer")
        return self.module.sample_actions(self._obs(observation), tf.constant(n, tf.int32))

    def action_from_noise(self, observation, xi):
        """[B, O], [B, A] -> [B, A], deterministic given the noise ``xi``."""
        xi = _check_input("xi", xi, self.spec.act_dim)
        return self.module.action_from_noise(self._obs(observation), xi)

    def greedy_action(self, observation):
        """[B, O] -> [B, A]: the best of several sampled actions by Q."""
        return self.module.greedy_action(self._obs(observation))


class LoadedQFunction:
    """An exported soft Q-function whose ``q_values`` checks its inputs against the exported specs.

    Attributes:
      spec, config, module: as in :class:`LoadedPolicy`.
    """

    def __init__(self, module, spec, config):
        self.module, self.spec, self.config = module, spec, config

    def q_values(self, observation, action):
        """[B, O], [B, A] (env bounds) -> [B] soft Q-values."""
        return self.module.q_values(_check_input("observation", observation, self.spec.obs_dim),
                                    _check_input("action", action, self.spec.act_dim))


def load_policy(path):
    """Loads a policy exported by :func:`save_policy` as a :class:`LoadedPolicy`.

    Raises:
      ValueError: ``path`` holds no SavedModel, or one without softq_tf's metadata asset.
    """
    return LoadedPolicy(*_load(path, "policy"))


def load_q_function(path):
    """Loads a Q-function exported by :func:`save_q_function` as a :class:`LoadedQFunction`.

    Raises:
      ValueError: ``path`` holds no SavedModel, or one without softq_tf's metadata asset.
    """
    return LoadedQFunction(*_load(path, "q_function"))
