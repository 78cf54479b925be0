"""MASS-ASSIGNMENT (OWASP API3): server-owned fields sent by a client are never applied."""

from __future__ import annotations

from typing import Any

from conformance.checks._flows import unique_phone
from conformance.context import CheckContext
from conformance.requirements import Level, requirement

_FORGED_ID = 7_777_777_777
_FORGED_TIME = "2001-01-01T00:00:00Z"
_HINT = "Build new resources from the documented request fields only; ignore or reject the rest"


def _forged(fields: dict[str, Any]) -> dict[str, Any]:
    return {
        **fields,
        "id": _FORGED_ID,
        "is_verified": True,
        "is_primary": True,
        "verified_at": _FORGED_TIME,
        "created_at": _FORGED_TIME,
        "user_id": 1,
    }


def _judge(ctx: CheckContext, operation_id: str, read: str, param: str, body: dict[str, Any]) -> None:
    created = ctx.call(operation_id, user=ctx.user_a, json_body=_forged(body))
    if created.status in (400, 422):
        return  # rejecting unknown fields is as good as ignoring them
    if not ctx.expect_status(created, 201, what="the resource is created or the forged fields rejected", hint=_HINT):
        return
    answer = created.json() or {}
    stored = ctx.call(read, user=ctx.user_a, path_params={param: answer.get("id")})
    if not ctx.expect_status(stored, 200, what="the new resource reads back by its id", hint=_HINT):
        return
    for source, values in (("the create answer", answer), ("a later read", stored.json() or {})):
        applied = [
            name
            for name, forged in (
                ("id", _FORGED_ID),
                ("is_verified", True),
                ("is_primary", True),
                ("verified_at", _FORGED_TIME),
                ("created_at", _FORGED_TIME),
            )
            if values.get(name) == forged
        ]
        if applied:
            ctx.fail(
                operation=operation_id,
                expected="server-owned fields set by the server only",
                actual=f"{source} shows the client's {', '.join(applied)}",
                hint=_HINT,
                exchange=created,
            )
            return


@requirement(
    "MASS-ASSIGNMENT",
    level=Level.MUST,
    area="mass-assignment",
    title="Server-owned fields sent by a client are ignored or rejected",
    cites=("rule:MASS-ASSIGNMENT",),
    operations=("addUserEmail", "addUserPhone", "getUserEmail", "getUserPhone"),
)
def server_owned_fields_are_not_assignable(ctx: CheckContext) -> None:
    """Adds an email and a (second) phone with forged id, verification, primary and timestamp fields."""
    _judge(ctx, "addUserEmail", "getUserEmail", "email_id", {"email": ctx.unique_email()})
    _ensure_a_phone(ctx)  # the first phone number is rightly primary: forge on a later one
    number, region = unique_phone(ctx)
    _judge(ctx, "addUserPhone", "getUserPhone", "phone_id", {"phone_number": number, "country_code": region})


def _ensure_a_phone(ctx: CheckContext) -> None:
    listed = ctx.call("listUserPhones", user=ctx.user_a, params={"per_page": 1})
    body = listed.json() if listed.status == 200 else None
    if isinstance(body, dict) and body.get("total") == 0:
        number, region = unique_phone(ctx)
        added = ctx.call("addUserPhone", user=ctx.user_a, json_body={"phone_number": number, "country_code": region})
        ctx.expect_status(added, 201, what="user A's first phone number, before the forged one")


REQUIREMENTS = (server_owned_fields_are_not_assignable,)
