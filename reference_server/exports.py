"""GDPR data export: OTP-confirmed jobs writing a JSON ExportDocument.

Rules: EXPORT-FILE-LIFETIME, EXPORT-OWNER-ONLY.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import sqlite3
import threading
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import hooks
from .auth import Authenticator
from .clock import format_timestamp
from .contacts import EMAIL, PHONE, render_contact
from .errors import ApiError
from .hooks import Lookup
from .identity import identity_status
from .otp import OTP_PATTERN, PENDING, OtpFlow
from .profile import profile_body
from .state import ServerState
from .validation import Fields
from .web import endpoint, json_response, read_json_object

__all__ = ["ExportWorker", "Exports", "recent_exports"]

FILENAME = re.compile(r"kesk-export-[A-Za-z0-9_-]{32,64}\.json")
_STEP_S = 0.02  # pause between job states, so clients can observe queued -> processing -> ready
_log = logging.getLogger("reference_server")
_MESSAGES = {
    PENDING: "Enter the code sent to your primary email to confirm the export.",
    "queued": "The export is queued.",
    "processing": "The export is being generated.",
    "ready": "The export is ready to download.",
    "expired": "The export file has expired; request a new export.",
}


def render_export(row: sqlite3.Row, now: float) -> dict[str, Any]:
    status = str(row["status"])
    if status == "ready" and now >= row["file_expires_at"]:
        status = "expired"
    return {
        "request_id": row["id"],
        "status": status,
        "message": _MESSAGES[status],
        "format": "json",
        "requested_at": format_timestamp(row["requested_at"]),
        "otp_expires_at": format_timestamp(row["otp_expires_at"]) if status == PENDING else None,
        "filename": row["filename"],
        "file_expires_at": format_timestamp(row["file_expires_at"]) if row["file_expires_at"] else None,
    }


def recent_exports(conn: sqlite3.Connection, user_id: int, now: float, *, limit: int) -> list[dict[str, Any]]:
    """The user's latest `limit` exports, newest first (GdprStatusResponse.recent_exports)."""
    rows = conn.execute(
        "SELECT * FROM gdpr_requests WHERE user_id = ? AND kind = 'export' AND status != 'superseded'"
        " ORDER BY seq DESC LIMIT ?",
        (user_id, limit),
    ).fetchall()
    return [render_export(row, now) for row in rows]


def export_document(conn: sqlite3.Connection, user_id: int, now: float) -> dict[str, Any]:
    """ExportDocument: everything the server holds about the user, minus secrets (no FCM tokens)."""

    def contacts(kind_name: str) -> list[sqlite3.Row]:
        return conn.execute(
            "SELECT * FROM contacts WHERE user_id = ? AND kind = ? AND removed_at IS NULL ORDER BY id",
            (user_id, kind_name),
        ).fetchall()

    favourites = conn.execute("SELECT * FROM favourites WHERE user_id = ? ORDER BY id", (user_id,)).fetchall()
    devices = conn.execute(
        "SELECT platform, registered_at FROM fcm_tokens WHERE user_id = ? ORDER BY registered_at", (user_id,)
    ).fetchall()
    return {
        "format_version": 1,
        "generated_at": format_timestamp(now),
        "user": profile_body(conn, user_id),
        "emails": [render_contact(EMAIL, row) for row in contacts("email")],
        "phones": [render_contact(PHONE, row) for row in contacts("phone")],
        "favourites": [
            {"id": r["id"], "product_id": r["product_id"], "created_at": format_timestamp(r["created_at"])}
            for r in favourites
        ],
        "fcm_tokens": [
            {"platform": r["platform"], "registered_at": format_timestamp(r["registered_at"])} for r in devices
        ],
        "identity_verification": identity_status(conn, user_id),
    }


class ExportWorker:
    """Moves confirmed exports queued -> processing -> ready on a background thread."""

    def __init__(self, state: ServerState) -> None:
        self._state = state

    def start(self, request_id: str) -> None:
        threading.Thread(target=self._run, args=(request_id,), name="kesk-export", daemon=True).start()

    def resume_unfinished(self) -> None:
        """After a restart, jobs that were queued or processing start over."""
        with self._state.db.transaction() as conn:
            rows = conn.execute(
                "SELECT id FROM gdpr_requests WHERE kind = 'export' AND status IN ('queued', 'processing')"
            ).fetchall()
            conn.execute("UPDATE gdpr_requests SET status = 'queued' WHERE kind = 'export' AND status = 'processing'")
        for row in rows:
            self.start(str(row["id"]))

    def _run(self, request_id: str) -> None:
        try:
            time.sleep(_STEP_S)
            with self._state.db.transaction() as conn:
                moved = conn.execute(
                    "UPDATE gdpr_requests SET status = 'processing' WHERE id = ? AND status = 'queued'",
                    (request_id,),
                ).rowcount
            if not moved:
                return
            time.sleep(_STEP_S)
            with self._state.db.transaction() as conn:
                row = conn.execute(
                    "SELECT * FROM gdpr_requests WHERE id = ? AND status = 'processing'", (request_id,)
                ).fetchone()
                if row is None:  # the user was deleted meanwhile
                    return
                self._state.clock.acting_as(int(row["user_id"]))  # the file ages by its owner's clock
                now = self._state.clock.now()
                document = self._state.at(hooks.EXPORT_RUN_DOCUMENT, export_document(conn, int(row["user_id"]), now))
                filename = f"kesk-export-{secrets.token_urlsafe(32)}.json"
                self._state.export_dir.mkdir(parents=True, exist_ok=True)
                text = json.dumps(document, indent=2)
                (self._state.export_dir / filename).write_text(text, encoding="utf-8")
                conn.execute(
                    "UPDATE gdpr_requests SET status = 'ready', filename = ?, file_expires_at = ? WHERE seq = ?",
                    (
                        filename,
                        now + self._state.at(hooks.EXPORT_RUN_FILE_TTL_S, self._state.limits.export_file_ttl_s),
                        row["seq"],
                    ),
                )
        except sqlite3.ProgrammingError:
            pass  # the server shut down mid-job; resume_unfinished() picks it up next time
        except Exception:
            _log.exception("export job failed")


class Exports:
    def __init__(self, state: ServerState, auth: Authenticator, worker: ExportWorker) -> None:
        self._state = state
        self._auth = auth
        self._worker = worker
        self._otp = OtpFlow(state, kind="export", purpose="data_export")

    def routes(self) -> list[Route]:
        return [
            Route("/user/request-data-export", endpoint(self.request), methods=["POST"]),
            Route("/user/confirm-data-export", endpoint(self.confirm), methods=["POST"]),
            # `path`: a name holding a slash still reaches the handler, which refuses it like any other.
            Route("/user/download-export/{filename:path}", endpoint(self.download), methods=["GET"]),
        ]

    async def request(self, request: Request) -> Response:
        user_id = self._auth.require_user(request)
        fields = Fields(await read_json_object(request))
        fields.string("format", choices=("json",), required=False)
        fields.finish()
        with self._state.db.transaction() as conn:
            request_id = self._otp.open(conn, user_id)
            row = conn.execute("SELECT * FROM gdpr_requests WHERE id = ?", (request_id,)).fetchone()
        return json_response(render_export(row, self._state.clock.now()), 202)

    async def confirm(self, request: Request) -> Response:
        user_id = self._auth.require_user(request)
        fields = Fields(await read_json_object(request))
        otp = fields.string("otp", pattern=OTP_PATTERN)
        fields.finish()

        def queue(conn: sqlite3.Connection, row: sqlite3.Row) -> None:
            conn.execute("UPDATE gdpr_requests SET status = 'queued' WHERE seq = ?", (row["seq"],))

        request_id = await self._otp.redeem(user_id, otp, queue)
        with self._state.db.transaction() as conn:
            row = conn.execute("SELECT * FROM gdpr_requests WHERE id = ?", (request_id,)).fetchone()
            body = render_export(row, self._state.clock.now())
        self._worker.start(request_id)
        return json_response(body, 202)

    async def download(self, request: Request) -> Response:
        user_id = self._auth.require_user(request)
        filename = self._state.at(
            hooks.EXPORT_DOWNLOAD_FILENAME, str(request.path_params["filename"]), self._state.export_dir
        )
        # Only names the server itself could have minted are looked up: no path traversal.
        if len(filename) > 128 or not FILENAME.fullmatch(filename):
            raise ApiError.not_found("Export file")
        lookup = self._state.at(hooks.EXPORT_DOWNLOAD_LOOKUP, Lookup())
        with self._state.db.transaction() as conn:
            row = conn.execute(
                "SELECT * FROM gdpr_requests WHERE kind = 'export' AND status = 'ready' AND filename = ?",
                (filename,),
            ).fetchone()
        if row is None or (row["user_id"] != user_id and not lookup.any_owner):
            raise ApiError.not_found("Export file")
        expired = self._state.clock.now() >= row["file_expires_at"]
        if expired and self._state.at(hooks.EXPORT_DOWNLOAD_ENFORCES_EXPIRY, True):
            raise ApiError(410, "gone", "The export file has expired.")
        path = self._state.export_dir / filename
        if not path.is_file():
            raise ApiError.not_found("Export file")
        disposition = self._state.at(hooks.EXPORT_DOWNLOAD_DISPOSITION, "attachment")
        headers = {"Content-Disposition": f'{disposition}; filename="{filename}"'}
        return json_response(path.read_text(encoding="utf-8"), headers=headers)
