"""Optional parts of the API a server may leave out: `run --not-implemented GROUP`.

The contract tags every operation ``User`` (it transcribes the upstream reference), so a group is
defined by a pattern over operationIds and resolved against the contract the run judges by: a group
is exactly the operations of that contract whose id matches. A requirement is *not applicable* when
every operation it covers falls in a left-out group; it is then reported ``not_applicable``, not run.
An every-operation check (AUTH-401-*, Schemathesis, the observers) still runs, without those operations;
any other requirement that covers one of them (a flow that needs it) is not applicable.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from conformance.config import ConfigError
from conformance.requirements import Requirement
from conformance.results import Outcome, RequirementResult, RunResult

__all__ = [
    "GROUPS",
    "LeftOut",
    "OptionalGroup",
    "group_operations",
    "leave_out",
    "not_applicable",
    "report_not_applicable",
    "resolve_groups",
]


@dataclass(slots=True, frozen=True)
class OptionalGroup:
    name: str
    description: str
    pattern: str  # matched (re.search) against operationIds


GROUPS: tuple[OptionalGroup, ...] = (
    OptionalGroup(
        "identity",
        "identity verification: verification sessions, their status, NFC passport submission",
        r"^app\w*Verification",
    ),
    OptionalGroup("export", "GDPR data export: request, confirm with OTP, download", r"(DataExport|^downloadExport)$"),
    OptionalGroup("fcm", "push-notification (FCM) tokens: register, unregister", r"FcmToken$"),
)


def group_operations(group: OptionalGroup, operation_ids: Iterable[str]) -> tuple[str, ...]:
    return tuple(op for op in operation_ids if re.search(group.pattern, op))


def resolve_groups(names: Sequence[str], operation_ids: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """The left-out groups, each with its operations; an unknown name is a usage error (exit 2)."""
    known = {group.name: group for group in GROUPS}
    operations = list(operation_ids)
    chosen: dict[str, tuple[str, ...]] = {}
    for name in names:
        group = known.get(name.strip().lower())
        if group is None:
            raise ConfigError(f"--not-implemented {name!r} is not an optional group; choose from {', '.join(known)}")
        chosen[group.name] = group_operations(group, operations)
    return chosen


# A requirement covering at least this many operations is an every-operation check (auth, Schemathesis,
# the observers): it runs without the left-out operations. Any other needs each operation it covers.
EVERY_OPERATION = 10


def not_applicable(requirement: Requirement, left_out: Iterable[str]) -> bool:
    """The requirement needs an operation the target leaves out: every one it covers is left out, or it is a
    flow (not an every-operation check) that covers one of them."""
    excluded = set(left_out)
    covered = set(requirement.operations)
    if not covered or not covered & excluded:
        return False
    return covered <= excluded or len(covered) < EVERY_OPERATION


@dataclass(slots=True, frozen=True)
class LeftOut:
    """What `--not-implemented` leaves out of one run: the groups (with their operations) and the requirements."""

    groups: dict[str, tuple[str, ...]]
    requirements: tuple[Requirement, ...]  # of the selection: reported not applicable, not run

    def reason(self, requirement: Requirement) -> str:
        groups = [name for name, ops in self.groups.items() if set(requirement.operations) & set(ops)]
        return f"the target does not implement {', '.join(groups)} (--not-implemented), which {requirement.id} needs"


def leave_out(names: Sequence[str], operation_ids: Iterable[str], selection: Sequence[Requirement]) -> LeftOut:
    groups = resolve_groups(names, operation_ids)
    left_out = {op for ops in groups.values() for op in ops}
    requirements = tuple(item for item in selection if not_applicable(item, left_out))
    if groups and len(requirements) == len(selection):
        raise ConfigError("--not-implemented leaves no requirement of this selection to run")
    return LeftOut(groups, requirements)


def report_not_applicable(run: RunResult, left_out: LeftOut, order: Sequence[str]) -> None:
    """Add to the run a `not_applicable` result for each left-out requirement, in catalogue order (`order`)."""
    if not left_out.groups:
        return
    index = {requirement_id: position for position, requirement_id in enumerate(order)}
    results = run.results + [
        RequirementResult(item, Outcome.NOT_APPLICABLE, reason=left_out.reason(item)) for item in left_out.requirements
    ]
    results.sort(key=lambda result: index.get(result.requirement.id, len(index)))
    run.results = results
    run.target["not_implemented"] = {name: list(ops) for name, ops in left_out.groups.items()}
