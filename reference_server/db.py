"""SQLite storage: one connection, one lock, schema created on open."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

__all__ = ["Database", "Steps"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    password_hash TEXT NOT NULL,
    created_at REAL NOT NULL,
    deleted_at REAL
);
CREATE TABLE IF NOT EXISTS tokens (
    token_hash TEXT PRIMARY KEY,          -- sha256 of the bearer token, never the token
    user_id INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS contacts (     -- emails and phones share one table
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,                   -- 'email' | 'phone'
    user_id INTEGER NOT NULL,
    value TEXT NOT NULL,                  -- normalised address / E.164 number
    value_key TEXT NOT NULL,              -- case-folded value for uniqueness
    country_code TEXT,
    is_verified INTEGER NOT NULL DEFAULT 0,
    is_primary INTEGER NOT NULL DEFAULT 0,
    verified_at REAL,
    created_at REAL NOT NULL,
    removed_at REAL,
    code TEXT,
    code_expires_at REAL,
    code_attempts INTEGER NOT NULL DEFAULT 0
);
-- Lookups every request makes: without these, adding an email slows down as the table grows.
CREATE INDEX IF NOT EXISTS contacts_by_value ON contacts (kind, value_key);
CREATE INDEX IF NOT EXISTS contacts_by_owner ON contacts (user_id, kind, is_primary);
CREATE INDEX IF NOT EXISTS tokens_by_user ON tokens (user_id);
CREATE TABLE IF NOT EXISTS favourites (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL,
    product_id INTEGER NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS fcm_tokens (
    token TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL,
    platform TEXT NOT NULL,
    registered_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    channel TEXT NOT NULL,
    address TEXT NOT NULL,
    purpose TEXT NOT NULL,
    code TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS gdpr_requests (  -- deletion and export requests share the OTP flow
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,                   -- 'deletion' | 'export'
    user_id INTEGER NOT NULL,
    status TEXT NOT NULL,
    otp TEXT NOT NULL,
    otp_expires_at REAL NOT NULL,
    otp_attempts INTEGER NOT NULL DEFAULT 0,
    otp_used INTEGER NOT NULL DEFAULT 0,
    requested_at REAL NOT NULL,
    scheduled_for REAL,
    filename TEXT UNIQUE,
    file_expires_at REAL
);
CREATE TABLE IF NOT EXISTS identity (
    user_id INTEGER PRIMARY KEY,
    stripe_status TEXT NOT NULL DEFAULT 'not_started',
    stripe_session_id TEXT,
    stripe_updated_at REAL,
    nfc_status TEXT NOT NULL DEFAULT 'not_started',
    nfc_verified_at REAL,
    nfc_failure_reason TEXT
);
CREATE TABLE IF NOT EXISTS settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""


class Database:
    """A single SQLite connection shared by request handlers and the export worker."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        if path != ":memory:":
            # A file database survives restarts; WAL without a sync per commit keeps writes fast.
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
        with self._lock:
            self._conn.executescript(_SCHEMA)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Hold the lock for a whole read-modify-write step; roll back on any error."""
        with self._lock:
            outermost = not self._conn.in_transaction
            if outermost:
                self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                if outermost:
                    self._conn.rollback()
                raise
            if outermost:
                self._conn.commit()

    @asynccontextmanager
    async def stepwise(self) -> AsyncIterator[Steps]:
        """A handler's check and its write, one transaction unless `Steps.pause` splits them (a race window).

        `await steps.pause(0)` does nothing, so the check and the write stay one transaction. A positive pause
        commits the check, waits with the lock released and starts the write in a new transaction, as a server
        without a lock or a transaction would: the window a seeded race fault opens (hooks `*.race_window_s`).
        """
        steps = Steps(self)
        steps.begin()
        try:
            yield steps
        except BaseException:
            steps.end(commit=False)
            raise
        steps.end(commit=True)

    def clear(self) -> None:
        """Delete every row of every table, in one transaction (test support's reset).

        `sqlite_sequence` is kept, so ids go on counting: an id from before the reset never
        names a new resource. The variants' TEMP triggers are left to their owner.
        """
        with self.transaction() as conn:
            tables = conn.execute(
                "SELECT name FROM main.sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            ).fetchall()
            for (table,) in tables:
                conn.execute(f'DELETE FROM main."{table}"')

    def drop_temp_triggers(self) -> None:
        """Drop the connection's TEMP triggers: only variants create them (the id gaps)."""
        with self.transaction() as conn:
            names = conn.execute("SELECT name FROM temp.sqlite_master WHERE type = 'trigger'").fetchall()
            for (name,) in names:
                conn.execute(f'DROP TRIGGER temp."{name}"')

    def close(self) -> None:
        with self._lock:
            self._conn.close()


class Steps:
    """The transaction of `Database.stepwise`: its connection, and the pause between a check and its write."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self.conn = db._conn
        self._outermost = False

    def begin(self) -> None:
        self._db._lock.acquire()
        self._outermost = not self.conn.in_transaction
        if self._outermost:
            self.conn.execute("BEGIN IMMEDIATE")

    def end(self, *, commit: bool) -> None:
        try:
            if self._outermost:
                if commit:
                    self.conn.commit()
                else:
                    self.conn.rollback()
        finally:
            self._db._lock.release()

    async def pause(self, seconds: float) -> None:
        """Between the check and the write: nothing at 0; else commit, release, wait, and start the write anew."""
        if seconds <= 0:
            return
        self.end(commit=True)
        await asyncio.sleep(seconds)
        self.begin()
