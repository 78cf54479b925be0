"""The contract's invariants (`x-kesk-invariants`), judged on every object of every answer.

A schema of the contract may carry `x-kesk-invariants: [{id, rule, message}]`: what its descriptions
promise about one answer, written in CEL (the Common Expression Language, as Kubernetes writes
`x-kubernetes-validations`), so that a server team evaluates the same text with cel-go or cel-js. A rule
sees `self` (the object), `request` (operation, method, path, query, body), `response` (status, headers
with lower-case names) and `limits` (the contract's `x-kesk-limits`).

:class:`InvariantSet` compiles every rule once, walks an answer's body by its documented schema (nested
objects, list items, a nullable reference's object branch, and the export document a download carries as
a JSON string), and evaluates the invariants of each object it meets. Besides standard CEL, rules may call
`list.distinct()` (cel-go's ext.Lists) and `list.isSorted()` (the Kubernetes CEL list library).

cel-python interprets a rule in 0.3 to 3 ms, and a run answers thousands of objects. So each rule is
evaluated once per distinct case: a rule reads a few values (found in its text), and its verdict is kept
per rule and the values it read. A rule that opens with guards such as `request.operation != "X" ||` or
`response.status != 201 ||` is true, without evaluating it, for every other operation or status.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import celpy
from celpy import celtypes
from celpy.adapter import json_to_cel

from conformance._spec import SpecError
from conformance.contract import Contract
from conformance.operations import OperationIndex

__all__ = ["Invariant", "InvariantSet", "InvariantViolation", "RequestView"]

_VARIABLES = ("self", "request", "response", "limits")
# A variable and the members it reads: "self.items", "request.query.page"; a trailing call is a method.
_READ = re.compile(r"\b(self|request|response|limits)((?:\.[A-Za-z_][A-Za-z0-9_]*)*)(\s*\()?")
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
# A leading guard: `request.operation != "verifyUserEmail" ||`, `response.status != 201 ||`, `self.x == null ||`.
_GUARD = re.compile(
    r'^\s*((?:self|request|response)(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*(!=|==)\s*(?:"([^"]*)"|(\d+)|(null))\s*\|\|'
)
_MISSING = object()
_SHOWN = 160  # characters of the values shown in a violation


@dataclass(slots=True, frozen=True)
class Guard:
    """`path != literal` or `path == null`, a leading disjunct of a rule."""

    path: tuple[str, ...]
    negated: bool  # `!=` (else `==`)
    literal: str | int | None

    def holds(self, value: Any) -> bool:
        """Whether the guard is true of `value` (never when the value is absent: CEL would not say)."""
        if value is _MISSING:
            return False
        equal = value == self.literal and type(value) is type(self.literal)
        return not equal if self.negated else equal


@dataclass(slots=True, frozen=True)
class Invariant:
    """One `x-kesk-invariants` entry of one schema."""

    id: str
    schema: str
    index: int
    rule: str
    message: str
    reads: tuple[tuple[str, ...], ...]  # the paths the rule reads: ("self", "items"), ("request", "query", "page")
    # Leading guards (`request.operation != "X" ||`, `self.x == null ||`): when one holds, so does the rule.
    guards: tuple[Guard, ...] = ()

    @property
    def pointer(self) -> str:
        """Where it stands in the contract (a JSON pointer)."""
        return f"/components/schemas/{self.schema}/x-kesk-invariants/{self.index}"

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "schema": self.schema,
            "rule": self.rule,
            "message": self.message,
            "source": f"spec:{self.pointer}",
        }


@dataclass(slots=True, frozen=True)
class InvariantViolation:
    invariant: Invariant
    pointer: str  # where in the answer's body the object is ("" for the body itself)
    values: str  # what the rule read, as compact JSON

    def describe(self) -> str:
        where = self.pointer or "/"
        return f"{self.invariant.id} at {where}: {self.invariant.message} (read {self.values})"


@dataclass(slots=True, frozen=True)
class RequestView:
    """What a rule's `request` and `response` see of one exchange."""

    operation: str
    method: str
    url: str
    body: bytes | None
    status: int
    headers: Mapping[str, str]  # lower-case names

    def request(self) -> dict[str, Any]:
        parts = urlsplit(self.url)
        try:
            body = json.loads(self.body) if self.body else None
        except ValueError:
            body = None
        return {
            "operation": self.operation,
            "method": self.method,
            "path": parts.path,
            "query": dict(parse_qsl(parts.query, keep_blank_values=True)),
            "body": body,
        }

    def response(self) -> dict[str, Any]:
        return {"status": self.status, "headers": dict(self.headers)}


def reads_of(rule: str) -> tuple[tuple[str, ...], ...]:
    """The variable paths a rule reads, from its text (a method called on a path is not part of it)."""
    found: dict[tuple[str, ...], None] = {}
    for match in _READ.finditer(rule):
        path = (match.group(1), *filter(None, match.group(2).split(".")))
        if match.group(3) and len(path) > 1:  # self.items.all( ... ): the call is on self.items
            path = path[:-1]
        found[path] = None
    # A longer path is read through its prefix: keep the shortest ones only, so no value is read twice.
    paths = sorted(found, key=len)
    kept: list[tuple[str, ...]] = []
    for path in paths:
        if not any(path[: len(prefix)] == prefix for prefix in kept):
            kept.append(path)
    return tuple(kept)


def guards_of(rule: str) -> tuple[Guard, ...]:
    """The leading guards of a rule: `A || B || rest` is true whenever A or B is."""
    found: list[Guard] = []
    rest = rule
    while match := _GUARD.match(rest):
        path, operator, text, number, null = match.groups()
        literal: str | int | None = text if text is not None else int(number) if number is not None else None
        if (operator == "!=" and null is None) or (operator == "==" and null is not None):
            found.append(Guard(tuple(path.split(".")), operator == "!=", literal))
        rest = rest[match.end() :]
    return tuple(found)


def load_invariants(document: Mapping[str, Any]) -> list[Invariant]:
    """Every invariant of the contract, in the order of its schemas; SpecError for a malformed entry."""
    found: list[Invariant] = []
    seen: set[str] = set()
    for name, schema in (document.get("components", {}).get("schemas", {}) or {}).items():
        entries = schema.get("x-kesk-invariants", []) if isinstance(schema, dict) else []
        if not isinstance(entries, list):
            raise SpecError(f"components/schemas/{name}/x-kesk-invariants must be a list of {{id, rule, message}}")
        for index, entry in enumerate(entries):
            where = f"components/schemas/{name}/x-kesk-invariants/{index}"
            if not isinstance(entry, dict) or not all(
                isinstance(entry.get(key), str) for key in ("id", "rule", "message")
            ):
                raise SpecError(f"{where} needs id, rule and message, each a string")
            if entry["id"] in seen:
                raise SpecError(f"{where}: the invariant id {entry['id']} is used twice")
            seen.add(entry["id"])
            rule = entry["rule"]
            found.append(Invariant(entry["id"], name, index, rule, entry["message"], reads_of(rule), guards_of(rule)))
    return found


def _distinct(items: Any) -> Any:
    """cel-go's ext.Lists `distinct()`: the list without repeated members, first occurrences kept."""
    kept: list[Any] = []
    for item in items:
        if item not in kept:
            kept.append(item)
    return celtypes.ListType(kept)


def _is_sorted(items: Any) -> Any:
    """The Kubernetes CEL list library's `isSorted()`: each member is at most the next one."""
    return celtypes.BoolType(all(left <= right for left, right in itertools.pairwise(items)))


LIST_FUNCTIONS = {"distinct": _distinct, "isSorted": _is_sorted}


def _cel_ready(value: Any) -> Any:
    """`value` as CEL reads it: RFC 3339 allows a lower-case t and z, CEL's timestamp() does not."""
    if isinstance(value, str) and _DATE_TIME.match(value):
        return value.upper()
    if isinstance(value, dict):
        return {key: _cel_ready(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_cel_ready(item) for item in value]
    return value


def _at(root: Any, path: tuple[str, ...]) -> Any:
    node = root
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    return node


def activation_member(activation: dict[str, Any], path: tuple[str, ...]) -> Any:
    """The member of `activation` at `path` when it is there, else an empty object."""
    found = _at(activation, path)
    return {} if found is _MISSING else found


def _put(target: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for part in path[:-1]:
        target = target.setdefault(part, {})
    target[path[-1]] = value


class InvariantSet:
    """The contract's invariants, compiled once; judges answers (thread-safe)."""

    def __init__(self, contract: Contract) -> None:
        self.contract = contract
        self.index = OperationIndex(contract.document)
        self.invariants = load_invariants(contract.document)
        environment = celpy.Environment()
        self._programs: dict[str, Any] = {}
        for item in self.invariants:
            try:
                self._programs[item.id] = environment.program(environment.compile(item.rule), functions=LIST_FUNCTIONS)
            except Exception as exc:  # celpy's parser raises its own error types
                raise SpecError(f"invariant {item.id} ({item.pointer}) is not valid CEL: {exc}") from None
        self.by_schema: dict[str, list[Invariant]] = {}
        for item in self.invariants:
            self.by_schema.setdefault(item.schema, []).append(item)
        self._limits = {
            key: value for key, value in contract.document.get("x-kesk-limits", {}).items() if isinstance(value, int)
        }
        self._verdicts: dict[tuple[str, str], bool | None] = {}
        self._lock = threading.Lock()
        self.evaluations = 0  # rules actually evaluated (the rest were known verdicts)
        self.errors: dict[str, str] = {}  # invariant id -> the first evaluation error (a case the rule cannot read)

    # --- walking an answer -----------------------------------------------------------------------
    def judge(self, view: RequestView, value: Any) -> list[InvariantViolation]:
        """Every invariant broken by an object of this answer's body, `value` (the parsed JSON; its documented
        schema tells where the objects are)."""
        schema, document_schema = self._schemas(view.operation, view.status)
        if schema is None or value is None or not self.invariants:
            return []
        context = _Context(view, self._limits)
        found = [
            violation for item in self._objects(value, schema, "") for violation in self._judge_object(*item, context)
        ]
        if document_schema is not None and isinstance(value, str):
            try:
                document = json.loads(value)
            except ValueError:
                return found
            found += [
                violation
                for item in self._objects(document, document_schema, "(document)")
                for violation in self._judge_object(*item, context)
            ]
        return found

    def _schemas(self, operation_id: str, status: int) -> tuple[Any, Any]:
        try:
            op = self.index[operation_id]
        except KeyError:
            return None, None
        responses = op.responses()
        response = responses.get(str(status)) or responses.get("default")
        if response is None:
            return None, None
        response = self.index.resolve_ref(response)
        document = response.get("x-kesk-document-schema")
        for media, content in (response.get("content") or {}).items():
            if "json" in media.lower() and "schema" in content:
                return content["schema"], document
        return None, document

    def _resolve(self, schema: Any) -> tuple[Any, str | None]:
        name = None
        while isinstance(schema, dict) and "$ref" in schema:
            ref = str(schema["$ref"])
            if ref.startswith("#/components/schemas/"):
                name = ref.rsplit("/", 1)[1]
            schema = self.index.resolve_ref(schema)
        return schema, name

    def _objects(self, value: Any, schema: Any, pointer: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """(schema name, pointer, object) of every object with invariants, the outer ones first."""
        resolved, name = self._resolve(schema)
        if not isinstance(resolved, dict):
            return
        for keyword in ("anyOf", "oneOf"):
            for branch in resolved.get(keyword, []):
                branch_resolved, _ = self._resolve(branch)
                if (
                    isinstance(value, dict)
                    and branch_resolved.get("type", "object") == "object"
                    and branch_resolved.get("enum") != [None]
                ):
                    yield from self._objects(value, branch, pointer)
                    return
            if keyword in resolved:
                return
        for part in resolved.get("allOf", []):
            yield from self._objects(value, part, pointer)
        if isinstance(value, dict):
            if name in self.by_schema:
                yield name, pointer, value
            for member, sub in (resolved.get("properties") or {}).items():
                if member in value:
                    yield from self._objects(value[member], sub, f"{pointer}/{member}")
        elif isinstance(value, list) and "items" in resolved:
            for position, item in enumerate(value):
                yield from self._objects(item, resolved["items"], f"{pointer}/{position}")

    # --- evaluating ------------------------------------------------------------------------------
    def _judge_object(
        self, schema: str, pointer: str, value: dict[str, Any], context: _Context
    ) -> list[InvariantViolation]:
        found = []
        for item in self.by_schema[schema]:
            if any(guard.holds(context.read(guard.path, value)) for guard in item.guards):
                continue
            read = {path: context.read(path, value) for path in item.reads}
            shown = json.dumps(
                [[".".join(path), None if v is _MISSING else v] for path, v in read.items()],
                separators=(",", ":"),
                default=str,
            )
            key = (item.id, shown)
            with self._lock:
                known = self._verdicts.get(key, _MISSING)
            if known is _MISSING:
                holds = self._evaluate(item, read)
                with self._lock:
                    self._verdicts[key] = holds
            else:
                holds = known  # type: ignore[assignment]
            if holds is False:
                found.append(
                    InvariantViolation(item, pointer, shown if len(shown) <= _SHOWN else shown[: _SHOWN - 3] + "...")
                )
        return found

    def _evaluate(self, item: Invariant, read: Mapping[tuple[str, ...], Any]) -> bool | None:
        """True or False; None when the rule cannot be evaluated on these values (a value is missing or of
        another type: the schema observers judge that)."""
        activation: dict[str, Any] = {}
        for path, value in read.items():
            if value is not _MISSING:
                _put(activation, path, _cel_ready(value))
            elif len(path) > 1:  # has(request.query.page): the members around an absent one are there
                _put(activation, path[:-1], activation_member(activation, path[:-1]))
        for variable in _VARIABLES:
            activation.setdefault(variable, {})
        self.evaluations += 1
        try:
            result = self._programs[item.id].evaluate({name: json_to_cel(value) for name, value in activation.items()})
        except Exception as exc:  # celpy raises for a missing member or a type it cannot compare
            self.errors.setdefault(item.id, f"{type(exc).__name__}: {exc}")
            return None
        if isinstance(result, celtypes.BoolType):
            return bool(result)
        self.errors.setdefault(item.id, f"evaluated to {type(result).__name__}: {result}")
        return None


class _Context:
    """The `request`, `response` and `limits` of one exchange, built only if a rule reads them."""

    def __init__(self, view: RequestView, limits: Mapping[str, int]) -> None:
        self._view = view
        self._roots: dict[str, Any] = {"limits": dict(limits)}

    def read(self, path: tuple[str, ...], value: dict[str, Any]) -> Any:
        head = path[0]
        if head == "self":
            return _at(value, path[1:])
        if head not in self._roots:
            self._roots[head] = self._view.request() if head == "request" else self._view.response()
        return _at(self._roots[head], path[1:])
