"""GDPR data export: request, OTP from the inbox, confirm, wait until ready, download, expiry.

The model holds the user's emails, phones and favourites (what the export must contain) and
the export files with whether the test clock has moved past their 7 days. With a user factory
every example acts as a fresh disposable user (its data is exactly what the machine made).
"""

from __future__ import annotations

import contextlib
import json
import time
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import Bundle, consumes, initialize, precondition, rule

from conformance.checks.lifecycles._base import Due, Lifecycle, MachineSpec, owned
from conformance.checks.lifecycles._support import (
    body_of,
    profile_email,
    read_all,
    unique_fcm_token,
    unique_product,
)
from conformance.context import CheckContext
from conformance.failures import UndecidedRequirement
from conformance.requirements import Need, Sharing
from conformance.target import Exchange

__all__ = ["EXPORT", "ExportLifecycle"]

_POLLS, _POLL_INTERVAL_S = 100, 0.05
TRAVERSAL_NAMES = ("../etc/passwd", "..%2F..%2Fsecret", "kesk-export-x.json/../../")


class ExportLifecycle(Lifecycle):
    favourites = Bundle("favourites")
    export_files = Bundle("export_files")

    def __init__(self, ctx: CheckContext) -> None:
        super().__init__(ctx)
        self.user = ctx.disposable_user() if ctx.factory is not None else ctx.user_a
        self.email = profile_email(ctx, self.user)
        self.emails = {int(e["id"]): _contact(e, "email") for e in read_all(ctx, "listUserEmails", self.user)}
        self.phones = {int(p["id"]): _contact(p, "phone_number") for p in read_all(ctx, "listUserPhones", self.user)}
        self.products = {int(f["product_id"]) for f in read_all(ctx, "listFavouriteProducts", self.user)}
        self.added_emails: set[int] = set()
        self.added_products: set[int] = set()
        self.files: dict[str, bool] = {}  # filename -> expired
        self.made_at: dict[str, float] = {}  # filename -> time.monotonic() before its confirmation: no older
        self.snapshots: dict[str, dict[str, Any]] = {}  # filename -> what the file must hold (taken when ready)
        self.platforms: dict[str, list[str]] = {}  # filename -> its devices' platforms, sorted

    def teardown(self) -> None:
        """Removes the emails and favourites this machine added (best effort)."""
        with contextlib.suppress(UndecidedRequirement):
            for product in sorted(self.added_products & self.products):
                self.send("removeFavouriteProduct", user=self.user, path_params={"id": product})
            for email_id in sorted(self.added_emails):
                self.send("removeUserEmail", user=self.user, path_params={"email_id": email_id})

    # --- what the export must contain ------------------------------------------------------------
    @rule(target=favourites)
    def add_favourite(self) -> int:
        """POST /favourites with a new product: the next export must list it."""
        product = unique_product(self.ctx)
        exchange = self.send("addFavouriteProduct", user=self.user, json_body={"product_id": product})
        self.expect("GDPR-EXPORT-CONTENT", exchange, 201, what="a favourite to export")
        self.products.add(product)
        self.added_products.add(product)
        return product

    @rule(product=consumes(favourites))
    def remove_favourite(self, product: int) -> None:
        """DELETE /favourites/{product}: the next export must not list it."""
        exchange = self.send("removeFavouriteProduct", user=self.user, path_params={"id": product})
        self.expect("GDPR-EXPORT-CONTENT", exchange, 200, what="a favourite removed before exporting")
        self.products.discard(product)

    @precondition(lambda self: len(self.added_emails) < 3)
    @rule()
    def add_email(self) -> None:
        """POST /user/emails with a new (unverified) address: the next export must list it."""
        exchange = self.send("addUserEmail", user=self.user, json_body={"email": self.ctx.unique_email()})
        body = self.expect("GDPR-EXPORT-CONTENT", exchange, 201, what="an email address to export")
        self.emails[int(body["id"])] = _contact(body, "email")
        self.added_emails.add(int(body["id"]))

    # --- the export flow ---------------------------------------------------------------------------
    @initialize(target=export_files)
    def export_first(self) -> str:
        """Refuses every kind of bad OTP once, exports once before any other step (every example has a file to
        download and expire), then tries every traversal name, raw and percent-encoded, once, whatever steps
        Hypothesis draws later."""
        self.refuse_bad_otps()
        filename = self.run_export()
        for name in TRAVERSAL_NAMES:
            for raw in (False, True):
                self.traversal(name, raw)
        if "registerFcmToken" not in self.ctx.left_out:  # a target without FCM (--not-implemented fcm)
            self.ctx.once("fcm-platform-in-export", lambda: self.platform_updated(filename))
        if self.clock_in_examples:  # on the wall clock: once per run, beside the examples (lifetimes)
            self.run_due(self.file_lifetime(filename), user=self.user)
        return filename

    def file_lifetime(self, filename: str) -> list[Due]:
        """A margin before the file's lifetime is over it still downloads (200; a minute on a test clock), just past
        it it answers 410 gone (EXPORT-FILE-LIFETIME: downloadable for its lifetime, not less)."""
        assert self.ctx.clock is not None
        ttl = self.ctx.limits.export_file_ttl_s
        young = ttl - self.ctx.clock.margin_s(ttl)

        def still_downloads() -> None:
            exchange = self.send("downloadExport", user=self.user, path_params={"filename": filename})
            self.expect(_GDPR_EXPORT_EXPIRY, exchange, 200, what=f"an export file {young} s old (lifetime {ttl} s)")

        def gone() -> None:
            self.files = dict.fromkeys(self.files, True)  # every file of this example is at least as old
            exchange = self.send("downloadExport", user=self.user, path_params={"filename": filename})
            self.expect(_GDPR_EXPORT_EXPIRY, exchange, 410, code="gone", what=f"an export file past its {ttl} s")

        rid = _GDPR_EXPORT_EXPIRY.id
        return [Due(young, still_downloads, judges=rid), Due(ttl + 1, gone, judges=rid)]

    def otp_lifetime(self, otp: str) -> list[Due]:
        """The pending export's OTP, just past its lifetime: 400 code_expired."""

        def past_its_lifetime() -> None:
            self.expect(_EXPIRY, self.confirm_with(otp), 400, code="code_expired", what="an expired export OTP")

        return [Due(self.ctx.limits.otp_ttl_s + 1, past_its_lifetime, judges=_EXPIRY.id)]

    def lifetimes(self) -> list[Due]:
        """On the wall clock, once per run: a ready export file and a pending export OTP age together."""
        filename = self.run_export()
        otp = self.request_export()
        return [*self.file_lifetime(filename), *self.otp_lifetime(otp)]

    def platform_updated(self, filename: str) -> bool:
        """Once per run: registers a new FCM token as android, again as ios, and exports; the document's devices
        are those of the export before plus one ios (FCM-IDEMPOTENT: registering again updates its platform)."""
        token = unique_fcm_token(self.ctx)
        exchange: Exchange | None = None
        for platform in ("android", "ios"):
            body = {"fcm_token": token, "platform": platform}
            exchange = self.send("registerFcmToken", user=self.user, json_body=body)
            self.expect(_FCM_PLATFORM_UPDATED, exchange, 200, what=f"the token registered as {platform}")
        try:
            later = self.run_export()
            want = sorted([*self.platforms[filename], "ios"])
            seen = self.platforms[later]
            if seen != want:
                self.violation(
                    _FCM_PLATFORM_UPDATED,
                    expected=f"the exported devices' platforms {want} (the token registered again as ios)",
                    actual=f"{seen}",
                    exchange=exchange,
                )
        finally:
            self.send("unregisterFcmToken", user=self.user, path_params={"fcm_token": token})
        return True

    @rule(target=export_files)
    def export(self) -> str:
        """Request, confirm with the inbox OTP, poll the GDPR status until ready, download and compare."""
        return self.run_export()

    def request_export(self) -> str:
        """POST request-data-export: 202 pending_confirmation, and an OTP reaches the primary email; the OTP."""
        asked = self.send("requestDataExport", user=self.user, json_body={"format": "json"})
        body = self.expect("GDPR-EXPORT-FLOW", asked, 202, what="an export request awaits confirmation")
        self.check(
            "GDPR-EXPORT-FLOW",
            body.get("status") == "pending_confirmation",
            exchange=asked,
            expected="status pending_confirmation",
            actual=self.ctx.actual(asked),
        )
        otp = self.ctx.code(channel="email", address=self.email, purpose="data_export")
        self.note("(inbox: a data_export OTP reached the primary email)")
        return otp

    def confirm_with(self, otp: str) -> Exchange:
        return self.send("confirmDataExport", user=self.user, json_body={"otp": otp})

    def refuse_bad_otps(self) -> None:
        """The export confirm refuses what the deletion confirm refuses, each on a request of its own (so no
        attempt limit interferes): a wrong OTP (400 invalid_code), a superseded request's OTP (400 invalid_code),
        another user's pending OTP (400 invalid_code; with a second user) and, with the test clock, an expired
        one (400 code_expired). A used OTP is tried after every confirmation (run_export)."""
        first = self.request_export()
        wrong = f"{(int(first) + 1) % 1_000_000:06d}"
        self.expect("GDPR-EXPORT-FLOW", self.confirm_with(wrong), 400, code="invalid_code", what="a wrong export OTP")
        second = self.request_export()
        if second != first:
            stale = self.confirm_with(first)
            self.expect(_BOUND, stale, 400, code="invalid_code", what="the OTP of a superseded export request")
        foreign = self.foreign_otp()
        if foreign is not None:
            current = self.request_export()
            if foreign != current:
                self.expect(_BOUND, self.confirm_with(foreign), 400, code="invalid_code", what="another user's OTP")
        if self.clock_in_examples:
            self.run_due(self.otp_lifetime(self.request_export()), user=self.user)

    def foreign_otp(self) -> str | None:
        """Another user's pending export OTP (a disposable user, else user B); None without such a user."""
        other = self.ctx.disposable_user() if self.ctx.factory is not None else self.ctx.user_b
        if other is None:
            self.note("(no second user: the foreign OTP is not tried)")
            return None
        asked = self.send("requestDataExport", user=other, json_body={"format": "json"})
        if asked.status != 202:
            self.note("(the second user cannot request an export: the foreign OTP is not tried)")
            return None
        return self.ctx.code(channel="email", address=profile_email(self.ctx, other), purpose="data_export")

    def run_export(self) -> str:
        otp = self.request_export()
        made_at = time.monotonic()
        confirmed = self.confirm_with(otp)
        body = self.expect("GDPR-EXPORT-FLOW", confirmed, 202, what="the right OTP confirms the export")
        self.expect(
            _SINGLE_USE,
            self.confirm_with(otp),
            409,
            code="no_pending_request",
            what="a used export OTP again, with nothing awaiting confirmation",
        )
        request_id = body.get("request_id")
        self.check(
            "GDPR-EXPORT-FLOW",
            body.get("status") in ("queued", "processing", "ready"),
            exchange=confirmed,
            expected="status queued, processing or ready",
            actual=self.ctx.actual(confirmed),
        )
        filename = self.wait_until_ready(request_id)
        self.files[filename] = False
        self.made_at[filename] = made_at
        self.snapshots[filename] = {
            "format_version": 1,
            "user.email": self.email,
            "emails": sorted(self.emails.values()),
            "phones": sorted(self.phones.values()),
            "favourites": sorted(self.products),
        }
        self.download_and_compare(filename)
        return filename

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
            "GDPR-EXPORT-FLOW",
            exchange=status,
            expected=f"the confirmed export {request_id} listed as ready within {_POLLS * _POLL_INTERVAL_S:.0f} s",
        )

    def download_and_compare(self, filename: str) -> None:
        """Downloads a ready file: the JSON string holds an ExportDocument with the data of its export time."""
        exchange = self.send("downloadExport", user=self.user, path_params={"filename": filename})
        self.expect("GDPR-EXPORT-FLOW", exchange, 200, what="a ready export downloads")
        disposition = exchange.headers.get("content-disposition", "")
        self.check(
            "GDPR-EXPORT-FLOW",
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
            self.violation(
                "GDPR-EXPORT-CONTENT",
                exchange=exchange,
                expected="a JSON string holding the ExportDocument (a JSON object)",
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
        }
        self.platforms[filename] = sorted(
            str(device.get("platform")) for device in document.get("fcm_tokens") or [] if isinstance(device, dict)
        )
        want = self.snapshots[filename]
        wrong = [key for key in want if seen[key] != want[key]]
        if wrong:
            self.violation(
                "GDPR-EXPORT-CONTENT",
                exchange=exchange,
                expected="; ".join(f"{key} = {want[key]}" for key in wrong),
                actual="; ".join(f"{key} = {seen[key]}" for key in wrong),
            )

    @rule(filename=export_files)
    def download(self, filename: str) -> None:
        """GET download-export/{filename}: 200 while its 7 days last, 410 gone afterwards."""
        if self.files[filename]:
            exchange = self.send("downloadExport", user=self.user, path_params={"filename": filename})
            self.expect("GDPR-EXPORT-EXPIRY", exchange, 410, code="gone", what="an export file after its 7 days")
        elif self.young(self.made_at[filename], self.ctx.limits.export_file_ttl_s):
            self.download_and_compare(filename)
        else:
            self.note("(the file may have outlived its lifetime in real time: not downloaded)")

    @precondition(lambda self: self.clock_in_examples and not all(self.files.values()))
    @rule()
    def let_files_expire(self) -> None:
        """Advances the test clock 7 days + 1 s; every export file then answers 410 gone."""
        assert self.ctx.clock is not None
        past_ttl = self.ctx.limits.export_file_ttl_s + 1
        self.ctx.clock.advance(past_ttl, user=self.user)
        self.note(f"(test clock advanced {past_ttl} s)")
        for filename in self.files:
            self.files[filename] = True
            exchange = self.send("downloadExport", user=self.user, path_params={"filename": filename})
            self.expect("GDPR-EXPORT-EXPIRY", exchange, 410, code="gone", what="an export file after its 7 days")

    @rule(name=st.sampled_from(TRAVERSAL_NAMES), raw=st.booleans())
    def traversal(self, name: str, raw: bool) -> None:
        """GET download-export with a traversal name, percent-encoded or raw: refused with 404 (or 400)."""
        if raw:
            exchange = self.ctx.client.request("GET", f"/user/download-export/{name}", token=self.user.token)
            self.note(f"GET /user/download-export/{name} (raw) -> {exchange.status}")
        else:
            exchange = self.send("downloadExport", user=self.user, path_params={"filename": name})
        self.expect("GDPR-EXPORT-TRAVERSAL", exchange, (400, 404), what=f"the file name {name!r} is refused")


def _contact(item: dict[str, Any], field: str) -> tuple[Any, ...]:
    return (item.get("id"), item.get(field), item.get("is_verified"), item.get("is_primary"))


_OPS = ("requestDataExport", "confirmDataExport", "getGdprStatus", "downloadExport")

_GDPR_EXPORT_FLOW = owned(
    "GDPR-EXPORT-FLOW",
    cites=("seed:confirmDataExport", "rule:OTP"),
    needs=[Need.INBOX],
    title="A confirmed data export becomes ready and downloads",
    operations=_OPS,
    doc="Requests an export, confirms it with the inbox OTP, polls the GDPR status until ready, downloads it.",
)
_GDPR_EXPORT_CONTENT = owned(
    "GDPR-EXPORT-CONTENT",
    cites=("seed:requestDataExport", "spec:/components/schemas/ExportDocument"),
    needs=[Need.INBOX],
    title="The export file holds the user's own data",
    operations=("downloadExport", "addFavouriteProduct", "addUserEmail"),
    doc="Adds emails and favourites, exports, and compares the document's emails, phones and favourites "
    "with the model.",
)
_GDPR_EXPORT_EXPIRY = owned(
    "GDPR-EXPORT-EXPIRY",
    cites=("rule:EXPORT-FILE-LIFETIME", "seed:downloadExport"),
    needs=[Need.INBOX, Need.CLOCK],
    title="An export file expires after 7 days",
    operations=("downloadExport",),
    doc="Lets the clock reach a margin before an export file's lifetime is over (it downloads), then pass it: "
    "410 gone; on a test clock, later steps also advance it past the lifetime and download every export file.",
)
_GDPR_EXPORT_TRAVERSAL = owned(
    "GDPR-EXPORT-TRAVERSAL",
    cites=("rule:EXPORT-OWNER-ONLY",),
    needs=[Need.INBOX],
    title="Export file names outside the pattern are refused",
    operations=("downloadExport",),
    doc="Downloads ../etc/passwd, ..%2F..%2Fsecret and kesk-export-x.json/../../, raw and percent-encoded: 404 or 400.",
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
    needs=[Need.INBOX],
    title="An export OTP is bound to its user and request",
    operations=("requestDataExport", "confirmDataExport"),
    doc="Confirms with a superseded export request's OTP and (given a second user) with another user's pending "
    "export OTP: 400 invalid_code each.",
)
_GDPR_EXPORT_OTP_EXPIRY = owned(
    "GDPR-EXPORT-OTP-EXPIRY",
    cites=("rule:OTP",),
    needs=[Need.INBOX, Need.CLOCK],
    title="An export OTP expires after 10 minutes",
    operations=("confirmDataExport",),
    doc="Requests an export, lets the clock pass the OTP's lifetime and confirms: 400 code_expired.",
)
_FCM_PLATFORM_UPDATED = owned(
    "FCM-PLATFORM-UPDATED",
    cites=("rule:FCM-IDEMPOTENT", "spec:/components/schemas/ExportDocument/properties/fcm_tokens"),
    needs=[Need.INBOX],
    title="Registering an FCM token again updates its platform",
    operations=("registerFcmToken", "confirmDataExport", "downloadExport"),
    doc="Registers a new token as android, again as ios, and exports: the document's devices gained one ios "
    "(the export is the only place the contract shows a token's platform).",
)
_SINGLE_USE, _BOUND, _EXPIRY = _GDPR_EXPORT_OTP_SINGLE_USE, _GDPR_EXPORT_OTP_BOUND, _GDPR_EXPORT_OTP_EXPIRY

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
    ),
    steps=8,
    sharing=Sharing.ALONE,  # it advances the server's test clock (GDPR-EXPORT-EXPIRY)
    lifetimes=ExportLifecycle.lifetimes,
)
