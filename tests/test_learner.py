"""The learner interface and the setup both learners share: construction is seeded by the seed
alone and leaves the global generators alone."""
import random

import numpy as np
import pytest
import tensorflow as tf

from softq_tf import DDPGConfig, DDPGLearner, Learner, SoftQLearner, SQLConfig
from softq_tf.learners.learner import LearnerBase

CONFIGS = {SoftQLearner: SQLConfig(hidden_sizes=(8, 8), kernel_particles=4, value_particles=4,
                                   jit_compile=False, noise_set_size=3),
           DDPGLearner: DDPGConfig(hidden_sizes=(8, 8), jit_compile=False)}
LEARNERS = list(CONFIGS)


def all_weights(learner):
    return [w for network in learner.networks().values() for w in network.get_weights()]


@pytest.mark.parametrize("learner_class", LEARNERS)
def test_both_learners_implement_the_interface(tiny_spec, learner_class):
    learner = learner_class(tiny_spec, CONFIGS[learner_class], seed=0)
    assert isinstance(learner, Learner) and isinstance(learner, LearnerBase)
    assert {"q", "target_q", "q_optimizer", "policy_optimizer", "step", "rng"} <= set(
        learner.checkpoint_items())


def test_the_shared_setup_alone_is_not_a_learner(tiny_spec):
    with pytest.raises(TypeError, match="abstract"):
        LearnerBase(tiny_spec, CONFIGS[SoftQLearner], seed=0)


@pytest.mark.parametrize("learner_class", LEARNERS)
def test_same_seed_gives_the_same_weights_whatever_the_global_state(tiny_spec, learner_class):
    config = CONFIGS[learner_class]
    random.seed(1), np.random.seed(1), tf.random.set_seed(1)
    first = learner_class(tiny_spec, config, seed=4)
    random.seed(2), np.random.seed(2), tf.random.set_seed(2)
    second = learner_class(tiny_spec, config, seed=4)
    other = learner_class(tiny_spec, config, seed=5)
    assert all(np.array_equal(a, b) for a, b in zip(all_weights(first), all_weights(second),
                                                    strict=True))
    assert not np.array_equal(all_weights(first)[0], all_weights(other)[0])
    assert np.array_equal(first.rng.normal([4]), second.rng.normal([4]))
    np.testing.assert_array_equal(first.target_q.get_weights()[0], first.q.get_weights()[0])


@pytest.mark.parametrize("learner_class", LEARNERS)
def test_construction_leaves_the_global_generators_alone(tiny_spec, learner_class):
    random.seed(7), np.random.seed(7), tf.random.set_seed(7)
    expected = (random.random(), np.random.random(), tf.random.uniform([3]).numpy())
    random.seed(7), np.random.seed(7), tf.random.set_seed(7)
    learner_class(tiny_spec, CONFIGS[learner_class], seed=4)
    drawn = (random.random(), np.random.random(), tf.random.uniform([3]).numpy())
    assert drawn[:2] == expected[:2]
    np.testing.assert_array_equal(drawn[2], expected[2])
