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

from conformance.checks.lifecycles._base import Lifecycle, MachineSpec, owned
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

    def advance(self, seconds: int) -> None:
        assert self.ctx.clock is not None
        self.ctx.clock.advance(seconds, user=self.user)
        self.note(f"(test clock advanced {seconds} s)")

    # --- the clauses, once per example -------------------------------------------------------------
    @initialize()
    def lifetime(self) -> None:
        """With the test clock: a token 60 s before its lifetime is over verifies (200); another one just past
        its lifetime answers 400 code_expired."""
        if self.ctx.clock is None:
            self.note("(no test clock: the token's lifetime is not tried)")
            return
        ttl = self.ctx.limits.verification_token_ttl_s
        alive_id, alive = self.add(_EXPIRY, self.ctx.unique_email())
        self.advance(ttl - 60)
        exchange = self.verify(alive_id, alive)
        self.expect(_EXPIRY, exchange, 200, what=f"a token {ttl - 60} s old (its lifetime is {ttl} s) verifies")
        expired_id, expired = self.add(_EXPIRY, self.ctx.unique_email())
        self.advance(ttl + 1)
        exchange = self.verify(expired_id, expired)
        self.expect(_EXPIRY, exchange, 400, code="code_expired", what=f"a token {ttl + 1} s old (lifetime {ttl} s)")

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
    doc="Adds an address, advances the test clock to 60 s before the token's lifetime ends and verifies (200); "
    "adds another, advances past the lifetime and verifies: 400 code_expired.",
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
)
