"""Known failures that cannot go stale: `run --known-failures FILE` and `kesk-conformance baseline RESULTS.json`.

FILE is TOML, one ``[[known]]`` table per entry::

    [[known]]
    requirement = "EMAIL-VERIFY-TOKEN"   # an id of the catalogue (a typo is a usage error before the run)
    operation = "verifyUserEmail"        # optional: excuse only the violations of this operation
    reason = "KESK-123: tokens are not single-use yet"
    expires = 2025-09-30                 # optional: from that day on the entry excuses nothing

A requirement that failed, every violation of which an entry excuses, is reported ``known`` and does
not fail the run. A listed requirement that passed, or (for an entry with an operation) that failed
but not on that operation, is *stale*: it fails the run until the entry is removed, so the list
shrinks as the server is fixed (ConnectRPC's conformance runner treats a surprise pass the same
way). An expired entry excuses nothing. Skipped, undecided and not applicable requirements are neither
excused nor stale: the run could not tell.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from conformance.config import ConfigError
from conformance.results import Outcome, RequirementResult, RunResult

__all__ = [
    "KnownFailure",
    "KnownFailures",
    "apply_known_failures",
    "baseline",
    "baseline_main",
    "judge_known",
    "load_known_failures",
]

_KEYS = {"requirement", "operation", "reason", "expires"}


@dataclass(slots=True, frozen=True)
class KnownFailure:
    requirement: str
    reason: str
    operation: str | None = None
    expires: datetime.date | None = None

    def active(self, today: datetime.date) -> bool:
        return self.expires is None or today < self.expires

    def label(self) -> str:
        return self.requirement + (f" on {self.operation}" if self.operation else "")


@dataclass(slots=True, frozen=True)
class KnownFailures:
    path: str
    entries: tuple[KnownFailure, ...]

    def of(self, requirement_id: str) -> list[KnownFailure]:
        return [entry for entry in self.entries if entry.requirement == requirement_id]


def _entry(raw: object, where: str, requirements: Mapping[str, Sequence[str]]) -> KnownFailure:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be a table with requirement, reason and optional operation, expires")
    unknown = sorted(set(raw) - _KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r}; an entry has {', '.join(sorted(_KEYS))}")
    requirement = raw.get("requirement")
    if not isinstance(requirement, str) or not requirement:
        raise ConfigError(f'{where} has no requirement id (requirement = "AREA-WORD")')
    if requirement not in requirements:
        raise ConfigError(
            f"{where}: {requirement!r} is not a requirement of the catalogue; see `kesk-conformance list`"
        )
    operation = raw.get("operation")
    if operation is not None and (not isinstance(operation, str) or operation not in requirements[requirement]):
        raise ConfigError(
            f"{where}: operation {operation!r} is not one {requirement} covers "
            f"({', '.join(requirements[requirement]) or 'none'})"
        )
    reason = raw.get("reason", "")
    if not isinstance(reason, str):
        raise ConfigError(f"{where}: reason must be a string")
    expires = raw.get("expires")
    if isinstance(expires, datetime.datetime):
        expires = expires.date()
    if expires is not None and not isinstance(expires, datetime.date):
        raise ConfigError(f"{where}: expires must be a TOML date such as 2025-09-30, not {expires!r}")
    return KnownFailure(requirement=requirement, reason=reason, operation=operation, expires=expires)


def load_known_failures(path: Path, requirements: Mapping[str, Sequence[str]]) -> KnownFailures:
    """Read and check FILE; `requirements` maps every catalogue id to the operations it covers.

    Every mistake (unreadable file, bad TOML, an id not in the catalogue, an operation the requirement does
    not cover, a malformed date) is a ConfigError: one line, exit 2, before any request.
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read the known-failures file {path}: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"the known-failures file {path} is not valid TOML: {exc}") from None
    extra = sorted(set(data) - {"known"})
    if extra:
        raise ConfigError(f"{path}: unknown table {extra[0]!r}; list entries as [[known]] tables")
    raw = data.get("known", [])
    if not isinstance(raw, list):
        raise ConfigError(f"{path}: write the entries as [[known]] tables")
    entries = tuple(_entry(item, f"{path}: [[known]] #{index}", requirements) for index, item in enumerate(raw, 1))
    return KnownFailures(str(path), entries)


def _judge(
    result: RequirementResult, entries: list[KnownFailure], path: str, today: datetime.date
) -> RequirementResult:
    active = [entry for entry in entries if entry.active(today)]
    failed_on = {failure.operation for failure in result.failures}
    if result.outcome is Outcome.PASSED:
        listed = ", ".join(entry.label() for entry in entries)
        reason = f"stale known failure ({listed}): it passes now; remove it from {path}"
        return replace(result, stale=True, reason=reason)
    if result.outcome is not Outcome.FAILED:
        return result  # skipped, undecided, not applicable: the run cannot tell either way
    stale = [entry for entry in entries if entry.operation is not None and entry.operation not in failed_on]
    if stale:
        labels = ", ".join(entry.label() for entry in stale)
        return replace(
            result, stale=True, reason=f"stale known failure ({labels}): it passes there now; remove it from {path}"
        )
    excused_everywhere = any(entry.operation is None for entry in active)
    excused_operations = {entry.operation for entry in active}
    if active and (excused_everywhere or failed_on <= excused_operations):
        reasons = "; ".join(dict.fromkeys(entry.reason for entry in active if entry.reason)) or "no reason given"
        return replace(result, outcome=Outcome.KNOWN, reason=f"known failure ({path}): {reasons}")
    expired = [entry for entry in entries if not entry.active(today)]
    note = ""
    if expired:
        note = f"; its known-failure entry in {path} expired on {min(e.expires for e in expired if e.expires)}"
    elif active:
        note = f"; {path} excuses it only on {', '.join(sorted(str(op) for op in excused_operations))}"
    return replace(result, reason=(result.reason or f"{len(result.failures)} violation(s)") + note)


def judge_known(
    result: RequirementResult, known: KnownFailures, *, today: datetime.date | None = None
) -> RequirementResult:
    """One requirement's result as the known-failures file has it: `known`, stale, or as it was."""
    entries = known.of(result.requirement.id)
    return _judge(result, entries, known.path, today or datetime.date.today()) if entries else result


def apply_known_failures(run: RunResult, known: KnownFailures, *, today: datetime.date | None = None) -> None:
    """Turn the run's listed failures `known` and mark listed passes stale (both change the exit code)."""
    run.results = [judge_known(result, known, today=today) for result in run.results]
    run.target["known_failures"] = known.path


def _toml_string(text: str) -> str:
    # JSON's escapes are TOML's too, once DEL (which TOML forbids raw) is escaped as well.
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def baseline(results: Mapping[str, Any], *, expires: datetime.date | None = None) -> str:
    """A known-failures file listing the failures (and known failures) of a results.json, one entry per
    requirement and operation it failed on (an entry without operation when a violation names none)."""
    lines = [
        "# Known failures: kesk-conformance run --known-failures FILE",
        f"# Baseline of the run against {results.get('target', {}).get('base_url', '(unknown)')}"
        f" with seed {results.get('seed')}.",
        "# A listed requirement that passes again fails the run until its entry is removed.",
    ]
    for item in results.get("requirements", []):
        if item.get("outcome") not in (Outcome.FAILED.value, Outcome.KNOWN.value):
            continue
        failures = item.get("failures", [])
        operations: Iterable[str | None] = sorted({str(f["operation"]) for f in failures if f.get("operation")})
        if not operations or any(not f.get("operation") for f in failures):
            operations = [None]  # a violation without an operation: excuse the requirement as a whole
        for operation in operations:
            first = next((f for f in failures if operation is None or f.get("operation") == operation), None)
            reason = f"Expected: {first['expected']}; Actual: {first['actual']}" if first else item.get("reason", "")
            lines += ["", "[[known]]", f"requirement = {_toml_string(item['id'])}"]
            if operation is not None:
                lines.append(f"operation = {_toml_string(operation)}")
            lines.append(f"reason = {_toml_string(' '.join(str(reason).split())[:300])}")
            if expires is not None:
                lines.append(f"expires = {expires.isoformat()}")
    return "\n".join(lines) + "\n"


def baseline_main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="kesk-conformance baseline",
        description="Print a known-failures file (TOML) listing the failures of a run's results.json.",
    )
    parser.add_argument("results", type=Path, metavar="RESULTS.json")
    parser.add_argument("--expires", metavar="YYYY-MM-DD", help="give every entry this expiry date")
    args = parser.parse_args(list(argv))
    try:
        expires = datetime.date.fromisoformat(args.expires) if args.expires else None
    except ValueError:
        print(f"kesk-conformance baseline: --expires {args.expires!r} is not a date like 2025-09-30", file=sys.stderr)
        return 2
    try:
        data = json.loads(args.results.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"kesk-conformance baseline: cannot read {args.results}: {exc}", file=sys.stderr)
        return 2
    if not isinstance(data, dict) or not isinstance(data.get("requirements"), list):
        print(f"kesk-conformance baseline: {args.results} is not a kesk-conformance results.json", file=sys.stderr)
        return 2
    sys.stdout.write(baseline(data, expires=expires))
    return 0
