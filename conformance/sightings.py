"""The first sighting of each requirement's failure: when in the run, and at which request.

A verdict is known when a requirement's check ends; a violation is known earlier: at the answer that broke
the rule (an observer judges each exchange as it arrives, Schemathesis reports each scenario), at the first
step of a lifecycle that disagreed with its model (before Hypothesis shrinks it), at a check's first `fail`.
The run prints each sighting the moment it happens, counts it toward --maxfail, and results.json keeps the
first one of each requirement (`first_failure_s`, `first_failure_request`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Sighting", "Sightings"]


@dataclass(slots=True, frozen=True)
class Sighting:
    """A requirement's first violation: seconds into the run, the request that showed it, what it was (redacted)."""

    requirement_id: str
    at_s: float
    request_number: int
    expected: str
    actual: str


class Sightings:
    """The run's first sightings, one per requirement; listeners hear each one once, on the thread that saw it."""

    def __init__(self, started: float | None = None) -> None:
        self.started = time.perf_counter() if started is None else started
        self.listeners: list[Callable[[Sighting], None]] = []
        self._first: dict[str, Sighting] = {}
        self._lock = threading.Lock()

    def saw(self, requirement_id: str, *, request_number: int, expected: str = "", actual: str = "") -> None:
        """A violation of `requirement_id` (its text already redacted); only the first of each is kept."""
        if not requirement_id or requirement_id.startswith("machine:"):
            return  # the run's own set-up, or a machine's context: no requirement of the catalogue
        with self._lock:
            if requirement_id in self._first:
                return
            sighting = Sighting(requirement_id, time.perf_counter() - self.started, request_number, expected, actual)
            self._first[requirement_id] = sighting
        for listener in list(self.listeners):
            listener(sighting)

    def first(self, requirement_id: str) -> Sighting | None:
        with self._lock:
            return self._first.get(requirement_id)
