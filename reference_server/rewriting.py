"""The response-rewriting layer that carries the conformant variants (see `variants.py`).

A variant changes nothing in the handlers. Its `apply(site)` switches pieces of one
ASGI layer on, for the app being built:

- `gates`: run before the app; may answer instead of it (a documented 429), wait (latency)
  or rewrite the request (a filename the handlers never minted);
- `value_edits`: change the JSON body value by value, guided by the contract's response
  schema for the operation and status (so a member is only ever added where the schema
  allows one, a timestamp only respelt where the schema says `format: date-time`);
- `json_style`: how the (possibly edited) JSON is written back (whitespace, member order, escapes);
- `reply_edits`: change the status line's headers and the body bytes (media-type spelling,
  challenges, extra headers, gzip);
- `chunk_size`: send the body with chunked framing instead of Content-Length.

The pipeline order is fixed here (gates, app, values, style, reply edits, framing), so
variants compose whatever their number. Schema-guided edits apply to the answers of the
UserApi operations only (the test-support routes have their own contract); style, header and
transport edits apply to every answer, as HTTP and JSON allow them anywhere.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Awaitable, Callable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

import yaml
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .contract import bundled_contract
from .db import Database
from .web import JSON_MEDIA_TYPE

__all__ = [
    "Call",
    "Contract",
    "Edit",
    "Gate",
    "JsonStyle",
    "Node",
    "Reply",
    "ReplyEdit",
    "RewritingLayer",
    "VariantSite",
    "json_reply",
    "load_contract",
    "transform",
]

BASE_PATH = "/v1"  # app.BASE_PATH; not imported from app.py, which imports this module's users
_METHODS = ("get", "put", "post", "delete", "patch")


# -- what passes through the layer ----------------------------------------------------


@dataclass(slots=True)
class Reply:
    """One answer as the layer holds it: status, header lines (names lower-case), whole body."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((value for key, value in self.headers if key == name), None)

    def set_header(self, name: str, value: str) -> None:
        self.remove_header(name)
        self.headers.append((name.lower(), value))

    def remove_header(self, name: str) -> None:
        name = name.lower()
        self.headers = [(key, value) for key, value in self.headers if key != name]

    def add_to_list_header(self, name: str, member: str) -> None:
        """Add `member` to a comma-separated list header (Vary), once."""
        current = self.header(name)
        members = [part.strip() for part in current.split(",")] if current else []
        if member.lower() not in (part.lower() for part in members):
            members.append(member)
        self.set_header(name, ", ".join(members))

    @property
    def media_type(self) -> str:
        return (self.header("content-type") or "").split(";", 1)[0].strip().lower()


def json_reply(status: int, payload: Any, headers: Mapping[str, str] | None = None) -> Reply:
    """A JSON answer spelt as the reference server spells them (web.json_response)."""
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    lines = [("content-type", JSON_MEDIA_TYPE)] + [(key.lower(), value) for key, value in (headers or {}).items()]
    return Reply(status, lines, body)


@dataclass(slots=True, frozen=True)
class Operation:
    """One operation of the contract, as the layer matches requests to it."""

    operation_id: str
    method: str  # upper case
    template: str  # the contract's path, e.g. /user/emails/{id}
    pattern: re.Pattern[str]
    definition: Mapping[str, Any] = field(repr=False, compare=False)


@dataclass(slots=True)
class Call:
    """The request being answered, as gates and edits see it."""

    scope: MutableMapping[str, Any]
    operation: Operation | None  # None: not a UserApi operation (test support, unknown path or method)
    number: int  # this request's position among all requests the layer saw (from 1)
    seen: int  # its position among the requests of its operation (from 1; 0 without an operation)

    @property
    def method(self) -> str:
        return str(self.scope["method"])

    @property
    def path(self) -> str:
        return str(self.scope["path"])

    def request_header(self, name: str) -> str | None:
        wanted = name.lower().encode("latin-1")
        for key, value in self.scope.get("headers", []):
            if key.lower() == wanted:
                return bytes(value).decode("latin-1")
        return None

    def set_path(self, path: str) -> None:
        """Serve the request as if it had been sent to `path` (query string kept)."""
        self.scope["path"] = path
        self.scope["raw_path"] = quote(path).encode("ascii")


@dataclass(slots=True, frozen=True)
class Node:
    """Where in the answer an edited value sits, by the contract."""

    schema: Mapping[str, Any]  # the value's schema, $ref resolved
    component: str | None = None  # the components/schemas name the schema was reached through
    member: str | None = None  # the member name in the enclosing object
    parent: str | None = None  # the component of the enclosing object


Edit = Callable[[Any, Node], Any]
Gate = Callable[[Call], Awaitable[Reply | None]]
ReplyEdit = Callable[[Reply, Call], None]


@dataclass(slots=True)
class JsonStyle:
    """How JSON bodies are written: RFC 8259 leaves whitespace, member order and escapes free."""

    indent: str | None = None  # None: compact, as the reference server writes
    item_separator: str = ","
    key_separator: str = ":"
    line_break: str = "\n"
    around: str = ""  # whitespace before and after the whole text
    shuffle_members: bool = False
    escape_non_ascii: bool = False
    escape_solidus: bool = False

    @property
    def is_default(self) -> bool:
        return self == JsonStyle()

    def dumps(self, value: Any) -> str:
        if self.shuffle_members:
            value = _shuffled(value)
        text = json.dumps(
            value,
            ensure_ascii=self.escape_non_ascii,
            indent=self.indent,
            separators=(self.item_separator, self.key_separator),
        )
        if self.line_break != "\n":
            text = text.replace("\n", self.line_break)  # raw newlines only occur as whitespace in JSON
        if self.escape_solidus:
            text = text.replace("/", "\\/")  # "/" only occurs inside strings in JSON
        return f"{self.around}{text}{self.around}"


def _shuffled(value: Any) -> Any:
    """The same value with every object's members in an order fixed by their names (not alphabetical)."""
    if isinstance(value, dict):
        order = sorted(value, key=lambda name: hashlib.blake2b(name.encode(), digest_size=8).digest())
        return {name: _shuffled(value[name]) for name in order}
    if isinstance(value, list):
        return [_shuffled(item) for item in value]
    return value


@dataclass(slots=True)
class VariantSite:
    """What the switched-on variants ask of one app being built; filled by each `Variant.apply`."""

    db: Database
    gates: list[Gate] = field(default_factory=list)
    value_edits: list[Edit] = field(default_factory=list)
    json_style: JsonStyle = field(default_factory=JsonStyle)
    reply_edits: list[ReplyEdit] = field(default_factory=list)
    chunk_size: int | None = None  # send bodies in chunks of this many bytes (chunked framing)

    @property
    def needs_layer(self) -> bool:
        return bool(
            self.gates
            or self.value_edits
            or self.reply_edits
            or self.chunk_size is not None
            or not self.json_style.is_default
        )


# -- the contract, as the layer reads it ------------------------------------------------


class Contract:
    """The operations and response schemas of one OpenAPI document (the server's own reading)."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document = document
        self.operations: list[Operation] = []
        for template, item in (document.get("paths") or {}).items():
            regex = re.sub(r"\\\{([^}]+)\\\}", r"(?P<\1>[^/]+)", re.escape(BASE_PATH + template))
            for method in _METHODS:
                if method in item:
                    definition = item[method]
                    self.operations.append(
                        Operation(
                            definition["operationId"], method.upper(), template, re.compile(f"^{regex}$"), definition
                        )
                    )

    def match(self, method: str, path: str) -> Operation | None:
        return next((op for op in self.operations if op.method == method and op.pattern.match(path)), None)

    def resolve(self, node: Mapping[str, Any]) -> tuple[Mapping[str, Any], str | None]:
        """Follow local $refs; the name is the last components/schemas name passed through."""
        name = None
        while "$ref" in node:
            ref = str(node["$ref"])
            target: Any = self.document
            for part in ref.removeprefix("#/").split("/"):
                target = target[part]
            if ref.startswith("#/components/schemas/"):
                name = ref.rsplit("/", 1)[1]
            node = target
        return node, name

    def response_schemas(
        self, operation: Operation, status: int
    ) -> tuple[Mapping[str, Any] | None, Mapping[str, Any] | None]:
        """The JSON body schema of this answer, and the schema of a document carried as a JSON string."""
        responses = operation.definition.get("responses") or {}
        documented = responses.get(str(status)) or responses.get("default")
        if documented is None:
            return None, None
        response, _ = self.resolve(documented)
        document = response.get("x-kesk-document-schema")
        for media_type, content in (response.get("content") or {}).items():
            if media_type.split(";", 1)[0].strip().lower() == "application/json" and "schema" in content:
                return content["schema"], document
        return None, document


def load_contract(path: str | os.PathLike[str] | None = None) -> Contract:
    resolved = Path(path).resolve() if path is not None else bundled_contract()
    stat = resolved.stat()
    return _load_contract(resolved, stat.st_mtime_ns, stat.st_size)


@cache
def _load_contract(path: Path, mtime_ns: int, size: int) -> Contract:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return Contract(yaml.load(path.read_text(encoding="utf-8"), Loader=loader))


# -- schema-guided editing ----------------------------------------------------------------


def _branch(contract: Contract, value: Any, branches: list[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The anyOf/oneOf branch `value` is an instance of, judged by its JSON type only."""
    for branch in branches:
        resolved, _ = contract.resolve(branch)
        if value is None:
            if resolved.get("nullable") or None in (resolved.get("enum") or ()):
                return branch
        elif isinstance(value, dict):
            if resolved.get("type", "object") == "object" and resolved.get("enum") != [None]:
                return branch
        elif _json_type(value) == resolved.get("type"):
            return branch
    return None


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def transform(
    contract: Contract,
    value: Any,
    schema: Mapping[str, Any],
    edit: Edit,
    *,
    member: str | None = None,
    parent: str | None = None,
) -> Any:
    """`value` with `edit` applied to every value the schema describes, innermost first."""
    resolved, component = contract.resolve(schema)
    for keyword in ("anyOf", "oneOf"):
        if keyword in resolved:
            branch = _branch(contract, value, list(resolved[keyword]))
            if branch is None:
                return value
            return transform(contract, value, branch, edit, member=member, parent=parent)
    if "allOf" in resolved:
        merged: dict[str, Any] = {"type": "object", "properties": {}}
        for part in resolved["allOf"]:
            part_resolved, part_name = contract.resolve(part)
            merged["properties"].update(part_resolved.get("properties") or {})
            if part_resolved.get("additionalProperties") is False:
                merged["additionalProperties"] = False
            component = component or part_name
        resolved = merged
    if isinstance(value, dict):
        properties = resolved.get("properties") or {}
        extra = resolved.get("additionalProperties", True)
        edited = {}
        for name, item in value.items():
            sub = properties.get(name, extra if isinstance(extra, dict) else None)
            edited[name] = item if sub is None else transform(contract, item, sub, edit, member=name, parent=component)
        value = edited
    elif isinstance(value, list) and "items" in resolved:
        value = [transform(contract, item, resolved["items"], edit, member=member, parent=parent) for item in value]
    return edit(value, Node(resolved, component, member, parent))


def _compose(edits: list[Edit]) -> Edit:
    def edit(value: Any, node: Node) -> Any:
        for one in edits:
            value = one(value, node)
        return value

    return edit


# -- the ASGI layer -------------------------------------------------------------------------


class RewritingLayer:
    """ASGI middleware that runs the switched-on variants' gates and edits around the app."""

    def __init__(self, app: ASGIApp, *, site: VariantSite, contract: Contract) -> None:
        self.app = app
        self.site = site
        self.contract = contract
        self._edit = _compose(site.value_edits)
        self._requests = 0
        self._per_operation: dict[str, int] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        call = self._call(scope)
        reply: Reply | None = None
        for gate in self.site.gates:
            reply = await gate(call)
            if reply is not None:
                break
        if reply is None:
            reply = await self._answer(scope, receive)
        self._rewrite_body(call, reply)
        for edit in self.site.reply_edits:
            edit(reply, call)
        await self._send(reply, send)

    def _call(self, scope: Scope) -> Call:
        self._requests += 1
        operation = self.contract.match(scope["method"], scope["path"])
        seen = 0
        if operation is not None:
            seen = self._per_operation.get(operation.operation_id, 0) + 1
            self._per_operation[operation.operation_id] = seen
        return Call(scope, operation, self._requests, seen)

    async def _answer(self, scope: Scope, receive: Receive) -> Reply:
        reply = Reply(500, [], b"")
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                reply.status = int(message["status"])
                reply.headers = [
                    (bytes(k).decode("latin-1").lower(), bytes(v).decode("latin-1"))
                    for k, v in message.get("headers", [])
                ]
            elif message["type"] == "http.response.body":
                chunks.append(bytes(message.get("body", b"")))

        await self.app(scope, receive, capture)
        reply.body = b"".join(chunks)
        return reply

    def _rewrite_body(self, call: Call, reply: Reply) -> None:
        style = self.site.json_style
        if reply.media_type != "application/json" or not reply.body or (not self.site.value_edits and style.is_default):
            return
        try:
            value = json.loads(reply.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return
        if call.operation is not None:
            schema, document_schema = self.contract.response_schemas(call.operation, reply.status)
            if schema is not None and self.site.value_edits:
                value = transform(self.contract, value, schema, self._edit)
            if document_schema is not None and isinstance(value, str):
                value = self._rewrite_document(value, document_schema)
        reply.body = style.dumps(value).encode("utf-8")

    def _rewrite_document(self, text: str, schema: Mapping[str, Any]) -> str:
        """A JSON document carried as a JSON string (downloadExport): edited and styled the same way."""
        try:
            document = json.loads(text)
        except ValueError:
            return text
        if self.site.value_edits:
            document = transform(self.contract, document, schema, self._edit)
        if self.site.json_style.is_default:
            return json.dumps(document, indent=2)  # as exports.py writes the file
        return self.site.json_style.dumps(document)

    async def _send(self, reply: Reply, send: Send) -> None:
        headers = [(k, v) for k, v in reply.headers if k not in ("content-length", "transfer-encoding")]
        chunk = self.site.chunk_size
        if chunk is None:
            headers.append(("content-length", str(len(reply.body))))
        raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]
        await send({"type": "http.response.start", "status": reply.status, "headers": raw})
        if chunk is None:
            await send({"type": "http.response.body", "body": reply.body, "more_body": False})
            return
        for piece in _pieces(reply.body, chunk):
            await send({"type": "http.response.body", "body": piece, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})


def _pieces(body: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]
