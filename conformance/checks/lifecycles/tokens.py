"""Email verification tokens: their lifetime, the answer of a burnt token, and re-adding the address.

VERIFY-TOKEN: a token lives ``verification_token_ttl_s`` (then 400 code_expired); after
``verification_token_max_attempts`` wrong ones it is burnt and every attempt, the right token too,
answers 429 too_many_attempts; only removing and re-adding the address gives a token that verifies.
Each is tried once per example in an ``@initialize``, on fresh addresses (a disposable user's where a
user factory exists, else user A's, removed again at the end). Every number comes from ``ctx.limits``.
"""

from __future__ import annotations

import contextlib

from hypothesis.stateful import initialize, rule

from conformance.checks.lifecycles._base import Due, Lifecycle, MachineSpec, owned
from conformance.context import CheckContext
from conformance.failures import UndecidedRequirement
from conformance.requirements import Need, Requirement, Sharing
from conformance.target import Exchange

__all__ = ["VERIFICATION_TOKENS", "VerificationTokenLifecycle"]


class VerificationTokenLifecycle(Lifecycle):
    def __init__(self, ctx: CheckContext) -> None:
        super().__init__(ctx)
        self.user = ctx.disposable_user() if ctx.factory is not None else ctx.user_a
        self.added: set[int] = set()  # the email ids this machine added and has not removed

    def teardown(self) -> None:
        """Removes the addresses this machine added (best effort)."""
        with contextlib.suppress(UndecidedRequirement):
            for email_id in sorted(self.added):
                self.send("removeUserEmail", user=self.user, path_params={"email_id": email_id})

    # --- sending ---------------------------------------------------------------------------------
    def add(self, rid: Requirement, address: str) -> tuple[int, str]:
        """POST /user/emails with ``address``: 201; its id and the token the inbox received."""
        exchange = self.send("addUserEmail", user=self.user, json_body={"email": address})
        body = self.expect(rid, exchange, 201, what="an email address to verify")
        email_id = body.get("id")
        if not isinstance(email_id, int):
            self.violation(rid, expected="the new email address's integer id", exchange=exchange)
        self.added.add(email_id)
        token = self.ctx.code(channel="email", address=str(body.get("email") or address), purpose="email_verification")
        self.note("(inbox: an email_verification token reached the address)")
        return email_id, token

    def verify(self, email_id: int, token: str) -> Exchange:
        return self.send(
            "verifyUserEmail", user=self.user, path_params={"email_id": email_id}, json_body={"token": token}
        )

    # --- the clauses, once per example -------------------------------------------------------------
    @initialize()
    def lifetime(self) -> None:
        """With a test clock, in every example: the lifetime checks of :meth:`lifetimes` (on the wall clock they
        run once per run instead, beside the examples; without a clock, not at all)."""
        if not self.clock_in_examples:
            self.note("(no test clock: the token's lifetime is not tried in this example)")
            return
        self.run_due(self.lifetimes(), user=self.user)

    def lifetimes(self) -> list[Due]:
        """Adds two addresses: the second one's token verifies a margin before its lifetime ends (200; a minute
        on a test clock), the first one's, just past its lifetime, answers 400 code_expired."""
        assert self.ctx.clock is not None
        ttl = self.ctx.limits.verification_token_ttl_s
        young = ttl - self.ctx.clock.margin_s(ttl)
        expired_id, expired = self.add(_EXPIRY, self.ctx.unique_email())
        alive_id, alive = self.add(_EXPIRY, self.ctx.unique_email())

        def still_alive() -> None:
            exchange = self.verify(alive_id, alive)
            self.expect(_EXPIRY, exchange, 200, what=f"a token {young} s old (its lifetime is {ttl} s) verifies")

        def past_its_lifetime() -> None:
            exchange = self.verify(expired_id, expired)
            self.expect(_EXPIRY, exchange, 400, code="code_expired", what=f"a token {ttl + 1} s old (lifetime {ttl} s)")

        return [Due(young, still_alive, judges=_EXPIRY.id), Due(ttl + 1, past_its_lifetime, judges=_EXPIRY.id)]

    @initialize()
    def burnt_then_added_again(self) -> None:
        """The limit's wrong tokens answer 400 invalid_code; then a wrong token and the right one answer 429
        too_many_attempts; the address removed and added again gets a token that verifies (200)."""
        most = self.ctx.limits.verification_token_max_attempts
        address = self.ctx.unique_email()
        email_id, token = self.add(_BURNT, address)
        for shift in range(1, most + 2):
            wrong = f"{(int(token) + shift) % 1_000_000:06d}"
            exchange = self.verify(email_id, wrong)
            if shift <= most:
                self.expect(_BURNT, exchange, 400, code="invalid_code", what=f"wrong token {shift} of {most} allowed")
            else:
                self.expect(_BURNT, exchange, 429, code="too_many_attempts", what=f"a wrong token after {most}")
        exchange = self.verify(email_id, token)
        self.expect(_BURNT, exchange, 429, code="too_many_attempts", what=f"the right token after {most} wrong ones")
        removed = self.send("removeUserEmail", user=self.user, path_params={"email_id": email_id})
        self.expect(_BURNT, removed, 200, what="the address with the burnt token is removed")
        self.added.discard(email_id)
        again_id, again = self.add(_BURNT, address)
        exchange = self.verify(again_id, again)
        self.expect(_BURNT, exchange, 200, what="the token of the address removed and added again verifies")

    @rule()
    def wait(self) -> None:
        """Sends nothing: every clause is tried in the initialisers (a machine needs one rule)."""


_EXPIRY = owned(
    "VERIFY-TOKEN-EXPIRY",
    cites=("rule:VERIFY-TOKEN",),
    needs=[Need.INBOX, Need.CLOCK],
    title="An email verification token lives its lifetime, then answers 400 code_expired",
    operations=("addUserEmail", "verifyUserEmail"),
    doc="Adds two addresses, lets the clock reach a margin before the tokens' lifetime ends and verifies the second "
    "(200), then just past it and verifies the first: 400 code_expired (on a test clock in every example, on "
    "the wall clock once per run).",
)
_BURNT = owned(
    "VERIFY-TOKEN-BURNT",
    cites=("rule:VERIFY-TOKEN",),
    needs=[Need.INBOX],
    title="A burnt verification token answers 429 too_many_attempts until the address is added again",
    operations=("addUserEmail", "verifyUserEmail", "removeUserEmail"),
    doc="Sends the limit's wrong tokens (400 invalid_code), one more and the right one (429 too_many_attempts), "
    "then removes the address, adds it again and verifies with the new token: 200.",
)

VERIFICATION_TOKENS = MachineSpec(
    "verification-tokens",
    VerificationTokenLifecycle,
    requirements=(_EXPIRY, _BURNT),
    steps=2,
    max_examples=1,
    sharing=Sharing.ALONE,  # it advances the server's test clock (VERIFY-TOKEN-EXPIRY)
    lifetimes=VerificationTokenLifecycle.lifetimes,
)
