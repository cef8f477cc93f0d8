"""What the CLIs share: libraries' INFO lines through absl are dropped, warnings and our own
lines are kept."""
import importlib.util
import logging
import os

import pytest
from absl import logging as absl_logging

import softq_tf
from softq_tf import cli


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
