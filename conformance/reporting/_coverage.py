"""Which documented status codes of each operation the run actually observed.

The spec may document exact codes ("404"), ranges ("4XX") and "default"; an observed
code counts towards the most specific documented key, the same precedence OpenAPI uses
when it picks a response for a status.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from conformance.coverage import documented_status_key
from conformance.stats import OperationStats


@dataclass(slots=True, frozen=True)
class StatusCoverage:
    key: str  # as documented: "200", "4XX", "default"
    seen: int  # responses that matched this key


@dataclass(slots=True, frozen=True)
class OperationCoverage:
    operation: str
    requests: int
    documented: tuple[StatusCoverage, ...]
    undocumented: tuple[tuple[int, int], ...]  # (status, count) observed but matching no documented key

    @property
    def unobserved(self) -> tuple[str, ...]:
        return tuple(item.key for item in self.documented if item.seen == 0)


_documented_key = documented_status_key  # one precedence for this table and the spec coverage figure


def operation_coverage(
    operations: Mapping[str, OperationStats], documented_statuses: Mapping[str, Sequence[str]]
) -> list[OperationCoverage]:
    """One entry per operation that is documented or was called, sorted by operationId."""
    rows = []
    for operation in sorted(set(operations) | set(documented_statuses)):
        stats = operations.get(operation, OperationStats())
        keys = list(documented_statuses.get(operation, ()))
        seen = dict.fromkeys(keys, 0)
        undocumented: dict[int, int] = {}
        for status, count in sorted(stats.statuses.items()):
            key = _documented_key(status, keys)
            if key is None:
                undocumented[status] = undocumented.get(status, 0) + count
            else:
                seen[key] += count
        rows.append(
            OperationCoverage(
                operation=operation,
                requests=stats.requests,
                documented=tuple(StatusCoverage(key, seen[key]) for key in keys),
                undocumented=tuple(undocumented.items()),
            )
        )
    return rows
