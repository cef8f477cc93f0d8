"""Validation helpers shared by the frozen config dataclasses."""


def require(condition, field, value, allowed):
    """Raises ValueError naming ``field``, its bad ``value`` and what is ``allowed`` unless ok."""
    if not condition:
        raise ValueError(f"{field}={value!r} is invalid: {allowed}")


def positive_int(field, value):
    require(isinstance(value, int) and not isinstance(value, bool) and value > 0, field, value,
            "must be a positive integer")


def positive_float(field, value):
    require(isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0,
            field, value, "must be a positive number")
