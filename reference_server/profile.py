"""The caller's profile and its validation, both derived from live state."""

from __future__ import annotations

import sqlite3
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import hooks
from .auth import Authenticator
from .clock import format_timestamp
from .identity import identity_status
from .state import ServerState
from .web import endpoint, json_response

__all__ = ["Profile", "profile_body"]


def _primary(conn: sqlite3.Connection, user_id: int, kind: str) -> sqlite3.Row | None:
    row: sqlite3.Row | None = conn.execute(
        "SELECT * FROM contacts WHERE user_id = ? AND kind = ? AND is_primary = 1 AND removed_at IS NULL"
        " ORDER BY id LIMIT 1",
        (user_id, kind),
    ).fetchone()
    return row


def profile_body(
    conn: sqlite3.Connection, user_id: int, *, stale_primary_email: bool = False, latest_phone: bool = False
) -> dict[str, Any]:
    """MyProfileResponse."""
    user = conn.execute("SELECT * FROM users WHERE id = ?", (user_id,)).fetchone()
    email = _primary(conn, user_id, "email")
    if stale_primary_email:
        email = conn.execute(
            "SELECT * FROM contacts WHERE user_id = ? AND kind = 'email' AND removed_at IS NULL ORDER BY id LIMIT 1",
            (user_id,),
        ).fetchone()
    phone = _primary(conn, user_id, "phone")
    if latest_phone:
        phone = conn.execute(
            "SELECT * FROM contacts WHERE user_id = ? AND kind = 'phone' AND removed_at IS NULL"
            " ORDER BY id DESC LIMIT 1",
            (user_id,),
        ).fetchone()
    return {
        "id": user_id,
        "display_name": None,
        "first_name": None,
        "last_name": None,
        "email": email["value"] if email else "",
        "email_verified": bool(email and email["is_verified"]),
        "phone": phone["value"] if phone else None,
        "phone_verified": bool(phone and phone["is_verified"]),
        "identity_verified": identity_status(conn, user_id)["is_verified"],
        "avatar_url": None,
        "created_at": format_timestamp(user["created_at"]),
    }


def validation_body(conn: sqlite3.Connection, user_id: int, *, requires_identity: bool = True) -> dict[str, Any]:
    """ProfileValidationResponse: `missing` lists what stands between the user and a complete profile."""
    email = _primary(conn, user_id, "email")
    phone = _primary(conn, user_id, "phone")
    email_verified = bool(email and email["is_verified"])
    phone_verified = bool(phone and phone["is_verified"])
    identity_verified = bool(identity_status(conn, user_id)["is_verified"])
    missing = [
        name
        for name, done in (
            ("email_verification", email_verified),
            ("primary_phone", phone is not None),
            ("phone_verification", phone_verified),
            ("identity_verification", identity_verified or not requires_identity),
        )
        if not done
    ]
    return {
        "is_complete": not missing,
        "email_verified": email_verified,
        "phone_verified": phone_verified,
        "identity_verified": identity_verified,
        "has_primary_email": email is not None,
        "has_primary_phone": phone is not None,
        "missing": missing,
    }


class Profile:
    def __init__(self, state: ServerState, auth: Authenticator) -> None:
        self._state = state
        self._auth = auth

    def routes(self) -> list[Route]:
        return [
            Route("/users/me", endpoint(self.me), methods=["GET"]),
            Route("/user/profile-validation", endpoint(self.validation), methods=["GET"]),
        ]

    async def me(self, request: Request) -> Response:
        user_id = self._auth.require_user(request)
        stale = self._state.at(hooks.PROFILE_ME_STALE_PRIMARY_EMAIL, False)
        latest_phone = self._state.at(hooks.PROFILE_ME_LATEST_PHONE, False)
        with self._state.db.transaction() as conn:
            body = profile_body(conn, user_id, stale_primary_email=stale, latest_phone=latest_phone)
        return json_response(self._state.at(hooks.PROFILE_ME_BODY, body))

    async def validation(self, request: Request) -> Response:
        anonymous_ok = self._state.at(hooks.PROFILE_VALIDATION_ANONYMOUS_IS_FIRST_USER, False)
        user_id = self._auth.require_user(request, anonymous_is_first_user=anonymous_ok)
        requires_identity = self._state.at(hooks.PROFILE_VALIDATION_REQUIRES_IDENTITY, True)
        with self._state.db.transaction() as conn:
            return json_response(validation_body(conn, user_id, requires_identity=requires_identity))
