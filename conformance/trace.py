"""The trace from the contract to the suite and on to the reference server's faults.

rule (``x-kesk-rules``) -> the requirements that cite it -> the seeded faults that make each fail.
``kesk-conformance list`` prints it; the tests require that every rule has a requirement and every
requirement a fault. The fault names come from the reference server's catalogue, read here only to
report on it: the suite's verdicts never depend on it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from conformance.contract import Contract
from conformance.requirements import Requirement

__all__ = ["TraceRow", "fault_breaks", "faults_by_requirement", "markdown", "trace"]


@dataclass(slots=True, frozen=True)
class TraceRow:
    rule: str  # an x-kesk-rules id, or "" for requirements that cite no rule (seed sentences, spec elements)
    requirements: tuple[str, ...]
    faults: tuple[str, ...]


def faults_by_requirement() -> dict[str, tuple[str, ...]]:
    """Requirement id -> the names of the bundled reference server's faults that must make it fail."""
    from reference_server.faults import CATALOGUE  # reported on, never used to judge

    found: dict[str, list[str]] = {}
    for fault in CATALOGUE:
        for requirement_id in fault.requirements:
            found.setdefault(requirement_id, []).append(fault.name)
    return {key: tuple(names) for key, names in found.items()}


def fault_breaks() -> dict[str, tuple[str, ...]]:
    """Fault name -> the ledger sources (promises of the contract) it breaks, as the reference server says."""
    from reference_server.faults import CATALOGUE  # reported on, never used to judge

    return {fault.name: tuple(fault.breaks) for fault in CATALOGUE if fault.breaks}


def trace(
    contract: Contract, requirements: Iterable[Requirement], faults: Mapping[str, tuple[str, ...]]
) -> list[TraceRow]:
    """One row per rule of the contract (in its order), then one for requirements citing no rule."""
    chosen = list(requirements)

    def row(rule: str, items: list[Requirement]) -> TraceRow:
        names = tuple(dict.fromkeys(name for item in items for name in faults.get(item.id, ())))
        return TraceRow(rule, tuple(item.id for item in items), names)

    rows = [row(rule, [item for item in chosen if f"rule:{rule}" in item.cites]) for rule in contract.rules]
    rest = [item for item in chosen if not any(cite.startswith("rule:") for cite in item.cites)]
    return [*rows, row("", rest)] if rest else rows


def markdown(rows: Iterable[TraceRow]) -> str:
    lines = ["| rule | requirements | faults that must make them fail |", "|---|---|---|"]
    for item in rows:
        lines.append(
            f"| {item.rule or '(seed sentences, spec elements)'} | {', '.join(item.requirements) or '**none**'} "
            f"| {', '.join(item.faults) or '**none**'} |"
        )
    return "\n".join(lines)
