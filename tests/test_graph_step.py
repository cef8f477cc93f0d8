"""The training loop's graph calls: store, update and act in Algorithm 1's order or overlapped,
and the same results without TensorFlow's private flat call."""
import numpy as np
import pytest
import tensorflow as tf

from softq_tf import ReplayBuffer
from softq_tf.training import graph_step
from softq_tf.training.graph_step import TrainAndAct
from test_loop import make_learner


def filled_learner_and_replays():
    """Two identical learners (env bounds [-2, 6]) and two replay buffers holding the same 12
    random transitions."""
    learners = make_learner(-2.0, 6.0), make_learner(-2.0, 6.0)
    replays = ReplayBuffer(50, 1, 1), ReplayBuffer(50, 1, 1)
    rng = np.random.default_rng(0)
    for _ in range(12):
        transition = (rng.normal(size=1), rng.uniform(-1, 1, 1), rng.normal(), rng.normal(size=1),
                      rng.uniform() < 0.2)
        for replay in replays:
            replay.add(*transition)
    return learners, replays


def assert_same_learners(a, b, steps):
    for x, y in zip(a.q.weights + a.sampler.weights, b.q.weights + b.sampler.weights):
        np.testing.assert_allclose(x.numpy(), y.numpy(), rtol=1e-5, atol=1e-7)
    assert int(a.step) == int(b.step) == steps


def assert_same_stats(stats, expected):
    assert set(stats) == set(expected)
    for key in expected:
        np.testing.assert_allclose(stats[key], expected[key], rtol=1e-5)


def test_train_and_act_is_store_then_update_then_act():
    """The fused call does Algorithm 1's steps in order: the same steps run one by one (store the
    transition, update on a batch drawn with the learner's generator, sample the next action) give
    the same statistics, weights and action (and the action mapped to the env's bounds)."""
    (fused, stepwise), (fused_replay, stepwise_replay) = filled_learner_and_replays()
    train_and_act = TrainAndAct(fused, fused_replay, batch_size=8)
    for i in range(3):
        transition = ([float(i)], [0.5], 1.0, [i + 1.0], False)
        obs = np.full(1, i + 1.0, np.float32)
        action, env_action, stats = train_and_act(transition, obs)
        stepwise_replay.add(*transition)
        expected = stepwise.train_step(stepwise_replay.sample_batch(8, stepwise.rng))
        np.testing.assert_allclose(action, stepwise.collect_action(obs[None])[0], rtol=1e-5)
        np.testing.assert_allclose(env_action, fused.spec.to_env_action(action), rtol=1e-6)
        assert_same_stats(stats, expected)
    assert_same_learners(fused, stepwise, 3)
    assert fused_replay.size == 15


def test_overlapped_train_and_act_is_store_then_act_then_update():
    """Overlapped, a call stores the transition and samples the action, and the update it starts
    (collected by wait) is the one the same steps run one by one in that order give."""
    (overlapped, stepwise), (overlapped_replay, stepwise_replay) = filled_learner_and_replays()
    train_and_act = TrainAndAct(overlapped, overlapped_replay, batch_size=8, overlap=True)
    for i in range(3):
        transition = ([float(i)], [0.5], 1.0, [i + 1.0], False)
        obs = np.full(1, i + 1.0, np.float32)
        action, env_action, none = train_and_act(transition, obs)
        assert none is None
        with pytest.raises(RuntimeError, match="wait"):
            train_and_act(transition, obs)
        stepwise_replay.add(*transition)
        np.testing.assert_allclose(action, stepwise.collect_action(obs[None])[0], rtol=1e-5)
        np.testing.assert_allclose(env_action, overlapped.spec.to_env_action(action), rtol=1e-6)
        expected = stepwise.train_step(stepwise_replay.sample_batch(8, stepwise.rng))
        assert_same_stats(train_and_act.wait(), expected)
        assert train_and_act.wait() is None
    train_and_act.close()
    assert_same_learners(overlapped, stepwise, 3)
    assert overlapped_replay.size == 15


@pytest.mark.parametrize("version,checked", [
    ("2.16.0", True), ("2.21.0", True), ("2.19.0rc1", True), ("2.15.1", False), ("2.22.0", False),
    ("3.0.0", False), ("nightly", False), ("2", False)])
def test_flat_call_is_used_only_on_the_checked_tensorflow_releases(version, checked):
    assert graph_step._flat_call_checked(version) == checked


def test_public_call_fallback_gives_the_same_actions_statistics_and_weights(monkeypatch):
    """Forced onto the public ConcreteFunction call (as on an unchecked TensorFlow release), three
    steps give what the flat call gives."""
    (flat, public), (flat_replay, public_replay) = filled_learner_and_replays()
    flat_call = TrainAndAct(flat, flat_replay, batch_size=8)
    monkeypatch.setattr(graph_step, "_flat_call_checked", lambda version: False)
    public_call = TrainAndAct(public, public_replay, batch_size=8)
    assert not isinstance(flat_call._call, tf.types.experimental.ConcreteFunction)
    assert isinstance(public_call._call, tf.types.experimental.ConcreteFunction)
    for i in range(3):
        transition = ([float(i)], [0.5], 1.0, [i + 1.0], False)
        obs = np.full(1, i + 1.0, np.float32)
        (action, env_action, stats), (expected_action, expected_env_action, expected) = (
            public_call(transition, obs), flat_call(transition, obs))
        np.testing.assert_array_equal(action, expected_action)
        np.testing.assert_array_equal(env_action, expected_env_action)
        assert stats == expected
    assert_same_learners(public, flat, 3)
