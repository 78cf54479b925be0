"""The contract clause by clause: clause -> requirements -> faults (``conformance/clauses.toml``).

A rule of ``x-kesk-rules`` makes several promises, and field descriptions promise too; the table in
``clauses.toml`` splits the contract into them and names the requirements that check each one. A
clause is *covered* when one of its requirements has a seeded fault of the reference server that makes
it fail (the faults come from :func:`conformance.trace.faults_by_requirement`). Clauses nothing checks
stay in the table, uncovered: ``kesk-conformance list --clauses`` shows them.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from conformance.contract import Citation

__all__ = ["Clause", "ClauseRow", "clauses", "coverage", "markdown", "rows", "share_line"]

_TABLE = Path(__file__).with_name("clauses.toml")


@dataclass(slots=True, frozen=True)
class Clause:
    id: str  # "OTP/single-use-deletion": the rule (or schema) and a word for the promise
    cites: Citation
    text: str
    requirements: tuple[str, ...]


@dataclass(slots=True, frozen=True)
class ClauseRow:
    clause: Clause
    faults: tuple[str, ...]  # the faults that make one of its requirements fail

    @property
    def covered(self) -> bool:
        return bool(self.faults)


def load(path: Path) -> tuple[Clause, ...]:
    """The clauses of one table; ValueError when an entry is malformed or an id repeats."""
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    found: list[Clause] = []
    for entry in raw.get("clause", []):
        unknown = set(entry) - {"id", "cites", "text", "requirements"}
        if unknown or not all(isinstance(entry.get(key), str) and entry[key] for key in ("id", "cites", "text")):
            raise ValueError(f"{path}: clause {entry.get('id')!r} needs id, cites, text, requirements only")
        requirements = entry.get("requirements", [])
        if not isinstance(requirements, list) or not all(isinstance(item, str) for item in requirements):
            raise ValueError(f"{path}: clause {entry['id']!r}: requirements must be a list of ids")
        found.append(Clause(entry["id"], entry["cites"], entry["text"], tuple(requirements)))
    ids = [item.id for item in found]
    repeated = sorted({rid for rid in ids if ids.count(rid) > 1})
    if repeated:
        raise ValueError(f"{path}: clause ids repeat: {', '.join(repeated)}")
    return tuple(found)


@cache
def clauses() -> tuple[Clause, ...]:
    """The bundled clause table, in its written order."""
    return load(_TABLE)


def rows(table: Iterable[Clause], faults: Mapping[str, tuple[str, ...]]) -> list[ClauseRow]:
    return [
        ClauseRow(item, tuple(dict.fromkeys(name for rid in item.requirements for name in faults.get(rid, ()))))
        for item in table
    ]


def coverage(table: Iterable[ClauseRow]) -> tuple[int, int]:
    """(covered clauses, all clauses)."""
    chosen = list(table)
    return sum(row.covered for row in chosen), len(chosen)


def share_line(table: Iterable[ClauseRow]) -> str:
    covered, total = coverage(table)
    percent = 100 * covered / total if total else 0.0
    return f"clauses covered: {covered}/{total} ({percent:.0f}%): a requirement checks them and a fault proves it"


def markdown(table: Iterable[ClauseRow]) -> str:
    chosen = list(table)
    lines = [
        "| clause | cites | promise | requirements | faults that must make them fail |",
        "|---|---|---|---|---|",
    ]
    for row in chosen:
        item = row.clause
        lines.append(
            f"| {item.id} | `{item.cites}` | {item.text.replace('|', '/')} "
            f"| {', '.join(item.requirements) or '**none**'} | {', '.join(row.faults) or '**uncovered**'} |"
        )
    lines.append("")
    lines.append(share_line(chosen))
    return "\n".join(lines)
