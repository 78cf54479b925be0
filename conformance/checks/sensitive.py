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
        what = "a user whose primary email is unverified (the OTP could only go there)"
        ctx.require_answer(exchange, 403, code="verification_required", what=what, hint=_HINT)


REQUIREMENTS = (sensitive_requests_need_a_verified_email,)
