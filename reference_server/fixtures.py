"""Fixtures: a known set of users loaded in one step (`POST /_test/fixtures`, `serve --fixture FILE`).

The shape is the `Fixture` schema of spec/test-support.yaml (spec/examples/fixture.json is
one). Contacts are written as the product API takes them (`email`; `phone_number` with
`country_code`) and normalised the same way. A fixture is loaded whole or not at all: every
shape problem is reported in one 422, every clash with data already on the server in one 409.
"""

from __future__ import annotations

import json
import re
import secrets
import sqlite3
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .contacts import EMAIL, PHONE, ContactKind
from .errors import ApiError, FieldProblem
from .exports import export_document
from .state import ServerState, new_code, send_message
from .users import hash_token, insert_user, new_secret
from .validation import Fields
from .web import INT64_MAX

__all__ = [
    "ContactFixture",
    "ExportFixture",
    "FcmFixture",
    "Fixture",
    "FixtureError",
    "LoadedUser",
    "UserFixture",
    "load_fixture",
    "parse_fixture",
    "read_fixture_file",
]

MAX_USERS = 1000
MAX_ITEMS = 100  # per list of one user
_KEY = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_BEARER = re.compile(r"[A-Za-z0-9._~+/-]+=*")  # RFC 6750 b64token
_FCM_TOKEN = re.compile(r"[A-Za-z0-9_:\-]+")  # as fcm.py accepts them
_PLATFORMS = ("ios", "android", "web")
_USER_KEYS = ("key", "token", "password", "emails", "phones", "favourites", "fcm_tokens", "exports")


@dataclass(slots=True, frozen=True)
class ContactFixture:
    value: str  # normalised, as the server stores it
    country_code: str | None
    verified: bool
    primary: bool


@dataclass(slots=True, frozen=True)
class FcmFixture:
    token: str
    platform: str


@dataclass(slots=True, frozen=True)
class ExportFixture:
    requested_ago_s: int  # by the server clock; older than export_file_ttl_s: the file has expired


@dataclass(slots=True, frozen=True)
class UserFixture:
    key: str | None
    token: str | None  # None: generated
    password: str | None  # None: generated
    emails: tuple[ContactFixture, ...]
    phones: tuple[ContactFixture, ...]
    favourites: tuple[int, ...]
    fcm_tokens: tuple[FcmFixture, ...]
    exports: tuple[ExportFixture, ...]


@dataclass(slots=True, frozen=True)
class Fixture:
    users: tuple[UserFixture, ...]


@dataclass(slots=True, frozen=True)
class LoadedUser:
    key: str | None
    user_id: int
    token: str
    password: str
    email: str | None  # the primary email, if any
    exports: tuple[str, ...]  # the export filenames, in the fixture's order

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "user_id": self.user_id,
            "token": self.token,
            "password": self.password,
            "email": self.email,
            "exports": list(self.exports),
        }


class FixtureError(ValueError):
    """A fixture file that cannot be loaded; the message is one line, without secrets."""


# -- parsing ------------------------------------------------------------------------------


class _Reader:
    """Collects every problem of the document, so one 422 lists them all."""

    def __init__(self) -> None:
        self.problems: list[FieldProblem] = []

    def object(self, value: Any, where: str, allowed: Sequence[str]) -> Mapping[str, Any] | None:
        if not isinstance(value, dict):
            self.problems.append(FieldProblem(where or "fixture", "must be an object"))
            return None
        for name in value:
            if name not in allowed:
                # Unlike the product API, a fixture's unknown key is most likely a typo: refuse it.
                self.problems.append(FieldProblem(f"{where}{name}", "is not a fixture field"))
        return value

    def array(self, body: Mapping[str, Any], name: str, where: str, *, max_items: int) -> list[Any]:
        value = body.get(name, [])
        if not isinstance(value, list):
            self.problems.append(FieldProblem(where + name, "must be an array"))
            return []
        if len(value) > max_items:
            self.problems.append(FieldProblem(where + name, f"must have at most {max_items} items"))
            return []
        return value

    def boolean(self, body: Mapping[str, Any], name: str, where: str, default: bool | None) -> bool | None:
        value = body.get(name, default)
        if value is not None and not isinstance(value, bool):
            self.problems.append(FieldProblem(where + name, "must be a boolean"))
            return default
        return value

    def fields(self, fields: Fields) -> bool:
        """Take the problems `fields` found; True when there were none."""
        try:
            fields.finish()
        except ApiError as error:
            self.problems.extend(error.details)
            return False
        return True

    def contact(self, kind: ContactKind, value: Any, where: str) -> tuple[ContactFixture, bool | None] | None:
        value_keys = (kind.value_field, "country_code") if kind is PHONE else (kind.value_field,)
        body = self.object(value, where, (*value_keys, "verified", "primary"))
        if body is None:
            return None
        verified = self.boolean(body, "verified", where, True)
        primary = self.boolean(body, "primary", where, None)
        fields = Fields(body, where)
        try:
            parsed = kind.parse(fields)  # the product API's own parsing and normalisation
        except ApiError as error:
            self.problems.extend(error.details)
            return None
        if not self.fields(fields) or parsed is None:
            return None
        return ContactFixture(parsed.value, parsed.country_code, bool(verified), False), primary

    def contacts(self, kind: ContactKind, body: Mapping[str, Any], name: str, where: str) -> tuple[ContactFixture, ...]:
        read = [
            self.contact(kind, item, f"{where}{name}[{index}].")
            for index, item in enumerate(self.array(body, name, where, max_items=MAX_ITEMS))
        ]
        entries = [entry for entry in read if entry is not None]
        marked = [index for index, (_, primary) in enumerate(entries) if primary]
        if len(marked) > 1:
            self.problems.append(FieldProblem(where + name, f"has {len(marked)} primaries; at most one may be"))
        # Without `primary: true` the first entry not marked `primary: false` is primary: every user
        # has a primary email from sign-up, and the first phone added becomes primary.
        unmarked = [index for index, (_, primary) in enumerate(entries) if primary is None]
        chosen = marked[0] if marked else (unmarked[0] if unmarked else None)
        return tuple(
            ContactFixture(c.value, c.country_code, c.verified, index == chosen) for index, (c, _) in enumerate(entries)
        )

    def user(self, value: Any, where: str) -> UserFixture | None:
        body = self.object(value, where, _USER_KEYS)
        if body is None:
            return None
        fields = Fields(body, where)
        key = fields.string("key", pattern=_KEY, required=False) or None
        token = fields.string("token", min_length=1, max_length=512, pattern=_BEARER, required=False) or None
        password = fields.string("password", min_length=1, max_length=128, required=False) or None
        self.fields(fields)
        favourites: list[int] = []
        for index, item in enumerate(self.array(body, "favourites", where, max_items=MAX_ITEMS)):
            if isinstance(item, bool) or not isinstance(item, int) or not 1 <= item <= INT64_MAX:
                self.problems.append(FieldProblem(f"{where}favourites[{index}]", "must be a product id (int64 >= 1)"))
            elif item in favourites:
                self.problems.append(FieldProblem(f"{where}favourites[{index}]", "is given twice"))
            else:
                favourites.append(item)
        devices = []
        for index, item in enumerate(self.array(body, "fcm_tokens", where, max_items=MAX_ITEMS)):
            device = self.object(item, f"{where}fcm_tokens[{index}].", ("token", "platform"))
            if device is None:
                continue
            fields = Fields(device, f"{where}fcm_tokens[{index}].")
            fcm = fields.string("token", min_length=1, max_length=4096, pattern=_FCM_TOKEN)
            platform = fields.string("platform", choices=_PLATFORMS)
            if self.fields(fields):
                devices.append(FcmFixture(fcm, platform))
        exports = []
        for index, item in enumerate(self.array(body, "exports", where, max_items=MAX_ITEMS)):
            export = self.object(item, f"{where}exports[{index}].", ("requested_ago_s",))
            if export is None:
                continue
            fields = Fields({"requested_ago_s": 3600, **export}, f"{where}exports[{index}].")
            ago = fields.integer("requested_ago_s", minimum=0, maximum=100 * 365 * 86400)
            if self.fields(fields):
                exports.append(ExportFixture(ago))
        return UserFixture(
            key=key,
            token=token,
            password=password,
            emails=self.contacts(EMAIL, body, "emails", where),
            phones=self.contacts(PHONE, body, "phones", where),
            favourites=tuple(favourites),
            fcm_tokens=tuple(devices),
            exports=tuple(exports),
        )

    def unique(self, users: Sequence[UserFixture]) -> None:
        """What must be unique on the server must be unique in the fixture too."""
        seen: dict[tuple[str, str], str] = {}

        def once(kind: str, value: str, where: str) -> None:
            first = seen.setdefault((kind, value), where)
            if first != where:
                self.problems.append(FieldProblem(where, f"is the same {kind} as {first}"))

        for index, user in enumerate(users):
            where = f"users[{index}]."
            if user.key is not None:
                once("key", user.key, where + "key")
            if user.token is not None:
                once("token", user.token, where + "token")
            for n, email in enumerate(user.emails):
                once("email", email.value.lower(), f"{where}emails[{n}]")
            for n, phone in enumerate(user.phones):
                once("phone", phone.value, f"{where}phones[{n}]")
            for n, device in enumerate(user.fcm_tokens):
                once("FCM token", device.token, f"{where}fcm_tokens[{n}]")


def parse_fixture(document: Any) -> Fixture:
    """The fixture in `document` (parsed JSON); raises `ApiError` 422 listing every problem."""
    reader = _Reader()
    body = reader.object(document, "", ("users",))
    users: list[UserFixture] = []
    if body is not None:
        if "users" not in body:
            reader.problems.append(FieldProblem("users", "is required"))
        for index, item in enumerate(reader.array(body, "users", "", max_items=MAX_USERS)):
            user = reader.user(item, f"users[{index}].")
            if user is not None:
                users.append(user)
        reader.unique(users)
    if reader.problems:
        raise ApiError(422, "validation_failed", "The fixture breaks its schema.", tuple(reader.problems))
    return Fixture(tuple(users))


def one_line(error: ApiError) -> str:
    """An ApiError as one line: its first detail, and how many more there are."""
    if not error.details:
        return error.message
    first = error.details[0]
    more = f" (and {len(error.details) - 1} more problems)" if len(error.details) > 1 else ""
    return f"{first.field}: {first.message}{more}"


def read_fixture_file(path: str | Path) -> Fixture:
    """The fixture in a JSON file; raises `FixtureError` with a one-line reason."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise FixtureError(f"cannot read {path}: {reason}") from None
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise FixtureError(f"{path} is not JSON: {exc}") from None
    try:
        return parse_fixture(document)
    except ApiError as error:
        raise FixtureError(f"{path}: {one_line(error)}") from None


# -- loading ------------------------------------------------------------------------------


def load_fixture(state: ServerState, fixture: Fixture) -> tuple[LoadedUser, ...]:
    """Create the fixture's users in one transaction; raises `ApiError` 409 when it clashes with stored data."""
    credentials = [
        (user.password or new_secret(18), user.token or new_secret(32)) for user in fixture.users
    ]  # generated ones never start with '-' (see users.new_secret)
    hashes = [state.hasher.hash(password) for password, _ in credentials]  # slow on purpose: before the lock
    written: list[Path] = []
    try:
        with state.db.transaction() as conn:
            _refuse_clashes(conn, fixture)
            now = state.clock.now()
            loaded = []
            for user, (password, token), password_hash in zip(fixture.users, credentials, hashes, strict=True):
                user_id = insert_user(conn, password_hash=password_hash, token=token, now=now)
                _insert_contacts(conn, state, user_id, EMAIL, user.emails, now)
                _insert_contacts(conn, state, user_id, PHONE, user.phones, now)
                for product_id in user.favourites:
                    conn.execute(
                        "INSERT INTO favourites (user_id, product_id, created_at) VALUES (?, ?, ?)",
                        (user_id, product_id, now),
                    )
                for device in user.fcm_tokens:
                    conn.execute(
                        "INSERT INTO fcm_tokens (token, user_id, platform, registered_at) VALUES (?, ?, ?, ?)",
                        (device.token, user_id, device.platform, now),
                    )
                filenames = tuple(_insert_export(conn, state, user_id, export, now, written) for export in user.exports)
                primary = next((email.value for email in user.emails if email.primary), None)
                loaded.append(LoadedUser(user.key, user_id, token, password, primary, filenames))
    except BaseException:
        for path in written:  # the rows were rolled back; their files go too
            path.unlink(missing_ok=True)
        raise
    return tuple(loaded)


def _refuse_clashes(conn: sqlite3.Connection, fixture: Fixture) -> None:
    clashes: list[FieldProblem] = []
    for index, user in enumerate(fixture.users):
        where = f"users[{index}]."
        for kind, contacts in ((EMAIL, user.emails), (PHONE, user.phones)):
            for n, contact in enumerate(contacts):
                taken = conn.execute(
                    "SELECT 1 FROM contacts WHERE kind = ? AND value_key = ? AND removed_at IS NULL",
                    (kind.name, contact.value.lower()),
                ).fetchone()
                if taken:
                    clashes.append(FieldProblem(f"{where}{kind.name}s[{n}]", f"{kind.label} is already registered"))
        token_hash = None if user.token is None else hash_token(user.token)
        if token_hash and conn.execute("SELECT 1 FROM tokens WHERE token_hash = ?", (token_hash,)).fetchone():
            clashes.append(FieldProblem(where + "token", "is already a user's token"))
        for n, device in enumerate(user.fcm_tokens):
            if conn.execute("SELECT 1 FROM fcm_tokens WHERE token = ?", (device.token,)).fetchone():
                clashes.append(FieldProblem(f"{where}fcm_tokens[{n}]", "is already registered"))
    if clashes:
        raise ApiError(409, "already_exists", "The fixture clashes with data already on the server.", tuple(clashes))


def _insert_contacts(
    conn: sqlite3.Connection,
    state: ServerState,
    user_id: int,
    kind: ContactKind,
    contacts: Sequence[ContactFixture],
    now: float,
) -> None:
    for contact in contacts:
        # An unverified address awaits its token, sent to the outbox as when it is added.
        code = None if contact.verified else new_code()
        conn.execute(
            "INSERT INTO contacts (kind, user_id, value, value_key, country_code, is_verified, is_primary,"
            " verified_at, created_at, code, code_expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                kind.name,
                user_id,
                contact.value,
                contact.value.lower(),
                contact.country_code,
                int(contact.verified),
                int(contact.primary),
                now if contact.verified else None,
                now,
                code,
                None if code is None else now + state.limits.verification_token_ttl_s,
            ),
        )
        if code is not None:
            send_message(conn, channel=kind.channel, address=contact.value, purpose=kind.purpose, code=code, now=now)


def _insert_export(
    conn: sqlite3.Connection, state: ServerState, user_id: int, export: ExportFixture, now: float, written: list[Path]
) -> str:
    """A finished export, requested `requested_ago_s` ago and generated then; its file is written."""
    requested_at = now - export.requested_ago_s
    filename = f"kesk-export-{secrets.token_urlsafe(32)}.json"
    document = export_document(conn, user_id, requested_at)
    state.export_dir.mkdir(parents=True, exist_ok=True)
    path = state.export_dir / filename
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")  # as exports.ExportWorker writes it
    written.append(path)
    conn.execute(
        "INSERT INTO gdpr_requests (id, kind, user_id, status, otp, otp_expires_at, otp_used, requested_at,"
        " filename, file_expires_at) VALUES (?, 'export', ?, 'ready', ?, ?, 1, ?, ?, ?)",
        (
            str(uuid.uuid4()),
            user_id,
            new_code(),
            requested_at + state.limits.otp_ttl_s,
            requested_at,
            filename,
            requested_at + state.limits.export_file_ttl_s,
        ),
    )
    return filename
