"""GDPR account deletion: request, OTP from the inbox, confirm, grace period, cancel.

Every example acts as a fresh disposable user (a confirmed deletion would end user A). The
model holds the request awaiting confirmation (its OTP, wrong attempts, whether the clock made
it expire), the scheduled deletion, and the OTPs that must be dead: superseded and used ones.
Refused OTPs: wrong, reused, another user's, a superseded request's, an expired one.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant, precondition, rule

from conformance.checks.lifecycles._base import Due, Lifecycle, MachineSpec, owned
from conformance.checks.lifecycles._support import body_of, profile_email
from conformance.context import CheckContext
from conformance.failures import UndecidedRequirement
from conformance.requirements import Need, Sharing
from conformance.target import Exchange
from conformance.users import User

__all__ = ["DELETION", "DeletionLifecycle", "parse_time"]

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
    requested_wall: float
    attempts: int = 0
    expired: bool = False


def _open(self: DeletionLifecycle) -> bool:
    p = self.pending
    # at least two attempts left: a wrong one, then the right one; and surely not expired in real time meanwhile
    return (
        p is not None
        and not p.expired
        and self.ctx.limits.otp_max_attempts - p.attempts >= 2
        and self.young(p.requested_wall, self.ctx.limits.otp_ttl_s)
    )


def _predictable(self: DeletionLifecycle) -> bool:
    """Whether the model knows how the pending request answers: none, expired by the test clock, or surely young."""
    p = self.pending
    return p is None or p.expired or self.young(p.requested_wall, self.ctx.limits.otp_ttl_s)


class DeletionLifecycle(Lifecycle):
    def __init__(self, ctx: CheckContext) -> None:
        super().__init__(ctx)
        self.user = ctx.disposable_user()
        self.email = self.user.email or profile_email(ctx, self.user)
        self.other: User | None = None
        self.pending: Pending | None = None
        self.scheduled: tuple[str, datetime] | None = None  # request id, scheduled_for
        self.superseded: list[str] = []
        self.used: list[str] = []

    def teardown(self) -> None:
        """Cancels whatever is still pending or scheduled (best effort; the user is disposable)."""
        if self.pending or self.scheduled:
            with contextlib.suppress(UndecidedRequirement):
                self.send("cancelAccountDeletion", user=self.user)

    def confirm_with(self, otp: str, user: User | None = None) -> Exchange:
        return self.send("confirmAccountDeletion", user=user or self.user, json_body={"otp": otp})

    def expect_refused(self, rid: str, exchange: Exchange, what: str) -> None:
        """A refused OTP for the pending request: the model says which refusal, and counts the attempt."""
        pending = self.pending
        if pending is None:
            self.expect(rid, exchange, 409, code="no_pending_request", what=f"{what} with nothing awaiting it")
        elif pending.attempts >= self.ctx.limits.otp_max_attempts:
            self.expect(
                rid, exchange, 429, code="too_many_attempts", what=f"{what} after {pending.attempts} wrong attempts"
            )
        elif pending.expired:
            self.expect(rid, exchange, 400, code="code_expired", what=f"{what} after the OTP expired")
        else:
            self.expect(rid, exchange, 400, code="invalid_code", what=f"{what} is refused")
            pending.attempts += 1

    # --- rules -------------------------------------------------------------------------------------
    @initialize()
    def request_first(self) -> None:
        """Requests a deletion twice (the second supersedes the first), then the refusals every run must see.

        A wrong OTP, another user's OTP and (with a test clock) an expired OTP are each tried once here,
        whatever steps Hypothesis draws later, and so are a confirmation (its grace period), the same OTP
        again and a cancel; then a fresh request, so every example has an OTP to work with and superseded
        ones that must be dead.
        """
        self.request()
        self.request()
        self.confirm_wrong_otp(offset=1)
        self.confirm_foreign_otp()
        if self.clock_in_examples:  # on the wall clock: once per run, beside the examples (lifetimes)
            self.let_otp_expire()
            self.request()
        self.confirm()
        self.cancel()
        self.request()

    @rule()
    def request(self) -> None:
        """POST request-account-deletion: 202 and an OTP by email; an earlier OTP is dead (409 if scheduled)."""
        requested_at = time.monotonic()  # before the request: the OTP is no older than this
        exchange = self.send("requestAccountDeletion", user=self.user, json_body={"reason": "conformance run"})
        if self.scheduled is not None:
            self.expect("GDPR-DELETION-FLOW", exchange, 409, code="conflict", what="a deletion is already scheduled")
            return
        body = self.expect("GDPR-DELETION-FLOW", exchange, 202, what="a deletion request awaits confirmation")
        self.check(
            "GDPR-DELETION-FLOW",
            body.get("status") == "pending_confirmation" and bool(body.get("request_id")),
            expected="status pending_confirmation with a request_id",
            actual=self.ctx.actual(exchange),
            exchange=exchange,
        )
        if self.pending is not None:
            self.superseded.append(self.pending.otp)
        otp = self.ctx.code(channel="email", address=self.email, purpose="account_deletion")
        self.note("(inbox: an account_deletion OTP reached the primary email)")
        self.pending = Pending(str(body["request_id"]), otp, requested_at)
        if self.superseded and self.superseded[-1] != otp:
            # The request just made supersedes the earlier one: its OTP must be dead at once.
            self.expect_refused("GDPR-OTP-BOUND", self.confirm_with(self.superseded[-1]), "a superseded request's OTP")

    @precondition(_open)
    @rule(offset=st.integers(1, 999_999))
    def confirm_wrong_otp(self, offset: int) -> None:
        """POST confirm with a wrong OTP (the right one shifted): 400 invalid_code."""
        assert self.pending is not None
        wrong = f"{(int(self.pending.otp) + offset) % 1_000_000:06d}"
        if wrong in self.superseded:
            return
        self.expect_refused("GDPR-DELETION-FLOW", self.confirm_with(wrong), "a wrong OTP")

    @precondition(lambda self: _open(self) and any(otp != self.pending.otp for otp in self.superseded))
    @rule()
    def confirm_superseded_otp(self) -> None:
        """POST confirm with the OTP of an earlier, superseded request: refused."""
        assert self.pending is not None
        stale = next(otp for otp in reversed(self.superseded) if otp != self.pending.otp)
        self.expect_refused("GDPR-OTP-BOUND", self.confirm_with(stale), "the OTP of a superseded request")

    @precondition(_open)
    @rule()
    def confirm_foreign_otp(self) -> None:
        """Another user requests a deletion; POST confirm with that user's OTP as this user: refused."""
        assert self.pending is not None
        if self.other is None:
            self.other = self.ctx.disposable_user()
        other = self.other
        asked = self.send("requestAccountDeletion", user=other, json_body={})
        self.expect("GDPR-DELETION-FLOW", asked, 202, what="another user's deletion request")
        foreign = self.ctx.code(
            channel="email", address=other.email or profile_email(self.ctx, other), purpose="account_deletion"
        )
        if foreign != self.pending.otp and foreign not in self.superseded:
            self.expect_refused("GDPR-OTP-BOUND", self.confirm_with(foreign), "another user's OTP")
        self.send("cancelAccountDeletion", user=other)

    @precondition(lambda self: self.clock_in_examples and _open(self))
    @rule()
    def let_otp_expire(self) -> None:
        """Advances the test clock past the OTP's lifetime; POST confirm with it: 400 code_expired."""
        assert self.pending is not None
        self.run_due(self.otp_expiry(), user=self.user)

    def otp_expiry(self) -> list[Due]:
        """Confirming the pending request's OTP just past its lifetime: 400 code_expired."""
        pending = self.pending
        assert pending is not None

        def past_its_lifetime() -> None:
            pending.expired = True
            self.expect_refused("GDPR-OTP-EXPIRY", self.confirm_with(pending.otp), "an expired OTP")

        return [Due(self.ctx.limits.otp_ttl_s + 1, past_its_lifetime, judges="GDPR-OTP-EXPIRY")]

    def lifetimes(self) -> list[Due]:
        """On the wall clock, once per run: a deletion request whose OTP is confirmed just past its lifetime."""
        self.request()
        return self.otp_expiry()

    @precondition(lambda self: self.pending is not None and _predictable(self))
    @rule()
    def confirm(self) -> None:
        """POST confirm with the OTP from the inbox: scheduled a grace period ahead; the same OTP again is refused."""
        pending = self.pending
        assert pending is not None
        exchange = self.confirm_with(pending.otp)
        if pending.attempts >= self.ctx.limits.otp_max_attempts or pending.expired:
            rid = "GDPR-OTP-EXPIRY" if pending.expired else "GDPR-DELETION-FLOW"
            self.expect_refused(rid, exchange, "the pending request's OTP")
            return
        body = self.expect("GDPR-DELETION-FLOW", exchange, 200, what="the right OTP confirms the deletion")
        scheduled_for = self.judge_scheduled(exchange, body, pending)
        self.used.append(pending.otp)
        self.pending, self.scheduled = None, (pending.request_id, scheduled_for)
        self.expect_refused("GDPR-OTP-SINGLE-USE", self.confirm_with(pending.otp), "a used OTP again")

    def judge_scheduled(self, exchange: Exchange, body: dict[str, Any], pending: Pending) -> datetime:
        requested, scheduled_for = parse_time(body.get("requested_at")), parse_time(body.get("scheduled_for"))
        slack = time.monotonic() - pending.requested_wall + _TOLERANCE_S
        grace = timedelta(days=self.ctx.limits.deletion_grace_period_days)
        ok = (
            body.get("status") == "scheduled"
            and body.get("request_id") == pending.request_id
            and body.get("grace_period_days") == grace.days
            and requested is not None
            and scheduled_for is not None
            and timedelta(seconds=-_TOLERANCE_S) <= scheduled_for - requested - grace <= timedelta(seconds=slack)
        )
        self.check(
            "GDPR-DELETION-FLOW",
            ok,
            exchange=exchange,
            expected=f"status scheduled for request {pending.request_id}, "
            f"scheduled_for = confirmation + {grace.days} days",
            actual=self.ctx.actual(exchange),
        )
        assert scheduled_for is not None
        return scheduled_for

    @precondition(lambda self: bool(self.used) and _predictable(self))
    @rule()
    def reuse_otp(self) -> None:
        """POST confirm with an OTP that already confirmed a request: refused."""
        self.expect_refused("GDPR-OTP-SINGLE-USE", self.confirm_with(self.used[-1]), "a used OTP")

    @precondition(lambda self: self.pending is None)
    @rule()
    def confirm_without_request(self) -> None:
        """POST confirm while no request awaits confirmation: 409 no_pending_request."""
        otp = next(f"{n:06d}" for n in range(1_000_000) if f"{n:06d}" not in self.used)
        exchange = self.confirm_with(otp)
        self.expect("GDPR-DELETION-FLOW", exchange, 409, code="no_pending_request", what="nothing awaits confirmation")

    @rule()
    def cancel(self) -> None:
        """POST cancel-account-deletion: 200 cancelled and the status clears; 409 when nothing is pending."""
        exchange = self.send("cancelAccountDeletion", user=self.user)
        if self.pending is None and self.scheduled is None:
            self.expect(
                "GDPR-DELETION-CANCEL", exchange, 409, code="no_pending_request", what="nothing pending to cancel"
            )
            return
        body = self.expect("GDPR-DELETION-CANCEL", exchange, 200, what="the pending deletion is cancelled")
        self.check(
            "GDPR-DELETION-CANCEL",
            body.get("status") == "cancelled",
            exchange=exchange,
            expected="status cancelled",
            actual=self.ctx.actual(exchange),
        )
        self.pending, self.scheduled = None, None
        status = self.send("getGdprStatus", user=self.user)
        after = self.expect("GDPR-DELETION-CANCEL", status, 200, what="the GDPR status")
        self.check(
            "GDPR-DELETION-CANCEL",
            isinstance(after, dict) and after.get("pending_deletion") is None,
            expected="no pending deletion after the cancel",
            actual=self.ctx.actual(status),
            exchange=status,
        )

    # --- invariants --------------------------------------------------------------------------------
    @invariant()
    def status_matches_model(self) -> None:
        """GET gdpr-status: pending_deletion is the model's request (awaiting or scheduled), or null."""
        exchange = self.send("getGdprStatus", user=self.user)
        body = self.expect("GDPR-STATUS-MODEL", exchange, 200, what="the GDPR status")
        shown = body_of(exchange).get("pending_deletion") if isinstance(body, dict) else None
        if self.pending is None and self.scheduled is None:
            want = "pending_deletion null"
            ok = shown is None
        elif self.pending is not None:
            want = f"pending_deletion {self.pending.request_id} pending_confirmation"
            ok = isinstance(shown, dict) and (shown.get("request_id"), shown.get("status")) == (
                self.pending.request_id,
                "pending_confirmation",
            )
        else:
            assert self.scheduled is not None
            request_id, scheduled_for = self.scheduled
            grace_days = self.ctx.limits.deletion_grace_period_days
            want = f"pending_deletion {request_id} scheduled for {scheduled_for.isoformat()}, {grace_days} days grace"
            ok = (
                isinstance(shown, dict)
                and (shown.get("request_id"), shown.get("status"), shown.get("grace_period_days"))
                == (request_id, "scheduled", grace_days)
                and parse_time(shown.get("scheduled_for")) == scheduled_for
            )
        self.check("GDPR-STATUS-MODEL", ok, expected=want, actual=self.ctx.actual(exchange), exchange=exchange)


_OPS = ("requestAccountDeletion", "confirmAccountDeletion", "cancelAccountDeletion", "getGdprStatus")
_NEEDS = (Need.INBOX, Need.DESTRUCTIVE)

_GDPR_DELETION_FLOW = owned(
    "GDPR-DELETION-FLOW",
    cites=("rule:DELETION-GRACE", "seed:confirmAccountDeletion"),
    needs=_NEEDS,
    title="A deletion is confirmed by the emailed OTP and scheduled after the grace period",
    operations=_OPS[:2],
    doc="Requests, refuses wrong OTPs (400), confirms with the inbox OTP (scheduled_for = now + 30 days), "
    "confirms with nothing pending (409).",
)
_GDPR_DELETION_CANCEL = owned(
    "GDPR-DELETION-CANCEL",
    cites=("rule:DELETION-GRACE", "seed:cancelAccountDeletion"),
    needs=_NEEDS,
    title="Cancelling a pending or scheduled deletion clears it",
    operations=("cancelAccountDeletion", "getGdprStatus"),
    doc="Cancels a pending and a scheduled deletion (200, status clear) and cancels with nothing pending (409).",
)
_GDPR_OTP_SINGLE_USE = owned(
    "GDPR-OTP-SINGLE-USE",
    cites=("rule:OTP",),
    needs=_NEEDS,
    title="A deletion OTP confirms once",
    operations=("confirmAccountDeletion",),
    doc="Confirms with an OTP that already confirmed: refused.",
)
_GDPR_OTP_BOUND = owned(
    "GDPR-OTP-BOUND",
    cites=("rule:OTP",),
    needs=_NEEDS,
    title="A deletion OTP is bound to its user and request",
    operations=("requestAccountDeletion", "confirmAccountDeletion"),
    doc="Confirms with another user's pending OTP and with a superseded request's OTP: both refused.",
)
_GDPR_OTP_EXPIRY = owned(
    "GDPR-OTP-EXPIRY",
    cites=("rule:OTP",),
    needs=(*_NEEDS, Need.CLOCK),
    title="A deletion OTP expires after 10 minutes",
    operations=("confirmAccountDeletion",),
    doc="Lets the clock pass the OTP's lifetime by a second (a test clock in examples, the wall clock once per run) "
    "and confirms with the OTP: 400 code_expired.",
)
_GDPR_STATUS_MODEL = owned(
    "GDPR-STATUS-MODEL",
    cites=("seed:getGdprStatus", "spec:/components/schemas/GdprStatusResponse"),
    needs=_NEEDS,
    title="The GDPR status shows the deletion the user has pending",
    operations=("getGdprStatus",),
    doc="After every step, the GDPR status' pending_deletion equals the model (awaiting, scheduled with its date, "
    "or null).",
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
    ),
    steps=12,
    sharing=Sharing.ALONE,  # it advances the server's test clock (GDPR-OTP-EXPIRY)
    lifetimes=DeletionLifecycle.lifetimes,
)
