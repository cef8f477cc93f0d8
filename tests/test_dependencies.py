"""The declared dependencies work together: TensorFlow Probability (with its tf-keras extra, which
its distributions load) leaves ``tf.keras`` on Keras 3."""
import subprocess
import sys

IMPORT_TFP_FIRST = """
import tensorflow_probability as tfp
print(float(tfp.distributions.Normal(0.0, 1.0).log_prob(0.0)))  # a submodule at first use
import keras
import tensorflow as tf
print(keras.__version__)
print(tf.keras.Model is keras.Model and tf.keras.layers.Dense is keras.layers.Dense)
"""


def test_tfp_works_and_tf_keras_stays_keras_3():
    result = subprocess.run([sys.executable, "-c", IMPORT_TFP_FIRST], capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    log_prob, keras_version, same_keras = result.stdout.split()
    assert abs(float(log_prob) + 0.9189385) < 1e-6  # -log(2 pi) / 2
    assert keras_version.startswith("3"), keras_version
    assert same_keras == "True"
