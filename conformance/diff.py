"""`kesk-conformance diff OLD/results.json NEW/results.json [--markdown]`: what changed between two runs.

Per requirement: *regressed* (it passed and now fails or cannot be decided, or it fails on an
operation it did not fail on before), *fixed* (it failed and now passes, or fails on fewer
operations), *new* and *removed* (in one run only), and *changed* (any other outcome change, such as
passed -> skipped, which hides a verdict rather than reverses it). A known failure counts as a
failure: the server's behaviour is what a release diff compares. Per operation: which requirements
regressed or were fixed on it (the operations of their violations, or the requirement's operations
when a violation names none). Exit status 1 when anything regressed.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.results import ResultsFileError, load_results_file

__all__ = ["Change", "RunDiff", "diff_main", "diff_results", "render_markdown", "render_text"]

_FAILING = {"failed", "error", "known"}
_PASSING = {"passed"}


@dataclass(slots=True, frozen=True)
class Change:
    id: str
    level: str
    old: str | None  # the outcome in OLD (None: not in OLD)
    new: str | None
    operations: tuple[str, ...] = ()  # where it regressed (or was fixed)
    detail: str = ""


@dataclass(slots=True)
class RunDiff:
    old: str
    new: str
    regressed: list[Change] = field(default_factory=list)
    fixed: list[Change] = field(default_factory=list)
    new_requirements: list[Change] = field(default_factory=list)
    removed: list[Change] = field(default_factory=list)
    changed: list[Change] = field(default_factory=list)

    def by_operation(self) -> dict[str, dict[str, list[str]]]:
        """operationId -> {"regressed": [ids], "fixed": [ids]}."""
        table: dict[str, dict[str, list[str]]] = {}
        for kind, changes in (("regressed", self.regressed), ("fixed", self.fixed)):
            for change in changes:
                for operation in change.operations:
                    table.setdefault(operation, {"regressed": [], "fixed": []})[kind].append(change.id)
        return dict(sorted(table.items()))

    @property
    def exit_code(self) -> int:
        return 1 if self.regressed else 0


class DiffError(ResultsFileError):
    """A file that is not a results.json; the message names it."""


def _failing_on(item: Mapping[str, Any]) -> set[str]:
    """The operations a failing requirement failed on (its own operations when no violation names one)."""
    if item.get("outcome") not in _FAILING:
        return set()
    named = {str(f["operation"]) for f in item.get("failures", []) if f.get("operation")}
    return named or set(item.get("operations", []))


def _first_violation(item: Mapping[str, Any], operations: set[str] | None = None) -> str:
    for failure in item.get("failures", []):
        if operations is None or failure.get("operation") in operations:
            return " ".join(f"Expected: {failure.get('expected')}; Actual: {failure.get('actual')}".split())[:300]
    return " ".join(str(item.get("reason", "")).split())[:300]


def diff_results(
    old: Mapping[str, Any], new: Mapping[str, Any], *, old_name: str = "OLD", new_name: str = "NEW"
) -> RunDiff:
    before = {str(item["id"]): item for item in old["requirements"]}
    after = {str(item["id"]): item for item in new["requirements"]}
    result = RunDiff(old_name, new_name)
    for requirement_id, now in after.items():
        level, outcome = str(now.get("level", "")), str(now.get("outcome"))
        was = before.get(requirement_id)
        if was is None:
            result.new_requirements.append(Change(requirement_id, level, None, outcome, detail=_first_violation(now)))
            continue
        previous = str(was.get("outcome"))
        failing_before, failing_now = _failing_on(was), _failing_on(now)
        if previous in _PASSING and outcome in _FAILING:
            ops = tuple(sorted(failing_now))
            result.regressed.append(Change(requirement_id, level, previous, outcome, ops, _first_violation(now)))
        elif previous in _FAILING and outcome in _PASSING:
            ops = tuple(sorted(failing_before))
            result.fixed.append(Change(requirement_id, level, previous, outcome, ops, _first_violation(was)))
        elif previous in _FAILING and outcome in _FAILING:
            worse, better = failing_now - failing_before, failing_before - failing_now
            if worse:  # fails on an operation it did not fail on before
                detail = _first_violation(now, worse)
                result.regressed.append(Change(requirement_id, level, previous, outcome, tuple(sorted(worse)), detail))
            if better:
                detail = _first_violation(was, better)
                result.fixed.append(Change(requirement_id, level, previous, outcome, tuple(sorted(better)), detail))
        elif previous != outcome:
            result.changed.append(Change(requirement_id, level, previous, outcome, detail=str(now.get("reason", ""))))
    for requirement_id, was in before.items():
        if requirement_id not in after:
            result.removed.append(Change(requirement_id, str(was.get("level", "")), str(was.get("outcome")), None))
    return result


def _outcomes(change: Change) -> str:
    return f"{change.old or '(absent)'} -> {change.new or '(absent)'}"


_SECTIONS = (
    ("Regressed", "regressed"),
    ("Fixed", "fixed"),
    ("New requirements", "new_requirements"),
    ("Removed requirements", "removed"),
    ("Other outcome changes", "changed"),
)


def _counts(run_diff: RunDiff) -> str:
    return ", ".join(
        f"{len(getattr(run_diff, name))} {title.lower().replace(' requirements', '')}" for title, name in _SECTIONS
    )


def render_text(run_diff: RunDiff) -> str:
    lines = [f"kesk-conformance diff {run_diff.old} -> {run_diff.new}"]
    for title, name in _SECTIONS:
        changes: list[Change] = getattr(run_diff, name)
        if not changes:
            continue
        lines.append(f"{title} ({len(changes)}):")
        for change in changes:
            where = f" on {', '.join(change.operations)}" if change.operations else ""
            lines.append(f"  {change.id} [{change.level}] {_outcomes(change)}{where}")
            if change.detail and name in ("regressed", "fixed"):
                lines.append(f"      {change.detail}")
    operations = run_diff.by_operation()
    if operations:
        lines.append("By operation:")
        for operation, kinds in operations.items():
            parts = [f"{kind} {', '.join(ids)}" for kind, ids in kinds.items() if ids]
            lines.append(f"  {operation}: {'; '.join(parts)}")
    lines.append(_counts(run_diff))
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def render_markdown(run_diff: RunDiff) -> str:
    """For a pull-request comment: a verdict line, a table per kind of change, a table per operation."""
    verdict = (
        f"**{len(run_diff.regressed)} regression(s)**" if run_diff.regressed else "**No regression**"
    ) + f" ({_counts(run_diff)})"
    lines = [f"### Kesk conformance: `{_md(run_diff.old)}` → `{_md(run_diff.new)}`", "", verdict, ""]
    for title, name in _SECTIONS:
        changes: list[Change] = getattr(run_diff, name)
        if not changes:
            continue
        lines += [
            f"#### {title}",
            "",
            "| Requirement | Level | Outcome | Operations | Detail |",
            "|---|---|---|---|---|",
        ]
        for change in changes:
            lines.append(
                f"| `{change.id}` | {change.level} | {_md(_outcomes(change))} | "
                f"{', '.join(f'`{op}`' for op in change.operations)} | {_md(change.detail)} |"
            )
        lines.append("")
    operations = run_diff.by_operation()
    if operations:
        lines += ["#### By operation", "", "| Operation | Regressed | Fixed |", "|---|---|---|"]
        for operation, kinds in operations.items():
            regressed, fixed = (", ".join(f"`{i}`" for i in kinds[k]) for k in ("regressed", "fixed"))
            lines.append(f"| `{operation}` | {regressed} | {fixed} |")
        lines.append("")
    return "\n".join(lines)


def diff_main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="kesk-conformance diff",
        description="Compare two runs' results.json: regressed, fixed, new, removed (exit 1 on a regression).",
    )
    parser.add_argument("old", type=Path, metavar="OLD/results.json")
    parser.add_argument("new", type=Path, metavar="NEW/results.json")
    parser.add_argument("--markdown", action="store_true", help="markdown, for a pull-request comment")
    args = parser.parse_args(list(argv))
    try:
        old, new = load_results_file(args.old), load_results_file(args.new)
        run_diff = diff_results(old, new, old_name=str(args.old), new_name=str(args.new))
    except ResultsFileError as exc:
        print(f"kesk-conformance diff: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(render_markdown(run_diff) if args.markdown else render_text(run_diff))
    return run_diff.exit_code
