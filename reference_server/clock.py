"""The server clock: real UTC time plus an offset that test support can advance, for everyone or for one user.

A user's own offset (test support's `user_token`) lets a test age one user's OTPs, tokens and files while
every other user's keep their age: tests that move the clock can then run beside tests that judge lifetimes.
The request's user is known once it is authenticated (`acting_as`); from then on it reads that user's clock.
"""

from __future__ import annotations

from contextvars import ContextVar
from datetime import UTC, datetime

from .db import Database

__all__ = ["Clock", "format_timestamp"]

_OFFSET_KEY = "clock_offset_s"
# The user the current request acts as (each request is a task of its own: the value never leaks to another).
_ACTING_USER: ContextVar[int | None] = ContextVar("kesk_acting_user", default=None)


class Clock:
    """Every expiry, grace period and document-expiry check reads time from here."""

    def __init__(self, db: Database) -> None:
        self._db = db
        with db.transaction() as conn:
            row = conn.execute("SELECT value FROM settings WHERE key = ?", (_OFFSET_KEY,)).fetchone()
        self._offset_s = float(row["value"]) if row else 0.0
        self._user_offsets: dict[int, float] = {}  # test support only: kept in memory, gone on restart or reset

    @staticmethod
    def acting_as(user_id: int) -> None:
        """The rest of this request reads the clock as `user_id` sees it."""
        _ACTING_USER.set(user_id)

    def now(self) -> float:
        """Seconds since the epoch, as the server sees it (for the request's user, once it is known)."""
        user = _ACTING_USER.get()
        own = self._user_offsets.get(user, 0.0) if user is not None else 0.0
        return datetime.now(UTC).timestamp() + self._offset_s + own

    def advance_user(self, user_id: int, seconds: int) -> float:
        """Move one user's clock forward; the time that user now sees."""
        self._user_offsets[user_id] = self._user_offsets.get(user_id, 0.0) + seconds
        return datetime.now(UTC).timestamp() + self._offset_s + self._user_offsets[user_id]

    def forget_users(self) -> None:
        """Every user back on the server's own clock (a reset)."""
        self._user_offsets.clear()

    def advance(self, seconds: int) -> float:
        with self._db.transaction() as conn:
            self._offset_s += seconds
            conn.execute(
                "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (_OFFSET_KEY, repr(self._offset_s)),
            )
        return self.now()


def format_timestamp(epoch_s: float) -> str:
    """RFC 3339 UTC with a `Z` suffix and millisecond precision."""
    moment = datetime.fromtimestamp(epoch_s, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
