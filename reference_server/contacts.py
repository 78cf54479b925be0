"""Emails and phones: one generic contact resource, specialised by `ContactKind`.

Rules: VERIFY-TOKEN, EMAIL-/PHONE-PRIMARY-UNIQUE, -PRIMARY-VERIFIED, -PRIMARY-REMOVAL, OWNER-SCOPE.
"""

from __future__ import annotations

import re
import secrets
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import hooks
from .auth import Authenticator
from .clock import format_timestamp
from .errors import ApiError, FieldProblem
from .hooks import ContactCall, ContactRefusal, Lookup
from .state import ServerState, new_code, send_message
from .validation import Fields
from .web import endpoint, error_response, json_response, page_params, path_id, read_json_object

__all__ = ["EMAIL", "PHONE", "ContactKind", "ContactResource", "render_contact"]

_TOKEN = re.compile(r"[0-9]{6}")
_PHONE_INPUT = re.compile(r"\+?[0-9 ()-]{2,32}")
_COUNTRY = re.compile(r"[A-Z]{2}")
_CALLERS_OWN = Lookup()  # the caller's own, not removed: how every id is looked up unless a hook says otherwise


@dataclass(slots=True, frozen=True)
class NewContact:
    value: str
    country_code: str | None


def _parse_email(fields: Fields) -> NewContact | None:
    raw = fields.string("email", min_length=1, max_length=254)
    fields.finish()
    if not raw.isascii():
        # The contract's `format: email` is RFC 5321's ASCII address; internationalised ones (idn-email) are not in it.
        fields.problem("email", "must be an ASCII address (internationalised addresses are not supported)")
        return None
    try:
        normalised = validate_email(raw, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        fields.problem("email", str(exc))
        return None
    return NewContact(value=normalised, country_code=None)


_E164_STORED = re.compile(r"^\+[1-9][0-9]{6,14}$")  # UserPhoneNumberResponse.phone_number's pattern


def _parse_phone(fields: Fields) -> NewContact | None:
    raw = fields.string("phone_number", min_length=2, max_length=32, pattern=_PHONE_INPUT)
    country = fields.string("country_code", pattern=_COUNTRY)
    fields.finish()
    try:
        number = phonenumbers.parse(raw, country)
    except phonenumbers.NumberParseException:
        fields.problem("phone_number", "is not a phone number")
        return None
    if not phonenumbers.is_valid_number_for_region(number, country):
        fields.problem("phone_number", f"is not a valid number for country {country}")
        return None
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if not _E164_STORED.match(e164):
        # phonenumbers knows some 4-6 digit numbers; the contract's E.164 form needs 7 to 15 digits
        fields.problem("phone_number", "is too short for an E.164 number (7 to 15 digits)")
        return None
    return NewContact(value=e164, country_code=country)


@dataclass(slots=True, frozen=True)
class ContactKind:
    name: str  # stored in contacts.kind
    label: str
    collection_path: str
    id_param: str
    value_field: str  # the response/request field holding the value
    channel: str
    purpose: str
    first_becomes_primary: bool  # PHONE-PRIMARY-UNIQUE: the first phone is primary at once
    only_one_primary_removable: bool  # PHONE-PRIMARY-REMOVAL: the only phone may go
    parse: Callable[[Fields], NewContact | None]


EMAIL = ContactKind(
    name="email",
    label="Email address",
    collection_path="/user/emails",
    id_param="email_id",
    value_field="email",
    channel="email",
    purpose="email_verification",
    first_becomes_primary=False,
    only_one_primary_removable=False,
    parse=_parse_email,
)
PHONE = ContactKind(
    name="phone",
    label="Phone number",
    collection_path="/user/phones",
    id_param="phone_id",
    value_field="phone_number",
    channel="sms",
    purpose="phone_verification",
    first_becomes_primary=True,
    only_one_primary_removable=True,
    parse=_parse_phone,
)


def render_contact(kind: ContactKind, row: sqlite3.Row) -> dict[str, Any]:
    body: dict[str, Any] = {"id": row["id"], kind.value_field: row["value"]}
    if kind is PHONE:
        body["country_code"] = row["country_code"]
    body.update(
        is_verified=bool(row["is_verified"]),
        is_primary=bool(row["is_primary"]),
        verified_at=format_timestamp(row["verified_at"]) if row["verified_at"] is not None else None,
        created_at=format_timestamp(row["created_at"]),
    )
    return body


class ContactResource:
    """The six operations of one contact kind: add, list, get, verify, make-default, remove."""

    def __init__(self, state: ServerState, auth: Authenticator, kind: ContactKind) -> None:
        self._state = state
        self._auth = auth
        self._kind = kind
        self._call = ContactCall(kind.name)  # what the hooks are told about a call without a body

    def routes(self) -> list[Route]:
        base = self._kind.collection_path
        item = f"{base}/{{{self._kind.id_param}}}"
        return [
            Route(base, endpoint(self.add), methods=["POST"]),
            Route(base, endpoint(self.list), methods=["GET"]),
            Route(item, endpoint(self.get), methods=["GET"]),
            Route(f"{item}/verify", endpoint(self.verify), methods=["POST"]),
            Route(f"{item}/make-default", endpoint(self.make_default), methods=["PUT"]),
            Route(item, endpoint(self.remove), methods=["DELETE"]),
        ]

    async def add(self, request: Request) -> Response:
        user_id = self._auth.require_user(request)
        body = await read_json_object(request)
        call = ContactCall(self._kind.name, body)
        self._state.at(hooks.CONTACT_ADD_RECEIVED, None, call)
        fields = Fields(body)
        contact = self._kind.parse(fields)
        fields.finish()
        assert contact is not None  # parse reports every refusal through `fields`
        contact = replace(contact, value=self._state.at(hooks.CONTACT_ADD_VALUE, contact.value, call))
        now = self._state.clock.now()
        code = new_code()
        async with self._state.db.stepwise() as step:
            conn = step.conn
            taken = conn.execute(
                "SELECT 1 FROM contacts WHERE kind = ? AND value_key = ? AND removed_at IS NULL",
                (self._kind.name, contact.value.lower()),
            ).fetchone()
            if taken:
                refusal = ApiError(409, "already_exists", f"{self._kind.label} is already registered.")
                answer = self._state.at(hooks.CONTACT_ADD_TAKEN, refusal, call)
                if answer is not None:
                    raise answer
            spent_before = conn.execute(
                "SELECT code_attempts FROM contacts WHERE user_id = ? AND kind = ? AND value_key = ?"
                " AND removed_at IS NOT NULL ORDER BY id DESC LIMIT 1",
                (user_id, self._kind.name, contact.value.lower()),
            ).fetchone()
            spent = self._state.at(
                hooks.CONTACT_ADD_SPENT_ATTEMPTS, 0, int(spent_before["code_attempts"]) if spent_before else 0
            )
            token_ttl_s = self._state.at(
                hooks.CONTACT_ADD_TOKEN_TTL_S, self._state.limits.verification_token_ttl_s, call
            )
            has_primary = self._primary_id(conn, user_id) is not None
            is_primary = self._kind.first_becomes_primary and not has_primary
            is_verified, is_primary = self._state.at(hooks.CONTACT_ADD_FLAGS, (False, is_primary), call)
            await step.pause(self._state.at(hooks.CONTACT_ADD_RACE_WINDOW_S, 0.0, call))
            if is_primary:
                conn.execute(
                    "UPDATE contacts SET is_primary = 0 WHERE user_id = ? AND kind = ?",
                    (user_id, self._kind.name),
                )
            cursor = conn.execute(
                "INSERT INTO contacts (kind, user_id, value, value_key, country_code, is_verified,"
                " is_primary, verified_at, created_at, code, code_expires_at, code_attempts)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    self._kind.name,
                    user_id,
                    contact.value,
                    contact.value.lower(),
                    contact.country_code,
                    int(is_verified),
                    int(is_primary),
                    now if is_verified else None,
                    now,
                    code,
                    now + token_ttl_s,
                    spent,
                ),
            )
            contact_id = int(cursor.lastrowid or 0)
            send_message(
                conn,
                channel=self._kind.channel,
                address=contact.value,
                purpose=self._kind.purpose,
                code=code,
                now=now,
            )
            row = self._row(conn, contact_id)
        location = f"/v1{self._kind.collection_path}/{contact_id}"
        return json_response(render_contact(self._kind, row), 201, {"Location": location})

    async def list(self, request: Request) -> Response:
        user_id = self._auth.require_user(request)
        out_of_range = self._state.at(hooks.CONTACT_LIST_OUT_OF_RANGE_STATUS, 422, self._call)
        defaults = self._state.at(hooks.CONTACT_LIST_DEFAULTS, (1, self._state.limits.per_page_default), self._call)
        page = page_params(request, self._state.limits, out_of_range_status=out_of_range, defaults=defaults)
        deepest = self._state.at(hooks.CONTACT_LIST_MAX_OFFSET, None, self._call)
        if deepest is not None and page.offset > deepest:
            problem = FieldProblem("page", f"must not start past item {deepest} (per_page {page.size})")
            raise ApiError(422, "validation_failed", "Pagination parameters are out of range.", (problem,))
        offset, limit = self._state.at(hooks.CONTACT_LIST_WINDOW, (page.offset, page.size), self._call)
        counts_removed = self._state.at(hooks.CONTACT_LIST_COUNTS_REMOVED, False, self._call)
        order = "DESC" if self._state.at(hooks.CONTACT_LIST_NEWEST_FIRST, False, self._call) else "ASC"
        with self._state.db.transaction() as conn:
            total = int(
                conn.execute(
                    "SELECT COUNT(*) FROM contacts WHERE user_id = ? AND kind = ? AND (removed_at IS NULL OR ?)",
                    (user_id, self._kind.name, int(counts_removed)),
                ).fetchone()[0]
            )
            rows = (
                []
                if offset >= total
                else conn.execute(
                    "SELECT * FROM contacts WHERE user_id = ? AND kind = ? AND removed_at IS NULL"
                    f" ORDER BY id {order} LIMIT ? OFFSET ?",
                    (user_id, self._kind.name, limit, offset),
                ).fetchall()
            )
        return json_response(page.envelope([render_contact(self._kind, r) for r in rows], total))

    async def get(self, request: Request) -> Response:
        user_id = self._auth.require_user(request)
        contact_id = path_id(request, self._kind.id_param)
        lookup = self._state.at(hooks.CONTACT_GET_LOOKUP, _CALLERS_OWN, self._call)
        with self._state.db.transaction() as conn:
            row = self._owned(conn, user_id, contact_id, lookup)
        body = self._state.at(hooks.CONTACT_GET_BODY, render_contact(self._kind, row), self._call)
        return json_response(body)

    async def verify(self, request: Request) -> Response:
        user_id = self._auth.require_user(request)
        contact_id = path_id(request, self._kind.id_param)
        fields = Fields(await read_json_object(request))
        token = fields.string("token", pattern=_TOKEN)
        fields.finish()
        now = self._state.clock.now()
        lookup = self._state.at(hooks.CONTACT_VERIFY_LOOKUP, _CALLERS_OWN, self._call)
        async with self._state.db.stepwise() as step:
            conn = step.conn
            row = self._owned(conn, user_id, contact_id, lookup)
            if row["is_verified"] and self._state.at(hooks.CONTACT_VERIFY_REFUSES_VERIFIED, True, self._call):
                raise ApiError(409, "already_verified", f"{self._kind.label} is already verified.")
            expires_at = float(row["code_expires_at"] or 0)
            most = self._state.at(
                hooks.CONTACT_VERIFY_MAX_ATTEMPTS, self._state.limits.verification_token_max_attempts, self._call
            )
            if row["code_attempts"] >= most or row["code"] is None:
                # The token is burnt: only removing and re-adding the contact issues a new one.
                raise self._state.at(
                    hooks.CONTACT_VERIFY_BURNT, ApiError.too_many_attempts(int(expires_at - now)), self._call
                )
            if self._state.at(hooks.CONTACT_VERIFY_CHECKS_TOKEN, True, self._call):
                if now >= expires_at:
                    raise ApiError(400, "code_expired", "The verification token has expired.")
                wrong = not secrets.compare_digest(token, str(row["code"]))
            else:
                wrong = False
            await step.pause(self._state.at(hooks.CONTACT_VERIFY_RACE_WINDOW_S, 0.0, self._call))
            if wrong:
                conn.execute("UPDATE contacts SET code_attempts = code_attempts + 1 WHERE id = ?", (contact_id,))
                return _wrong_code()
            conn.execute(
                "UPDATE contacts SET is_verified = 1, verified_at = ?, code = NULL WHERE id = ?",
                (now, contact_id),
            )
            row = self._row(conn, contact_id)
        return json_response(render_contact(self._kind, row))

    async def make_default(self, request: Request) -> Response:
        user_id = self._auth.require_user(request)
        contact_id = path_id(request, self._kind.id_param)
        lookup = self._state.at(hooks.CONTACT_MAKE_DEFAULT_LOOKUP, _CALLERS_OWN, self._call)
        async with self._state.db.stepwise() as step:
            conn = step.conn
            row = self._owned(conn, user_id, contact_id, lookup)
            requires_verified = self._state.at(hooks.CONTACT_MAKE_DEFAULT_REQUIRES_VERIFIED, True, self._call)
            if not row["is_verified"] and requires_verified:
                refusal = ApiError(409, "not_verified", f"Verify the {self._kind.name} before making it primary.")
                raise self._state.at(hooks.CONTACT_MAKE_DEFAULT_NOT_VERIFIED, refusal, self._call)
            primaries = conn.execute(
                "SELECT id FROM contacts WHERE user_id = ? AND kind = ? AND is_primary = 1", (user_id, self._kind.name)
            ).fetchall()
            await step.pause(self._state.at(hooks.CONTACT_MAKE_DEFAULT_RACE_WINDOW_S, 0.0, self._call))
            if self._state.at(hooks.CONTACT_MAKE_DEFAULT_CLEARS_OLD_PRIMARY, True, self._call):
                # The primaries read above: in one transaction, every primary of the user's kind.
                conn.executemany("UPDATE contacts SET is_primary = 0 WHERE id = ?", [(r["id"],) for r in primaries])
            conn.execute("UPDATE contacts SET is_primary = 1 WHERE id = ?", (contact_id,))
            row = self._row(conn, contact_id)
        return json_response(render_contact(self._kind, row))

    async def remove(self, request: Request) -> Response:
        user_id = self._auth.require_user(request)
        contact_id = path_id(request, self._kind.id_param)
        lookup = self._state.at(hooks.CONTACT_REMOVE_LOOKUP, _CALLERS_OWN, self._call)
        async with self._state.db.stepwise() as step:
            conn = step.conn
            row = self._owned(conn, user_id, contact_id, lookup)
            if row["is_primary"] and not self._state.at(
                hooks.CONTACT_REMOVE_PRIMARY_MAY_GO, self._primary_may_go(conn, row), self._call
            ):
                raise ApiError(
                    409,
                    "primary_removal",
                    f"Make another {self._kind.name} primary before removing this one.",
                )
            await step.pause(self._state.at(hooks.CONTACT_REMOVE_RACE_WINDOW_S, 0.0, self._call))
            if self._state.at(hooks.CONTACT_REMOVE_MARKS_REMOVED, True, self._call):
                conn.execute(
                    "UPDATE contacts SET removed_at = ?, is_primary = 0 WHERE id = ?",
                    (self._state.clock.now(), contact_id),
                )
        return json_response({"message": f"{self._kind.label} removed."})

    def _primary_may_go(self, conn: sqlite3.Connection, row: sqlite3.Row) -> bool:
        """Whether this contact, if primary, may be removed (EMAIL-/PHONE-PRIMARY-REMOVAL)."""
        if self._kind.only_one_primary_removable:
            others = conn.execute(
                "SELECT 1 FROM contacts WHERE user_id = ? AND kind = ? AND removed_at IS NULL AND id != ?",
                (row["user_id"], self._kind.name, row["id"]),
            ).fetchone()
            return others is None
        return False

    def _primary_id(self, conn: sqlite3.Connection, user_id: int) -> int | None:
        row = conn.execute(
            "SELECT id FROM contacts WHERE user_id = ? AND kind = ? AND is_primary = 1 AND removed_at IS NULL LIMIT 1",
            (user_id, self._kind.name),
        ).fetchone()
        return None if row is None else int(row["id"])

    def _row(self, conn: sqlite3.Connection, contact_id: int) -> sqlite3.Row:
        row: sqlite3.Row = conn.execute("SELECT * FROM contacts WHERE id = ?", (contact_id,)).fetchone()
        return row

    def _owned(
        self,
        conn: sqlite3.Connection,
        user_id: int,
        contact_id: int,
        lookup: Lookup = _CALLERS_OWN,
    ) -> sqlite3.Row:
        """The caller's contact; another user's id is answered exactly like a missing one."""
        row = conn.execute("SELECT * FROM contacts WHERE id = ? AND kind = ?", (contact_id, self._kind.name)).fetchone()
        if row is None:
            why = ContactRefusal(self._kind.name, "missing")
        else:
            flags = {"is_verified": bool(row["is_verified"]), "is_primary": bool(row["is_primary"])}
            if row["user_id"] != user_id and not lookup.any_owner:
                why = ContactRefusal(self._kind.name, "foreign", **flags)
            elif row["removed_at"] is not None and not lookup.include_removed:
                why = ContactRefusal(self._kind.name, "removed", **flags)
            else:
                return row  # type: ignore[no-any-return]
        refusal = self._state.at(hooks.CONTACT_OWNED_REFUSAL, ApiError.not_found(self._kind.label), why)
        if refusal is not None or row is None:
            raise refusal or ApiError.not_found(self._kind.label)
        return row  # type: ignore[no-any-return]


def _wrong_code() -> Response:
    # Returned, not raised, so the transaction commits the counted attempt.
    return error_response(ApiError(400, "invalid_code", "The verification token is wrong."))
