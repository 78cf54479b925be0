"""Bearer-token authentication."""

from __future__ import annotations

from starlette.requests import Request

from . import hooks
from .errors import ApiError
from .hooks import AuthAttempt
from .state import ServerState
from .users import hash_token, purge_user

__all__ = ["Authenticator"]

_REALM = 'Bearer realm="kesk"'


class Authenticator:
    def __init__(self, state: ServerState) -> None:
        self._state = state

    def require_user(self, request: Request, *, anonymous_is_first_user: bool = False) -> int:
        """The caller's user id, or 401 for a missing, malformed or unknown token."""
        header = request.headers.get("authorization")
        unknown_is_first_user = self._state.at(hooks.AUTH_UNKNOWN_TOKEN_IS_FIRST_USER, False)
        try:
            return self._identify(
                header, anonymous_is_first_user=anonymous_is_first_user, unknown_is_first_user=unknown_is_first_user
            )
        except _Refused as refused:
            scheme = None if header is None else header.strip().partition(" ")[0]
            attempt = AuthAttempt(scheme=scheme, accept=request.headers.get("accept", ""))
            refusal = _unauthorized(presented=refused.presented)
            raise self._state.at(hooks.AUTH_REQUIRE_USER_REFUSAL, refusal, attempt) from None

    def _identify(self, header: str | None, *, anonymous_is_first_user: bool, unknown_is_first_user: bool) -> int:
        if header is None:
            if anonymous_is_first_user:
                return self._first_user_or_refuse(presented=False)
            raise _Refused(presented=False)
        scheme, _, token = header.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token or " " in token:
            raise _Refused(presented=True)
        with self._state.db.transaction() as conn:
            row = conn.execute("SELECT user_id FROM tokens WHERE token_hash = ?", (hash_token(token),)).fetchone()
            if row is None:
                if unknown_is_first_user:
                    return self._first_user_or_refuse(presented=True)
                raise _Refused(presented=True)
            user_id = int(row["user_id"])
            self._state.clock.acting_as(user_id)  # from here on the request reads this user's clock
            self._purge_if_grace_period_over(user_id)
            if conn.execute("SELECT 1 FROM tokens WHERE user_id = ?", (user_id,)).fetchone() is None:
                raise _Refused(presented=True)
        return user_id

    def _purge_if_grace_period_over(self, user_id: int) -> None:
        """A scheduled deletion takes effect on the first request after its grace period."""
        now = self._state.clock.now()
        with self._state.db.transaction() as conn:
            due = conn.execute(
                "SELECT 1 FROM gdpr_requests WHERE user_id = ? AND kind = 'deletion'"
                " AND status = 'scheduled' AND scheduled_for <= ?",
                (user_id, now),
            ).fetchone()
            if due:
                purge_user(conn, user_id, now=now, revoke_tokens=True, export_dir=self._state.export_dir)

    def _first_user_or_refuse(self, *, presented: bool) -> int:
        with self._state.db.transaction() as conn:
            row = conn.execute("SELECT id FROM users WHERE deleted_at IS NULL ORDER BY id LIMIT 1").fetchone()
        if row is None:
            raise _Refused(presented=presented)
        return int(row["id"])


class _Refused(Exception):
    """No valid token: `require_user` turns it into the 401."""

    def __init__(self, *, presented: bool) -> None:
        super().__init__("no valid bearer token")
        self.presented = presented


def _unauthorized(*, presented: bool) -> ApiError:
    challenge = f'{_REALM}, error="invalid_token"' if presented else _REALM
    return ApiError(401, "unauthorized", "A valid bearer token is required.", headers={"WWW-Authenticate": challenge})
