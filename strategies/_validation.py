"""Argument checks shared by the factories; every bad argument raises ``InvalidArgument``."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from hypothesis.errors import InvalidArgument
from hypothesis.strategies import SearchStrategy

__all__ = ["check_bool", "check_choices", "check_int_range", "check_strategy"]


def check_bool(name: str, value: object) -> None:
    if not isinstance(value, bool):
        raise InvalidArgument(f"{name}={value!r} must be a bool.")


def check_int_range(name: str, value: object, *, min_value: int, max_value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgument(f"{name}={value!r} must be an int.")
    if not min_value <= value <= max_value:
        raise InvalidArgument(f"{name}={value!r} must be between {min_value} and {max_value}.")
    return value


def check_strategy(name: str, value: object) -> None:
    if not isinstance(value, SearchStrategy):
        raise InvalidArgument(f"{name}={value!r} must be a SearchStrategy.")


def check_choices(name: str, value: Any, allowed: Collection[str]) -> tuple[str, ...]:
    """A non-empty collection of strings, each one of ``allowed``; returned sorted, deduplicated."""
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise InvalidArgument(f"{name}={value!r} must be a collection of strings, not a single string.")
    chosen = tuple(value)
    if not chosen:
        raise InvalidArgument(f"{name} must not be empty.")
    unknown = [v for v in chosen if not isinstance(v, str) or v not in allowed]
    if unknown:
        names = sorted(allowed)
        preview = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
        raise InvalidArgument(f"{name} has unknown values {unknown!r}; choose from: {preview}.")
    return tuple(sorted(set(chosen)))
