"""The verdicts of a soak, as one Locust process holds them: on a worker its own, on the master every worker's.

No Locust here: the reports (conformance.soak.report) read it in any process.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from conformance.failures import FailureDetail
from conformance.stats import OperationStats

__all__ = ["Tally"]


@dataclass(slots=True)
class Tally:
    """The verdicts of one process (or, on the master, of every worker): violations and what was judged."""

    violations: list[tuple[str, FailureDetail]] = field(default_factory=list)
    judged: Counter[str] = field(default_factory=Counter)  # rounds (walks) or answers (observers)
    started: Counter[str] = field(default_factory=Counter)  # users that began a walk, by requirement
    workers: set[str] = field(default_factory=set)  # the master: the workers that reported
    undecided: Counter[str] = field(default_factory=Counter)
    reasons: dict[str, str] = field(default_factory=dict)  # why a requirement was undecided, the first time
    operations: dict[str, OperationStats] = field(default_factory=dict)
    _sent: int = 0  # violations already reported to the master

    def violation(self, requirement_id: str, failure: FailureDetail) -> None:
        self.violations.append((requirement_id, failure))

    def unsure(self, requirement_id: str, reason: str) -> None:
        self.undecided[requirement_id] += 1
        self.reasons.setdefault(requirement_id, reason)

    def report(self, counts: dict[str, Counter[str]], operations: dict[str, OperationStats]) -> dict[str, Any]:
        """What a worker sends the master: what is new since its last report."""
        fresh = self.violations[self._sent :]
        self._sent = len(self.violations)
        return {
            "violations": [[rid, failure.as_json()] for rid, failure in fresh],
            **{name: dict(count) for name, count in counts.items()},
            "reasons": self.reasons,
            "operations": {op: stats.as_json() for op, stats in operations.items()},
        }

    def merge(self, data: dict[str, Any]) -> None:
        for rid, failure in data.get("violations", []):
            fields = {key: failure[key] for key in ("operation", "expected", "actual", "hint", "curl")}
            self.violations.append(
                (rid, FailureDetail(**fields, steps=tuple(failure["steps"]), request_number=failure["request_number"]))
            )
        self.judged.update(data.get("judged", {}))
        self.undecided.update(data.get("undecided", {}))
        self.started.update(data.get("started", {}))
        for rid, reason in data.get("reasons", {}).items():
            self.reasons.setdefault(rid, reason)
        for op, stats in data.get("operations", {}).items():
            mine = self.operations.setdefault(op, OperationStats())
            mine.requests += stats["requests"]
            mine.statuses.update({int(code): n for code, n in stats["statuses"].items()})
