"""Where a switched-on fault may rewrite a whole answer body: the layer behind `hooks.BREAKING_BODY`.

Most faults change one decision inside a handler. Some break a promise about the answer as a whole (the
contract's `x-kesk-invariants`, see `invariant_faults.py`): they need the body as the client will read it,
with the request it answers. This ASGI layer sits between the handlers and the variants' rewriting layer
(a variant then spells the broken answer its own way, as it would spell a correct one). While no behaviour
is attached to its hook it passes every request straight through.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import hooks
from .rewriting import Contract, Operation
from .state import ServerState

__all__ = ["BodySite", "BreakingLayer"]


@dataclass(slots=True, frozen=True)
class BodySite:
    """One answer about to be sent: what a behaviour at `hooks.BREAKING_BODY` may read."""

    contract: Contract
    operation: Operation
    status: int
    method: str
    path: str
    query: Mapping[str, str]
    request_body: Any  # the parsed JSON request body, or None
    headers: Mapping[str, str] = field(default_factory=dict)  # the answer's headers, lower-case names

    def response_schema(self) -> tuple[Mapping[str, Any] | None, Mapping[str, Any] | None]:
        """The body's schema, and the schema of a document carried as a JSON string (downloadExport)."""
        return self.contract.response_schemas(self.operation, self.status)


class BreakingLayer:
    """ASGI middleware: hands each JSON answer of a UserApi operation to `hooks.BREAKING_BODY`."""

    def __init__(self, app: ASGIApp, *, state: ServerState, contract: Contract) -> None:
        self.app = app
        self.state = state
        self.contract = contract

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        attached = scope["type"] == "http" and self.state.switchboard.attached(hooks.BREAKING_BODY)
        operation = self.contract.match(scope["method"], scope["path"]) if attached else None
        if operation is None:
            await self.app(scope, receive, send)
            return
        request_body, replay = await _read_request(receive)
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(bytes(message.get("body", b"")))

        await self.app(scope, replay, capture)
        headers = [
            (bytes(k).decode("latin-1").lower(), bytes(v).decode("latin-1")) for k, v in start.get("headers", [])
        ]
        body = b"".join(chunks)
        site = BodySite(
            self.contract,
            operation,
            int(start.get("status", 500)),
            str(scope["method"]),
            str(scope["path"]),
            dict(_query(scope)),
            _json_or_none(request_body),
            dict(headers),
        )
        body = edit_body(self.state, site, body)
        raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers if k != "content-length"]
        raw.append((b"content-length", str(len(body)).encode("ascii")))
        await send({"type": "http.response.start", "status": site.status, "headers": raw})
        await send({"type": "http.response.body", "body": body, "more_body": False})


def edit_body(state: ServerState, site: BodySite, body: bytes) -> bytes:
    """The body the switched-on behaviours make of this answer's JSON body (unchanged when it is not JSON)."""
    try:
        value = json.loads(body) if body else None
    except (UnicodeDecodeError, ValueError):
        return body
    if value is None:
        return body
    edited = state.at(hooks.BREAKING_BODY, value, site)
    if edited is value:
        return body
    return json.dumps(edited, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


async def _read_request(receive: Receive) -> tuple[bytes, Receive]:
    """The whole request body, and a `receive` that hands it to the app again."""
    parts: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        parts.append(bytes(message.get("body", b"")))
        if not message.get("more_body", False):
            break
    body = b"".join(parts)
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replay


def _query(scope: Scope) -> list[tuple[str, str]]:
    from urllib.parse import parse_qsl

    return parse_qsl(bytes(scope.get("query_string", b"")).decode("latin-1"), keep_blank_values=True)


def _json_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except (UnicodeDecodeError, ValueError):
        return None
