"""GDPR account deletion: request, confirm with OTP, grace period (the contract's limit), cancel (DELETION-GRACE)."""

from __future__ import annotations

import sqlite3
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import hooks
from .auth import Authenticator
from .clock import format_timestamp
from .errors import ApiError
from .otp import OTP_PATTERN, PENDING, OtpFlow
from .state import ServerState
from .validation import Fields
from .web import endpoint, json_response, read_json_object

__all__ = ["Deletion", "open_deletion", "render_deletion"]

_MESSAGES = {
    PENDING: "Enter the code sent to your primary email to confirm the deletion.",
    "scheduled": "Your account will be deleted when the grace period ends.",
    "cancelled": "The account deletion was cancelled.",
}


def render_deletion(row: sqlite3.Row, *, grace_period_days: int, status: str | None = None) -> dict[str, Any]:
    shown = status or str(row["status"])
    return {
        "request_id": row["id"],
        "status": shown,
        "message": _MESSAGES[shown],
        "requested_at": format_timestamp(row["requested_at"]),
        "otp_expires_at": format_timestamp(row["otp_expires_at"]) if shown == PENDING else None,
        # "once scheduled; null otherwise": a cancelled deletion is no longer scheduled for any date
        "scheduled_for": format_timestamp(row["scheduled_for"]) if shown == "scheduled" else None,
        "grace_period_days": grace_period_days,
    }


def open_deletion(conn: sqlite3.Connection, user_id: int) -> sqlite3.Row | None:
    """The deletion awaiting confirmation or scheduled, if any."""
    row: sqlite3.Row | None = conn.execute(
        "SELECT * FROM gdpr_requests WHERE user_id = ? AND kind = 'deletion'"
        " AND status IN (?, 'scheduled') ORDER BY seq DESC LIMIT 1",
        (user_id, PENDING),
    ).fetchone()
    return row


class Deletion:
    def __init__(self, state: ServerState, auth: Authenticator) -> None:
        self._state = state
        self._auth = auth
        self._otp = OtpFlow(state, kind="deletion", purpose="account_deletion")

    def routes(self) -> list[Route]:
        return [
            Route("/user/request-account-deletion", endpoint(self.request), methods=["POST"]),
            Route("/user/confirm-account-deletion", endpoint(self.confirm), methods=["POST"]),
            Route("/user/cancel-account-deletion", endpoint(self.cancel), methods=["POST"]),
        ]

    async def request(self, request: Request) -> Response:
        user_id = self._auth.require_user(request)
        fields = Fields(await read_json_object(request))
        fields.string("reason", max_length=500, required=False)
        fields.finish()
        with self._state.db.transaction() as conn:
            current = open_deletion(conn, user_id)
            refuses = self._state.at(hooks.DELETION_REQUEST_REFUSES_SCHEDULED, True)
            if current is not None and current["status"] == "scheduled" and refuses:
                raise ApiError(409, "conflict", "An account deletion is already scheduled.")
            request_id = self._otp.open(conn, user_id)
            row = conn.execute("SELECT * FROM gdpr_requests WHERE id = ?", (request_id,)).fetchone()
        return json_response(self._render(row), 202)

    async def confirm(self, request: Request) -> Response:
        user_id = self._auth.require_user(request)
        fields = Fields(await read_json_object(request))
        otp = fields.string("otp", pattern=OTP_PATTERN)
        fields.finish()
        grace_s = self._state.at(hooks.DELETION_CONFIRM_GRACE_S, self._state.limits.deletion_grace_period_s)

        def schedule(conn: sqlite3.Connection, row: sqlite3.Row) -> None:
            conn.execute(
                "UPDATE gdpr_requests SET status = 'scheduled', scheduled_for = ? WHERE seq = ?",
                (self._state.clock.now() + grace_s, row["seq"]),
            )

        later_s = self._state.at(hooks.DELETION_CONFIRM_SCHEDULE_DELAY_S, 0.0)
        request_id = await self._otp.redeem(user_id, otp, schedule, success_later_s=later_s)
        with self._state.db.transaction() as conn:
            row = conn.execute("SELECT * FROM gdpr_requests WHERE id = ?", (request_id,)).fetchone()
        return json_response(self._render(row))

    async def cancel(self, request: Request) -> Response:
        user_id = self._auth.require_user(request)
        with self._state.db.transaction() as conn:
            row = open_deletion(conn, user_id)
            if row is None and self._state.at(hooks.DELETION_CANCEL_REFUSES_NOTHING, True):
                raise ApiError(409, "no_pending_request", "No account deletion is pending.")
            if row is None:  # nothing to cancel, answered as if something were
                row = conn.execute(
                    "SELECT * FROM gdpr_requests WHERE user_id = ? AND kind = 'deletion' ORDER BY seq DESC LIMIT 1",
                    (user_id,),
                ).fetchone()
                if row is None:
                    return json_response({"message": "Cancelled."})
                return json_response(self._render(row, status="cancelled"))
            if self._state.at(hooks.DELETION_CANCEL_CANCELS, True):
                conn.execute("UPDATE gdpr_requests SET status = 'cancelled' WHERE seq = ?", (row["seq"],))
        return json_response(self._render(row, status="cancelled"))

    def _render(self, row: sqlite3.Row, *, status: str | None = None) -> dict[str, Any]:
        return render_deletion(row, grace_period_days=self._state.limits.deletion_grace_period_days, status=status)
