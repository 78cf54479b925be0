"""The test-support contract (spec/test-support.yaml): disposable users and fixtures, the outbox,
the clock, and per-test control (reset, faults and variants switched at run time).

Mounted only in test mode; never part of the product spec.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .clock import format_timestamp
from .errors import ApiError, FieldProblem
from .fixtures import load_fixture, parse_fixture
from .state import CHANNELS, PURPOSES, ServerState
from .users import create_user, user_of_token
from .validation import Fields
from .web import endpoint, json_response, read_json_object

__all__ = ["KINDS", "Controls", "Kind", "Switches", "TestSupport"]

# What test support switches at run time; the names of each come from the server's catalogues
# (faults.py, variants.py), which this module never reads: handlers never name a fault.
Kind = Literal["faults", "variants"]
KINDS: tuple[Kind, ...] = ("faults", "variants")


@dataclass(slots=True, frozen=True)
class Switches:
    """One kind of switch: the names switched on now (catalogue order) and every name offered."""

    on: tuple[str, ...]
    available: tuple[str, ...]


class Controls(Protocol):
    """The run-time switches of one server (app.ServerControls)."""

    def switches(self, kind: Kind) -> Switches: ...
    def switch(self, kind: Kind, names: Sequence[str]) -> None:
        """Switch exactly `names` on (every one known)."""

    def reset(self) -> None: ...


class TestSupport:
    __test__ = False  # not a pytest class

    def __init__(self, state: ServerState, controls: Controls) -> None:
        self._state = state
        self._controls = controls

    def routes(self) -> list[Route]:
        return [
            Route("/_test/users", endpoint(self.new_user), methods=["POST"]),
            Route("/_test/fixtures", endpoint(self.load_fixture), methods=["POST"]),
            Route("/_test/outbox", endpoint(self.outbox), methods=["GET"]),
            Route("/_test/clock", endpoint(self.clock), methods=["GET"]),
            Route("/_test/clock/advance", endpoint(self.advance_clock), methods=["POST"]),
            Route("/_test/reset", endpoint(self.reset), methods=["POST"]),
            *(route for kind in KINDS for route in self._switch_routes(kind)),
        ]

    async def new_user(self, request: Request) -> Response:
        """The body is optional: `{"email_verified": false}` asks for an unverified primary email."""
        email_verified = True
        if await request.body():
            body = await read_json_object(request)
            value = body.get("email_verified", True)
            if not isinstance(value, bool):
                raise ApiError.validation((FieldProblem("email_verified", "must be a boolean"),))
            email_verified = value
        user = create_user(self._state, email_verified=email_verified)
        body = {"user_id": user.user_id, "token": user.token, "password": user.password, "email": user.email}
        return json_response(body, 201)

    async def load_fixture(self, request: Request) -> Response:
        fixture = parse_fixture(await read_json_object(request))
        users = load_fixture(self._state, fixture)
        return json_response({"users": [user.as_json() for user in users]}, 201)

    async def outbox(self, request: Request) -> Response:
        clauses, args = [], []
        problems = []
        for name, choices in (("address", None), ("purpose", PURPOSES), ("channel", CHANNELS)):
            value = request.query_params.get(name)
            if choices is not None and value is not None and value not in choices:
                # An unknown value would match nothing: a typo must not read as "no message sent".
                problems.append(FieldProblem(name, f"must be one of {', '.join(choices)}"))
            elif value:
                # Addresses compare case-insensitively: the stored form is normalised.
                clauses.append(f"lower({name}) = lower(?)")
                args.append(value)
        if problems:
            raise ApiError(422, "validation_failed", "The query parameters are not valid.", tuple(problems))
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        with self._state.db.transaction() as conn:
            rows = conn.execute(f"SELECT * FROM outbox {where} ORDER BY id", args).fetchall()
        messages = [
            {
                "id": r["id"],
                "channel": r["channel"],
                "address": r["address"],
                "purpose": r["purpose"],
                "code": r["code"],
                "created_at": format_timestamp(r["created_at"]),
            }
            for r in rows
        ]
        return json_response({"messages": messages})

    async def clock(self, request: Request) -> Response:
        return json_response({"now": format_timestamp(self._state.clock.now())})

    async def advance_clock(self, request: Request) -> Response:
        fields = Fields(await read_json_object(request))
        seconds = fields.integer("seconds", minimum=0, maximum=100 * 365 * 86400)
        user_token = fields.string("user_token", min_length=1, required=False)
        fields.finish()
        if not user_token:
            return json_response({"now": format_timestamp(self._state.clock.advance(seconds)), "scope": "global"})
        user_id = user_of_token(self._state, user_token)
        if user_id is None:
            raise ApiError.validation((FieldProblem("user_token", "is no user's token"),))
        now = self._state.clock.advance_user(user_id, seconds)
        return json_response({"now": format_timestamp(now), "scope": "user"})

    async def reset(self, request: Request) -> Response:
        self._controls.reset()
        body: dict[str, Any] = {kind: list(self._controls.switches(kind).on) for kind in KINDS}
        body["now"] = format_timestamp(self._state.clock.now())
        return json_response(body)

    def _switch_routes(self, kind: Kind) -> list[Route]:
        """GET and PUT /_test/<kind>: read, or replace, the switched-on set."""

        def answer() -> Response:
            switches = self._controls.switches(kind)
            return json_response({kind: list(switches.on), "available": list(switches.available)})

        async def read(request: Request) -> Response:
            return answer()

        async def switch(request: Request) -> Response:
            known = self._controls.switches(kind).available
            self._controls.switch(kind, _names(await read_json_object(request), kind, known))
            return answer()

        read.__name__, switch.__name__ = f"read_{kind}", f"switch_{kind}"
        return [
            Route(f"/_test/{kind}", endpoint(read), methods=["GET"]),
            Route(f"/_test/{kind}", endpoint(switch), methods=["PUT"]),
        ]


def _names(body: dict[str, Any], member: Kind, known: Sequence[str]) -> list[str]:
    """The names in `body[member]`; 422 naming every one that is not a string or not in `known`."""
    what = member.removesuffix("s")
    value = body.get(member)
    if not isinstance(value, list):
        problem = "is required" if value is None else "must be an array of names"
        raise ApiError.validation((FieldProblem(member, problem),))
    problems: list[FieldProblem] = []
    for index, name in enumerate(value):
        if not isinstance(name, str):
            problems.append(FieldProblem(f"{member}[{index}]", "must be a string"))
        elif name not in known:
            message = f"unknown {what} {name!r}; GET /_test/{member} lists them"
            problems.append(FieldProblem(f"{member}[{index}]", message))
    if problems:
        raise ApiError(422, "validation_failed", f"Unknown {what} names; nothing was switched.", tuple(problems))
    return value
