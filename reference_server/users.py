"""Accounts and bearer tokens."""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import string
from dataclasses import dataclass
from pathlib import Path

from .state import ServerState, new_code, send_message

__all__ = ["NewUser", "create_user", "hash_token", "insert_user", "new_secret", "purge_user"]

_LEADING = string.ascii_letters + string.digits


@dataclass(slots=True, frozen=True)
class NewUser:
    user_id: int
    token: str
    password: str
    email: str


def hash_token(token: str) -> str:
    # Only the digest is stored, so a copy of the database holds no usable token.
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def user_of_token(state: ServerState, token: str) -> int | None:
    """The user a bearer token belongs to, if any."""
    with state.db.transaction() as conn:
        row = conn.execute("SELECT user_id FROM tokens WHERE token_hash = ?", (hash_token(token),)).fetchone()
    return None if row is None else int(row["user_id"])


def new_secret(nbytes: int) -> str:
    """A URL-safe random token or password that never starts with '-' or '_'.

    A leading '-' makes `--password $P` read as an option by argparse and most CLIs, so the
    first character is drawn from letters and digits, then `nbytes` random bytes follow.
    """
    return secrets.choice(_LEADING) + secrets.token_urlsafe(nbytes)


def insert_user(conn: sqlite3.Connection, *, password_hash: str, token: str, now: float) -> int:
    """A users row and one bearer token for it; the new user's id. Hash the password before
    the transaction: argon2 is slow on purpose, and the database lock is held meanwhile."""
    cursor = conn.execute("INSERT INTO users (password_hash, created_at) VALUES (?, ?)", (password_hash, now))
    user_id = int(cursor.lastrowid or 0)
    conn.execute("INSERT INTO tokens (token_hash, user_id) VALUES (?, ?)", (hash_token(token), user_id))
    return user_id


def create_user(state: ServerState, *, email_verified: bool = True) -> NewUser:
    """A disposable user with a primary email and no phones.

    The primary email is verified, unless `email_verified` is False: then it awaits its
    verification token, sent to the outbox as when an address is added.
    """
    password = new_secret(18)
    email = f"user-{secrets.token_hex(8)}@example.com"
    token = new_secret(32)
    password_hash = state.hasher.hash(password)
    now = state.clock.now()
    code = None if email_verified else new_code()
    with state.db.transaction() as conn:
        user_id = insert_user(conn, password_hash=password_hash, token=token, now=now)
        conn.execute(
            "INSERT INTO contacts (kind, user_id, value, value_key, is_verified, is_primary,"
            " verified_at, created_at, code, code_expires_at) VALUES ('email', ?, ?, ?, ?, 1, ?, ?, ?, ?)",
            (
                user_id,
                email,
                email.lower(),
                int(email_verified),
                now if email_verified else None,
                now,
                code,
                None if code is None else now + state.limits.verification_token_ttl_s,
            ),
        )
        if code is not None:
            send_message(conn, channel="email", address=email, purpose="email_verification", code=code, now=now)
    return NewUser(user_id=user_id, token=token, password=password, email=email)


def purge_user(conn: sqlite3.Connection, user_id: int, *, now: float, revoke_tokens: bool, export_dir: Path) -> None:
    """Remove everything the user owns, export files included; the users row stays as a tombstone."""
    for row in conn.execute(
        "SELECT filename FROM gdpr_requests WHERE user_id = ? AND filename IS NOT NULL", (user_id,)
    ).fetchall():
        (export_dir / str(row["filename"])).unlink(missing_ok=True)
    for table in ("contacts", "favourites", "fcm_tokens", "gdpr_requests", "identity"):
        conn.execute(f"DELETE FROM {table} WHERE user_id = ?", (user_id,))
    if revoke_tokens:
        conn.execute("DELETE FROM tokens WHERE user_id = ?", (user_id,))
    conn.execute("UPDATE users SET deleted_at = ? WHERE id = ?", (now, user_id))
