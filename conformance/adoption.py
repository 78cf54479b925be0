"""Adopting the suite step by step, with one meaning from `kesk-conformance run` and from pytest.

`--known-failures FILE` (known_failures.py: listed failures reported `known`, a listed pass fails the run as
stale) and `--not-implemented GROUP` (optional_groups.py: the requirements of a group the target leaves out
are reported `not_applicable`, not run). Both are read and checked before any request.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from conformance.catalogue import catalogue
from conformance.config import Settings
from conformance.contract import Contract
from conformance.known_failures import KnownFailures, apply_known_failures, judge_known, load_known_failures
from conformance.operations import OperationIndex
from conformance.optional_groups import LeftOut, leave_out, report_not_applicable
from conformance.requirements import Requirement
from conformance.results import RequirementResult, RunResult

__all__ = ["Adoption"]


@dataclass(slots=True, frozen=True)
class Adoption:
    """What a run excuses (its known failures) and leaves out (its optional groups)."""

    known: KnownFailures | None
    left_out: LeftOut

    @classmethod
    def of(cls, settings: Settings, contract: Contract, selection: Sequence[Requirement]) -> Adoption:
        """Read and check both for `selection`; ConfigError (one line) on any mistake, before any request."""
        known = None
        if settings.known_failures:
            ids = {item.id: item.operations for item in catalogue()}
            known = load_known_failures(Path(settings.known_failures), ids)
        left_out = leave_out(settings.not_implemented, OperationIndex(contract.document).ids(), selection)
        return cls(known, left_out)

    @property
    def excused(self) -> frozenset[str]:
        """The requirements the known failures list: their failures never count toward --maxfail."""
        return frozenset(entry.requirement for entry in self.known.entries) if self.known else frozenset()

    @property
    def not_applicable(self) -> frozenset[str]:
        return frozenset(item.id for item in self.left_out.requirements)

    def not_applicable_reason(self, requirement: Requirement) -> str:
        return self.left_out.reason(requirement)

    def judge(self, result: RequirementResult) -> RequirementResult:
        """One requirement's result with its known-failures entry applied."""
        return judge_known(result, self.known) if self.known else result

    def apply(self, run: RunResult) -> None:
        """The whole run: the left-out requirements added as not applicable, the known failures applied."""
        report_not_applicable(run, self.left_out, [item.id for item in catalogue()])
        if self.known is not None:
            apply_known_failures(run, self.known)
