"""Identity verification: a Stripe-style session plus NFC passport validation (NFC-VALIDATION)."""

from __future__ import annotations

import hashlib
import re
import secrets
import sqlite3
import uuid
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import hooks
from .auth import Authenticator
from .clock import format_timestamp
from .errors import ApiError
from .hooks import NfcChecks
from .mrz import MrzError, parse_td3
from .state import ServerState
from .validation import Fields
from .web import endpoint, error_response, json_response, read_json_object

__all__ = ["Identity", "identity_status"]

_MRZ = re.compile(r"[A-Z0-9<]{44}\n[A-Z0-9<]{44}")
_DG_KEY = re.compile(r"DG([1-9]|1[0-6])")
_HEX = re.compile(r"[0-9a-f]+")
_HASHES = {"SHA-256": "sha256", "SHA-384": "sha384", "SHA-512": "sha512"}
_SESSION_TTL_S = 24 * 3600


def identity_status(conn: sqlite3.Connection, user_id: int) -> dict[str, Any]:
    """VerificationStatusResponse: verified if either source verified; pending while Stripe is in flight."""
    row = conn.execute("SELECT * FROM identity WHERE user_id = ?", (user_id,)).fetchone()
    stripe_status = row["stripe_status"] if row else "not_started"
    nfc_status = row["nfc_status"] if row else "not_started"
    if "verified" in (stripe_status, nfc_status):
        overall = "verified"
    elif stripe_status in ("requires_input", "processing"):
        overall = "pending"
    else:
        overall = "unverified"

    def ts(name: str) -> str | None:
        return format_timestamp(row[name]) if row and row[name] is not None else None

    return {
        "overall_status": overall,
        "is_verified": overall == "verified",
        "stripe": {
            "status": stripe_status,
            "session_id": row["stripe_session_id"] if row else None,
            "updated_at": ts("stripe_updated_at"),
        },
        "nfc": {
            "status": nfc_status,
            "document_type": "passport" if nfc_status == "verified" else None,
            "verified_at": ts("nfc_verified_at"),
            "failure_reason": row["nfc_failure_reason"] if row else None,
        },
    }


class Identity:
    def __init__(self, state: ServerState, auth: Authenticator) -> None:
        self._state = state
        self._auth = auth

    def routes(self) -> list[Route]:
        return [
            Route("/user/idv/verification-session", endpoint(self.create_session), methods=["GET"]),
            Route("/user/idv/verification-status", endpoint(self.status), methods=["GET"]),
            Route("/user/idv/nfc/submit", endpoint(self.submit_nfc), methods=["POST"]),
        ]

    async def create_session(self, request: Request) -> Response:
        user_id = self._auth.require_user(request)
        now = self._state.clock.now()
        session_id = f"vs_{secrets.token_hex(12)}"
        with self._state.db.transaction() as conn:
            conn.execute("INSERT OR IGNORE INTO identity (user_id) VALUES (?)", (user_id,))
            conn.execute(
                "UPDATE identity SET stripe_status = 'requires_input', stripe_session_id = ?,"
                " stripe_updated_at = ? WHERE user_id = ? AND stripe_status != 'verified'",
                (session_id, now, user_id),
            )
        # The client credentials are handed out once and never stored.
        body = {
            "session_id": session_id,
            "client_secret": f"{session_id}_secret_{secrets.token_urlsafe(24)}",
            "ephemeral_key_secret": f"ek_test_{secrets.token_urlsafe(24)}",
            "status": "requires_input",
            "created_at": format_timestamp(now),
            "expires_at": format_timestamp(now + _SESSION_TTL_S),
        }
        return json_response(self._state.at(hooks.IDV_CREATE_SESSION_BODY, body))

    async def status(self, request: Request) -> Response:
        user_id = self._auth.require_user(request)
        with self._state.db.transaction() as conn:
            return json_response(identity_status(conn, user_id))

    async def submit_nfc(self, request: Request) -> Response:
        user_id = self._auth.require_user(request)
        fields = Fields(await read_json_object(request))
        mrz_text = fields.string("mrz", pattern=_MRZ)
        groups = _data_groups(fields)
        security = fields.object("security_object")
        algorithm = security.string("hash_algorithm", choices=tuple(_HASHES))
        declared = _declared_hashes(security)
        chip = fields.object("chip_authentication")
        chip.string("method", choices=("chip_authentication", "active_authentication"))
        chip_result = chip.string("result", choices=("succeeded", "failed"))
        chip.base64("public_key")
        fields.finish()

        checks = self._state.at(hooks.IDV_SUBMIT_NFC_CHECKS, NfcChecks())
        now = self._state.clock.now()
        try:
            passport = parse_td3(mrz_text, verify_check_digits=False)
        except MrzError as exc:
            return self._refuse(user_id, "mrz_invalid", f"MRZ rejected: {exc}.")
        today = datetime.fromtimestamp(now, UTC).date()

        def check_digits() -> tuple[str, str] | None:
            try:
                parse_td3(mrz_text, verify_check_digits=checks.mrz_check_digits)
            except MrzError as exc:
                return "mrz_invalid", f"MRZ rejected: {exc}."
            return None

        def expiry() -> tuple[str, str] | None:
            expired = passport.expiry_date < today and checks.document_expiry
            return ("document_expired", "The passport has expired.") if expired else None

        def integrity() -> tuple[str, str] | None:
            mismatch = checks.data_integrity and _integrity_problem(passport.text, groups, declared, _HASHES[algorithm])
            return ("data_group_mismatch", mismatch) if mismatch else None

        chip_passed = self._state.at(hooks.IDV_SUBMIT_NFC_CHIP_AUTHENTICATED, chip_result == "succeeded", chip_result)

        def chip_authentication() -> tuple[str, str] | None:
            return None if chip_passed else ("chip_authentication_failed", "Chip authentication failed.")

        steps = {
            "mrz_check_digits": check_digits,
            "document_expiry": expiry,
            "data_integrity": integrity,
            "chip_authentication": chip_authentication,
        }
        # NFC-VALIDATION: the checks run in this order, and the first failure is the answer.
        for name in self._state.at(hooks.IDV_SUBMIT_NFC_ORDER, tuple(steps)):
            refusal = steps[name]()
            if refusal is not None:
                return self._refuse(user_id, *refusal)

        with self._state.db.transaction() as conn:
            conn.execute("INSERT OR IGNORE INTO identity (user_id) VALUES (?)", (user_id,))
            conn.execute(
                "UPDATE identity SET nfc_status = 'verified', nfc_verified_at = ?, nfc_failure_reason = NULL"
                " WHERE user_id = ?",
                (now, user_id),
            )
        return json_response(
            {
                "verification_id": str(uuid.uuid4()),
                "status": "verified",
                "document_type": "passport",
                "issuing_country": passport.issuing_country,
                "expiry_date": passport.expiry_date.isoformat(),
                "verified_at": format_timestamp(now),
                "checks": {
                    "mrz_check_digits": "passed",
                    "document_expiry": "passed",
                    "data_integrity": "passed",
                    "chip_authentication": "passed",
                },
            }
        )

    def _refuse(self, user_id: int, code: str, message: str) -> Response:
        """Record the failure (a verified identity stays verified) and answer 422."""
        keeps_verified = self._state.at(hooks.IDV_REFUSE_KEEPS_VERIFIED, True)
        with self._state.db.transaction() as conn:
            conn.execute("INSERT OR IGNORE INTO identity (user_id) VALUES (?)", (user_id,))
            conn.execute(
                "UPDATE identity SET nfc_status = 'failed', nfc_failure_reason = ?"
                " WHERE user_id = ? AND (nfc_status != 'verified' OR NOT ?)",
                (code, user_id, keeps_verified),
            )
        return error_response(ApiError(422, code, message))


def _data_groups(fields: Fields) -> dict[str, bytes]:
    groups = fields.object("data_groups")
    decoded: dict[str, bytes] = {}
    for key in groups.names():
        if not _DG_KEY.fullmatch(key):
            groups.problem(key, "is not a data group name DG1..DG16")
            continue
        decoded[key] = groups.base64(key)
    for required in ("DG1", "DG2"):
        if required not in groups.names():
            groups.problem(required, "is required")
    return decoded


def _declared_hashes(security: Fields) -> dict[str, str]:
    hashes = security.object("data_group_hashes")
    if isinstance(security.raw("data_group_hashes"), dict) and not hashes.names():
        security.problem("data_group_hashes", "must hash at least one data group")  # minProperties: 1
    declared: dict[str, str] = {}
    for key in hashes.names():
        value = hashes.string(key, min_length=1, max_length=128, pattern=_HEX)
        if not _DG_KEY.fullmatch(key):
            hashes.problem(key, "is not a data group name DG1..DG16")
        declared[key] = value
    return declared


def _integrity_problem(mrz_text: str, groups: dict[str, bytes], declared: dict[str, str], algorithm: str) -> str | None:
    if groups.get("DG1") != mrz_text.encode("ascii"):
        return "DG1 does not match the MRZ."
    for name, content in sorted(groups.items()):
        expected = declared.get(name)
        if expected is None:
            return f"{name} has no hash in the security object."
        actual = hashlib.new(algorithm, content).hexdigest()
        if not secrets.compare_digest(actual, expected):
            return f"{name} does not match its hash in the security object."
    return None
