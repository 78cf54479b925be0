"""Per-operation traffic: what TargetClient counts for every exchange and results.json reports."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass(slots=True)
class OperationStats:
    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)

    def as_json(self) -> dict[str, object]:
        return {"requests": self.requests, "statuses": {str(code): n for code, n in sorted(self.statuses.items())}}
