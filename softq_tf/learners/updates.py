"""What every learner's update shares: one compiled step with a fixed signature, gradients applied
only when all are finite, the step counted, and the target networks moved when due (Algorithm 1's
delayed target: every ``target_update_period`` steps,
target <- tau * source + (1 - tau) * target)."""
import tensorflow as tf


def all_finite(tensors):
    """True when no element of any tensor is NaN or Inf."""
    return tf.reduce_all([tf.reduce_all(tf.math.is_finite(t)) for t in tensors])


def move_targets(pairs, tau):
    """target <- tau * source + (1 - tau) * target for each (target model, source model) pair."""
    for target_model, source_model in pairs:
        for target, source in zip(target_model.weights, source_model.weights):
            target.assign(tau * source + (1.0 - tau) * target)


def apply_if_finite(finite, optimizer_steps, step, target_pairs, target_update_period, tau):
    """Applies the gradients, counts the step and updates the targets when due, all only if
    ``finite``; traceable.

    Args:
      finite: scalar bool, e.g. :func:`all_finite` of the losses and gradients.
      optimizer_steps: (optimizer, gradients, variables) triples, applied in order.
      step: int64 variable counting applied updates.
      target_pairs: (target model, source model) pairs for :func:`move_targets`.
      target_update_period: steps between target updates.
      tau: target update rate (1.0: hard copy).
    """
    def apply():
        for optimizer, grads, variables in optimizer_steps:
            optimizer.apply_gradients(zip(grads, variables))
        step.assign_add(1)
        due = tf.equal(step % target_update_period, 0)
        tf.cond(due, lambda: (move_targets(target_pairs, tau), tf.constant(True))[1],
                lambda: tf.constant(False))
        return tf.constant(True)

    tf.cond(finite, apply, lambda: tf.constant(False))


def compile_train_step(update, spec, jit_compile):
    """``update(batch)`` as one ``tf.function`` with a fixed input signature, so it traces once for
    any batch size: ``obs [B, O]``, ``action [B, A]`` (normalized), ``reward [B]``,
    ``next_obs [B, O]``, ``terminated [B]``, all float32."""
    o, a = spec.obs_dim, spec.act_dim
    signature = {
        "obs": tf.TensorSpec([None, o], tf.float32),
        "action": tf.TensorSpec([None, a], tf.float32),
        "reward": tf.TensorSpec([None], tf.float32),
        "next_obs": tf.TensorSpec([None, o], tf.float32),
        "terminated": tf.TensorSpec([None], tf.float32),
    }
    return tf.function(update, input_signature=[signature], jit_compile=jit_compile)
