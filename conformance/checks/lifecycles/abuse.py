"""OTP and verification-token guessing is bounded (OWASP API2 / API4).

Within the spec's attempt limit (x-kesk-limits: 5) a 429 (or another lockout) must arrive,
and afterwards even the right code must not work. Each guessing run uses a fresh disposable
user: a locked request or a burnt token is the point of the exercise.
"""

from __future__ import annotations

from hypothesis.stateful import initialize, rule

from conformance.checks.lifecycles._base import Lifecycle, MachineSpec, owned
from conformance.checks.lifecycles._support import body_of, profile_email
from conformance.context import CheckContext
from conformance.requirements import Need
from conformance.target import Exchange
from conformance.users import User

__all__ = ["GUESSING", "GuessingLifecycle"]


class GuessingLifecycle(Lifecycle):
    def __init__(self, ctx: CheckContext) -> None:
        super().__init__(ctx)
        self.locked: list[tuple[User, str, str, dict[str, object]]] = []  # user, operation, right code, params

    def guess(
        self, what: str, user: User, right: str, attempt: str, success: int, *, most: int, **kwargs: object
    ) -> None:
        """Sends `most` + 1 wrong codes, then the right one: a 429 must come, and the right code must fail."""
        throttled = False
        last: Exchange | None = None
        for shift in range(1, most + 2):
            wrong = f"{(int(right) + shift) % 1_000_000:06d}"
            last = self.send(attempt, user=user, **_payload(attempt, wrong, kwargs))
            throttled = throttled or last.status == 429
        final = self.send(attempt, user=user, **_payload(attempt, right, kwargs))
        if final.status == success:
            self.violation(
                _OTP_BRUTE_FORCE,
                exchange=final if throttled else last,
                expected=f"{what}: a 429 (or a lockout) within {most} wrong attempts, and the right code "
                "refused after them",
                actual=("429 seen, but" if throttled else f"no 429 in {most + 1} wrong attempts;")
                + f" then the right code answered {final.status}",
            )
        self.locked.append((user, attempt, right, kwargs))

    @initialize()
    def guess_deletion_otp(self) -> None:
        """A fresh user requests deletion; guesses its OTP 6 times, then sends the right one."""
        user = self.ctx.disposable_user()
        self.expect(
            _OTP_BRUTE_FORCE,
            self.send("requestAccountDeletion", user=user, json_body={}),
            202,
            what="a deletion request",
        )
        otp = self.ctx.code(
            channel="email", address=user.email or profile_email(self.ctx, user), purpose="account_deletion"
        )
        self.guess("deletion OTP", user, otp, "confirmAccountDeletion", 200, most=self.ctx.limits.otp_max_attempts)

    @initialize()
    def guess_export_otp(self) -> None:
        """A fresh user requests an export; guesses its OTP 6 times, then sends the right one."""
        user = self.ctx.disposable_user()
        self.expect(
            _OTP_BRUTE_FORCE, self.send("requestDataExport", user=user, json_body={}), 202, what="an export request"
        )
        otp = self.ctx.code(channel="email", address=user.email or profile_email(self.ctx, user), purpose="data_export")
        self.guess("export OTP", user, otp, "confirmDataExport", 202, most=self.ctx.limits.otp_max_attempts)

    @initialize()
    def guess_email_token(self) -> None:
        """A fresh user adds an email; guesses its verification token 6 times, then sends the right one."""
        user = self.ctx.disposable_user()
        added = self.send("addUserEmail", user=user, json_body={"email": self.ctx.unique_email()})
        body = self.expect(_OTP_BRUTE_FORCE, added, 201, what="an email address to verify")
        token = self.ctx.code(channel="email", address=str(body_of(added).get("email")), purpose="email_verification")
        most = self.ctx.limits.verification_token_max_attempts
        self.guess("email verification token", user, token, "verifyUserEmail", 200, most=most, email_id=body["id"])

    @rule()
    def still_locked(self) -> None:
        """Sends the right code of a locked flow once more: still not accepted."""
        for user, attempt, right, params in self.locked:
            exchange = self.send(attempt, user=user, **_payload(attempt, right, params))
            self.check(
                _OTP_BRUTE_FORCE,
                not 200 <= exchange.status < 300,
                expected=f"{attempt} stays locked",
                actual=self.ctx.actual(exchange),
                exchange=exchange,
            )


def _payload(attempt: str, code: str, params: dict[str, object]) -> dict[str, object]:
    if attempt == "verifyUserEmail":
        return {"json_body": {"token": code}, "path_params": params}
    return {"json_body": {"otp": code}}


_OTP_BRUTE_FORCE = owned(
    "OTP-BRUTE-FORCE",
    cites=("rule:OTP", "rule:VERIFY-TOKEN"),
    needs=[Need.INBOX, Need.DESTRUCTIVE],
    title="Guessing OTPs and verification tokens is bounded",
    operations=("confirmAccountDeletion", "confirmDataExport", "verifyUserEmail"),
    doc="For a deletion OTP, an export OTP and an email token: 6 wrong codes, then the right one; a 429 must come "
    "and the right code must be refused.",
)

GUESSING = MachineSpec("code-guessing", GuessingLifecycle, requirements=(_OTP_BRUTE_FORCE,), steps=4, max_examples=1)
