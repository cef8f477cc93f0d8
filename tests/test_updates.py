"""The shared update bookkeeping: gradients applied only when finite, targets moved when due."""
import keras
import numpy as np
import tensorflow as tf

from softq_tf.learners import updates


def model_and_target():
    source = keras.Sequential([keras.layers.Dense(2)])
    target = keras.Sequential([keras.layers.Dense(2)])
    for model in (source, target):
        model(tf.zeros([1, 3]))
    return source, target


def test_all_finite():
    assert bool(updates.all_finite([tf.ones(3), tf.zeros([2, 2])]))
    assert not bool(updates.all_finite([tf.ones(3), tf.constant([1.0, np.inf])]))


def test_move_targets_is_polyak_averaging():
    source, target = model_and_target()
    expected = [0.25 * s.numpy() + 0.75 * t.numpy() for s, t in zip(source.weights, target.weights)]
    updates.move_targets([(target, source)], tau=0.25)
    for want, got in zip(expected, target.weights):
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-6)


def test_apply_if_finite_steps_and_copies_the_target_when_due():
    source, target = model_and_target()
    optimizer = keras.optimizers.SGD(0.1)
    step = tf.Variable(0, dtype=tf.int64)
    grads = [tf.ones_like(w) for w in source.trainable_variables]

    def apply(finite):
        updates.apply_if_finite(tf.constant(finite),
                                [(optimizer, grads, source.trainable_variables)], step,
                                [(target, source)], target_update_period=2, tau=1.0)

    before = [w.numpy() for w in source.weights]
    apply(False)  # not finite: nothing moves
    assert int(step) == 0
    for a, b in zip(before, source.weights):
        np.testing.assert_array_equal(a, b.numpy())
    apply(True)  # step 1: gradient applied, target not due
    assert int(step) == 1
    np.testing.assert_allclose(source.weights[0].numpy(), before[0] - 0.1, rtol=1e-6)
    assert not np.allclose(target.weights[0].numpy(), source.weights[0].numpy())
    apply(True)  # step 2: due, hard copy
    for s, t in zip(source.weights, target.weights):
        np.testing.assert_array_equal(s.numpy(), t.numpy())
