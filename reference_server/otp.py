"""One-time passwords for GDPR requests (rules OTP and SENSITIVE-NEEDS-VERIFIED-EMAIL).

Deletion and export requests share this flow: a request mails a 6-digit OTP to
the verified primary email; a newer request supersedes the older one; the OTP
is single use, bound to its user and request, and expires and runs out of
attempts as the contract's limits say (otp_ttl_s, otp_max_attempts).
"""

from __future__ import annotations

import asyncio
import re
import secrets
import sqlite3
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from . import hooks
from .errors import ApiError
from .hooks import RaceStep
from .state import ServerState, new_code, send_message

__all__ = ["OTP_PATTERN", "PENDING", "OtpFlow"]

OTP_PATTERN = re.compile(r"[0-9]{6}")
PENDING = "pending_confirmation"
SUPERSEDED = "superseded"  # internal: never rendered


class OtpFlow:
    def __init__(self, state: ServerState, *, kind: str, purpose: str) -> None:
        self._state = state
        self._kind = kind
        self._purpose = purpose

    def open(self, conn: sqlite3.Connection, user_id: int) -> str:
        """Create a request awaiting confirmation and mail its OTP; returns the request id."""
        email = conn.execute(
            "SELECT value, is_verified FROM contacts WHERE user_id = ? AND kind = 'email'"
            " AND is_primary = 1 AND removed_at IS NULL",
            (user_id,),
        ).fetchone()
        requires_verified = self._state.at(hooks.OTP_OPEN_REQUIRES_VERIFIED_EMAIL, True)
        if email is None or (requires_verified and not email["is_verified"]):
            raise ApiError(403, "verification_required", "Verify your primary email first.")
        now = self._state.clock.now()
        conn.execute(
            "UPDATE gdpr_requests SET status = ? WHERE user_id = ? AND kind = ? AND status = ?",
            (SUPERSEDED, user_id, self._kind, PENDING),
        )
        request_id = str(uuid.uuid4())
        code = new_code()
        conn.execute(
            "INSERT INTO gdpr_requests (id, kind, user_id, status, otp, otp_expires_at, requested_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (request_id, self._kind, user_id, PENDING, code, now + self._state.limits.otp_ttl_s, now),
        )
        send_message(conn, channel="email", address=email["value"], purpose=self._purpose, code=code, now=now)
        return request_id

    async def redeem(
        self,
        user_id: int,
        otp: str,
        on_success: Callable[[sqlite3.Connection, sqlite3.Row], None],
        *,
        success_later_s: float = 0.0,
    ) -> str:
        """Check the OTP and run `on_success` in the same transaction; returns the request id.

        A wrong code is counted (and committed) before the refusal is raised. `success_later_s` > 0 uses the OTP
        up, then runs `on_success` that many seconds later in a transaction of its own (a seeded race).
        """
        async with self._state.db.stepwise() as step:
            conn = step.conn
            row, refusal, wrong = self._check(conn, user_id, otp)
            write = "redeem" if row is not None else "wrong_attempt"
            await step.pause(self._state.at(hooks.OTP_REDEEM_RACE_WINDOW_S, 0.0, RaceStep(self._kind, write)))
            if row is not None:
                conn.execute("UPDATE gdpr_requests SET otp_used = 1 WHERE seq = ?", (row["seq"],))
                if not success_later_s:
                    on_success(conn, row)
            elif wrong is not None:
                conn.execute("UPDATE gdpr_requests SET otp_attempts = otp_attempts + 1 WHERE seq = ?", (wrong,))
        if refusal is not None:
            raise refusal
        assert row is not None
        if success_later_s:
            await asyncio.sleep(success_later_s)
            with self._state.db.transaction() as conn:
                on_success(conn, row)
        return str(row["id"])

    def _check(
        self, conn: sqlite3.Connection, user_id: int, otp: str
    ) -> tuple[sqlite3.Row | None, ApiError | None, int | None]:
        """The request the OTP confirms, or the refusal and the request a wrong OTP counts against (its seq)."""
        now = self._state.clock.now()
        attempt = _Attempt(self, conn, user_id, otp)
        pending = self._latest(conn, "user_id = ? AND status = ?", (user_id, PENDING))
        if pending is None:
            confirmed = self._state.at(hooks.OTP_CHECK_WITHOUT_PENDING, None, attempt)
            if confirmed is not None:
                return confirmed, None, None
            return None, ApiError(409, "no_pending_request", "There is no request awaiting confirmation."), None
        most = self._state.at(hooks.OTP_CHECK_MAX_ATTEMPTS, self._state.limits.otp_max_attempts, attempt)
        out_of_attempts = pending["otp_attempts"] >= most
        if out_of_attempts and self._state.at(hooks.OTP_CHECK_ENFORCES_ATTEMPTS, True, attempt):
            return None, ApiError.too_many_attempts(int(pending["otp_expires_at"] - now)), None
        if now >= pending["otp_expires_at"] and self._state.at(hooks.OTP_CHECK_ENFORCES_EXPIRY, True, attempt):
            return None, ApiError(400, "code_expired", "The code has expired; request a new one."), None
        if secrets.compare_digest(otp, str(pending["otp"])):
            return pending, None, None
        if self._state.at(hooks.OTP_CHECK_ACCEPTS_MISMATCH, False, attempt):
            return pending, None, None
        return None, ApiError(400, "invalid_code", "The code is wrong."), int(pending["seq"])

    def _latest(self, conn: sqlite3.Connection, where: str, args: tuple[object, ...]) -> sqlite3.Row | None:
        row: sqlite3.Row | None = conn.execute(
            f"SELECT * FROM gdpr_requests WHERE kind = ? AND {where} ORDER BY seq DESC LIMIT 1",
            (self._kind, *args),
        ).fetchone()
        return row


@dataclass(slots=True, frozen=True)
class _Attempt:
    """`hooks.OtpAttempt`: the other requests a presented OTP could match."""

    flow: OtpFlow
    conn: sqlite3.Connection
    user_id: int
    otp: str

    @property
    def kind(self) -> str:
        return self.flow._kind

    def redeemed(self) -> sqlite3.Row | None:
        return self.flow._latest(self.conn, "user_id = ? AND otp_used = 1 AND otp = ?", (self.user_id, self.otp))

    def pending_of_another_user(self) -> sqlite3.Row | None:
        return self.flow._latest(
            self.conn, "user_id != ? AND status = ? AND otp = ?", (self.user_id, PENDING, self.otp)
        )

    def superseded(self) -> sqlite3.Row | None:
        return self.flow._latest(
            self.conn, "user_id = ? AND status = ? AND otp = ?", (self.user_id, SUPERSEDED, self.otp)
        )
