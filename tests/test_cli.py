"""The command-line helpers: the --env_kwargs JSON and the filter on TensorFlow's INFO logs."""
import importlib.util
import logging
import os

import pytest

from softq_tf import cli


def test_parse_env_kwargs_takes_a_json_object_only():
    assert cli.parse_env_kwargs('{"island_length": 2.0}') == {"island_length": 2.0}
    for text in ("island_length=2", "[1, 2]", "{"):
        with pytest.raises(ValueError, match="--env_kwargs=.* give a JSON object"):
            cli.parse_env_kwargs(text)


def record(path, level=logging.INFO):
    return logging.LogRecord("absl", level, path, 1, "message", None, None)


def test_quiet_tensorflow_logs_drops_tensorflow_info_only():
    tensorflow_folder = os.path.dirname(importlib.util.find_spec("tensorflow").origin)
    tensorflow_file = os.path.join(tensorflow_folder, "python", "saved_model",
                                   "signature_serialization.py")
    ours = os.path.join(os.sep, "home", "tensorflow", "softq_tf", "loop.py")  # not TF's own
    absl_logger = logging.getLogger("absl")
    assert absl_logger.filter(record(tensorflow_file))  # before: everything passes
    cli.quiet_tensorflow_logs()
    try:
        assert not absl_logger.filter(record(tensorflow_file))
        assert absl_logger.filter(record(tensorflow_file, logging.WARNING))
        assert absl_logger.filter(record(ours))
        assert logging.getLogger("tensorflow").level == logging.ERROR
    finally:
        absl_logger.removeFilter(cli._DROP_TENSORFLOW_INFO)
