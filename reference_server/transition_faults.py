"""Seeded faults at state x action pairs of the lifecycles' transition tables that no other fault breaks.

Each answers one pair wrongly (an action in one state), so the suite must catch it in the state where it
happens: the lifecycles' covering paths execute every pair of their tables in every run. `faults.py`
appends these to its catalogue; this module is read only through it (it uses `faults.Fault`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from . import hooks
from .faults import Fault
from .hooks import ContactCall, Lookup, OtpAttempt

__all__ = ["TRANSITION_FAULTS"]


def _include_removed_of(kind: str) -> Any:
    def apply(lookup: Lookup, call: ContactCall) -> Lookup:
        return replace(lookup, include_removed=True) if call.kind == kind else lookup

    return apply


def _never_for(kind: str) -> Any:
    def apply(value: bool, call: ContactCall) -> bool:
        return False if call.kind == kind else value

    return apply


def _one_fewer_for(kind: str) -> Any:
    def apply(most: int, call: ContactCall) -> int:
        return most - 1 if call.kind == kind else most

    return apply


def _one_fewer(most: int, attempt: OtpAttempt) -> int:
    return most - 1


def _chip_first(order: tuple[str, ...], context: None) -> tuple[str, ...]:
    return tuple(reversed(order))


def _always(value: bool, context: object) -> bool:
    return True


def _never(value: bool, context: object) -> bool:
    return False


_VERIFY_EMAIL = "spec:/paths/~1user~1emails~1{email_id}~1verify/post/responses"
_MAKE_DEFAULT_PHONE = "spec:/paths/~1user~1phones~1{phone_id}~1make-default/put/responses"

TRANSITION_FAULTS: tuple[Fault[Any, Any], ...] = (
    Fault(
        name="nfc_chip_failure_accepted",
        description="NFC submission ignores a failed chip authentication: the passport verifies.",
        requirements=("IDV-NFC-CHIP",),
        hook=hooks.IDV_SUBMIT_NFC_CHIP_AUTHENTICATED,
        apply=_always,
        breaks=("spec:/paths/~1user~1idv~1nfc~1submit/post/responses/422#chip_authentication_failed",),
    ),
    Fault(
        name="nfc_checks_out_of_order",
        description="NFC submission runs its checks chip authentication first, so a passport failing several is "
        "refused for the last of them in the contract's order.",
        requirements=("IDV-NFC-ORDER",),
        hook=hooks.IDV_SUBMIT_NFC_ORDER,
        apply=_chip_first,
        breaks=("spec:/x-kesk-rules/17#1",),
    ),
    Fault(
        name="removed_email_verifiable",
        description="verifyUserEmail finds removed addresses: a removed one answers 400 invalid_code, not 404.",
        requirements=("EMAIL-REMOVE-GONE", "STATEFUL-USE-AFTER-FREE"),
        hook=hooks.CONTACT_VERIFY_LOOKUP,
        apply=_include_removed_of("email"),
        breaks=(f"{_VERIFY_EMAIL}/404#not_found",),
    ),
    Fault(
        name="removed_phone_made_default",
        description="setPrimaryUserPhone finds removed numbers: a removed one answers 409 or 200, not 404.",
        requirements=("PHONE-REMOVE-GONE", "STATEFUL-USE-AFTER-FREE"),
        hook=hooks.CONTACT_MAKE_DEFAULT_LOOKUP,
        apply=_include_removed_of("phone"),
        breaks=(f"{_MAKE_DEFAULT_PHONE}/404#not_found",),
    ),
    Fault(
        name="only_phone_not_removable",
        description="removeUserPhone refuses the user's only phone number (409 primary_removal), though it may go.",
        requirements=("PHONE-PRIMARY-REMOVAL",),
        hook=hooks.CONTACT_REMOVE_PRIMARY_MAY_GO,
        apply=_never_for("phone"),
        breaks=("spec:/x-kesk-rules/5#1",),
    ),
    Fault(
        name="verify_token_burns_early",
        description="A verification token is burnt after 4 wrong tokens, not 5: the fifth answers 429.",
        requirements=("VERIFY-TOKEN-BURNT",),
        hook=hooks.CONTACT_VERIFY_MAX_ATTEMPTS,
        apply=_one_fewer_for("email"),
        breaks=("spec:/x-kesk-rules/6#3",),
    ),
    Fault(
        name="verified_email_verifies_again",
        description="verifyUserEmail on an address already verified answers 400 invalid_code, not 409 "
        "already_verified.",
        requirements=("EMAIL-VERIFY-TOKEN",),
        hook=hooks.CONTACT_VERIFY_REFUSES_VERIFIED,
        apply=_never_for("email"),
        breaks=(f"{_VERIFY_EMAIL}/409#already_verified", "spec:/x-kesk-rules/6#4"),
    ),
    Fault(
        name="otp_locks_one_attempt_early",
        description="A deletion or export request answers 429 after 4 wrong OTPs, so the fifth attempt, the right "
        "OTP, is refused.",
        requirements=("OTP-BRUTE-FORCE",),
        hook=hooks.OTP_CHECK_MAX_ATTEMPTS,
        apply=_one_fewer,
        breaks=("spec:/x-kesk-rules/7#1",),
    ),
    Fault(
        name="deletion_request_while_scheduled",
        description="requestAccountDeletion accepts a new request (202) while a deletion is scheduled, not 409 "
        "conflict.",
        requirements=("GDPR-DELETION-FLOW",),
        hook=hooks.DELETION_REQUEST_REFUSES_SCHEDULED,
        apply=_never,
        breaks=("spec:/paths/~1user~1request-account-deletion/post/responses/409#conflict", "spec:/x-kesk-rules/9#3"),
    ),
    Fault(
        name="cancel_without_request_succeeds",
        description="cancelAccountDeletion with no deletion pending or scheduled answers 200, not 409 "
        "no_pending_request.",
        requirements=("GDPR-DELETION-CANCEL",),
        hook=hooks.DELETION_CANCEL_REFUSES_NOTHING,
        apply=_never,
        breaks=("spec:/paths/~1user~1cancel-account-deletion/post/responses/409#no_pending_request",),
    ),
)
