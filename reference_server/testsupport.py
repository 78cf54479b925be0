"""The test-support contract (spec/test-support.yaml): disposable users, the outbox, the clock.

Mounted only in test mode; never part of the product spec.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .clock import format_timestamp
from .errors import ApiError, FieldProblem
from .state import ServerState
from .users import create_user
from .validation import Fields
from .web import endpoint, json_response, read_json_object

__all__ = ["TestSupport"]


class TestSupport:
    __test__ = False  # not a pytest class

    def __init__(self, state: ServerState) -> None:
        self._state = state

    def routes(self) -> list[Route]:
        return [
            Route("/_test/users", endpoint(self.new_user), methods=["POST"]),
            Route("/_test/outbox", endpoint(self.outbox), methods=["GET"]),
            Route("/_test/clock", endpoint(self.clock), methods=["GET"]),
            Route("/_test/clock/advance", endpoint(self.advance_clock), methods=["POST"]),
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

    async def outbox(self, request: Request) -> Response:
        clauses, args = [], []
        for name in ("address", "purpose", "channel"):
            value = request.query_params.get(name)
            if value:
                # Addresses compare case-insensitively: the stored form is normalised.
                clauses.append(f"lower({name}) = lower(?)")
                args.append(value)
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
        fields.finish()
        return json_response({"now": format_timestamp(self._state.clock.advance(seconds))})
