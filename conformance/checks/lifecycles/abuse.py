"""OTP and verification-token guessing is bounded (OWASP API2 / API4).

Within the spec's attempt limit (x-kesk-limits: 5) a 429 (or another lockout) must arrive,
and afterwards even the right code must not work. Each guessing run uses a fresh disposable
user: a locked request or a burnt token is the point of the exercise.
"""

from __future__ import annotations

from hypothesis.stateful import initialize, rule

from conformance.checks.lifecycles._base import Lifecycle, MachineSpec, declare
from conformance.checks.lifecycles._support import body_of, profile_email
from conformance.context import CheckContext
from conformance.requirements import Level, Need
from conformance.target import Exchange
from conformance.users import User

__all__ = ["GUESSING", "GuessingLifecycle"]

MAX_ATTEMPTS = 5  # x-kesk-limits.otp_max_attempts and verification_token_max_attempts
_RID = "OTP-BRUTE-FORCE"


class GuessingLifecycle(Lifecycle):
    def __init__(self, ctx: CheckContext) -> None:
        super().__init__(ctx)
        self.locked: list[tuple[User, str, str, dict[str, object]]] = []  # user, operation, right code, params

    def guess(self, what: str, user: User, right: str, attempt: str, success: int, **kwargs: object) -> None:
        """Sends MAX_ATTEMPTS + 1 wrong codes, then the right one: a 429 must come, and the right code must fail."""
        throttled = False
        last: Exchange | None = None
        for shift in range(1, MAX_ATTEMPTS + 2):
            wrong = f"{(int(right) + shift) % 1_000_000:06d}"
            last = self.send(attempt, user=user, retry_429=False, **_payload(attempt, wrong, kwargs))
            throttled = throttled or last.status == 429
        final = self.send(attempt, user=user, retry_429=False, **_payload(attempt, right, kwargs))
        if final.status == success:
            self.violation(
                _RID,
                exchange=final if throttled else last,
                expected=f"{what}: a 429 (or a lockout) within {MAX_ATTEMPTS} wrong attempts, and the right code "
                "refused after them",
                actual=("429 seen, but" if throttled else f"no 429 in {MAX_ATTEMPTS + 1} wrong attempts;")
                + f" then the right code answered {final.status}",
            )
        self.locked.append((user, attempt, right, kwargs))

    @initialize()
    def guess_deletion_otp(self) -> None:
        """A fresh user requests deletion; guesses its OTP 6 times, then sends the right one."""
        user = self.ctx.disposable_user()
        self.expect(_RID, self.send("requestAccountDeletion", user=user, json_body={}), 202, what="a deletion request")
        otp = self.ctx.code(
            channel="email", address=user.email or profile_email(self.ctx, user), purpose="account_deletion"
        )
        self.guess("deletion OTP", user, otp, "confirmAccountDeletion", 200)

    @initialize()
    def guess_export_otp(self) -> None:
        """A fresh user requests an export; guesses its OTP 6 times, then sends the right one."""
        user = self.ctx.disposable_user()
        self.expect(_RID, self.send("requestDataExport", user=user, json_body={}), 202, what="an export request")
        otp = self.ctx.code(channel="email", address=user.email or profile_email(self.ctx, user), purpose="data_export")
        self.guess("export OTP", user, otp, "confirmDataExport", 202)

    @initialize()
    def guess_email_token(self) -> None:
        """A fresh user adds an email; guesses its verification token 6 times, then sends the right one."""
        user = self.ctx.disposable_user()
        added = self.send("addUserEmail", user=user, json_body={"email": self.ctx.unique_email()})
        body = self.expect(_RID, added, 201, what="an email address to verify")
        token = self.ctx.code(channel="email", address=str(body_of(added).get("email")), purpose="email_verification")
        self.guess("email verification token", user, token, "verifyUserEmail", 200, email_id=body["id"])

    @rule()
    def still_locked(self) -> None:
        """Sends the right code of a locked flow once more: still not accepted."""
        for user, attempt, right, params in self.locked:
            exchange = self.send(attempt, user=user, retry_429=False, **_payload(attempt, right, params))
            self.check(
                _RID,
                not 200 <= exchange.status < 300,
                expected=f"{attempt} stays locked",
                actual=self.ctx.actual(exchange),
                exchange=exchange,
            )


def _payload(attempt: str, code: str, params: dict[str, object]) -> dict[str, object]:
    if attempt == "verifyUserEmail":
        return {"json_body": {"token": code}, "path_params": params}
    return {"json_body": {"otp": code}}


GUESSING = MachineSpec("code-guessing", GuessingLifecycle, owns=(_RID,), steps=4, max_examples=1)

declare(
    _RID,
    machines=[GUESSING],
    needs=[Need.INBOX, Need.DESTRUCTIVE],
    level=Level.SHOULD,
    title="Guessing OTPs and verification tokens is bounded",
    quote="allows 5 attempts (then 429 too_many_attempts and the request is void) (spec, OTP; x-kesk-limits "
    "otp_max_attempts 5); OWASP API2/API4",
    operations=("confirmAccountDeletion", "confirmDataExport", "verifyUserEmail"),
    doc="For a deletion OTP, an export OTP and an email token: 6 wrong codes, then the right one; a 429 must come "
    "and the right code must be refused.",
)
