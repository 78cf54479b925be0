"""The ledger: every promise of the contract, enumerated by code, with what judges it.

The entries come from spec/openapi.yaml itself, never from a hand-typed list:

- **description**: every element with a `description` that is not a response (schemas and their
  properties, wherever they stand; parameters, request bodies, headers, links, the security scheme and
  each operation's description, which is the upstream reference's own sentence);
- **response**: every documented response of every operation, once per error `code` its examples name
  (`spec:/paths/~1user~1emails/post/responses/409#already_exists`);
- **rule**: every sentence of every `x-kesk-rules` rule (`spec:/x-kesk-rules/6/rule#2`, sentences split at
  '.' and ';');
- **general**: every sentence of the info description (400 against 422, 404 for another user's resources).

What judges an entry is found by code where the suite says it: the invariants of a schema judge its
description and the descriptions of the properties they read; a requirement that cites an element
(`spec:<pointer>`, `seed:<operationId>`) judges it; the checks that required a documented answer in the
default run (`expectations.json`, recorded from a run and checked against every clean run) judge that
response. The rest is the table `ledger.toml`: which requirements judge a sentence or a description the
code cannot link, and for a promise nothing outside the server can judge, why. A test fails when the
contract holds a promise the ledger leaves unaccounted (neither judged nor given a reason), and when the
table names a source the contract does not hold.
"""

from __future__ import annotations

import fnmatch
import json
import re
import tomllib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from conformance.contract import Contract
from conformance.expectations import EXEMPT_CODES, response_codes
from conformance.invariants import Invariant, load_invariants
from conformance.requirements import Requirement

__all__ = ["KINDS", "Entry", "Ledger", "build_ledger", "enumerate_promises", "sentences"]

KINDS = ("description", "response", "rule", "general")
_TABLE = Path(__file__).with_name("ledger.toml")
_EXPECTATIONS = Path(__file__).with_name("expectations.json")
_SENTENCE_END = re.compile(r"(?<=[.;])\s+")
# Where a description is no promise about the API: the document's own furniture.
_NOT_PROMISES = ("/tags/", "/servers/", "/info/contact", "/info/license")


def sentences(text: str) -> list[str]:
    """A text's sentences (split at '.' and ';' followed by a space), whitespace collapsed."""
    return [part for part in _SENTENCE_END.split(" ".join(str(text).split())) if part]


def escape(part: str) -> str:
    """One JSON pointer segment (RFC 6901)."""
    return part.replace("~", "~0").replace("/", "~1")


@dataclass(slots=True)
class Entry:
    """One promise of the contract and what judges it."""

    source: str  # spec:<JSON pointer>[#<code>|#<sentence>]
    kind: str
    text: str
    judged_by: list[str] = field(default_factory=list)  # invariant and requirement ids
    faults: list[str] = field(default_factory=list)
    reason: str | None = None  # why nothing outside the server can judge it

    @property
    def judged(self) -> bool:
        return bool(self.judged_by)

    def as_json(self) -> dict[str, object]:
        return {
            "source": self.source,
            "kind": self.kind,
            "text": self.text,
            "judged_by": self.judged_by,
            "faults": self.faults,
            "reason": self.reason,
        }


def enumerate_promises(document: Mapping[str, Any]) -> list[Entry]:
    """Every promise of the contract, in document order, without judges."""
    entries: list[Entry] = []
    for index, sentence in enumerate(sentences(document.get("info", {}).get("description", "")), start=1):
        entries.append(Entry(f"spec:/info/description#{index}", "general", sentence))
    for index, rule in enumerate(document.get("x-kesk-rules", [])):
        for number, sentence in enumerate(sentences(rule.get("rule", "")), start=1):
            entries.append(Entry(f"spec:/x-kesk-rules/{index}/rule#{number}", "rule", f"{rule['id']}: {sentence}"))
    for pointer, node in _described(document, document, ""):
        entries.append(Entry(f"spec:{pointer}", "description", " ".join(str(node["description"]).split())))
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "operationId" not in operation:
                continue
            for status, response in operation.get("responses", {}).items():
                pointer = f"spec:/paths/{escape(path)}/{method}/responses/{status}"
                resolved = _resolve(document, response)
                what = " ".join(str(resolved.get("description", "")).split())
                label = f"{operation['operationId']} {status}"
                codes = response_codes(document, response)
                if not codes:
                    entries.append(Entry(pointer, "response", f"{label}: {what}"))
                entries += [Entry(f"{pointer}#{code}", "response", f"{label} {code}: {what}") for code in codes]
    return entries


def _resolve(document: Mapping[str, Any], node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = document
        for part in str(node["$ref"]).lstrip("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def _described(document: Mapping[str, Any], node: Any, pointer: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(pointer, node) of every described element but responses, the info object and the document's furniture."""
    if isinstance(node, dict):
        is_response = re.search(r"^/paths/[^/]+/[a-z]+/responses/[^/]+$|^/components/responses/[^/]+$", pointer)
        described = isinstance(node.get("description"), str) and pointer not in ("", "/info")
        if described and not is_response and not any(pointer.startswith(skip) for skip in _NOT_PROMISES):
            yield pointer, node
        for key, value in node.items():
            if (
                key.startswith("x-kesk-")
                or key in ("example", "examples")
                or pointer.startswith("/components/responses")
            ):
                continue
            yield from _described(document, value, f"{pointer}/{escape(str(key))}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _described(document, value, f"{pointer}/{index}")


# --- the table ------------------------------------------------------------------------------------


@dataclass(slots=True, frozen=True)
class TableRow:
    sources: tuple[str, ...]  # globs over ledger sources
    requirements: tuple[str, ...] = ()
    reason: str | None = None


def load_table(path: Path = _TABLE) -> tuple[TableRow, ...]:
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    rows: list[TableRow] = []
    for block in raw.get("judge", []):
        unknown = set(block) - {"sources", "requirements", "reason"}
        sources = block.get("sources")
        if unknown or not isinstance(sources, list) or not sources:
            raise ValueError(f"{path}: a [[judge]] needs sources (a list of globs), requirements and/or reason")
        rows.append(TableRow(tuple(sources), tuple(block.get("requirements", ())), block.get("reason")))
    return tuple(rows)


@cache
def recorded_expectations(path: Path = _EXPECTATIONS) -> dict[str, tuple[str, ...]]:
    """The documented answers the default run's checks required: "operation status [code]" -> requirement ids."""
    if not path.exists():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return {str(key): tuple(value) for key, value in data.items()}


# --- building the ledger ---------------------------------------------------------------------------


@dataclass(slots=True)
class Ledger:
    entries: list[Entry]
    unused_rows: list[TableRow]  # table rows that matched no entry (a stale table)
    unknown_requirements: list[str]  # ids the table names that the catalogue lacks

    @property
    def judged(self) -> int:
        return sum(1 for entry in self.entries if entry.judged)

    @property
    def percent(self) -> float:
        return round(100.0 * self.judged / len(self.entries), 1) if self.entries else 100.0

    @property
    def expectable(self) -> int:
        """Documented answers a request can be built to get (every response entry but those given at will)."""
        return sum(
            1
            for entry in self.entries
            if entry.kind == "response" and entry.source.rsplit("#", 1)[-1] not in EXEMPT_CODES
        )

    @property
    def expected(self) -> int:
        """Of those, the ones a check required in the default run."""
        return sum(
            1
            for entry in self.entries
            if entry.kind == "response" and entry.judged and entry.source.rsplit("#", 1)[-1] not in EXEMPT_CODES
        )

    def unaccounted(self) -> list[Entry]:
        """Promises neither judged nor given a reason."""
        return [entry for entry in self.entries if not entry.judged and not entry.reason]

    def line(self) -> str:
        kinds = ", ".join(
            f"{kind} {sum(1 for e in self.entries if e.kind == kind and e.judged)}/"
            f"{sum(1 for e in self.entries if e.kind == kind)}"
            for kind in KINDS
        )
        return f"ledger: {self.judged}/{len(self.entries)} promises judged ({self.percent:.1f}%: {kinds})"


def build_ledger(
    contract: Contract,
    requirements: Iterable[Requirement],
    faults: Mapping[str, tuple[str, ...]],
    *,
    fault_breaks: Mapping[str, tuple[str, ...]] | None = None,
    table: tuple[TableRow, ...] | None = None,
    expectations: Mapping[str, tuple[str, ...]] | None = None,
) -> Ledger:
    """The ledger of `contract`, judged by `requirements` (and the contract's invariants).

    `faults` maps a requirement id to the faults that make it fail; `fault_breaks` a fault name to the
    ledger sources it breaks (the reference server's `breaks`); both are only reported, never used to judge.
    """
    document = contract.document
    chosen = list(requirements)
    rows = load_table() if table is None else table
    recorded = recorded_expectations() if expectations is None else expectations
    invariants = load_invariants(document)
    known = {item.id for item in chosen} | {item.id for item in invariants}
    entries = enumerate_promises(document)
    by_source = {entry.source: entry for entry in entries}
    operation_pointer = {
        str(op["operationId"]): f"spec:/paths/{escape(path)}/{method}"
        for path, item in document.get("paths", {}).items()
        for method, op in item.items()
        if isinstance(op, dict) and "operationId" in op
    }

    def judge(source: str, ids: Iterable[str]) -> None:
        entry = by_source.get(source)
        if entry is not None:
            entry.judged_by += [rid for rid in ids if rid not in entry.judged_by]

    for invariant in invariants:
        judge(f"spec:/components/schemas/{invariant.schema}", [invariant.id])
        for member in _members_read(invariant):
            judge(f"spec:/components/schemas/{invariant.schema}/properties/{member}", [invariant.id])
    for item in chosen:
        for citation in item.cites:
            kind, _, ref = citation.partition(":")
            if kind == "spec":
                judge(f"spec:{ref}", [item.id])
            elif kind == "seed" and ref in operation_pointer:
                judge(operation_pointer[ref], [item.id])
    for label, ids in recorded.items():
        operation, status, *code = label.split(" ")
        if operation in operation_pointer:
            pointer = f"{operation_pointer[operation]}/responses/{status}" + (f"#{code[0]}" if code else "")
            judge(pointer, [rid for rid in ids if rid in known])
    unused = []
    unknown_ids: list[str] = []
    for row in rows:
        matched = [entry for entry in entries if any(fnmatch.fnmatchcase(entry.source, glob) for glob in row.sources)]
        if not matched:
            unused.append(row)
        unknown_ids += [rid for rid in row.requirements if rid not in known and rid not in unknown_ids]
        for entry in matched:
            entry.judged_by += [rid for rid in row.requirements if rid in known and rid not in entry.judged_by]
            if row.reason and entry.reason is None:
                entry.reason = row.reason
    for entry in entries:
        if entry.kind == "response" and entry.source.rsplit("#", 1)[-1] in EXEMPT_CODES and entry.reason is None:
            entry.reason = (
                "a server answers it at will (back-pressure): the run waits it out, no request can require it"
            )
    invariant_faults = {f"spec:{item.pointer}": item.id for item in invariants}
    breaks = fault_breaks or {}
    by_invariant = {
        invariant_faults[source]: name
        for name, sources in breaks.items()
        for source in sources
        if source in invariant_faults
    }
    for entry in entries:
        found: list[str] = [name for name, sources in breaks.items() if entry.source in sources]
        for judge_id in entry.judged_by:
            found += list(faults.get(judge_id, ()))
            if judge_id in by_invariant:
                found.append(by_invariant[judge_id])
        entry.faults = list(dict.fromkeys(found))
        if entry.judged:
            entry.reason = None  # a reason is for what nothing judges
    return Ledger(entries, unused, unknown_ids)


def _members_read(invariant: Invariant) -> set[str]:
    """The schema's own members a rule reads (self.<member>...)."""
    return {path[1] for path in invariant.reads if path[0] == "self" and len(path) > 1}


def markdown(ledger: Ledger) -> str:
    lines = ["| source | kind | promise | judged by | faults | reason |", "|---|---|---|---|---|---|"]
    for entry in ledger.entries:
        text = entry.text.replace("|", "/")
        lines.append(
            f"| `{entry.source}` | {entry.kind} | {text} | {', '.join(entry.judged_by) or '**none**'} "
            f"| {', '.join(entry.faults) or '-'} | {entry.reason or ''} |"
        )
    lines += ["", ledger.line()]
    return "\n".join(lines)


def record_expectations(runs: Sequence[Mapping[str, Any]], path: Path = _EXPECTATIONS) -> int:
    """Write `expectations.json` from default runs' results.json (coverage.expectations.by): per documented
    answer, the checks that required it in every run given (so a seed or budget that draws otherwise still
    shows each)."""
    kept: dict[str, set[str]] | None = None
    for results in runs:
        by = {
            label: set(ids) for label, ids in results.get("coverage", {}).get("expectations", {}).get("by", {}).items()
        }
        kept = by if kept is None else {label: kept[label] & by[label] for label in kept.keys() & by.keys()}
    recorded = {label: sorted(ids) for label, ids in sorted((kept or {}).items()) if ids}
    path.write_text(json.dumps(recorded, indent=1) + "\n", encoding="utf-8")
    recorded_expectations.cache_clear()
    return len(recorded)


if __name__ == "__main__":  # python -m conformance.ledger RESULTS.json...: record what default runs all required
    import sys

    runs = [json.loads(Path(name).read_text(encoding="utf-8")) for name in sys.argv[1:]]
    print(f"{record_expectations(runs)} answers recorded")
