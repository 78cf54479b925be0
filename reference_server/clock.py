"""The server clock: real UTC time plus an offset that test support can advance."""

from __future__ import annotations

from datetime import UTC, datetime

from .db import Database

__all__ = ["Clock", "format_timestamp"]

_OFFSET_KEY = "clock_offset_s"


class Clock:
    """Every expiry, grace period and document-expiry check reads time from here."""

    def __init__(self, db: Database) -> None:
        self._db = db
        with db.transaction() as conn:
            row = conn.execute("SELECT value FROM settings WHERE key = ?", (_OFFSET_KEY,)).fetchone()
        self._offset_s = float(row["value"]) if row else 0.0

    def now(self) -> float:
        """Seconds since the epoch, as the server sees it."""
        return datetime.now(UTC).timestamp() + self._offset_s

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
