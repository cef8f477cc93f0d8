"""The fine-tuning schedules (Appendix D.1) against values worked out by hand."""
import pytest
import tensorflow as tf

from softq_tf.learners import schedules


@pytest.mark.parametrize("step,expected", [(0, 10.0), (50, 100.0), (25, 10.0 * 10 ** 0.5),
                                           (100, 1000.0), (250, 1000.0)])
def test_log_linear_goes_from_start_to_end_in_log_space_then_stays(step, expected):
    # 10 -> 1000 over 100 steps: a factor 10 every 50 steps.
    value = schedules.log_linear(10.0, 1000.0, tf.constant(step, tf.int64), 100)
    assert float(value) == pytest.approx(expected, rel=1e-6)


def test_log_linear_of_length_zero_is_the_end_value():
    assert float(schedules.log_linear(10.0, 1000.0, 0, 0)) == pytest.approx(1000.0)


@pytest.mark.parametrize("step,expected", [(0, 16), (9, 16), (10, 15), (75, 9), (149, 2),
                                           (150, 1), (10_000, 1)])
def test_noise_set_shrinks_linearly_to_one(step, expected):
    # 16 vectors over 150 steps: one fewer every 10 steps (15 removals), 16 - floor(15 * t / 150).
    assert int(schedules.shrinking_set_size(16, tf.constant(step, tf.int64), 150)) == expected


def test_noise_set_of_length_zero_is_one_vector_and_size_one_stays_one():
    assert int(schedules.shrinking_set_size(8, 5, 0)) == 1
    assert int(schedules.shrinking_set_size(1, 0, 100)) == 1
