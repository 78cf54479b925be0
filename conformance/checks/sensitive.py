"""Sensitive operations: deletion and export requests need a verified primary email (the OTP goes there)."""

from __future__ import annotations

from conformance.context import CheckContext
from conformance.requirements import Level, requirement

_HINT = "Refuse deletion and export requests with 403 verification_required until the primary email is verified"


@requirement(
    "GDPR-VERIFIED-EMAIL-REQUIRED",
    level=Level.MUST,
    area="gdpr",
    title="Deletion and export need a verified primary email",
    cites=("rule:SENSITIVE-NEEDS-VERIFIED-EMAIL", "spec:/components/responses/VerificationRequired"),
    operations=("requestAccountDeletion", "requestDataExport"),
)
def sensitive_requests_need_a_verified_email(ctx: CheckContext) -> None:
    """A fresh user whose primary email is unverified requests account deletion and a data export: 403 each."""
    user = ctx.unverified_user()
    for operation_id in ("requestAccountDeletion", "requestDataExport"):
        exchange = ctx.call(operation_id, user=user, json_body={})
        body = exchange.json()
        code = body.get("code") if isinstance(body, dict) else None
        if exchange.status != 403 or code != "verification_required":
            ctx.fail(
                operation=operation_id,
                expected="403 verification_required: the OTP could only go to an unverified address",
                actual=ctx.actual(exchange),
                hint=_HINT,
                exchange=exchange,
            )


REQUIREMENTS = (sensitive_requests_need_a_verified_email,)
