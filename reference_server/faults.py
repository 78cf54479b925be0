"""Seeded faults: deliberate bugs the conformance suite must catch.

Each fault is a record naming the requirement ids that must trip on it and the
hook point (handler step) it changes. Handlers never look at fault flags
directly: they ask the app's `FaultSet.active(name)` at that one hook point.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["CATALOGUE", "Fault", "FaultSet", "UnknownFaultError", "fault_names"]


@dataclass(slots=True, frozen=True)
class Fault:
    name: str
    description: str
    requirements: tuple[str, ...]
    hook: str  # where the behaviour changes: "<module>.<step>"


def _fault(name: str, description: str, requirement: str, hook: str) -> Fault:
    return Fault(name=name, description=description, requirements=(requirement,), hook=hook)


CATALOGUE: tuple[Fault, ...] = (
    _fault(
        "missing_required_field",
        "getUserEmail omits the required field is_primary.",
        "SCHEMA-RESPONSE-BODY",
        "contacts.get",
    ),
    _fault("wrong_field_type", "getMyProfile returns id as a string.", "SCHEMA-RESPONSE-BODY", "profile.me"),
    _fault(
        "undocumented_status",
        "addFavouriteProduct answers 200 instead of 201.",
        "SCHEMA-STATUS-DOCUMENTED",
        "favourites.add",
    ),
    _fault(
        "wrong_content_type",
        "getGdprStatus answers with Content-Type text/plain.",
        "SCHEMA-CONTENT-TYPE",
        "account.gdpr_status",
    ),
    _fault(
        "auth_ignored",
        "getProfileValidation answers without a token, as the first user.",
        "AUTH-401-MISSING",
        "profile.validation",
    ),
    _fault(
        "invalid_token_accepted", "Any unknown bearer token acts as the first user.", "AUTH-401-INVALID", "auth.lookup"
    ),
    _fault("bola_email_read", "getUserEmail returns another user's email.", "BOLA-EMAIL-READ", "contacts.get"),
    _fault(
        "bola_phone_remove", "removeUserPhone removes another user's phone.", "BOLA-PHONE-REMOVE", "contacts.remove"
    ),
    _fault(
        "bola_export_download",
        "downloadExport serves another user's export file.",
        "BOLA-EXPORT-DOWNLOAD",
        "exports.download",
    ),
    _fault(
        "two_primaries",
        "setPrimaryUserEmail leaves the old primary email flagged.",
        "EMAIL-PRIMARY-UNIQUE",
        "contacts.make_default",
    ),
    _fault(
        "unverified_primary",
        "setPrimaryUserEmail accepts an unverified email.",
        "EMAIL-PRIMARY-VERIFIED",
        "contacts.make_default",
    ),
    _fault("wrong_token_verifies", "verifyUserEmail accepts any 6 digits.", "EMAIL-VERIFY-TOKEN", "contacts.verify"),
    _fault(
        "primary_removable", "removeUserEmail removes the primary email.", "EMAIL-PRIMARY-REMOVAL", "contacts.remove"
    ),
    _fault(
        "removed_phone_readable",
        "getUserPhone still answers 200 after the phone was removed.",
        "PHONE-REMOVE-GONE",
        "contacts.get",
    ),
    _fault(
        "cancel_noop",
        "cancelAccountDeletion answers 200 but the deletion stays scheduled.",
        "GDPR-DELETION-CANCEL",
        "deletion.cancel",
    ),
    _fault("otp_reusable", "A deletion/export OTP confirms a second time.", "GDPR-OTP-SINGLE-USE", "otp.redeem"),
    _fault(
        "foreign_otp_accepted",
        "Another user's pending OTP confirms this user's request.",
        "GDPR-OTP-BOUND",
        "otp.redeem",
    ),
    _fault(
        "stale_otp_accepted", "The OTP of a superseded request confirms the new one.", "GDPR-OTP-BOUND", "otp.redeem"
    ),
    _fault("expired_otp_accepted", "OTP expiry is not enforced.", "GDPR-OTP-EXPIRY", "otp.redeem"),
    _fault("otp_unlimited_attempts", "Wrong OTPs are never limited.", "OTP-BRUTE-FORCE", "otp.redeem"),
    _fault(
        "expired_export_downloads",
        "An export file still downloads after its 7 days (no 410).",
        "GDPR-EXPORT-EXPIRY",
        "exports.download",
    ),
    _fault(
        "pagination_drops_item",
        "listUserEmails skips the first item of every page after the first.",
        "PAGINATION-WALK",
        "contacts.list",
    ),
    _fault(
        "pagination_repeats_item",
        "listUserPhones repeats the previous page's last item.",
        "PAGINATION-WALK",
        "contacts.list",
    ),
    _fault(
        "wrong_password_deletes",
        "deleteAccount deletes the account with a wrong password.",
        "ACCOUNT-DELETE-PASSWORD",
        "account.delete",
    ),
    _fault(
        "token_survives_deletion",
        "The bearer token still works after deleteAccount.",
        "ACCOUNT-DELETE-TOKEN-REVOKED",
        "account.delete",
    ),
    _fault(
        "server_error_non_ascii",
        "addUserEmail answers 500 for a non-ASCII address.",
        "SCHEMA-NO-SERVER-ERROR",
        "contacts.add",
    ),
    _fault(
        "server_error_max_length",
        "registerFcmToken answers 500 for a 4096-character token.",
        "SCHEMA-NO-SERVER-ERROR",
        "fcm.register",
    ),
    _fault(
        "mass_assignment_verified",
        "addUserEmail applies is_verified/is_primary from the body.",
        "MASS-ASSIGNMENT",
        "contacts.add",
    ),
    _fault(
        "profile_stale_primary",
        "getMyProfile keeps showing the first primary email after make-default.",
        "PROFILE-PRIMARY-EMAIL",
        "profile.me",
    ),
    _fault(
        "favourite_duplicate",
        "A second add of the same product answers 201 and lists it twice.",
        "FAVOURITE-DUPLICATE",
        "favourites.add",
    ),
    _fault(
        "fcm_unknown_unregister_ok",
        "unregisterFcmToken of an unknown token answers 200.",
        "FCM-UNREGISTER-UNKNOWN",
        "fcm.unregister",
    ),
    _fault(
        "nfc_bad_check_digit_accepted", "NFC submission skips the MRZ check digits.", "IDV-NFC-MRZ", "idv.nfc_checks"
    ),
    _fault(
        "nfc_tampered_group_accepted",
        "NFC submission skips the data group hash comparison.",
        "IDV-NFC-INTEGRITY",
        "idv.nfc_checks",
    ),
    _fault("nfc_expired_accepted", "NFC submission accepts an expired passport.", "IDV-NFC-EXPIRY", "idv.nfc_checks"),
)

_BY_NAME = {fault.name: fault for fault in CATALOGUE}


def fault_names() -> tuple[str, ...]:
    return tuple(_BY_NAME)


class UnknownFaultError(ValueError):
    def __init__(self, name: str) -> None:
        super().__init__(f"unknown fault {name!r}; valid faults: {', '.join(sorted(_BY_NAME))}")
        self.name = name


@dataclass(slots=True, frozen=True)
class FaultSet:
    """The faults switched on for one app instance."""

    names: frozenset[str]

    @classmethod
    def of(cls, names: Iterable[str]) -> FaultSet:
        chosen = frozenset(names)
        for name in chosen:
            if name not in _BY_NAME:
                raise UnknownFaultError(name)
        return cls(chosen)

    def active(self, name: str) -> bool:
        # A typo at a hook point is a programming error, not a silently-off fault.
        if name not in _BY_NAME:
            raise KeyError(name)
        return name in self.names
