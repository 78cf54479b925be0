"""Permanent account deletion with password (DELETE-ACCOUNT-PASSWORD) and the GDPR status view."""

from __future__ import annotations

from argon2.exceptions import InvalidHashError, VerificationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import hooks
from .auth import Authenticator
from .clock import format_timestamp
from .deletion import open_deletion, render_deletion
from .errors import ApiError
from .exports import recent_exports
from .otp import PENDING
from .state import ServerState
from .users import purge_user
from .validation import Fields
from .web import JSON_MEDIA_TYPE, endpoint, json_response, read_json_object

__all__ = ["Account"]


class Account:
    def __init__(self, state: ServerState, auth: Authenticator) -> None:
        self._state = state
        self._auth = auth

    def routes(self) -> list[Route]:
        return [
            Route("/account/delete", endpoint(self.delete), methods=["POST"]),
            Route("/user/gdpr-status", endpoint(self.gdpr_status), methods=["GET"]),
        ]

    async def delete(self, request: Request) -> Response:
        user_id = self._auth.require_user(request)
        fields = Fields(await read_json_object(request))
        password = fields.string("password", min_length=1, max_length=1024)
        fields.finish()
        with self._state.db.transaction() as conn:
            stored = conn.execute("SELECT password_hash FROM users WHERE id = ?", (user_id,)).fetchone()
        matches = self._password_matches(str(stored["password_hash"]), password)
        if not self._state.at(hooks.ACCOUNT_DELETE_PASSWORD_MATCHES, matches):
            raise ApiError(403, "invalid_password", "The password is wrong.")
        now = self._state.clock.now()
        revoke = self._state.at(hooks.ACCOUNT_DELETE_REVOKES_TOKENS, True)
        with self._state.db.transaction() as conn:
            purge_user(conn, user_id, now=now, revoke_tokens=revoke, export_dir=self._state.export_dir)
        return json_response(
            {
                "deleted": True,
                "deleted_at": format_timestamp(now),
                "message": "The account and all its data were deleted.",
            }
        )

    def _password_matches(self, password_hash: str, password: str) -> bool:
        try:
            return self._state.hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    async def gdpr_status(self, request: Request) -> Response:
        user_id = self._auth.require_user(request)
        now = self._state.clock.now()
        limits = self._state.limits
        with self._state.db.transaction() as conn:
            deletion = open_deletion(conn, user_id)
            if deletion is not None and deletion["status"] == PENDING:
                deletion = deletion if self._state.at(hooks.ACCOUNT_GDPR_STATUS_SHOWS_UNCONFIRMED, True) else None
            body = {
                "pending_deletion": (
                    render_deletion(deletion, grace_period_days=limits.deletion_grace_period_days)
                    if deletion is not None
                    else None
                ),
                "recent_exports": recent_exports(conn, user_id, now, limit=limits.gdpr_recent_exports_max),
            }
        return json_response(body, media_type=self._state.at(hooks.ACCOUNT_GDPR_STATUS_MEDIA_TYPE, JSON_MEDIA_TYPE))
