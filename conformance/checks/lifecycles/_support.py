"""Helpers the lifecycle machines share: unique data, list walks, the users they act as."""

from __future__ import annotations

import math
import uuid
from typing import Any

from conformance.context import CheckContext
from conformance.failures import UndecidedRequirement
from conformance.target import Exchange
from conformance.users import User


def unique_phone(ctx: CheckContext) -> tuple[str, str]:
    """A valid Finnish mobile number (national form) no earlier run used, and its region.

    Private stand-in until the shared ``strategies`` package provides phone numbers: the digits
    mix the requirement's seeded rng with uuid4, so a server that keeps state never sees it twice.
    """
    digits = (ctx.rng.getrandbits(64) ^ uuid.uuid4().int) % 10_000_000
    return f"040{digits:07d}", "FI"  # 040 numbers are always valid mobile numbers; 049 ones are not


def e164_fi(national: str) -> str:
    return "+358" + national[1:]


def unique_product(ctx: CheckContext) -> int:
    """A product id (int64) that no earlier run favourited."""
    return (ctx.rng.getrandbits(40) ^ (uuid.uuid4().int & (2**40 - 1))) + 10**12


def unique_fcm_token(ctx: CheckContext) -> str:
    """A registration token in the documented alphabet; it is registered to the redactor like a secret."""
    token = f"{ctx.unique('kesk-fcm_')}:{uuid.uuid4().hex}{uuid.uuid4().hex}"
    ctx.redactor.add(token)
    return token


def body_of(exchange: Exchange) -> dict[str, Any]:
    body = exchange.json()
    return body if isinstance(body, dict) else {}


def read_all(ctx: CheckContext, operation_id: str, user: User) -> list[dict[str, Any]]:
    """Every item of a paginated list, page by page at the contract's largest per_page (accounts have history)."""
    items: list[dict[str, Any]] = []
    for page in range(1, 1000):
        exchange = ctx.call(operation_id, user=user, params={"page": page, "per_page": ctx.limits.per_page_max})
        body = body_of(exchange)
        if exchange.status != 200 or not isinstance(body.get("items"), list):
            raise UndecidedRequirement(f"cannot read every page of {operation_id}: {ctx.actual(exchange)}")
        items.extend(item for item in body["items"] if isinstance(item, dict))
        if len(body["items"]) < ctx.limits.per_page_max:
            break
    return items


def total_pages(total: int, per_page: int) -> int:
    return math.ceil(total / per_page)


def profile_email(ctx: CheckContext, user: User) -> str:
    exchange = ctx.call("getMyProfile", user=user)
    email = body_of(exchange).get("email")
    if exchange.status != 200 or not isinstance(email, str) or not email:
        raise UndecidedRequirement(f"cannot read the primary email to start from: {ctx.actual(exchange)}")
    return email
