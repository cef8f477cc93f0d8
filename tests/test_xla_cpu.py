"""xla_cpu: the XNNPACK fusion flag is added once, never over the user's choice, and only on a
verified TensorFlow version (XLA aborts on unknown flags)."""
from softq_tf.running import xla_cpu


def test_adds_the_flag_once_beside_other_flags():
    environ = {"XLA_FLAGS": "--xla_cpu_enable_fast_math=false"}
    assert xla_cpu.use_xnn_fusions(environ, tf_version="2.21.0")
    assert xla_cpu.use_xnn_fusions(environ, tf_version="2.21.0")
    assert environ["XLA_FLAGS"] == f"--xla_cpu_enable_fast_math=false {xla_cpu.XNN_FUSION_FLAG}"
    empty = {}
    assert xla_cpu.use_xnn_fusions(empty, tf_version="2.21.3")
    assert empty["XLA_FLAGS"] == xla_cpu.XNN_FUSION_FLAG


def test_keeps_the_users_fusion_choice():
    environ = {"XLA_FLAGS": "--xla_cpu_experimental_xnn_fusion_type=dot"}
    assert not xla_cpu.use_xnn_fusions(environ, tf_version="2.21.0")
    assert environ["XLA_FLAGS"] == "--xla_cpu_experimental_xnn_fusion_type=dot"


def test_leaves_unverified_tensorflow_versions_alone():
    environ = {}
    assert not xla_cpu.use_xnn_fusions(environ, tf_version="2.16.1")
    assert "XLA_FLAGS" not in environ
