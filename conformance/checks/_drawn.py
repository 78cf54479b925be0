"""Values drawn from a Hypothesis strategy outside a test, the same for the same seed.

A check that needs a handful of values (invalid request bodies, one per kind of defect) draws them here:
each alternative of the strategy (`st.one_of`'s branches) gives `per_alternative` values, so every kind
is sent, however unlikely a random draw would make it, at a cost of milliseconds.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any, TypeVar

from hypothesis import HealthCheck, Phase, Verbosity, given, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import HypothesisException
from hypothesis.strategies import SearchStrategy

__all__ = ["alternatives", "draw_each"]

T = TypeVar("T")


def alternatives(strategy: SearchStrategy[T]) -> Sequence[SearchStrategy[T]]:
    """The alternatives of a `one_of` strategy, nested ones flattened (a strategy that is none: itself).

    Hypothesis' `SearchStrategy.branches` is not documented: tests/conformance/test_answers.py pins it. Without
    it, the strategy is its only alternative and `draw_each` draws that many more values from it.
    """
    found = getattr(strategy, "branches", None)
    return list(found) if found else [strategy]


def draw_each(strategy: SearchStrategy[T], *, seed_value: int, per_alternative: int = 2) -> list[T]:
    """`per_alternative` values of every alternative of `strategy`, the same for the same `seed_value`."""
    choices = alternatives(strategy)
    examples = per_alternative if len(choices) > 1 else per_alternative * 20
    drawn: list[T] = []

    @seed(seed_value)
    @settings(
        max_examples=examples,
        database=None,
        phases=[Phase.generate],
        deadline=None,
        derandomize=False,
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
    )
    @given(st.tuples(*choices))
    def collect(values: tuple[Any, ...]) -> None:
        drawn.extend(values)

    # Fewer values than asked (a filter that rejects most) raise: what was drawn is used.
    with contextlib.suppress(HypothesisException):
        collect()
    return drawn
