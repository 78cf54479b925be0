"""What every handler shares: storage, clock, faults and the password hasher."""

from __future__ import annotations

import secrets
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher

from .clock import Clock
from .db import Database
from .faults import FaultSet

__all__ = ["ServerState", "new_code", "send_message"]

# Limits from the contract's x-kesk-limits.
VERIFICATION_TOKEN_TTL_S = 900
VERIFICATION_TOKEN_MAX_ATTEMPTS = 5
OTP_TTL_S = 600
OTP_MAX_ATTEMPTS = 5
DELETION_GRACE_PERIOD_DAYS = 30
EXPORT_FILE_TTL_S = 7 * 24 * 3600
GDPR_RECENT_EXPORTS_MAX = 10


@dataclass(slots=True, frozen=True)
class ServerState:
    db: Database
    clock: Clock
    faults: FaultSet
    hasher: PasswordHasher
    export_dir: Path
    test_mode: bool


def password_hasher(*, fast: bool) -> PasswordHasher:
    """argon2id; the fast profile keeps disposable-user creation cheap in test runs."""
    if fast:
        return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    return PasswordHasher()


def new_code() -> str:
    """A 6-digit verification token or OTP."""
    return f"{secrets.randbelow(1_000_000):06d}"


def send_message(conn: sqlite3.Connection, *, channel: str, address: str, purpose: str, code: str, now: float) -> None:
    """Deliver a code by writing it to the outbox (the reference server's mail/SMS gateway)."""
    conn.execute(
        "INSERT INTO outbox (channel, address, purpose, code, created_at) VALUES (?, ?, ?, ?, ?)",
        (channel, address, purpose, code, now),
    )
