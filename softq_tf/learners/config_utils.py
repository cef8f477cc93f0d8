"""Validation helpers shared by the frozen config dataclasses."""
import dataclasses
import math


def require(condition, field, value, allowed):
    """Raises ValueError naming ``field``, its bad ``value`` and what is ``allowed`` unless ok."""
    if not condition:
        raise ValueError(f"{field}={value!r} is invalid: {allowed}")


def positive_int(field, value):
    require(isinstance(value, int) and not isinstance(value, bool) and value > 0, field, value,
            "must be a positive integer")


def non_negative_int(field, value):
    require(isinstance(value, int) and not isinstance(value, bool) and value >= 0, field, value,
            "must be a non-negative integer")


def positive_float(field, value):
    require(isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0,
            field, value, "must be a positive number")


def finite_floats(config):
    """Raises ValueError naming the first float field of the dataclass ``config`` that holds inf
    or nan (e.g. ``--override=reward_scale=inf``): such a run would train until its first
    non-finite loss; for a frozen dataclass's ``__post_init__``, before the other checks."""
    for field in dataclasses.fields(config):  # a type "float" under postponed annotations
        value = getattr(config, field.name)
        if field.type in (float, "float") and isinstance(value, float):
            require(math.isfinite(value), field.name, value, "must be a finite number")


def validate_shared_fields(config):
    """Validates the fields every learner config has (``hidden_sizes``, ``q_lr``, ``policy_lr``,
    ``reward_scale``, ``discount``, ``tau``, ``target_update_period``) and stores ``hidden_sizes``
    as a tuple, after :func:`finite_floats`; for a frozen dataclass's ``__post_init__``."""
    finite_floats(config)
    object.__setattr__(config, "hidden_sizes", tuple(config.hidden_sizes))
    require(len(config.hidden_sizes) > 0 and all(
        isinstance(s, int) and s > 0 for s in config.hidden_sizes), "hidden_sizes",
        config.hidden_sizes, "must be one or more positive integers, e.g. (128, 128)")
    for name in ("q_lr", "policy_lr", "reward_scale"):
        positive_float(name, getattr(config, name))
    positive_int("target_update_period", config.target_update_period)
    require(0.0 <= config.discount <= 1.0, "discount", config.discount, "must be in [0, 1]")
    require(0.0 < config.tau <= 1.0, "tau", config.tau, "must be in (0, 1]")
