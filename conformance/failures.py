"""Failures are structured; rendering them is a separate step (format_failure)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True, frozen=True)
class FailureDetail:
    """One observed violation: what the requirement expected, what the server did, how to reproduce."""

    operation: str
    expected: str
    actual: str
    hint: str = ""
    curl: str = ""
    steps: tuple[str, ...] = field(default_factory=tuple)
    # Position of the offending request in the run (1 = the first request sent); None when unknown.
    request_number: int | None = None

    def as_json(self) -> dict[str, object]:
        return {
            "operation": self.operation,
            "expected": self.expected,
            "actual": self.actual,
            "hint": self.hint,
            "curl": self.curl,
            "steps": list(self.steps),
            "request_number": self.request_number,
        }


class SkipRequirement(Exception):
    """Raised by a check that cannot run here; the message is the reason shown to the user."""


class UndecidedRequirement(Exception):
    """Raised when the suite could not decide (network failure, unreadable answer)."""


class RunInterrupted(UndecidedRequirement):
    """Raised by the client once the run is interrupted (Ctrl-C, SIGTERM): the requirement did not finish."""

    REASON = "the run was interrupted before this requirement finished"


def format_failure(requirement_id: str, quote: str, failure: FailureDetail, *, seed: int | None = None) -> str:
    """The one text form of a failure, used by the terminal, JUnit and HTML reports."""
    lines = [
        f"{requirement_id} ({failure.operation})",
        f"  Requirement: {quote}",
        f"  Expected: {failure.expected}",
        f"  Actual: {failure.actual}",
    ]
    if failure.hint:
        lines.append(f"  Hint: {failure.hint}")
    if failure.steps:
        lines.append("  Steps:")
        lines.extend(f"    {step}" for step in failure.steps)
    if failure.curl:
        lines.append(f"  Reproduce with: {failure.curl}")
    if seed is not None:
        lines.append(f"  Seed: {seed} (replay with --seed {seed})")
    return "\n".join(lines)
