"""Shared helpers for the strategies tests (imported by basename, like rs_helpers)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from hypothesis import HealthCheck, Phase, find, settings
from hypothesis.strategies import SearchStrategy

T = TypeVar("T")

# A moderate budget keeps the whole strategies run well under a minute. No deadline: the first
# draw for a phone region compiles that region's patterns, and the schema validations of
# 100-item pages are slow enough to trip Hypothesis' 200 ms default now and then.
checked = settings(max_examples=40, deadline=None, database=None)
few = settings(max_examples=15, deadline=None, database=None)


def find_any(strategy: SearchStrategy[T], condition: Callable[[T], Any], *, max_examples: int = 1000) -> T:
    """The first example satisfying ``condition``, without shrinking (as Hypothesis' own
    ``tests.common.debug.find_any``). Fails the test with NoSuchExample when none turns up."""
    return find(
        strategy,
        condition,
        settings=settings(
            max_examples=max_examples,
            database=None,
            phases=(Phase.explicit, Phase.generate),
            # Conditions that are rare on purpose would otherwise trip the filter health check.
            suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
        ),
    )
