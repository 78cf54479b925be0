"""Permanent account deletion with password (DELETE-ACCOUNT-PASSWORD) and the GDPR status view."""

from __future__ import annotations

from argon2.exceptions import InvalidHashError, VerificationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .auth import Authenticator
from .clock import format_timestamp
from .deletion import open_deletion, render_deletion
from .errors import ApiError
from .exports import recent_exports
from .state import ServerState
from .users import purge_user
from .validation import Fields
from .web import endpoint, json_response, read_json_object

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
        if not self._password_matches(str(stored["password_hash"]), password):
            raise ApiError(403, "invalid_password", "The password is wrong.")
        now = self._state.clock.now()
        revoke = not self._state.faults.active("token_survives_deletion")
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
        if self._state.faults.active("wrong_password_deletes"):
            return True
        try:
            return self._state.hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    async def gdpr_status(self, request: Request) -> Response:
        user_id = self._auth.require_user(request)
        now = self._state.clock.now()
        with self._state.db.transaction() as conn:
            deletion = open_deletion(conn, user_id)
            body = {
                "pending_deletion": render_deletion(deletion) if deletion is not None else None,
                "recent_exports": recent_exports(conn, user_id, now),
            }
        if self._state.faults.active("wrong_content_type"):
            return json_response(body, media_type="text/plain; charset=utf-8")
        return json_response(body)
