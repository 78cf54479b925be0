"""One fault per invariant of the contract: the answer breaks that `x-kesk-invariants` rule and no other schema rule.

The contract writes what its descriptions promise about one answer as CEL rules next to the schemas
(`x-kesk-invariants`). For each rule this module makes a fault, `invariant_<id>`, that edits every object
of that schema the server is about to send so that the rule no longer holds: it tries small, type-true
edits of the values the rule reads (a boolean flipped, a nullable value nulled or filled, another enum
value, a timestamp moved, a count off by one, a list with a member repeated, reordered or emptied) and
keeps the first that makes the rule false. Objects no single edit can break go out unchanged.

The server evaluates the rules with its own reading of the contract and its own CEL evaluator set-up: it
never imports the suite, so that a bug shared by both could not hide a fault.
"""

from __future__ import annotations

import copy
import datetime
import itertools
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import celpy
from celpy import celtypes
from celpy.adapter import json_to_cel

from .breaking import BodySite
from .rewriting import Contract, Node, load_contract, transform

__all__ = ["Breaker", "InvariantRule", "invariant_breakers", "invariant_rules"]

_PATH = re.compile(r"\bself((?:\.[A-Za-z_][A-Za-z0-9_]*)+)(\s*\()?")
_MOVES = (  # how far a timestamp is moved, in the order tried
    datetime.timedelta(days=-40),
    datetime.timedelta(days=40),
    datetime.timedelta(hours=-1),
    datetime.timedelta(hours=1),
    datetime.timedelta(days=-1),
)
_FILLER = "2025-01-15T10:00:00Z"  # a date-time for a nullable one that was null


@dataclass(slots=True, frozen=True)
class InvariantRule:
    id: str
    schema: str
    index: int
    rule: str
    message: str


def invariant_rules(contract: Contract) -> list[InvariantRule]:
    schemas = (contract.document.get("components") or {}).get("schemas") or {}
    return [
        InvariantRule(str(entry["id"]), name, index, str(entry["rule"]), str(entry["message"]))
        for name, schema in schemas.items()
        for index, entry in enumerate(schema.get("x-kesk-invariants") or [])
    ]


def _distinct(items: Any) -> Any:
    kept: list[Any] = []
    for item in items:
        if item not in kept:
            kept.append(item)
    return celtypes.ListType(kept)


def _is_sorted(items: Any) -> Any:
    return celtypes.BoolType(all(a <= b for a, b in itertools.pairwise(items)))


class Breaker:
    """Edits the objects of one schema in an answer until one invariant rule is false of them."""

    def __init__(self, rule: InvariantRule) -> None:
        self.rule = rule
        environment = celpy.Environment()
        self._program = environment.program(
            environment.compile(rule.rule), functions={"distinct": _distinct, "isSorted": _is_sorted}
        )
        paths = []
        for match in _PATH.finditer(rule.rule):
            path = tuple(match.group(1).lstrip(".").split("."))
            if match.group(2):
                path = path[:-1]
            if path and path not in paths:
                paths.append(path)
        self._paths = sorted(paths, key=len)  # the object's own members first, then nested ones

    def __call__(self, value: Any, site: BodySite) -> Any:
        schema, document_schema = site.response_schema()
        context = _context(site)
        if schema is not None:
            value = transform(site.contract, value, schema, self._editor(site.contract, context))
        if document_schema is not None and isinstance(value, str):
            try:
                document = json.loads(value)
            except ValueError:
                return value
            edited = transform(site.contract, document, document_schema, self._editor(site.contract, context))
            value = json.dumps(edited, indent=2)
        return value

    def holds(self, obj: Mapping[str, Any], context: Mapping[str, Any]) -> bool | None:
        try:
            result = self._program.evaluate(
                {**{k: json_to_cel(v) for k, v in context.items()}, "self": json_to_cel(dict(obj))}
            )
        except Exception:  # a case the rule cannot read: leave it alone
            return None
        return bool(result) if isinstance(result, celtypes.BoolType) else None

    def _editor(self, contract: Contract, context: Mapping[str, Any]) -> Callable[[Any, Node], Any]:
        def edit(value: Any, node: Node) -> Any:
            if node.component != self.rule.schema or not isinstance(value, dict):
                return value
            return self.broken(contract, value, node.schema, context)

        return edit

    def broken(
        self, contract: Contract, obj: dict[str, Any], schema: Mapping[str, Any], context: Mapping[str, Any]
    ) -> dict[str, Any]:
        """`obj` with the first edit that makes the rule false, or `obj` when it is false already or none does."""
        if self.holds(obj, context) is not True:
            return obj
        for candidate in self._candidates(contract, obj, schema):
            if self.holds(candidate, context) is False:
                return candidate
        return obj

    def _candidates(
        self, contract: Contract, obj: dict[str, Any], schema: Mapping[str, Any]
    ) -> Iterator[dict[str, Any]]:
        for path in self._paths:
            found = _at(obj, path)
            if found is _ABSENT:
                continue
            member_schema = _schema_at(contract, schema, path)
            for replacement in _edits(contract, found, member_schema):
                edited = copy.deepcopy(obj)
                _set(edited, path, replacement)
                yield edited


_ABSENT = object()


def _at(obj: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        if not isinstance(obj, dict) or part not in obj:
            return _ABSENT
        obj = obj[part]
    return obj


def _set(obj: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for part in path[:-1]:
        obj = obj[part]
    obj[path[-1]] = value


def _schema_at(contract: Contract, schema: Mapping[str, Any], path: tuple[str, ...]) -> Mapping[str, Any]:
    node: Mapping[str, Any] = schema
    for part in path:
        node, _ = contract.resolve(node)
        for keyword in ("anyOf", "oneOf"):  # a nullable reference: its object branch
            for branch in node.get(keyword, []):
                resolved, _ = contract.resolve(branch)
                if resolved.get("type", "object") == "object" and resolved.get("enum") != [None]:
                    node = resolved
        node = (node.get("properties") or {}).get(part, {})
    resolved, _ = contract.resolve(node)
    return resolved


def _edits(contract: Contract, value: Any, schema: Mapping[str, Any]) -> Iterator[Any]:
    """Values of the same type the schema allows (as far as one can tell), nearest first."""
    nullable = bool(schema.get("nullable")) or None in (schema.get("enum") or [])
    enum = [item for item in schema.get("enum") or [] if item is not None]
    if isinstance(value, bool):
        yield not value
    elif value is None:
        yield from _filled(contract, schema)
    elif enum:
        yield from (item for item in enum if item != value)
    elif isinstance(value, int):
        minimum = schema.get("minimum", -(2**63))
        yield from (n for n in dict.fromkeys((value + 1, value - 1, 1, 0, value * 2)) if n != value and n >= minimum)
    elif isinstance(value, str) and schema.get("format") == "date-time":
        moment = _parse(value)
        if moment is not None:
            yield from (_format(moment + move) for move in _MOVES)
    elif isinstance(value, str):
        yield from (
            text for text in (value[::-1], str(schema.get("example", "")), value + "x") if text and text != value
        )
    elif isinstance(value, list):
        yield from _list_edits(contract, value, schema)
    if nullable and value is not None:
        yield None


def _filled(contract: Contract, schema: Mapping[str, Any]) -> Iterator[Any]:
    if schema.get("format") == "date-time":
        yield _FILLER
    elif schema.get("enum"):
        yield from (item for item in schema["enum"] if item is not None)
    elif "example" in schema:
        yield schema["example"]
    elif schema.get("type") == "string":
        yield "x"
    elif schema.get("type") == "integer":
        yield 1
    elif schema.get("type") == "boolean":
        yield True


def _list_edits(contract: Contract, items: list[Any], schema: Mapping[str, Any]) -> Iterator[Any]:
    if items:
        yield [*items, copy.deepcopy(items[0])]  # a member repeated
        yield items[::-1]  # reordered
        yield []
        yield items[:-1]
        yield [*items, *(copy.deepcopy(items[0]) for _ in range(10))]  # past a maximum size
    item_schema, _ = contract.resolve(schema.get("items") or {})
    for member in item_schema.get("enum") or []:  # a list of enum strings (ProfileValidationResponse.missing)
        if member is not None and member not in items:
            yield [*items, member]
    for name, sub in (item_schema.get("properties") or {}).items():  # every member's flag or status alike
        resolved, _ = contract.resolve(sub)
        choices: list[Any] = [True, False] if resolved.get("type") == "boolean" else list(resolved.get("enum") or [])
        for choice in choices:
            if choice is not None and any(isinstance(item, dict) and item.get(name) != choice for item in items):
                yield [{**item, name: choice} if isinstance(item, dict) else item for item in items]


def _parse(text: str) -> datetime.datetime | None:
    try:
        return datetime.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None


def _format(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _context(site: BodySite) -> dict[str, Any]:
    limits = {
        key: value for key, value in site.contract.document.get("x-kesk-limits", {}).items() if isinstance(value, int)
    }
    return {
        "request": {
            "operation": site.operation.operation_id,
            "method": site.method,
            "path": site.path,
            "query": dict(site.query),
            "body": site.request_body,
        },
        "response": {"status": site.status, "headers": dict(site.headers)},
        "limits": limits,
    }


def invariant_breakers() -> list[Breaker]:
    """A breaker for every invariant of the bundled contract, in its order."""
    return [Breaker(rule) for rule in invariant_rules(load_contract())]
