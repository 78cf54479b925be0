"""What a run produced: per-requirement outcomes and per-operation traffic (results.json's shape)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from conformance.coverage import SpecCoverage
from conformance.expectations import Answer, ExpectationCoverage
from conformance.failures import FailureDetail
from conformance.requirements import Level, Requirement
from conformance.stats import OperationStats
from conformance.steps import FailureSteps


class Outcome(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"
    ERROR = "error"
    KNOWN = "known"  # failed, and listed in --known-failures: reported, does not fail the run
    NOT_APPLICABLE = "not_applicable"  # covers only operations of a group the target leaves out (--not-implemented)


@dataclass(slots=True)
class RequirementResult:
    requirement: Requirement
    outcome: Outcome
    reason: str = ""
    failures: list[FailureDetail] = field(default_factory=list)
    requests: int = 0
    duration_s: float = 0.0
    finished_s: float = 0.0  # seconds into the run when the verdict was known
    # A failed requirement: when its first violation was seen (seconds into the run) and at which request
    # (conformance.sightings); often long before its verdict.
    first_failure_s: float | None = None
    first_failure_request: int | None = None
    judged: int = 0  # an observer: the exchanges of the run it judged (it sends none of its own)
    stale: bool = False  # listed in --known-failures, yet it passed: the list must lose it, so the run fails

    def fails_run(self, *, strict: bool) -> bool:
        """A MUST (or, under --strict, any) requirement that failed, or that could not be decided: an
        undecided requirement did not pass, so a run with one must not look green in CI. A stale known
        failure fails the run whatever its level."""
        if self.stale:
            return True
        if self.outcome not in (Outcome.FAILED, Outcome.ERROR):
            return False
        return self.requirement.level is Level.MUST or strict

    def as_json(self) -> dict[str, object]:
        item = self.requirement
        return {
            "id": item.id,
            "level": item.level.value,
            "area": item.area,
            "title": item.title,
            "quote": item.quote,
            "outcome": self.outcome.value,
            "reason": self.reason,
            "operations": list(item.operations),
            "requests": self.requests,
            **({"judged": self.judged} if self.requirement.observes else {}),
            **({"stale": True} if self.stale else {}),
            "duration_s": round(self.duration_s, 3),
            "finished_s": round(self.finished_s, 3),
            "first_failure_s": None if self.first_failure_s is None else round(self.first_failure_s, 3),
            "first_failure_request": self.first_failure_request,
            "failures": [failure.as_json() for failure in self.failures],
        }


@dataclass(slots=True)
class RunResult:
    target: dict[str, object]
    seed: int
    strict: bool
    results: list[RequirementResult]
    operations: dict[str, OperationStats]
    duration_s: float
    interrupted: bool = False  # Ctrl-C or SIGTERM cut the run short: not a conformance verdict
    # Every request the run sent (the client's count), whether for a requirement, for setup and cleanup, or
    # to a path of no operation; None when unknown (results read back from files), then `requests` is the
    # per-operation total.
    sent: int | None = None
    coverage: SpecCoverage | None = None  # what the run exercised of the contract (conformance.coverage)
    min_coverage: float | None = None  # --min-coverage: below this percentage the run fails
    # documented answers some check required (conformance.expectations), as the run recorded them
    expectation_log: dict[Answer, tuple[str, ...]] = field(default_factory=dict)
    expectations: ExpectationCoverage | None = None
    steps: dict[str, FailureSteps] = field(default_factory=dict)  # failed requirement id -> its steps
    # per lifecycle machine that ran: the pairs (state/action) of its transition table executed, of all
    transitions: dict[str, dict[str, object]] = field(default_factory=dict)

    @property
    def coverage_shortfall(self) -> str:
        """Why the run's coverage fails it (--min-coverage), or "" when it does not."""
        if self.min_coverage is None:
            return ""
        if self.coverage is not None and self.coverage.percent < self.min_coverage:
            return f"spec coverage {self.coverage.percent:.1f}% is below --min-coverage {self.min_coverage:g}%"
        if self.expectations is not None and self.expectations.percent < self.min_coverage:
            percent = self.expectations.percent
            return f"expectation coverage {percent:.1f}% is below --min-coverage {self.min_coverage:g}%"
        return ""

    def count(self, outcome: Outcome) -> int:
        return sum(1 for result in self.results if result.outcome is outcome)

    @property
    def requests(self) -> int:
        """The run's total: the requirements' own counts plus `requests_for_setup`."""
        return self.sent if self.sent is not None else sum(stats.requests for stats in self.operations.values())

    @property
    def requests_for_requirements(self) -> int:
        return sum(result.requests for result in self.results)

    @property
    def requests_for_setup(self) -> int:
        """Sent outside any requirement: the preflight, user setup through the API, the final cleanup."""
        return max(self.requests - self.requests_for_requirements, 0)

    @property
    def requests_off_spec(self) -> int:
        """Sent to a method and path of no operation of the spec, so counted in no operation's traffic."""
        return max(self.requests - sum(stats.requests for stats in self.operations.values()), 0)

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return 130
        if any(result.fails_run(strict=self.strict) for result in self.results):
            return 1
        return 1 if self.coverage_shortfall else 0

    def _requirement_json(self, result: RequirementResult) -> dict[str, object]:
        data = result.as_json()
        steps = self.steps.get(result.requirement.id)
        if steps is not None:
            data["steps"] = steps.as_json()
        return data

    def as_json(self) -> dict[str, object]:
        return {
            "target": self.target,
            "seed": self.seed,
            "strict": self.strict,
            "requirements": [self._requirement_json(result) for result in self.results],
            "operations": {op: stats.as_json() for op, stats in sorted(self.operations.items())},
            "summary": {
                "passed": self.count(Outcome.PASSED),
                "failed": self.count(Outcome.FAILED),
                "skipped": self.count(Outcome.SKIPPED),
                "error": self.count(Outcome.ERROR),
                "known": self.count(Outcome.KNOWN),
                "not_applicable": self.count(Outcome.NOT_APPLICABLE),
                "stale": sum(1 for result in self.results if result.stale),
                "requests": self.requests,
                # requests = requests_for_requirements + requests_for_setup (sum of the requirements' counts)
                "requests_for_requirements": self.requests_for_requirements,
                "requests_for_setup": self.requests_for_setup,
                "requests_off_spec": self.requests_off_spec,
                "duration_s": round(self.duration_s, 3),
                "interrupted": self.interrupted,
                "exit_code": self.exit_code,
            },
            "transitions": self.transitions,
            **(
                {
                    "coverage": {
                        **self.coverage.as_json(),
                        **({"expectations": self.expectations.as_json()} if self.expectations is not None else {}),
                        "min_coverage": self.min_coverage,
                    }
                }
                if self.coverage is not None
                else {}
            ),
        }


class ResultsFileError(Exception):
    """A file that is not a readable results.json; the message names it."""


def load_results_file(path: Path) -> dict[str, Any]:
    """A run's results.json (for merge, diff, baseline, replay); ResultsFileError when it is not one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ResultsFileError(f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("requirements"), list):
        raise ResultsFileError(f"{path} is not a kesk-conformance results.json")
    return data
