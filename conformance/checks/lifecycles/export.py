"""GDPR data export: request, OTP from the inbox, confirm, wait until ready, download, expiry.

The model holds the user's emails, phones, favourites and devices (what the export must contain), the
request awaiting its OTP (attempts, expiry) and the latest export file with whether the test clock has
moved past its 7 days. With a user factory every path acts as a fresh disposable user (its data is exactly
what the machine made). The table (EXPORT_TABLE) gives the contract's answer to every action in every state;
after every step the GDPR status is read: its newest export is the model's, no deletion is pending.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections import Counter
from typing import Any

from conformance.checks.lifecycles._base import Due, Lifecycle, MachineSpec, owned
from conformance.checks.lifecycles._support import body_of, profile_email, read_all, unique_fcm_token, unique_product
from conformance.checks.lifecycles._table import Row, Table, row
from conformance.checks.lifecycles.deletion import OTP_BRUTE_FORCE, Pending, otp_state, parse_time, wrong_code
from conformance.context import CheckContext
from conformance.failures import UndecidedRequirement
from conformance.requirements import Need, Sharing
from conformance.target import Exchange
from conformance.users import User

__all__ = ["EXPORT", "EXPORT_TABLE", "ExportLifecycle"]

_POLLS, _POLL_INTERVAL_S = 100, 0.05
TRAVERSAL_NAMES = ("../etc/passwd", "..%2F..%2Fsecret", "kesk-export-x.json/../../")
_UNKNOWN_FILE = "kesk-export-" + "0" * 32 + ".json"  # well-formed, and never handed out (the pattern's least name)

_OPS = ("requestDataExport", "confirmDataExport", "getGdprStatus", "downloadExport")

_GDPR_EXPORT_FLOW = owned(
    "GDPR-EXPORT-FLOW",
    cites=("seed:confirmDataExport", "rule:OTP"),
    needs=[Need.INBOX],
    title="A confirmed data export becomes ready and downloads",
    operations=_OPS,
    doc="Requests an export (202), refuses wrong OTPs (400 invalid_code) and a confirmation with nothing "
    "pending (409 no_pending_request), confirms with the inbox OTP (202), polls the GDPR status until ready.",
)
_GDPR_EXPORT_CONTENT = owned(
    "GDPR-EXPORT-CONTENT",
    cites=("seed:requestDataExport", "spec:/components/schemas/ExportDocument"),
    needs=[Need.INBOX],
    title="The export file holds the user's own data",
    operations=("downloadExport", "addFavouriteProduct", "addUserEmail"),
    doc="Adds emails and favourites, exports, downloads: the document's emails, phones and favourites are the "
    "model's at the confirmation, and Content-Disposition names the file as an attachment.",
)
_GDPR_EXPORT_EXPIRY = owned(
    "GDPR-EXPORT-EXPIRY",
    cites=("rule:EXPORT-FILE-LIFETIME", "seed:downloadExport"),
    needs=[Need.INBOX, Need.CLOCK],
    title="An export file expires after 7 days",
    operations=("downloadExport", "getGdprStatus"),
    doc="Advances the test clock to 60 s before an export file's 7 days are over (it downloads), then past "
    "them: 410 gone, and the GDPR status shows the export expired; a new export then works.",
)
_GDPR_EXPORT_TRAVERSAL = owned(
    "GDPR-EXPORT-TRAVERSAL",
    cites=("rule:EXPORT-OWNER-ONLY",),
    needs=[Need.INBOX],
    title="Export file names outside the pattern, or unknown, are refused",
    operations=("downloadExport",),
    doc="Downloads ../etc/passwd, ..%2F..%2Fsecret and kesk-export-x.json/../../, raw and percent-encoded: 404 or "
    "400; and a well-formed name no export has: 404 not_found.",
)
_GDPR_EXPORT_OTP_SINGLE_USE = owned(
    "GDPR-EXPORT-OTP-SINGLE-USE",
    cites=("rule:OTP",),
    needs=[Need.INBOX],
    title="An export OTP confirms once",
    operations=("confirmDataExport",),
    doc="Confirms an export, then sends the same OTP again: 409 no_pending_request.",
)
_GDPR_EXPORT_OTP_BOUND = owned(
    "GDPR-EXPORT-OTP-BOUND",
    cites=("rule:OTP",),
    needs=[Need.INBOX, Need.SECOND_USER],
    title="An export OTP is bound to its user and request",
    operations=("requestDataExport", "confirmDataExport"),
    doc="Confirms with a superseded export request's OTP and with another user's pending export OTP: 400 "
    "invalid_code each.",
)
_GDPR_EXPORT_OTP_EXPIRY = owned(
    "GDPR-EXPORT-OTP-EXPIRY",
    cites=("rule:OTP",),
    needs=[Need.INBOX, Need.CLOCK],
    title="An export OTP expires after 10 minutes",
    operations=("confirmDataExport",),
    doc="Requests an export, advances the test clock past the OTP's lifetime, confirms (400 code_expired), sends "
    "a wrong code and requests again.",
)
_FCM_PLATFORM_UPDATED = owned(
    "FCM-PLATFORM-UPDATED",
    cites=("rule:FCM-IDEMPOTENT", "spec:/components/schemas/ExportDocument/properties/fcm_tokens"),
    needs=[Need.INBOX],
    title="Registering an FCM token again updates its platform",
    operations=("registerFcmToken", "confirmDataExport", "downloadExport"),
    doc="Registers a new token as android, again as ios, and exports: the document's devices hold it as ios "
    "(the export is the only place the contract shows a token's platform).",
)
_FLOW, _CONTENT, _EXPIRY = _GDPR_EXPORT_FLOW.id, _GDPR_EXPORT_CONTENT.id, _GDPR_EXPORT_EXPIRY.id
_TRAVERSAL, _SINGLE, _BOUND = _GDPR_EXPORT_TRAVERSAL.id, _GDPR_EXPORT_OTP_SINGLE_USE.id, _GDPR_EXPORT_OTP_BOUND.id
_OTP_EXPIRY, _PLATFORM, _BRUTE = _GDPR_EXPORT_OTP_EXPIRY.id, _FCM_PLATFORM_UPDATED.id, OTP_BRUTE_FORCE.id
_NONE_PENDING = (409, "no_pending_request")
_WRONG = (400, "invalid_code")
_LOCKED = (429, "too_many_attempts")
_REFUSED_NAME: list[tuple[int, str | None]] = [(404, "not_found"), (400, "malformed_request")]

EXPORT_TABLE = Table(
    "data-export",
    "none",
    [
        row("none", "add_favourite", 201, "none", _CONTENT),
        row("none", "add_email", 201, "none", _CONTENT),
        row("none", "register_device", 200, "none", _PLATFORM),
        row("none", "request", 202, "awaiting", _FLOW),
        row("none", "confirm_wrong", _NONE_PENDING, "none", _FLOW),
        row("none", "download_unknown", (404, "not_found"), "none", _TRAVERSAL),
        row("none", "download_traversal", _REFUSED_NAME, "none", _TRAVERSAL),
        row("awaiting", "confirm_pending", 202, "ready", _FLOW),
        row("awaiting", "confirm_wrong", _WRONG, "tried", _FLOW),
        row("awaiting", "confirm_superseded", _WRONG, "tried", _BOUND),
        row("awaiting", "confirm_foreign", _WRONG, "tried", _BOUND, Need.SECOND_USER),
        row("awaiting", "request", 202, "awaiting", _FLOW),
        row("awaiting", "expire_otp", None, "expired", _OTP_EXPIRY, Need.CLOCK),
        row("tried", "use_up_attempts", _WRONG, "last", _BRUTE),
        row("tried", "confirm_pending", 202, "ready", _FLOW),
        row("tried", "request", 202, "awaiting", _FLOW),
        row("last", "confirm_pending", 202, "ready", _BRUTE),
        row("last", "confirm_wrong", _WRONG, "locked", _BRUTE),
        row("last", "request", 202, "awaiting", _FLOW),
        row("locked", "confirm_pending", _LOCKED, "locked", _BRUTE),
        row("locked", "confirm_wrong", _LOCKED, "locked", _BRUTE),
        row("locked", "request", 202, "awaiting", _BRUTE),
        row("expired", "confirm_pending", (400, "code_expired"), "expired", _OTP_EXPIRY),
        row("expired", "confirm_wrong", [(400, "code_expired"), (400, "invalid_code")], "expired", _OTP_EXPIRY),
        row("expired", "request", 202, "awaiting", _OTP_EXPIRY),
        row("ready", "download", 200, "ready", _CONTENT),
        row("ready", "confirm_used", _NONE_PENDING, "ready", _SINGLE),
        row("ready", "download_unknown", (404, "not_found"), "ready", _TRAVERSAL),
        row("ready", "request", 202, "awaiting", _FLOW),
        row("ready", "expire_file", 200, "file_expired", _EXPIRY, Need.CLOCK),
        row("file_expired", "download", (410, "gone"), "file_expired", _EXPIRY),
        row("file_expired", "confirm_used", _NONE_PENDING, "file_expired", _EXPIRY),
        row("file_expired", "request", 202, "awaiting", _EXPIRY),
    ],
)


def _contact(item: dict[str, Any], field: str) -> tuple[Any, ...]:
    return (item.get("id"), item.get(field), item.get("is_verified"), item.get("is_primary"))


def _declared(ctx: CheckContext, schema: str, value: object) -> object:
    """`value` with only the members `schema` declares (nested objects too), and every date-time as the instant
    it names: what two views of one fact must share, whatever members or offsets a server adds."""
    definition = ctx.contract.schema(schema)
    if not isinstance(value, dict):
        return value
    shown: dict[str, object] = {}
    for name, member in definition.get("properties", {}).items():
        item = value.get(name)
        ref = str(member.get("$ref", "")).rsplit("/", 1)[-1]
        if ref and isinstance(item, dict):
            shown[name] = _declared(ctx, ref, item)
        elif member.get("format") == "date-time" and isinstance(item, str):
            instant = parse_time(item)
            shown[name] = instant.timestamp() if instant is not None else item
        else:
            shown[name] = item
    return shown


class ExportLifecycle(Lifecycle):
    table = EXPORT_TABLE

    def __init__(self, ctx: CheckContext) -> None:
        super().__init__(ctx)
        self.user = ctx.disposable_user() if ctx.factory is not None else ctx.user_a
        self.email = profile_email(ctx, self.user)
        self.emails = {int(e["id"]): _contact(e, "email") for e in read_all(ctx, "listUserEmails", self.user)}
        self.phones = {int(p["id"]): _contact(p, "phone_number") for p in read_all(ctx, "listUserPhones", self.user)}
        self.products = {int(f["product_id"]) for f in read_all(ctx, "listFavouriteProducts", self.user)}
        self.devices: dict[str, str] = {}  # the tokens this machine registered -> their platform
        self.added_emails: set[int] = set()
        self.added_products: set[int] = set()
        self.other: User | None = None
        self.pending: Pending | None = None
        self.superseded: list[str] = []
        self.used: list[str] = []
        self.latest: str | None = None  # the newest export's file
        self.latest_id: object = None
        self.latest_expired = False
        self.snapshot: dict[str, Any] = {}  # what the newest file must hold (the model at its confirmation)
        start = self.send("getGdprStatus", user=self.user)
        if start.status != 200:
            raise UndecidedRequirement(f"cannot read the GDPR status to start from: {ctx.actual(start)}")
        self.deletion = body_of(start).get("pending_deletion")  # an export step never changes it

    def state(self) -> str:
        if self.pending is not None:
            return otp_state(self.pending, self.ctx.limits.otp_max_attempts)
        if self.latest is None:
            return "none"
        return "file_expired" if self.latest_expired else "ready"

    def teardown(self) -> None:
        """Removes the emails, favourites and tokens this machine added (best effort)."""
        with contextlib.suppress(UndecidedRequirement):
            for product in sorted(self.added_products & self.products):
                self.send("removeFavouriteProduct", user=self.user, path_params={"id": product})
            for email_id in sorted(self.added_emails):
                self.send("removeUserEmail", user=self.user, path_params={"email_id": email_id})
            for token in self.devices:
                self.send("unregisterFcmToken", user=self.user, path_params={"fcm_token": token})

    # --- what the export must contain ------------------------------------------------------------
    def act_add_favourite(self, row: Row) -> None:
        """POST /favourites with a new product: the next export must list it."""
        product = unique_product(self.ctx)
        self.answer(self.send("addFavouriteProduct", user=self.user, json_body={"product_id": product}))
        self.products.add(product)
        self.added_products.add(product)

    def act_add_email(self, row: Row) -> None:
        """POST /user/emails with a new (unverified) address: the next export must list it."""
        address = self.ctx.unique_email()
        exchange = self.send("addUserEmail", user=self.user, json_body={"email": address})
        body = self.answer(exchange)
        self.check(
            _CONTENT,
            isinstance(body.get("id"), int) and body.get("email") == address,
            expected=f"the new address's integer id and the address sent ({address})",
            actual=self.ctx.actual(exchange),
            exchange=exchange,
        )
        self.emails[int(body["id"])] = _contact(body, "email")
        self.added_emails.add(int(body["id"]))

    def act_register_device(self, row: Row) -> None:
        """POST /account/fcm-tokens with a new token as android, then the same token as ios: 200 each; the
        next export must show it as ios (FCM-IDEMPOTENT: registering again updates the platform)."""
        token = unique_fcm_token(self.ctx)
        for platform in ("android", "ios"):
            self.answer(
                self.send("registerFcmToken", user=self.user, json_body={"fcm_token": token, "platform": platform})
            )
            self.devices[token] = platform

    # --- the export flow ---------------------------------------------------------------------------
    def act_request(self, row: Row) -> None:
        """POST request-data-export: 202 pending_confirmation, and an OTP reaches the primary email."""
        exchange = self.send("requestDataExport", user=self.user, json_body={"format": "json"})
        self.open_request(exchange, self.answer(exchange))

    def open_request(self, exchange: Exchange, body: dict[str, Any]) -> None:
        self.check(
            _FLOW,
            body.get("status") == "pending_confirmation"
            and bool(body.get("request_id"))
            and body.get("filename") is None,
            exchange=exchange,
            expected="status pending_confirmation, a request_id, no filename yet",
            actual=self.ctx.actual(exchange),
        )
        if self.pending is not None:
            self.superseded.append(self.pending.otp)
        otp = self.ctx.code(channel="email", address=self.email, purpose="data_export")
        self.note("(inbox: a data_export OTP reached the primary email)")
        self.pending = Pending(str(body.get("request_id")), otp, body.get("requested_at"), time.monotonic())

    def confirm_with(self, otp: str) -> Exchange:
        return self.send("confirmDataExport", user=self.user, json_body={"otp": otp})

    def refused(self, exchange: Exchange) -> None:
        self.answer(exchange)
        if self.pending is not None and body_of(exchange).get("code") == "invalid_code":
            self.pending.attempts += 1

    def act_confirm_pending(self, row: Row) -> None:
        """POST confirm with the pending request's OTP: 202 queued, then the GDPR status lists it ready with a
        file (or refused: locked, expired)."""
        pending = self.pending
        assert pending is not None
        exchange = self.confirm_with(pending.otp)
        body = self.answer(exchange)
        if exchange.status != 202:
            return
        self.check(
            _FLOW,
            body.get("status") in ("queued", "processing", "ready") and body.get("request_id") == pending.request_id,
            exchange=exchange,
            expected=f"status queued, processing or ready for request {pending.request_id}",
            actual=self.ctx.actual(exchange),
        )
        self.used.append(pending.otp)
        self.pending = None
        self.snapshot = {
            "format_version": 1,
            "user.email": self.email,
            "emails": sorted(self.emails.values()),
            "phones": sorted(self.phones.values()),
            "favourites": sorted(self.products),
            # the views the document repeats, as they stand when the export is made
            "user": _declared(self.ctx, "MyProfileResponse", body_of(self.send("getMyProfile", user=self.user))),
        }
        if "appGetVerificationStatus" not in self.ctx.left_out:
            status = body_of(self.send("appGetVerificationStatus", user=self.user))
            self.snapshot["identity_verification"] = _declared(self.ctx, "VerificationStatusResponse", status)
        self.latest, self.latest_id, self.latest_expired = (
            self.wait_until_ready(pending.request_id),
            pending.request_id,
            False,
        )

    def wait_until_ready(self, request_id: object) -> str:
        status: Exchange | None = None
        for _ in range(_POLLS):
            status = self.ctx.call("getGdprStatus", user=self.user)
            for item in body_of(status).get("recent_exports", []) if status.status == 200 else []:
                ready = isinstance(item, dict) and (item.get("request_id"), item.get("status")) == (request_id, "ready")
                if ready and isinstance(item.get("filename"), str) and item["filename"]:
                    self.note(f"getGdprStatus: export {request_id} ready")
                    return str(item["filename"])
            time.sleep(_POLL_INTERVAL_S)
        self.violation(
            _FLOW,
            exchange=status,
            expected=f"the confirmed export {request_id} listed as ready within {_POLLS * _POLL_INTERVAL_S:.0f} s",
        )

    def act_confirm_wrong(self, row: Row) -> None:
        """POST confirm with a code that is no OTP of this user."""
        right = self.pending.otp if self.pending else ""
        self.refused(self.confirm_with(wrong_code(right, [*self.superseded, *self.used])))

    def act_use_up_attempts(self, row: Row) -> None:
        """POST confirm with wrong codes until one attempt is left: 400 invalid_code each."""
        assert self.pending is not None
        while self.pending.attempts < self.ctx.limits.otp_max_attempts - 1:
            self.refused(self.confirm_with(wrong_code(self.pending.otp, [*self.superseded, *self.used])))

    def act_confirm_superseded(self, row: Row) -> None:
        """POST request again (202: the pending request is superseded), then confirm with the superseded
        request's OTP: 400 invalid_code."""
        exchange = self.send("requestDataExport", user=self.user, json_body={"format": "json"})
        self.open_request(exchange, self.expect(_FLOW, exchange, 202, what="a request that supersedes the pending one"))
        assert self.pending is not None
        stale = next((otp for otp in reversed(self.superseded) if otp != self.pending.otp), None)
        self.refused(self.confirm_with(stale or wrong_code(self.pending.otp, [])))

    def act_confirm_foreign(self, row: Row) -> None:
        """Another user requests an export; POST confirm with that user's OTP as this user: 400 invalid_code."""
        assert self.pending is not None
        if self.other is None:
            self.other = self.ctx.disposable_user() if self.ctx.factory is not None else self.ctx.second_user()
        asked = self.send("requestDataExport", user=self.other, json_body={"format": "json"})
        self.expect(_BOUND, asked, 202, what="another user's export request")
        foreign = self.ctx.code(channel="email", address=profile_email(self.ctx, self.other), purpose="data_export")
        if foreign == self.pending.otp or foreign in self.superseded:
            foreign = wrong_code(self.pending.otp, self.superseded)
        self.refused(self.confirm_with(foreign))

    def act_confirm_used(self, row: Row) -> None:
        """POST confirm with the OTP that confirmed the newest export: 409 no_pending_request."""
        self.answer(self.confirm_with(self.used[-1]))

    def act_expire_otp(self, row: Row) -> None:
        """Advances the test clock past the OTP's lifetime."""
        assert self.pending is not None
        self.advance(self.ctx.limits.otp_ttl_s + 1)
        self.pending.expired = True

    def advance(self, seconds: int) -> None:
        assert self.ctx.clock is not None
        self.ctx.clock.advance(seconds, user=self.user)
        self.note(f"(test clock advanced {seconds} s)")

    def lifetimes(self) -> list[Due]:
        """On the wall clock, once per run: a ready export file and a pending export OTP age together. A margin
        before the file's lifetime ends it downloads (200), just past it 410 gone; the OTP just past its
        lifetime answers 400 code_expired."""
        assert self.ctx.clock is not None
        exchange = self.send("requestDataExport", user=self.user, json_body={"format": "json"})
        self.open_request(exchange, self.expect(_FLOW, exchange, 202, what="an export request"))
        assert self.pending is not None
        made = self.pending
        self.expect(_FLOW, self.confirm_with(made.otp), 202, what="the right OTP confirms the export")
        self.used.append(made.otp)
        filename = self.wait_until_ready(made.request_id)
        exchange = self.send("requestDataExport", user=self.user, json_body={"format": "json"})
        self.open_request(exchange, self.expect(_FLOW, exchange, 202, what="a second export request"))
        otp = self.pending.otp
        ttl = self.ctx.limits.export_file_ttl_s
        young = ttl - self.ctx.clock.margin_s(ttl)

        def still_downloads() -> None:
            exchange = self.send("downloadExport", user=self.user, path_params={"filename": filename})
            self.expect(_EXPIRY, exchange, 200, what=f"an export file {young} s old (lifetime {ttl} s)")

        def gone() -> None:
            exchange = self.send("downloadExport", user=self.user, path_params={"filename": filename})
            self.expect(_EXPIRY, exchange, 410, code="gone", what=f"an export file past its {ttl} s")

        def otp_expired() -> None:
            exchange = self.confirm_with(otp)
            self.expect(_OTP_EXPIRY, exchange, 400, code="code_expired", what="an export OTP just past its lifetime")

        return [
            Due(young, still_downloads, judges=_EXPIRY),
            Due(ttl + 1, gone, judges=_EXPIRY),
            Due(self.ctx.limits.otp_ttl_s + 1, otp_expired, judges=_OTP_EXPIRY),
        ]

    # --- the file ----------------------------------------------------------------------------------
    def act_download(self, row: Row) -> None:
        """GET download-export/{filename}: the document while its 7 days last, 410 gone afterwards."""
        assert self.latest is not None
        exchange = self.send("downloadExport", user=self.user, path_params={"filename": self.latest})
        self.answer(exchange)
        if exchange.status == 200:
            self.compare_document(exchange, self.latest)

    def act_expire_file(self, row: Row) -> None:
        """Advances the test clock to 60 s before the file's 7 days are over: it still downloads (200); then
        61 s more: the file has expired (EXPORT-FILE-LIFETIME: downloadable for 7 days, not fewer)."""
        assert self.latest is not None
        self.advance(self.ctx.limits.export_file_ttl_s - 60)
        self.answer(
            self.send("downloadExport", user=self.user, path_params={"filename": self.latest}),
            what="an export file 60 s before its 7 days are over",
        )
        self.advance(61)
        self.latest_expired = True

    def act_download_unknown(self, row: Row) -> None:
        """GET download-export with a well-formed file name no export has: 404 not_found."""
        self.answer(self.send("downloadExport", user=self.user, path_params={"filename": _UNKNOWN_FILE}))

    def act_download_traversal(self, row: Row) -> None:
        """GET download-export with each traversal name, percent-encoded and raw: refused with 404 (or 400)."""
        for name in TRAVERSAL_NAMES:
            self.answer(
                self.send("downloadExport", user=self.user, path_params={"filename": name}),
                what=f"the file name {name!r} is refused",
            )
            raw = self.ctx.client.request("GET", f"/user/download-export/{name}", token=self.user.token)
            self.note(f"GET /user/download-export/{name} (raw) -> {raw.status}")
            self.expect(_TRAVERSAL, raw, (400, 404), what=f"the raw file name {name!r} is refused")

    def compare_document(self, exchange: Exchange, filename: str) -> None:
        """The downloaded JSON string holds an ExportDocument with the data of its confirmation."""
        disposition = exchange.headers.get("content-disposition", "")
        self.check(
            _FLOW,
            filename in disposition and "attachment" in disposition,
            exchange=exchange,
            expected=f'Content-Disposition: attachment; filename="{filename}"',
            actual=repr(disposition),
        )
        text = exchange.json()
        try:
            document = json.loads(text) if isinstance(text, str) else None
        except ValueError:
            document = None
        if not isinstance(document, dict):
            self.violation(_CONTENT, exchange=exchange, expected="a JSON string holding the ExportDocument")
        platforms = [str(d.get("platform")) for d in document.get("fcm_tokens") or [] if isinstance(d, dict)]
        mine = Counter(self.devices.values())
        if mine - Counter(platforms):
            self.violation(
                _PLATFORM,
                exchange=exchange,
                expected=f"the exported devices include the tokens registered with their latest platform: "
                f"{sorted(mine.elements())}",
                actual=f"the exported platforms {sorted(platforms)}",
            )
        seen = {
            "format_version": document.get("format_version"),
            "user.email": (document.get("user") or {}).get("email"),
            "emails": sorted(_contact(e, "email") for e in document.get("emails") or [] if isinstance(e, dict)),
            "phones": sorted(_contact(p, "phone_number") for p in document.get("phones") or [] if isinstance(p, dict)),
            "favourites": sorted(
                int(f["product_id"])
                for f in document.get("favourites") or []
                if isinstance(f, dict) and isinstance(f.get("product_id"), int)
            ),
            "user": _declared(self.ctx, "MyProfileResponse", document.get("user")),
            "identity_verification": _declared(
                self.ctx, "VerificationStatusResponse", document.get("identity_verification")
            ),
        }
        wrong = [key for key in self.snapshot if seen[key] != self.snapshot[key]]
        if wrong:
            self.violation(
                _CONTENT,
                exchange=exchange,
                expected="; ".join(f"{key} = {self.snapshot[key]}" for key in wrong),
                actual="; ".join(f"{key} = {seen[key]}" for key in wrong),
            )

    # --- views ---------------------------------------------------------------------------------------
    def views(self, row: Row) -> None:
        """GET gdpr-status: the newest export is the model's (awaiting its OTP, ready with its file, expired),
        and the pending deletion is unchanged."""
        exchange = self.send("getGdprStatus", user=self.user)
        body = self.expect(_FLOW, exchange, 200, what="the GDPR status")
        exports = [item for item in body.get("recent_exports") or [] if isinstance(item, dict)]
        newest = exports[0] if exports else {}
        seen = (newest.get("request_id"), newest.get("status"), newest.get("filename"))
        state = self.state()
        want: set[tuple[object, object, object]]
        if self.pending is not None:
            want = {(self.pending.request_id, "pending_confirmation", None)}
            rid = _FLOW
            requested = parse_time(newest.get("requested_at")) == parse_time(self.pending.requested_at)
        elif self.latest is not None:
            want = {(self.latest_id, "expired" if self.latest_expired else "ready", self.latest)}
            rid, requested = (_EXPIRY if self.latest_expired else _FLOW), True
        else:
            return self.check(
                _FLOW,
                body.get("pending_deletion") == self.deletion,
                expected=f"pending_deletion unchanged by an export step: {self.deletion}",
                actual=f"{body.get('pending_deletion')}",
                exchange=exchange,
            )
        self.check(
            rid,
            seen in want and requested,
            expected=f"the newest export (request_id, status, filename) = {sorted(want, key=str)[0]}"
            + (f", requested at {self.pending.requested_at}" if self.pending else "")
            + (" (its request is void, or awaits still)" if state in ("locked", "expired") else ""),
            actual=f"{seen} requested at {newest.get('requested_at')}",
            exchange=exchange,
        )
        self.check(
            _FLOW,
            body.get("pending_deletion") == self.deletion,
            expected=f"pending_deletion unchanged by an export step: {self.deletion}",
            actual=f"{body.get('pending_deletion')}",
            exchange=exchange,
        )


EXPORT = MachineSpec(
    "data-export",
    ExportLifecycle,
    requirements=(
        _GDPR_EXPORT_FLOW,
        _GDPR_EXPORT_CONTENT,
        _GDPR_EXPORT_EXPIRY,
        _GDPR_EXPORT_TRAVERSAL,
        _GDPR_EXPORT_OTP_SINGLE_USE,
        _GDPR_EXPORT_OTP_BOUND,
        _GDPR_EXPORT_OTP_EXPIRY,
        _FCM_PLATFORM_UPDATED,
        OTP_BRUTE_FORCE,
    ),
    table=EXPORT_TABLE,
    steps=8,
    sharing=Sharing.ALONE,  # it advances the server's test clock (GDPR-EXPORT-EXPIRY)
    optional_actions=(("register_device", "registerFcmToken"),),
    lifetimes=ExportLifecycle.lifetimes,
)
