"""Packaging for softq-tf: soft Q-learning with energy-based policies (Haarnoja et al., ICML 2017)."""
from setuptools import find_packages, setup

setup(
    name="softq-tf",
    version="0.1.0",
    description="Soft Q-learning with deep energy-based policies (amortized SVGD) in TensorFlow 2",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["softq_tf", "softq_tf.*", "paper_repro", "paper_repro.*"]),
    package_data={"softq_tf.envs": ["assets/*.xml"]},
    install_requires=[
        "tensorflow>=2.16,<3",
        "keras>=3.0",
        "tensorboard>=2.16",  # tf.summary needs it; TF 2.21 no longer installs it
        # eq. 10's proposal and log-mean-exp, the Tanh bijector; 0.25 needs its [tf] extra
        # (tf-keras) beside Keras 3, or every tfp submodule fails at first use (tf.keras stays
        # Keras 3: tests/test_dependencies.py)
        "tensorflow-probability[tf]>=0.25",
        "gymnasium[mujoco]>=1.0",
        "mujoco>=3.1",
        "absl-py>=1.0",
        "numpy>=1.24",
        "matplotlib>=3.7",
    ],
    extras_require={
        # The Ray Tune engine's tests run in the default suite, so the test extra brings Ray too.
        "test": ["pytest>=7", "pytest-xdist>=3", "ray[tune]==2.60.0"],
        "ray": ["ray[tune]==2.60.0"],  # the Tune API used (tune.report, Tuner.restore) as tested
        "video": ["moviepy>=1.0"],  # python -m softq_tf.evaluate --video
    },
)
