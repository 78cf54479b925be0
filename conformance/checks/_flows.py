"""Small multi-step flows several checks share: add a contact, complete a data export."""

from __future__ import annotations

import time
from typing import Any

import phonenumbers

from conformance.context import CheckContext
from conformance.failures import UndecidedRequirement
from conformance.users import User

MISSING_ID = 8_999_999_999_999_999  # a valid int64 id no server has handed out


def unique_phone(ctx: CheckContext) -> tuple[str, str]:
    """A valid Finnish mobile number (national form) that no earlier run is likely to have used."""
    while True:
        national = f"040{ctx.rng.randrange(1_000_000, 9_999_999)}"
        if phonenumbers.is_valid_number_for_region(phonenumbers.parse(national, "FI"), "FI"):
            return national, "FI"


def add_email(ctx: CheckContext, user: User) -> dict[str, Any]:
    exchange = ctx.call("addUserEmail", user=user, json_body={"email": ctx.unique_email()})
    if exchange.status != 201 or not isinstance(exchange.json(), dict):
        raise UndecidedRequirement(f"could not add an email to start from: {ctx.actual(exchange)}")
    body: dict[str, Any] = exchange.json()
    return body


def add_phone(ctx: CheckContext, user: User) -> dict[str, Any]:
    number, region = unique_phone(ctx)
    exchange = ctx.call("addUserPhone", user=user, json_body={"phone_number": number, "country_code": region})
    if exchange.status != 201 or not isinstance(exchange.json(), dict):
        raise UndecidedRequirement(f"could not add a phone number to start from: {ctx.actual(exchange)}")
    body: dict[str, Any] = exchange.json()
    return body


def add_favourite(ctx: CheckContext, user: User) -> int:
    """Favourite a fresh product id; any 2xx will do (a wrong 2xx is SCHEMA-STATUS-DOCUMENTED's to report)."""
    product = ctx.rng.randrange(10**9, 10**12)
    exchange = ctx.call("addFavouriteProduct", user=user, json_body={"product_id": product})
    if not 200 <= exchange.status < 300:
        raise UndecidedRequirement(f"could not add a favourite to start from: {ctx.actual(exchange)}")
    return product


def primary_email(ctx: CheckContext, user: User) -> str:
    exchange = ctx.call("getMyProfile", user=user)
    body = exchange.json()
    if exchange.status != 200 or not isinstance(body, dict) or not isinstance(body.get("email"), str):
        raise UndecidedRequirement(f"could not read the profile's primary email: {ctx.actual(exchange)}")
    return str(body["email"])


def ready_export(ctx: CheckContext, user: User, *, polls: int = 40, interval_s: float = 0.25) -> str:
    """Request, confirm (OTP from the inbox) and wait for a data export; returns its filename."""
    address = primary_email(ctx, user)
    requested = ctx.call("requestDataExport", user=user, json_body={})
    if requested.status != 202:
        raise UndecidedRequirement(f"could not request a data export: {ctx.actual(requested)}")
    otp = ctx.code(channel="email", address=address, purpose="data_export")
    confirmed = ctx.call("confirmDataExport", user=user, json_body={"otp": otp})
    if confirmed.status != 202:
        raise UndecidedRequirement(f"could not confirm the data export: {ctx.actual(confirmed)}")
    request_id = (confirmed.json() or {}).get("request_id")
    for _ in range(polls):
        status = ctx.call("getGdprStatus", user=user)
        for export in (status.json() or {}).get("recent_exports", []) if status.status == 200 else []:
            if export.get("request_id") == request_id and export.get("status") == "ready" and export.get("filename"):
                return str(export["filename"])
        time.sleep(interval_s)
    raise UndecidedRequirement(f"the data export was not ready after {polls * interval_s:.0f} s")
