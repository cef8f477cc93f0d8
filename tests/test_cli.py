"""What the CLIs share: the --env_kwargs JSON; libraries' INFO lines through absl are dropped,
warnings and our own lines are kept."""
import importlib.util
import logging
import os

import pytest
from absl import logging as absl_logging

import softq_tf
from softq_tf.running import cli


def record(pathname, level):
    return logging.LogRecord("absl", level, pathname, 1, "message", (), None)


@pytest.fixture
def filtered():
    """The absl logger with cli.drop_info_of("gymnasium") on, restored afterwards."""
    logger = absl_logging.get_absl_logger()
    before = list(logger.filters)
    cli.drop_info_of("gymnasium", "no_such_package")
    yield logger
    logger.filters[:] = before


def test_drop_info_of_drops_only_the_packages_info(filtered):
    inside = os.path.join(importlib.util.find_spec("gymnasium").submodule_search_locations[0],
                          "core.py")
    ours = os.path.join(os.path.dirname(softq_tf.__file__), "loop.py")
    assert not filtered.filter(record(inside, logging.INFO))
    assert filtered.filter(record(inside, logging.WARNING))
    assert filtered.filter(record(ours, logging.INFO))
    # A sibling folder whose name starts like the package's is not inside it.
    assert filtered.filter(record(inside.replace("gymnasium", "gymnasium_robotics"), logging.INFO))


def test_parse_env_kwargs_takes_a_json_object_only():
    assert cli.parse_env_kwargs('{"island_length": 2.0}') == {"island_length": 2.0}
    for text in ("island_length=2", "[1, 2]", "{"):
        with pytest.raises(ValueError, match="--env_kwargs=.* give a JSON object"):
            cli.parse_env_kwargs(text)
