"""GDPR account deletion: request, OTP from the inbox, confirm, grace period, cancel.

Every path acts as a fresh disposable user (a confirmed deletion would end user A). The model holds
the request awaiting confirmation (its OTP, wrong attempts, whether the clock made it expire), the
scheduled deletion, and the OTPs that must be dead: superseded and used ones. The table (DELETION_TABLE)
gives the contract's answer to every action in every state: OTPs wrong, another user's, a superseded
request's, used, expired, past the attempt limit; requests and cancels with nothing pending or scheduled.
After every step the GDPR status is read: its pending deletion is the model's, its exports unchanged.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from conformance.checks.lifecycles._base import Due, Lifecycle, MachineSpec, owned
from conformance.checks.lifecycles._support import body_of, profile_email
from conformance.checks.lifecycles._table import Row, Table, row
from conformance.context import CheckContext
from conformance.failures import UndecidedRequirement
from conformance.requirements import Need, Sharing
from conformance.target import Exchange
from conformance.users import User

__all__ = ["DELETION", "DELETION_TABLE", "OTP_BRUTE_FORCE", "DeletionLifecycle", "otp_state", "parse_time"]

_TOLERANCE_S = 5.0


def parse_time(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


@dataclass(slots=True)
class Pending:
    request_id: str
    otp: str  # a secret: never printed
    requested_at: object  # as the 202 gave it: the GDPR status must show the same instant
    requested_wall: float
    attempts: int = 0
    expired: bool = False


def otp_state(pending: Pending | None, most: int) -> str:
    """The abstract state of a request awaiting its OTP (shared by the deletion and export tables)."""
    if pending is None:
        return "none"
    if pending.expired:
        return "expired"
    if pending.attempts >= most:
        return "locked"
    if pending.attempts == most - 1:
        return "last"
    return "awaiting" if pending.attempts == 0 else "tried"


def wrong_code(right: str, dead: list[str]) -> str:
    """A 6-digit code that is neither `right` nor one of the `dead` OTPs (so its refusal is unambiguous)."""
    shift = 1
    while (wrong := f"{(int(right or 0) + shift) % 1_000_000:06d}") in dead or wrong == right:
        shift += 1
    return wrong


_OPS = ("requestAccountDeletion", "confirmAccountDeletion", "cancelAccountDeletion", "getGdprStatus")
_NEEDS = (Need.INBOX, Need.DESTRUCTIVE)

_GDPR_DELETION_FLOW = owned(
    "GDPR-DELETION-FLOW",
    cites=("rule:DELETION-GRACE", "seed:confirmAccountDeletion"),
    needs=_NEEDS,
    title="A deletion is confirmed by the emailed OTP and scheduled after the grace period",
    operations=_OPS[:2],
    doc="Requests (202; 409 conflict while scheduled), refuses wrong OTPs (400 invalid_code), confirms with the "
    "inbox OTP (scheduled_for = now + 30 days), confirms with nothing pending (409 no_pending_request).",
)
_GDPR_DELETION_CANCEL = owned(
    "GDPR-DELETION-CANCEL",
    cites=("rule:DELETION-GRACE", "seed:cancelAccountDeletion"),
    needs=_NEEDS,
    title="Cancelling a pending or scheduled deletion clears it",
    operations=("cancelAccountDeletion", "getGdprStatus"),
    doc="Cancels in every state: awaiting (with and without wrong attempts), scheduled (200, status clear), "
    "with nothing pending (409 no_pending_request).",
)
_GDPR_OTP_SINGLE_USE = owned(
    "GDPR-OTP-SINGLE-USE",
    cites=("rule:OTP",),
    needs=_NEEDS,
    title="A deletion OTP confirms once",
    operations=("confirmAccountDeletion",),
    doc="Confirms with an OTP that already confirmed: 409 no_pending_request.",
)
_GDPR_OTP_BOUND = owned(
    "GDPR-OTP-BOUND",
    cites=("rule:OTP",),
    needs=(*_NEEDS, Need.SECOND_USER),
    title="A deletion OTP is bound to its user and request",
    operations=("requestAccountDeletion", "confirmAccountDeletion"),
    doc="Confirms with another user's pending OTP and with a superseded request's OTP: 400 invalid_code each.",
)
_GDPR_OTP_EXPIRY = owned(
    "GDPR-OTP-EXPIRY",
    cites=("rule:OTP",),
    needs=(*_NEEDS, Need.CLOCK),
    title="A deletion OTP expires after 10 minutes",
    operations=("confirmAccountDeletion",),
    doc="Advances the test clock past the OTP's lifetime, then confirms (400 code_expired), sends a wrong code, "
    "requests again and cancels.",
)
_GDPR_STATUS_MODEL = owned(
    "GDPR-STATUS-MODEL",
    cites=("seed:getGdprStatus", "spec:/components/schemas/GdprStatusResponse"),
    needs=_NEEDS,
    title="The GDPR status shows the deletion the user has pending",
    operations=("getGdprStatus",),
    doc="After every step, the GDPR status' pending_deletion equals the model (awaiting, scheduled with its date, "
    "or null) and recent_exports is unchanged.",
)
OTP_BRUTE_FORCE = owned(
    "OTP-BRUTE-FORCE",
    cites=("rule:OTP", "rule:VERIFY-TOKEN"),
    needs=[Need.INBOX, Need.DESTRUCTIVE],
    title="Guessing OTPs and verification tokens is bounded",
    operations=("confirmAccountDeletion", "confirmDataExport", "verifyUserEmail"),
    doc="Spends every attempt of a deletion OTP, an export OTP and an email token: the last allowed attempt "
    "still confirms, one more answers 429 too_many_attempts, and so does the right code after it.",
)
_FLOW, _CANCEL, _SINGLE = _GDPR_DELETION_FLOW.id, _GDPR_DELETION_CANCEL.id, _GDPR_OTP_SINGLE_USE.id
_BOUND, _EXPIRY, _STATUS, _BRUTE = _GDPR_OTP_BOUND.id, _GDPR_OTP_EXPIRY.id, _GDPR_STATUS_MODEL.id, OTP_BRUTE_FORCE.id
_NONE_PENDING = (409, "no_pending_request")
_WRONG = (400, "invalid_code")
_LOCKED = (429, "too_many_attempts")
_VOID_CANCEL: list[tuple[int, str | None]] = [
    (200, None),
    (409, "no_pending_request"),
]  # a void request: cancelled, or nothing to cancel

DELETION_TABLE = Table(
    "account-deletion",
    "none",
    [
        row("none", "request", 202, "awaiting", _FLOW),
        row("none", "confirm_wrong", _NONE_PENDING, "none", _FLOW),
        row("none", "cancel", _NONE_PENDING, "none", _CANCEL),
        row("awaiting", "confirm_pending", 200, "scheduled", _FLOW),
        row("awaiting", "confirm_wrong", _WRONG, "tried", _FLOW),
        row("awaiting", "confirm_superseded", _WRONG, "tried", _BOUND),
        row("awaiting", "confirm_foreign", _WRONG, "tried", _BOUND, Need.SECOND_USER),
        row("awaiting", "request", 202, "awaiting", _FLOW),
        row("awaiting", "cancel", 200, "none", _CANCEL),
        row("awaiting", "expire", None, "expired", _EXPIRY, Need.CLOCK),
        row("tried", "use_up_attempts", _WRONG, "last", _BRUTE),
        row("tried", "confirm_pending", 200, "scheduled", _FLOW),
        row("tried", "request", 202, "awaiting", _FLOW),
        row("tried", "cancel", 200, "none", _CANCEL),
        row("last", "confirm_pending", 200, "scheduled", _BRUTE),
        row("last", "confirm_wrong", _WRONG, "locked", _BRUTE),
        row("last", "request", 202, "awaiting", _FLOW),
        row("last", "cancel", 200, "none", _CANCEL),
        row("locked", "confirm_pending", _LOCKED, "locked", _BRUTE),
        row("locked", "confirm_wrong", _LOCKED, "locked", _BRUTE),
        row("locked", "request", 202, "awaiting", _BRUTE),
        row("locked", "cancel", _VOID_CANCEL, "none", _CANCEL),
        row("expired", "confirm_pending", (400, "code_expired"), "expired", _EXPIRY),
        row("expired", "confirm_wrong", [(400, "code_expired"), (400, "invalid_code")], "expired", _EXPIRY),
        row("expired", "request", 202, "awaiting", _EXPIRY),
        row("expired", "cancel", _VOID_CANCEL, "none", _EXPIRY),
        row("scheduled", "request", (409, "conflict"), "scheduled", _FLOW),
        row("scheduled", "confirm_used", _NONE_PENDING, "scheduled", _SINGLE),
        row("scheduled", "confirm_wrong", _NONE_PENDING, "scheduled", _FLOW),
        row("scheduled", "cancel", 200, "none", _CANCEL),
    ],
)


class DeletionLifecycle(Lifecycle):
    table = DELETION_TABLE

    def __init__(self, ctx: CheckContext) -> None:
        super().__init__(ctx)
        self.user = ctx.disposable_user()
        self.email = self.user.email or profile_email(ctx, self.user)
        self.other: User | None = None
        self.pending: Pending | None = None
        self.scheduled: tuple[str, datetime] | None = None  # request id, scheduled_for
        self.superseded: list[str] = []
        self.used: list[str] = []
        start = self.send("getGdprStatus", user=self.user)
        if start.status != 200:
            raise UndecidedRequirement(f"cannot read the GDPR status to start from: {ctx.actual(start)}")
        self.exports = body_of(start).get("recent_exports")  # a deletion step never changes them
        if body_of(start).get("pending_deletion") is not None:
            raise UndecidedRequirement("a fresh disposable user already has a pending deletion")

    def state(self) -> str:
        if self.scheduled is not None:
            return "scheduled"
        return otp_state(self.pending, self.ctx.limits.otp_max_attempts)

    def teardown(self) -> None:
        """Cancels whatever is still pending or scheduled (best effort; the user is disposable)."""
        if self.pending or self.scheduled:
            with contextlib.suppress(UndecidedRequirement):
                self.send("cancelAccountDeletion", user=self.user)

    def confirm_with(self, otp: str, user: User | None = None) -> Exchange:
        return self.send("confirmAccountDeletion", user=user or self.user, json_body={"otp": otp})

    def refused(self, exchange: Exchange) -> None:
        """The answer to an OTP for the pending request, judged by the row; a wrong code counts an attempt."""
        self.answer(exchange)
        code = body_of(exchange).get("code")
        if self.pending is not None and code == "invalid_code":
            self.pending.attempts += 1

    def lifetimes(self) -> list[Due]:
        """On the wall clock, once per run: a deletion request whose OTP is confirmed just past its lifetime."""
        exchange = self.send("requestAccountDeletion", user=self.user, json_body={"reason": "conformance run"})
        self.open_request(exchange, self.expect(_FLOW, exchange, 202, what="a deletion request"))
        pending = self.pending
        assert pending is not None

        def past_its_lifetime() -> None:
            exchange = self.confirm_with(pending.otp)
            self.expect(_EXPIRY, exchange, 400, code="code_expired", what="a deletion OTP just past its lifetime")

        return [Due(self.ctx.limits.otp_ttl_s + 1, past_its_lifetime, judges=_EXPIRY)]

    # --- actions -----------------------------------------------------------------------------------
    def act_request(self, row: Row) -> None:
        """POST request-account-deletion: 202 pending_confirmation and an OTP by email (409 while scheduled)."""
        exchange = self.send("requestAccountDeletion", user=self.user, json_body={"reason": "conformance run"})
        body = self.answer(exchange)
        if exchange.status != 202:
            return
        self.open_request(exchange, body)

    def open_request(self, exchange: Exchange, body: dict[str, Any]) -> None:
        self.check(
            _FLOW,
            body.get("status") == "pending_confirmation" and bool(body.get("request_id")),
            expected="status pending_confirmation with a request_id",
            actual=self.ctx.actual(exchange),
            exchange=exchange,
        )
        if self.pending is not None:
            self.superseded.append(self.pending.otp)
        otp = self.ctx.code(channel="email", address=self.email, purpose="account_deletion")
        self.note("(inbox: an account_deletion OTP reached the primary email)")
        self.pending = Pending(str(body["request_id"]), otp, body.get("requested_at"), time.monotonic())

    def act_confirm_pending(self, row: Row) -> None:
        """POST confirm with the pending request's OTP: scheduled a grace period ahead (or refused: locked,
        expired); the same OTP is dead afterwards."""
        pending = self.pending
        assert pending is not None
        exchange = self.confirm_with(pending.otp)
        body = self.answer(exchange)
        if exchange.status != 200:
            return
        scheduled_for = self.judge_scheduled(exchange, body, pending)
        self.used.append(pending.otp)
        self.pending, self.scheduled = None, (pending.request_id, scheduled_for)

    def act_confirm_wrong(self, row: Row) -> None:
        """POST confirm with a code that is no OTP of this user."""
        right = self.pending.otp if self.pending else ""
        self.refused(self.confirm_with(wrong_code(right, [*self.superseded, *self.used])))

    def act_use_up_attempts(self, row: Row) -> None:
        """POST confirm with wrong codes until one attempt is left: 400 invalid_code each."""
        assert self.pending is not None
        while self.pending.attempts < self.ctx.limits.otp_max_attempts - 1:
            self.refused(self.confirm_with(wrong_code(self.pending.otp, [*self.superseded, *self.used])))

    def act_confirm_foreign(self, row: Row) -> None:
        """Another user requests a deletion; POST confirm with that user's OTP as this user: 400 invalid_code."""
        assert self.pending is not None
        if self.other is None:
            self.other = self.ctx.disposable_user() if self.ctx.factory is not None else self.ctx.second_user()
        other = self.other
        asked = self.send("requestAccountDeletion", user=other, json_body={})
        self.expect(_BOUND, asked, 202, what="another user's deletion request")
        foreign = self.ctx.code(
            channel="email", address=other.email or profile_email(self.ctx, other), purpose="account_deletion"
        )
        if foreign == self.pending.otp or foreign in self.superseded:  # one in a million: still a wrong code
            foreign = wrong_code(self.pending.otp, self.superseded)
        try:
            self.refused(self.confirm_with(foreign))
        finally:
            self.send("cancelAccountDeletion", user=other)

    def act_confirm_superseded(self, row: Row) -> None:
        """POST request again (202: the pending request is superseded), then confirm with the superseded
        request's OTP: 400 invalid_code (it died with its request)."""
        exchange = self.send("requestAccountDeletion", user=self.user, json_body={})
        self.open_request(exchange, self.expect(_FLOW, exchange, 202, what="a request that supersedes the pending one"))
        assert self.pending is not None
        stale = next((otp for otp in reversed(self.superseded) if otp != self.pending.otp), None)
        if stale is None:  # the server sent the same OTP again: the superseded one cannot be told apart
            stale = wrong_code(self.pending.otp, [])
        self.refused(self.confirm_with(stale))

    def act_confirm_used(self, row: Row) -> None:
        """POST confirm with the OTP that confirmed the scheduled deletion: 409 no_pending_request."""
        self.answer(self.confirm_with(self.used[-1]))

    def act_expire(self, row: Row) -> None:
        """Advances the test clock past the OTP's lifetime (the request is left to expire)."""
        assert self.pending is not None and self.ctx.clock is not None
        past_ttl = self.ctx.limits.otp_ttl_s + 1
        self.ctx.clock.advance(past_ttl, user=self.user)
        self.note(f"(test clock advanced {past_ttl} s)")
        self.pending.expired = True

    def act_cancel(self, row: Row) -> None:
        """POST cancel-account-deletion: 200 cancelled; 409 no_pending_request when nothing is pending."""
        exchange = self.send("cancelAccountDeletion", user=self.user)
        body = self.answer(exchange)
        if exchange.status == 200:
            self.check(
                row.requirement,
                body.get("status") == "cancelled",
                exchange=exchange,
                expected="status cancelled",
                actual=self.ctx.actual(exchange),
            )
        self.pending, self.scheduled = None, None

    def judge_scheduled(self, exchange: Exchange, body: dict[str, Any], pending: Pending) -> datetime:
        requested, scheduled_for = parse_time(body.get("requested_at")), parse_time(body.get("scheduled_for"))
        slack = time.monotonic() - pending.requested_wall + _TOLERANCE_S
        grace = timedelta(days=self.ctx.limits.deletion_grace_period_days)
        ok = (
            body.get("status") == "scheduled"
            and body.get("request_id") == pending.request_id
            and body.get("grace_period_days") == grace.days
            and requested is not None
            and requested == parse_time(pending.requested_at)
            and scheduled_for is not None
            and timedelta(seconds=-_TOLERANCE_S) <= scheduled_for - requested - grace <= timedelta(seconds=slack)
        )
        self.check(
            _FLOW,
            ok,
            exchange=exchange,
            expected=f"status scheduled for request {pending.request_id} requested at {pending.requested_at}, "
            f"scheduled_for = confirmation + {grace.days} days",
            actual=self.ctx.actual(exchange),
        )
        assert scheduled_for is not None
        return scheduled_for

    # --- views ---------------------------------------------------------------------------------------
    def views(self, row: Row) -> None:
        """GET gdpr-status: pending_deletion is the model's request (awaiting or scheduled) or null; a request
        out of attempts or expired may show as void (null) or still awaiting; the exports are unchanged."""
        exchange = self.send("getGdprStatus", user=self.user)
        body = self.expect(_STATUS, exchange, 200, what="the GDPR status")
        shown = body.get("pending_deletion")
        state = self.state()
        if self.scheduled is not None:
            request_id, scheduled_for = self.scheduled
            grace_days = self.ctx.limits.deletion_grace_period_days
            want = f"pending_deletion {request_id} scheduled for {scheduled_for.isoformat()}, {grace_days} days grace"
            ok = (
                isinstance(shown, dict)
                and (shown.get("request_id"), shown.get("status"), shown.get("grace_period_days"))
                == (request_id, "scheduled", grace_days)
                and parse_time(shown.get("scheduled_for")) == scheduled_for
            )
        elif self.pending is not None:
            pending = self.pending
            want = f"pending_deletion {pending.request_id} pending_confirmation, requested at {pending.requested_at}"
            ok = (
                isinstance(shown, dict)
                and (shown.get("request_id"), shown.get("status")) == (pending.request_id, "pending_confirmation")
                and parse_time(shown.get("requested_at")) == parse_time(pending.requested_at)
            ) or (state in ("locked", "expired") and shown is None)
            if state in ("locked", "expired"):
                want += " (or null: the request is void)"
        else:
            want = "pending_deletion null"
            ok = shown is None
        # Right after a cancel, a deletion still shown is the cancel's failure (it answered, but did not cancel).
        rid = row.requirement if row.action == "cancel" else _STATUS
        self.check(rid, ok, expected=want, actual=self.ctx.actual(exchange), exchange=exchange)
        self.check(
            _STATUS,
            body.get("recent_exports") == self.exports,
            expected=f"recent_exports unchanged by a deletion step: {self.exports}",
            actual=f"{body.get('recent_exports')}",
            exchange=exchange,
        )


DELETION = MachineSpec(
    "account-deletion",
    DeletionLifecycle,
    requirements=(
        _GDPR_DELETION_FLOW,
        _GDPR_DELETION_CANCEL,
        _GDPR_OTP_SINGLE_USE,
        _GDPR_OTP_BOUND,
        _GDPR_OTP_EXPIRY,
        _GDPR_STATUS_MODEL,
        OTP_BRUTE_FORCE,
    ),
    table=DELETION_TABLE,
    steps=8,
    sharing=Sharing.ALONE,  # it advances the server's test clock (GDPR-OTP-EXPIRY)
    lifetimes=DeletionLifecycle.lifetimes,
)
