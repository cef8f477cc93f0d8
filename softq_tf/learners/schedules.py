"""The fine-tuning schedules of paper Appendix D.1, as traceable functions of the update count.

- alpha, the entropy weight, is annealed log-linearly from the pretrained value to a final one. With
  rewards scaled by 1/alpha (:func:`softq_tf.learners.losses.soft_bellman_target`) that is the
  reward scale rising log-linearly: :func:`log_linear`.
- the sampler's noise xi is drawn from a fixed set of K_xi vectors whose size shrinks linearly to 1,
  so the policy turns deterministic: :func:`shrinking_set_size`.

Both read the learner's step counter (a checkpointed variable), so a compiled update follows them
without a retrace and a resumed run continues them exactly.
"""
import math

import tensorflow as tf


def _fraction(step, steps):
    """min(step / steps, 1) as float32 (1 when ``steps`` is 0: the schedule is over at once)."""
    if steps == 0:
        return tf.constant(1.0)
    return tf.minimum(tf.cast(step, tf.float32) / float(steps), 1.0)


def log_linear(start, end, step, steps):
    """start * (end / start) ** min(step / steps, 1): from ``start`` at step 0 to ``end`` at
    ``steps``, a straight line in log space, then ``end`` (Appendix D.1's alpha annealing).

    Args:
      start, end: positive numbers.
      step: the current step (int tensor or number).
      steps: the schedule's length (>= 0; 0 gives ``end`` at once).

    Returns:
      a float32 scalar tensor.
    """
    return tf.constant(start, tf.float32) * tf.exp(
        _fraction(step, steps) * math.log(end / start))


def shrinking_set_size(size, step, steps):
    """size - floor((size - 1) * min(step / steps, 1)): the number of noise vectors in use, from
    ``size`` at step 0 down by one every ``steps / (size - 1)`` steps to 1 at ``steps`` (Appendix
    D.1's K_xi schedule).

    Args:
      size: K_xi >= 1.
      step: the current step (int tensor or number).
      steps: the schedule's length (>= 0; 0 gives 1 at once).

    Returns:
      an int32 scalar tensor in [1, size].
    """
    if steps == 0:
        return tf.constant(1, tf.int32)
    done = tf.minimum(tf.cast(step, tf.int64), steps)
    shrink = (size - 1) * done // steps  # integer arithmetic: exact at every step
    return tf.cast(size - shrink, tf.int32)
