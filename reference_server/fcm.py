"""Firebase Cloud Messaging device tokens (FCM-IDEMPOTENT)."""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import hooks
from .auth import Authenticator
from .errors import ApiError
from .hooks import Lookup
from .state import ServerState
from .validation import Fields
from .web import endpoint, json_response, read_json_object

__all__ = ["FcmTokens"]

_FCM_TOKEN = re.compile(r"[A-Za-z0-9_:\-]+")
_FCM_TOKEN_MAX = 4096
_PLATFORMS = ("ios", "android", "web")


class FcmTokens:
    def __init__(self, state: ServerState, auth: Authenticator) -> None:
        self._state = state
        self._auth = auth

    def routes(self) -> list[Route]:
        return [
            Route("/account/fcm-tokens", endpoint(self.register), methods=["POST"]),
            Route("/account/fcm-tokens/{fcm_token}", endpoint(self.unregister), methods=["DELETE"]),
        ]

    async def register(self, request: Request) -> Response:
        refused: ApiError | None = None
        try:
            user_id = self._auth.require_user(request)
        except ApiError as refusal:
            refreshes = _unknown_bearer(request, refusal) and self._state.at(
                hooks.FCM_REGISTER_UNKNOWN_BEARER_REFRESHES, False
            )
            if not refreshes:
                raise
            refused, user_id = refusal, 0
        platforms = self._state.at(hooks.FCM_REGISTER_PLATFORMS, _PLATFORMS)
        try:
            fields = Fields(await read_json_object(request))
            token = fields.string("fcm_token", min_length=1, max_length=_FCM_TOKEN_MAX, pattern=_FCM_TOKEN)
            platform = fields.string("platform", choices=platforms)
            fields.finish()
        except ApiError:
            if refused is not None:
                raise refused from None
            raise
        token = self._state.at(hooks.FCM_REGISTER_TOKEN, token, _FCM_TOKEN_MAX)
        async with self._state.db.stepwise() as step:
            conn = step.conn
            if refused is not None:
                # A caller without a valid token refreshing a token already on file, as its owner (never conformant).
                owner = conn.execute("SELECT user_id FROM fcm_tokens WHERE token = ?", (token,)).fetchone()
                if owner is None:
                    raise refused
                user_id = int(owner["user_id"])
            known = conn.execute("SELECT 1 FROM fcm_tokens WHERE token = ?", (token,)).fetchone() is not None
            # Re-registering updates the platform; a token held by another user moves here.
            updates_platform = self._state.at(hooks.FCM_REGISTER_UPDATES_PLATFORM, True)
            moves_owner = self._state.at(hooks.FCM_REGISTER_MOVES_OWNER, True)
            await step.pause(self._state.at(hooks.FCM_REGISTER_RACE_WINDOW_S, 0.0))
            now = self._state.clock.now()
            if known:  # as looked up above: in one transaction, still true
                conn.execute(
                    "UPDATE fcm_tokens SET user_id = CASE WHEN ? THEN ? ELSE user_id END,"
                    " platform = CASE WHEN ? THEN ? ELSE platform END, registered_at = ? WHERE token = ?",
                    (int(moves_owner), user_id, int(updates_platform), platform, now, token),
                )
            else:
                conn.execute(
                    "INSERT INTO fcm_tokens (token, user_id, platform, registered_at) VALUES (?, ?, ?, ?)",
                    (token, user_id, platform, now),
                )
        status = self._state.at(hooks.FCM_REGISTER_STATUS, 200, not known)
        return json_response({"success": True, "message": "FCM token registered."}, status)

    async def unregister(self, request: Request) -> Response:
        user_id = self._auth.require_user(request)
        token = str(request.path_params["fcm_token"])
        lookup = self._state.at(hooks.FCM_UNREGISTER_LOOKUP, Lookup())
        with self._state.db.transaction() as conn:
            cursor = conn.execute(
                "DELETE FROM fcm_tokens WHERE token = ? AND (user_id = ? OR ?)", (token, user_id, lookup.any_owner)
            )
        if cursor.rowcount == 0 and self._state.at(hooks.FCM_UNREGISTER_REFUSES_UNKNOWN, True):
            raise ApiError.not_found("FCM token")
        return json_response({"success": True, "message": "FCM token unregistered."})


def _unknown_bearer(request: Request, refusal: ApiError) -> bool:
    """A 401 for a request that did present a bearer token (one the server does not know)."""
    scheme = request.headers.get("authorization", "").strip().partition(" ")[0]
    return refusal.status == 401 and scheme.lower() == "bearer"
