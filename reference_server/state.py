"""What every handler shares: storage, clock, the contract's limits, switched-on behaviours, the password hasher."""

from __future__ import annotations

import secrets
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, overload

from argon2 import PasswordHasher

from .clock import Clock
from .contract import Limits
from .db import Database
from .hooks import Hook, Switchboard

__all__ = ["CHANNELS", "PURPOSES", "ServerState", "new_code", "send_message"]

# Why a message goes to the outbox, and over what: spec/test-support.yaml's Purpose and Channel
# enums list the same values (tests/reference_server/test_server_control.py checks it).
PURPOSES = ("email_verification", "phone_verification", "account_deletion", "data_export")
CHANNELS = ("email", "sms")

V = TypeVar("V")
C = TypeVar("C")


@dataclass(slots=True, frozen=True)
class ServerState:
    db: Database
    clock: Clock
    limits: Limits
    switchboard: Switchboard  # the switched-on faults, by hook point; test support may swap them
    hasher: PasswordHasher
    export_dir: Path
    test_mode: bool

    @overload
    def at(self, hook: Hook[V, None], value: V) -> V: ...
    @overload
    def at(self, hook: Hook[V, C], value: V, context: C) -> V: ...
    def at(self, hook: Hook[V, Any], value: V, context: Any = None) -> V:
        """The value the server goes on with at `hook`: `value`, the conformant one, unless a
        switched-on behaviour attached there changes it. Each hook is consulted in one place only."""
        return self.switchboard.at(hook, value, context)


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
    if purpose not in PURPOSES or channel not in CHANNELS:
        # The outbox filter refuses values outside these lists, so such a message could never be read.
        raise ValueError(f"undocumented outbox message: channel {channel!r}, purpose {purpose!r}")
    conn.execute(
        "INSERT INTO outbox (channel, address, purpose, code, created_at) VALUES (?, ?, ?, ?, ?)",
        (channel, address, purpose, code, now),
    )
