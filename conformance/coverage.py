"""Spec coverage: what the run exercised against what the contract documents.

Four kinds of documented item, counted per operation (rules once for the contract):

- **statuses**: every response key of every operation ("200", "4XX", "default"); covered when the run
  received a status that matches it (the most specific key wins, as OpenAPI picks a response);
- **parameters**: every path, query, header and cookie parameter of every operation; covered when any
  request of that operation sent it (a path parameter is sent by every request of its operation);
- **properties**: every top-level property of every operation's JSON request body; covered when any
  request of that operation sent a JSON object holding it (whatever its value, valid or not);
- **rules**: every ``x-kesk-rules`` rule; checked when a requirement citing ``rule:ID`` ran and reached
  a verdict (passed or failed; a skip, an error or a known failure is no verdict on the rule).

The overall figure is covered items / documented items over the four kinds together, in percent: each
documented status, parameter, property and rule weighs one. Each part is reported on its own too.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from conformance.contract import Contract
from conformance.operations import OperationIndex
from conformance.requirements import Requirement
from conformance.target import Exchange

__all__ = [
    "DEFINITION",
    "CoveragePart",
    "OperationSpecCoverage",
    "SpecCoverage",
    "documented_status_key",
    "spec_coverage",
]

DEFINITION = (
    "covered items / documented items, over every documented response status, parameter and top-level "
    "request-body property of each operation and every x-kesk-rules rule; each item weighs one"
)
PARTS = ("statuses", "parameters", "properties", "rules")


def documented_status_key(status: int, keys: Sequence[str]) -> str | None:
    """The documented response key an observed status falls under: exact, then range (4XX), then default."""
    wanted = {key.upper(): key for key in keys}
    for candidate in (str(status), f"{str(status)[0]}XX", "DEFAULT"):
        if candidate in wanted:
            return wanted[candidate]
    return None


def _percent(covered: int, documented: int) -> float:
    return round(100.0 * covered / documented, 1) if documented else 100.0


@dataclass(slots=True, frozen=True)
class CoveragePart:
    name: str
    covered: int
    documented: int

    @property
    def percent(self) -> float:
        return _percent(self.covered, self.documented)

    def as_json(self) -> dict[str, object]:
        return {"covered": self.covered, "documented": self.documented, "percent": self.percent}


@dataclass(slots=True, frozen=True)
class OperationSpecCoverage:
    """One operation's documented items, each with whether the run covered it."""

    operation: str
    statuses: dict[str, bool]  # "200" -> seen
    parameters: dict[str, bool]  # "query:page" -> sent
    properties: dict[str, bool]  # "email" -> sent in a JSON body

    def as_json(self) -> dict[str, object]:
        return {"statuses": self.statuses, "parameters": self.parameters, "properties": self.properties}


@dataclass(slots=True, frozen=True)
class SpecCoverage:
    operations: tuple[OperationSpecCoverage, ...]
    rules: dict[str, tuple[str, ...]]  # rule id -> requirements that reached a verdict on it (empty: unchecked)
    parts: dict[str, CoveragePart] = field(default_factory=dict)

    @property
    def covered(self) -> int:
        return sum(part.covered for part in self.parts.values())

    @property
    def documented(self) -> int:
        return sum(part.documented for part in self.parts.values())

    @property
    def percent(self) -> float:
        return _percent(self.covered, self.documented)

    def line(self) -> str:
        """The one-line summary the terminal prints."""
        parts = ", ".join(f"{part.name} {part.covered}/{part.documented}" for part in self.parts.values())
        return f"spec coverage {self.percent:.1f}% ({self.covered}/{self.documented} items: {parts})"

    def as_json(self) -> dict[str, object]:
        return {
            "definition": DEFINITION,
            "percent": self.percent,
            "covered": self.covered,
            "documented": self.documented,
            "parts": {name: part.as_json() for name, part in self.parts.items()},
            "operations": {item.operation: item.as_json() for item in self.operations},
            "rules": {rule: {"checked": bool(by), "by": list(by)} for rule, by in self.rules.items()},
        }


def _parameters(index: OperationIndex, operation_id: str) -> list[tuple[str, str]]:
    """(in, name) of an operation's parameters, those of its path item included."""
    op = index[operation_id]
    path_item = index.spec["paths"].get(op.path, {})
    found: dict[tuple[str, str], None] = {}
    for raw in [*path_item.get("parameters", []), *op.definition.get("parameters", [])]:
        parameter = index.resolve_ref(raw)
        if isinstance(parameter, dict) and "name" in parameter and "in" in parameter:
            found[(str(parameter["in"]), str(parameter["name"]))] = None
    return list(found)


def _schema_properties(index: OperationIndex, schema: Any) -> list[str]:
    schema = index.resolve_ref(schema)
    if not isinstance(schema, dict):
        return []
    names = list(schema.get("properties", {}))
    for key in ("allOf", "oneOf", "anyOf"):
        for part in schema.get(key, []):
            names += _schema_properties(index, part)
    return list(dict.fromkeys(names))


def _body_properties(index: OperationIndex, operation_id: str) -> list[str]:
    """Top-level properties of an operation's JSON request body (every JSON media type together)."""
    op = index[operation_id]
    if not op.has_body:
        return []
    content = index.resolve_ref(op.definition["requestBody"]).get("content", {})
    names: list[str] = []
    for media, item in content.items():
        if "json" in media.lower():
            names += _schema_properties(index, item.get("schema", {}))
    return list(dict.fromkeys(names))


@dataclass(slots=True)
class _Sent:
    """What the run's requests of one operation carried."""

    calls: int = 0
    query: set[str] = field(default_factory=set)
    headers: set[str] = field(default_factory=set)
    cookies: set[str] = field(default_factory=set)
    properties: set[str] = field(default_factory=set)


def _sent(exchanges: Iterable[Exchange]) -> dict[str, _Sent]:
    sent: dict[str, _Sent] = {}
    for exchange in exchanges:
        if exchange.operation_id is None:
            continue
        item = sent.setdefault(exchange.operation_id, _Sent())
        item.calls += 1
        item.query.update(name for name, _ in httpx.URL(exchange.url).params.multi_items())
        item.headers.update(name.lower() for name in exchange.request_headers)
        for cookie in exchange.request_headers.get("Cookie", exchange.request_headers.get("cookie", "")).split(";"):
            if "=" in cookie:
                item.cookies.add(cookie.split("=", 1)[0].strip())
        if exchange.request_body:
            try:
                body = json.loads(exchange.request_body)
            except ValueError:
                continue
            if isinstance(body, dict):
                item.properties.update(body)
    return sent


def _parameter_sent(where: str, name: str, sent: _Sent) -> bool:
    if where == "path":
        return sent.calls > 0
    if where == "query":
        return name in sent.query
    if where == "header":
        return name.lower() in sent.headers
    if where == "cookie":
        return name in sent.cookies
    return False


def spec_coverage(
    contract: Contract,
    *,
    statuses: Mapping[str, Mapping[int, int]],
    exchanges: Iterable[Exchange],
    verdicts: Iterable[tuple[Requirement, bool]],
) -> SpecCoverage:
    """The run's coverage of `contract`.

    `statuses` counts the statuses received per operation (every exchange the run recorded), `exchanges`
    are the run's requests (what they sent), `verdicts` pairs each requirement that ran with whether it
    reached a verdict (passed or failed).
    """
    index = OperationIndex(contract.document)
    sent = _sent(exchanges)
    rows = []
    for op in index:
        keys = list(op.responses())
        seen = {key: False for key in keys}
        for status, count in statuses.get(op.operation_id, {}).items():
            key = documented_status_key(status, keys)
            if key is not None and count:
                seen[key] = True
        mine = sent.get(op.operation_id, _Sent())
        rows.append(
            OperationSpecCoverage(
                operation=op.operation_id,
                statuses=seen,
                parameters={
                    f"{where}:{name}": _parameter_sent(where, name, mine)
                    for where, name in _parameters(index, op.operation_id)
                },
                properties={name: name in mine.properties for name in _body_properties(index, op.operation_id)},
            )
        )
    checked: dict[str, list[str]] = {rule: [] for rule in contract.rules}
    for item, decided in verdicts:
        if not decided:
            continue
        for citation in item.cites:
            kind, _, rule = citation.partition(":")
            if kind == "rule" and rule in checked and item.id not in checked[rule]:
                checked[rule].append(item.id)

    def part(name: str, values: Iterable[bool]) -> CoveragePart:
        flags = list(values)
        return CoveragePart(name, sum(flags), len(flags))

    parts = {
        "statuses": part("statuses", (v for row in rows for v in row.statuses.values())),
        "parameters": part("parameters", (v for row in rows for v in row.parameters.values())),
        "properties": part("properties", (v for row in rows for v in row.properties.values())),
        "rules": part("rules", (bool(by) for by in checked.values())),
    }
    return SpecCoverage(operations=tuple(rows), rules={rule: tuple(by) for rule, by in checked.items()}, parts=parts)
