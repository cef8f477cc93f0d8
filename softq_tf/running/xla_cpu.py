"""XLA:CPU options for the compiled updates (``SQLConfig.jit_compile``), passed through
``XLA_FLAGS``.

XLA reads ``XLA_FLAGS`` once, at its first compile, so :func:`use_xnn_fusions` must run before the
first learner is built; the training CLI, the figure scripts (both through ``experiment.execute``)
and ``benchmarks.throughput`` call it. Library users who build learners themselves can call it
first, or set ``XLA_FLAGS`` themselves.
"""
import os

import tensorflow as tf
from absl import logging

# XNNPACK runs each matrix product together with its elementwise neighbours (bias, ReLU, tanh) as
# one fused kernel. Measured in benchmarks/README.md ("Fourth round"): the standard-config update
# went from 0.58-0.65 to 0.66-0.91 of the matmul limit, ahead in each of six alternating pairs of
# runs on an AMD VM; neither faster nor slower on an AVX-512 Intel VM ("Fifth round").
XNN_FUSION_FLAG = "--xla_cpu_experimental_xnn_fusion_type=dot,eltwise"
# XLA aborts on a flag it does not know, and this one is experimental: it is set only on the
# TensorFlow versions it was measured with.
VERIFIED_TF_VERSIONS = ("2.21",)


def use_xnn_fusions(environ=None, tf_version=None):
    """Adds :data:`XNN_FUSION_FLAG` to ``XLA_FLAGS`` unless it does not apply.

    It does not apply when ``XLA_FLAGS`` already chooses an XNN fusion type (the user's choice wins)
    or when TensorFlow's major.minor version is not in :data:`VERIFIED_TF_VERSIONS`.

    Args:
      environ: the environment to change (default ``os.environ``).
      tf_version: TensorFlow's version string (default ``tf.__version__``).

    Returns:
      True when ``XLA_FLAGS`` now holds the flag (whether added here or before).
    """
    environ = os.environ if environ is None else environ
    tf_version = tf.__version__ if tf_version is None else tf_version
    current = environ.get("XLA_FLAGS", "")
    if XNN_FUSION_FLAG in current.split():
        return True
    if "xla_cpu_experimental_xnn_fusion_type" in current:
        return False
    if ".".join(tf_version.split(".")[:2]) not in VERIFIED_TF_VERSIONS:
        logging.info("XNNPACK fusions not enabled: TensorFlow %s is not one of the verified "
                     "versions %s", tf_version, ", ".join(VERIFIED_TF_VERSIONS))
        return False
    environ["XLA_FLAGS"] = f"{current} {XNN_FUSION_FLAG}".strip()
    return True
