"""Seeded faults: deliberate bugs the conformance suite must catch.

Each fault is one `Fault` object: its name, what it breaks, the requirement ids
that must trip on it, the hook point (`hooks.py`) where it acts, and `apply`, its
whole behaviour. Handlers never name a fault: they pass each decision through
`state.at(hook, value, context)`, and only the switched-on faults attached to
that hook change it. A variant (behaviour the contract allows) will be the same
kind of object at the same hooks.
"""

from __future__ import annotations

import difflib
import re
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import phonenumbers

from . import hooks, misanswers
from .errors import ApiError, SeededServerError
from .hooks import Behaviour, ContactCall, ContactRefusal, Hook, Lookup, NfcChecks, OtpAttempt
from .invariant_faults import invariant_breakers
from .race_faults import RACE_FAULTS

__all__ = ["CATALOGUE", "Fault", "FaultSet", "UnknownFaultError", "fault_names"]

V = TypeVar("V")
C = TypeVar("C")


@dataclass(slots=True, frozen=True)
class Fault(Behaviour[V, C]):
    """Behaviour the contract forbids: the suite must fail every id in `requirements`."""


def _fault(
    name: str, description: str, requirement: str, *, hook: Hook[V, C], apply: Callable[[V, C], V]
) -> Fault[V, C]:
    return Fault(name=name, description=description, requirements=(requirement,), hook=hook, apply=apply)


# -- small behaviours shared by several faults -------------------------------------------


def _force(result: V) -> Callable[[V, object], V]:
    """Whatever the server decided, use `result`."""

    def apply(value: V, context: object) -> V:
        return result

    return apply


def _on(kind: str, apply: Callable[[V, ContactCall], V]) -> Callable[[V, ContactCall], V]:
    """`apply` on calls of one contact kind ("email" or "phone") only."""

    def on_kind(value: V, call: ContactCall) -> V:
        return apply(value, call) if call.kind == kind else value

    return on_kind


def _any_owner(lookup: Lookup, context: object) -> Lookup:
    return replace(lookup, any_owner=True)


def _include_removed(lookup: Lookup, context: object) -> Lookup:
    return replace(lookup, include_removed=True)


def _without_is_primary(body: dict[str, Any], context: object) -> dict[str, Any]:
    return {key: value for key, value in body.items() if key != "is_primary"}


def _id_as_string(body: dict[str, Any], context: object) -> dict[str, Any]:
    return {**body, "id": str(body["id"])}


def _error_on_non_ascii_address(value: None, call: ContactCall) -> None:
    address = call.body.get("email")
    if isinstance(address, str) and not address.isascii():
        raise SeededServerError("non-ASCII address")


def _error_on_longest_token(token: str, longest: int) -> str:
    if len(token) == longest:
        raise SeededServerError("token column too short")
    return token


def _flags_from_body(flags: tuple[bool, bool], call: ContactCall) -> tuple[bool, bool]:
    return call.body.get("is_verified") is True, call.body.get("is_primary") is True


def _skip_first_of_later_pages(window: tuple[int, int], context: object) -> tuple[int, int]:
    offset, limit = window
    return (offset + 1, limit - 1) if offset > 0 else window


def _repeat_last_of_previous_page(window: tuple[int, int], context: object) -> tuple[int, int]:
    offset, limit = window
    return (offset - 1, limit) if offset > 0 else window


def _not_primary(flags: tuple[bool, bool], call: ContactCall) -> tuple[bool, bool]:
    is_verified, _ = flags
    return is_verified, False


def _as_not_found(refusal: ApiError, call: ContactCall) -> ApiError:
    return ApiError.not_found("Email address" if call.kind == "email" else "Phone number")


_E164 = re.compile(r"\+[1-9][0-9]{6,14}")


def _trunk_prefix_kept(value: str, call: ContactCall) -> str:
    """'+', the calling code, then the national digits as typed: the trunk prefix 0 stays in."""
    typed = str(call.body.get("phone_number", ""))
    digits = "".join(ch for ch in typed if ch.isdigit())
    if typed.lstrip().startswith("+") or not digits.startswith("0"):
        return value
    kept = f"+{phonenumbers.country_code_for_region(str(call.body.get('country_code', '')))}{digits}"
    return kept if _E164.fullmatch(kept) else value


def _redeemed_again(row: sqlite3.Row | None, attempt: OtpAttempt) -> sqlite3.Row | None:
    return row if row is not None else attempt.redeemed()


def _another_users_pending(accepted: bool, attempt: OtpAttempt) -> bool:
    return accepted or attempt.pending_of_another_user() is not None


def _superseded_request(accepted: bool, attempt: OtpAttempt) -> bool:
    return accepted or attempt.superseded() is not None


def _removed_email_gone(refusal: ApiError | None, why: ContactRefusal) -> ApiError | None:
    if (why.kind, why.why) == ("email", "removed"):
        return ApiError(404, "gone", "This email address was removed.")
    return refusal


def _foreign_and_missing_email_forbidden(refusal: ApiError | None, why: ContactRefusal) -> ApiError | None:
    if why.kind == "email" and why.why in ("missing", "foreign"):
        return ApiError(404, "forbidden", "You may not use this email address.")
    return refusal


def _verified_contacts_unscoped(refusal: ApiError | None, why: ContactRefusal) -> ApiError | None:
    return None if why.why == "foreign" and why.is_verified else refusal


def _on_export(apply: Callable[[V, OtpAttempt], V]) -> Callable[[V, OtpAttempt], V]:
    """`apply` on OTPs presented to the export confirm only (the deletion flow shares the OTP code)."""

    def on_export(value: V, attempt: OtpAttempt) -> V:
        return apply(value, attempt) if attempt.kind == "export" else value

    return on_export


def _skip_nfc_check(name: str) -> Callable[[NfcChecks, object], NfcChecks]:
    def apply(checks: NfcChecks, context: object) -> NfcChecks:
        return replace(checks, **{name: False})

    return apply


def _basic_challenge_for_basic(refusal: ApiError, attempt: hooks.AuthAttempt) -> ApiError:
    if (attempt.scheme or "").lower() != "basic":
        return refusal
    return replace(refusal, headers={"WWW-Authenticate": 'Basic realm="kesk"'})


def _login_redirect_unless_json(refusal: ApiError, attempt: hooks.AuthAttempt) -> ApiError:
    if attempt.scheme is not None or attempt.asks_for_json:
        return refusal
    return ApiError(302, "unauthorized", "Sign in first.", headers={"Location": "/login"})


def _no_challenge_unless_json(refusal: ApiError, attempt: hooks.AuthAttempt) -> ApiError:
    return refusal if attempt.asks_for_json else replace(refusal, headers={})


def _bad_request_for_missing(refusal: ApiError, context: object) -> ApiError:
    return ApiError.malformed("The product is not in your favourites.")


def _created_if_new(status: int, new: bool) -> int:
    return 201 if new else status


def _a_day_short(grace_s: int, context: object) -> int:
    return grace_s - 86400


def _without_primary_email(document: dict[str, Any], context: object) -> dict[str, Any]:
    return {**document, "emails": [email for email in document["emails"] if not email["is_primary"]]}


def _error_outside_export_dir(filename: str, export_dir: Path) -> str:
    if not (export_dir / filename).resolve().is_relative_to(export_dir.resolve()):
        raise SeededServerError("path outside the export directory")
    return filename


def _added_again(refusal: ApiError | None, call: ContactCall) -> ApiError | None:
    return None


def _conflict_code(refusal: ApiError | None, call: ContactCall) -> ApiError | None:
    return ApiError(409, "conflict", "This phone number is already registered.")


def _burnt_as_wrong(refusal: ApiError, call: ContactCall) -> ApiError:
    return ApiError(400, "invalid_code", "The verification token is wrong.")


def _spent_attempts_kept(spent: int, spent_before: int) -> int:
    return spent_before


def _absent_page_zero(defaults: tuple[int, int], call: ContactCall) -> tuple[int, int]:
    _, per_page = defaults
    return 0, per_page


def _default_per_page_ten(defaults: tuple[int, int], call: ContactCall) -> tuple[int, int]:
    page, _ = defaults
    return page, 10


def _a_day_longer(ttl_s: int, call: ContactCall) -> int:
    return ttl_s + 86400


def _five_minutes(ttl_s: int, call: ContactCall) -> int:
    return 300


def _status_processing(body: dict[str, Any], context: object) -> dict[str, Any]:
    return {**body, "status": "processing"}


CATALOGUE: tuple[Fault[Any, Any], ...] = (
    _fault(
        "missing_required_field",
        "getUserEmail omits the required field is_primary.",
        "SCHEMA-RESPONSE-BODY",
        hook=hooks.CONTACT_GET_BODY,
        apply=_on("email", _without_is_primary),
    ),
    _fault(
        "wrong_field_type",
        "getMyProfile returns id as a string.",
        "SCHEMA-RESPONSE-BODY",
        hook=hooks.PROFILE_ME_BODY,
        apply=_id_as_string,
    ),
    _fault(
        "undocumented_status",
        "addFavouriteProduct answers 200 instead of 201.",
        "SCHEMA-STATUS-DOCUMENTED",
        hook=hooks.FAVOURITE_ADD_STATUS,
        apply=_force(200),
    ),
    _fault(
        "wrong_content_type",
        "getGdprStatus answers with Content-Type text/plain.",
        "SCHEMA-CONTENT-TYPE",
        hook=hooks.ACCOUNT_GDPR_STATUS_MEDIA_TYPE,
        apply=_force("text/plain; charset=utf-8"),
    ),
    _fault(
        "auth_ignored",
        "getProfileValidation answers without a token, as the first user.",
        "AUTH-401-MISSING",
        hook=hooks.PROFILE_VALIDATION_ANONYMOUS_IS_FIRST_USER,
        apply=_force(True),
    ),
    _fault(
        "invalid_token_accepted",
        "Any unknown bearer token acts as the first user.",
        "AUTH-401-INVALID",
        hook=hooks.AUTH_UNKNOWN_TOKEN_IS_FIRST_USER,
        apply=_force(True),
    ),
    _fault(
        "bola_email_read",
        "getUserEmail returns another user's email.",
        "BOLA-EMAIL-READ",
        hook=hooks.CONTACT_GET_LOOKUP,
        apply=_on("email", _any_owner),
    ),
    _fault(
        "bola_phone_remove",
        "removeUserPhone removes another user's phone.",
        "BOLA-PHONE-REMOVE",
        hook=hooks.CONTACT_REMOVE_LOOKUP,
        apply=_on("phone", _any_owner),
    ),
    _fault(
        "bola_export_download",
        "downloadExport serves another user's export file.",
        "BOLA-EXPORT-DOWNLOAD",
        hook=hooks.EXPORT_DOWNLOAD_LOOKUP,
        apply=_any_owner,
    ),
    _fault(
        "two_primaries",
        "setPrimaryUserEmail leaves the old primary email flagged.",
        "EMAIL-PRIMARY-UNIQUE",
        hook=hooks.CONTACT_MAKE_DEFAULT_CLEARS_OLD_PRIMARY,
        apply=_on("email", _force(False)),
    ),
    _fault(
        "unverified_primary",
        "setPrimaryUserEmail accepts an unverified email.",
        "EMAIL-PRIMARY-VERIFIED",
        hook=hooks.CONTACT_MAKE_DEFAULT_REQUIRES_VERIFIED,
        apply=_on("email", _force(False)),
    ),
    _fault(
        "wrong_token_verifies",
        "verifyUserEmail accepts any 6 digits.",
        "EMAIL-VERIFY-TOKEN",
        hook=hooks.CONTACT_VERIFY_CHECKS_TOKEN,
        apply=_on("email", _force(False)),
    ),
    _fault(
        "primary_removable",
        "removeUserEmail removes the primary email.",
        "EMAIL-PRIMARY-REMOVAL",
        hook=hooks.CONTACT_REMOVE_PRIMARY_MAY_GO,
        apply=_on("email", _force(True)),
    ),
    _fault(
        "removed_phone_readable",
        "getUserPhone still answers 200 after the phone was removed.",
        "PHONE-REMOVE-GONE",
        hook=hooks.CONTACT_GET_LOOKUP,
        apply=_on("phone", _include_removed),
    ),
    _fault(
        "bola_email_make_default",
        "setPrimaryUserEmail looks up another user's email too.",
        "BOLA-EMAIL-CHANGE",
        hook=hooks.CONTACT_MAKE_DEFAULT_LOOKUP,
        apply=_on("email", _any_owner),
    ),
    _fault(
        "bola_email_remove",
        "removeUserEmail removes another user's email.",
        "BOLA-EMAIL-REMOVE",
        hook=hooks.CONTACT_REMOVE_LOOKUP,
        apply=_on("email", _any_owner),
    ),
    _fault(
        "bola_phone_read",
        "getUserPhone returns another user's phone.",
        "BOLA-PHONE-READ",
        hook=hooks.CONTACT_GET_LOOKUP,
        apply=_on("phone", _any_owner),
    ),
    _fault(
        "bola_phone_verify",
        "verifyUserPhone checks a token against another user's phone.",
        "BOLA-PHONE-CHANGE",
        hook=hooks.CONTACT_VERIFY_LOOKUP,
        apply=_on("phone", _any_owner),
    ),
    _fault(
        "removed_email_readable",
        "getUserEmail still answers 200 after the email was removed.",
        "EMAIL-REMOVE-GONE",
        hook=hooks.CONTACT_GET_LOOKUP,
        apply=_on("email", _include_removed),
    ),
    _fault(
        "email_total_counts_removed",
        "listUserEmails counts removed emails in its total.",
        "EMAIL-LIST-MODEL",
        hook=hooks.CONTACT_LIST_COUNTS_REMOVED,
        apply=_on("email", _force(True)),
    ),
    _fault(
        "removed_email_gone_code",
        "A removed email address is answered 404 with code gone, not the documented 404 not_found.",
        "EMAIL-REMOVE-GONE",
        hook=hooks.CONTACT_OWNED_REFUSAL,
        apply=_removed_email_gone,
    ),
    Fault(
        name="bola_answers_forbidden",
        description="Another user's email id and a missing one are both answered 404 forbidden: alike, but not "
        "the documented 404 not_found.",
        requirements=("BOLA-EMAIL-READ", "BOLA-EMAIL-CHANGE", "BOLA-EMAIL-REMOVE"),
        hook=hooks.CONTACT_OWNED_REFUSAL,
        apply=_foreign_and_missing_email_forbidden,
    ),
    _fault(
        "bola_verified_contacts",
        "Another user's verified email address or phone number is served as the caller's own (fresh, unverified "
        "ones stay isolated).",
        "BOLA-CONTACT-VERIFIED",
        hook=hooks.CONTACT_OWNED_REFUSAL,
        apply=_verified_contacts_unscoped,
    ),
    _fault(
        "first_phone_not_primary",
        "addUserPhone does not make the user's first phone number primary.",
        "PHONE-PRIMARY-UNIQUE",
        hook=hooks.CONTACT_ADD_FLAGS,
        apply=_on("phone", _not_primary),
    ),
    _fault(
        "unverified_primary_phone",
        "setPrimaryUserPhone accepts an unverified phone number.",
        "PHONE-PRIMARY-VERIFIED",
        hook=hooks.CONTACT_MAKE_DEFAULT_REQUIRES_VERIFIED,
        apply=_on("phone", _force(False)),
    ),
    _fault(
        "wrong_token_verifies_phone",
        "verifyUserPhone accepts any 6 digits.",
        "PHONE-VERIFY-TOKEN",
        hook=hooks.CONTACT_VERIFY_CHECKS_TOKEN,
        apply=_on("phone", _force(False)),
    ),
    _fault(
        "primary_phone_removable",
        "removeUserPhone removes the primary phone number while the user has others.",
        "PHONE-PRIMARY-REMOVAL",
        hook=hooks.CONTACT_REMOVE_PRIMARY_MAY_GO,
        apply=_on("phone", _force(True)),
    ),
    _fault(
        "phone_trunk_prefix_kept",
        "addUserPhone stores a national number with its trunk prefix kept (+3580401234567, not +358401234567).",
        "PHONE-LIST-MODEL",
        hook=hooks.CONTACT_ADD_VALUE,
        apply=_on("phone", _trunk_prefix_kept),
    ),
    _fault(
        "pagination_bounds_400",
        "listUserEmails and listUserPhones answer 400, not 422, to page or per_page out of range.",
        "PAGINATION-BOUNDS",
        hook=hooks.CONTACT_LIST_OUT_OF_RANGE_STATUS,
        apply=_force(400),
    ),
    _fault(
        "favourites_per_page_400",
        "listFavouriteProducts answers 400, not 422, to page or per_page out of range.",
        "PAGINATION-BOUNDS",
        hook=hooks.FAVOURITE_LIST_OUT_OF_RANGE_STATUS,
        apply=_force(400),
    ),
    _fault(
        "favourites_newest_first",
        "listFavouriteProducts lists favourites by id descending (newest first), not ascending.",
        "FAVOURITE-LIST-MODEL",
        hook=hooks.FAVOURITE_LIST_NEWEST_FIRST,
        apply=_force(True),
    ),
    _fault(
        "emails_newest_first",
        "listUserEmails lists email addresses by id descending (newest first), not ascending.",
        "PAGINATION-WALK",
        hook=hooks.CONTACT_LIST_NEWEST_FIRST,
        apply=_on("email", _force(True)),
    ),
    _fault(
        "phones_newest_first",
        "listUserPhones lists phone numbers by id descending (newest first), not ascending.",
        "PAGINATION-WALK",
        hook=hooks.CONTACT_LIST_NEWEST_FIRST,
        apply=_on("phone", _force(True)),
    ),
    _fault(
        "profile_latest_phone",
        "getMyProfile shows the phone number added last, not the primary one.",
        "PROFILE-PRIMARY-PHONE",
        hook=hooks.PROFILE_ME_LATEST_PHONE,
        apply=_force(True),
    ),
    _fault(
        "validation_ignores_identity",
        "getProfileValidation leaves identity verification out of missing and is_complete.",
        "PROFILE-VALIDATION-STATE",
        hook=hooks.PROFILE_VALIDATION_REQUIRES_IDENTITY,
        apply=_force(False),
    ),
    _fault(
        "deep_page_refused",
        "listUserEmails and listUserPhones refuse with 422 a page that starts past the 10,000th item.",
        "INPUT-POSITIVE-ACCEPTED",
        hook=hooks.CONTACT_LIST_MAX_OFFSET,
        apply=_force(10_000),
    ),
    Fault(
        name="removal_not_saved",
        description="removeUserEmail and removeUserPhone answer 200 but never mark the contact removed.",
        # A removed contact still answering is what the lifecycles' *-REMOVE-GONE judge too.
        requirements=("STATEFUL-USE-AFTER-FREE", "EMAIL-REMOVE-GONE", "PHONE-REMOVE-GONE"),
        hook=hooks.CONTACT_REMOVE_MARKS_REMOVED,
        apply=_force(False),
    ),
    Fault(
        name="unverified_email_not_found",
        description="setPrimaryUserEmail answers 404 not_found, not 409 not_verified, for an unverified email.",
        # The documented refusal of an unverified email is EMAIL-PRIMARY-VERIFIED's too.
        requirements=("STATEFUL-RESOURCE-AVAILABLE", "EMAIL-PRIMARY-VERIFIED"),
        hook=hooks.CONTACT_MAKE_DEFAULT_NOT_VERIFIED,
        apply=_on("email", _as_not_found),
    ),
    _fault(
        "cancel_noop",
        "cancelAccountDeletion answers 200 but the deletion stays scheduled.",
        "GDPR-DELETION-CANCEL",
        hook=hooks.DELETION_CANCEL_CANCELS,
        apply=_force(False),
    ),
    _fault(
        "otp_reusable",
        "A deletion/export OTP confirms a second time.",
        "GDPR-OTP-SINGLE-USE",
        hook=hooks.OTP_CHECK_WITHOUT_PENDING,
        apply=_redeemed_again,
    ),
    _fault(
        "foreign_otp_accepted",
        "Another user's pending OTP confirms this user's request.",
        "GDPR-OTP-BOUND",
        hook=hooks.OTP_CHECK_ACCEPTS_MISMATCH,
        apply=_another_users_pending,
    ),
    _fault(
        "stale_otp_accepted",
        "The OTP of a superseded request confirms the new one.",
        "GDPR-OTP-BOUND",
        hook=hooks.OTP_CHECK_ACCEPTS_MISMATCH,
        apply=_superseded_request,
    ),
    _fault(
        "expired_otp_accepted",
        "OTP expiry is not enforced.",
        "GDPR-OTP-EXPIRY",
        hook=hooks.OTP_CHECK_ENFORCES_EXPIRY,
        apply=_force(False),
    ),
    _fault(
        "export_any_otp_accepted",
        "confirmDataExport accepts any 6 digits for the pending export (the deletion confirm is right).",
        "GDPR-EXPORT-FLOW",
        hook=hooks.OTP_CHECK_ACCEPTS_MISMATCH,
        apply=_on_export(_force(True)),
    ),
    _fault(
        "export_otp_reusable",
        "An export OTP confirms a second time (the deletion confirm is right).",
        "GDPR-EXPORT-OTP-SINGLE-USE",
        hook=hooks.OTP_CHECK_WITHOUT_PENDING,
        apply=_on_export(_redeemed_again),
    ),
    _fault(
        "export_foreign_otp_accepted",
        "Another user's pending export OTP confirms this user's export (the deletion confirm is right).",
        "GDPR-EXPORT-OTP-BOUND",
        hook=hooks.OTP_CHECK_ACCEPTS_MISMATCH,
        apply=_on_export(_another_users_pending),
    ),
    _fault(
        "export_stale_otp_accepted",
        "The OTP of a superseded export request confirms the new one (the deletion confirm is right).",
        "GDPR-EXPORT-OTP-BOUND",
        hook=hooks.OTP_CHECK_ACCEPTS_MISMATCH,
        apply=_on_export(_superseded_request),
    ),
    _fault(
        "export_expired_otp_accepted",
        "An export OTP still confirms after its 10 minutes (the deletion confirm is right).",
        "GDPR-EXPORT-OTP-EXPIRY",
        hook=hooks.OTP_CHECK_ENFORCES_EXPIRY,
        apply=_on_export(_force(False)),
    ),
    _fault(
        "otp_unlimited_attempts",
        "Wrong OTPs are never limited.",
        "OTP-BRUTE-FORCE",
        hook=hooks.OTP_CHECK_ENFORCES_ATTEMPTS,
        apply=_force(False),
    ),
    _fault(
        "expired_export_downloads",
        "An export file still downloads after its 7 days (no 410).",
        "GDPR-EXPORT-EXPIRY",
        hook=hooks.EXPORT_DOWNLOAD_ENFORCES_EXPIRY,
        apply=_force(False),
    ),
    _fault(
        "pagination_drops_item",
        "listUserEmails skips the first item of every page after the first.",
        "PAGINATION-WALK",
        hook=hooks.CONTACT_LIST_WINDOW,
        apply=_on("email", _skip_first_of_later_pages),
    ),
    _fault(
        "pagination_repeats_item",
        "listUserPhones repeats the previous page's last item.",
        "PAGINATION-WALK",
        hook=hooks.CONTACT_LIST_WINDOW,
        apply=_on("phone", _repeat_last_of_previous_page),
    ),
    _fault(
        "wrong_password_deletes",
        "deleteAccount deletes the account with a wrong password.",
        "ACCOUNT-DELETE-PASSWORD",
        hook=hooks.ACCOUNT_DELETE_PASSWORD_MATCHES,
        apply=_force(True),
    ),
    _fault(
        "token_survives_deletion",
        "The bearer token still works after deleteAccount.",
        "ACCOUNT-DELETE-TOKEN-REVOKED",
        hook=hooks.ACCOUNT_DELETE_REVOKES_TOKENS,
        apply=_force(False),
    ),
    _fault(
        "server_error_non_ascii",
        "addUserEmail answers 500 for a non-ASCII address.",
        "SCHEMA-NO-SERVER-ERROR",
        hook=hooks.CONTACT_ADD_RECEIVED,
        apply=_on("email", _error_on_non_ascii_address),
    ),
    _fault(
        "server_error_max_length",
        "registerFcmToken answers 500 for a 4096-character token.",
        "SCHEMA-NO-SERVER-ERROR",
        hook=hooks.FCM_REGISTER_TOKEN,
        apply=_error_on_longest_token,
    ),
    _fault(
        "mass_assignment_verified",
        "addUserEmail applies is_verified/is_primary from the body.",
        "MASS-ASSIGNMENT",
        hook=hooks.CONTACT_ADD_FLAGS,
        apply=_on("email", _flags_from_body),
    ),
    _fault(
        "profile_stale_primary",
        "getMyProfile keeps showing the first primary email after make-default.",
        "PROFILE-PRIMARY-EMAIL",
        hook=hooks.PROFILE_ME_STALE_PRIMARY_EMAIL,
        apply=_force(True),
    ),
    _fault(
        "favourite_duplicate",
        "A second add of the same product answers 201 and lists it twice.",
        "FAVOURITE-DUPLICATE",
        hook=hooks.FAVOURITE_ADD_ALLOWS_DUPLICATE,
        apply=_force(True),
    ),
    _fault(
        "fcm_unknown_unregister_ok",
        "unregisterFcmToken of an unknown token answers 200.",
        "FCM-UNREGISTER-UNKNOWN",
        hook=hooks.FCM_UNREGISTER_REFUSES_UNKNOWN,
        apply=_force(False),
    ),
    _fault(
        "nfc_bad_check_digit_accepted",
        "NFC submission skips the MRZ check digits.",
        "IDV-NFC-MRZ",
        hook=hooks.IDV_SUBMIT_NFC_CHECKS,
        apply=_skip_nfc_check("mrz_check_digits"),
    ),
    _fault(
        "nfc_tampered_group_accepted",
        "NFC submission skips the data group hash comparison.",
        "IDV-NFC-INTEGRITY",
        hook=hooks.IDV_SUBMIT_NFC_CHECKS,
        apply=_skip_nfc_check("data_integrity"),
    ),
    _fault(
        "nfc_expired_accepted",
        "NFC submission accepts an expired passport.",
        "IDV-NFC-EXPIRY",
        hook=hooks.IDV_SUBMIT_NFC_CHECKS,
        apply=_skip_nfc_check("document_expiry"),
    ),
    # -- auth, isolation, favourites, FCM, GDPR, identity and routing faults ----------------------------
    _fault(
        "basic_challenge_for_basic",
        "A Basic Authorization header is refused with a Basic challenge, not the Bearer one.",
        "AUTH-401-MALFORMED",
        hook=hooks.AUTH_REQUIRE_USER_REFUSAL,
        apply=_basic_challenge_for_basic,
    ),
    _fault(
        "login_redirect_without_token",
        "A request without a token that does not ask for JSON is redirected (302) to a sign-in page.",
        "AUTH-HEADER-REQUIRED",
        hook=hooks.AUTH_REQUIRE_USER_REFUSAL,
        apply=_login_redirect_unless_json,
    ),
    _fault(
        "challenge_missing_unless_json",
        "A 401 to a request that does not ask for JSON has no WWW-Authenticate header.",
        "SCHEMA-RESPONSE-HEADERS",
        hook=hooks.AUTH_REQUIRE_USER_REFUSAL,
        apply=_no_challenge_unless_json,
    ),
    _fault(
        "fcm_refresh_with_unknown_token",
        "registerFcmToken with an unknown bearer token refreshes a token already on file.",
        "AUTH-IGNORED",
        hook=hooks.FCM_REGISTER_UNKNOWN_BEARER_REFRESHES,
        apply=_force(True),
    ),
    _fault(
        "bola_favourites_list",
        "listFavouriteProducts lists every user's favourites.",
        "BOLA-LIST-SCOPE",
        hook=hooks.FAVOURITE_LIST_LOOKUP,
        apply=_any_owner,
    ),
    _fault(
        "bola_favourite_remove",
        "removeFavouriteProduct removes the product from every user's favourites.",
        "BOLA-FAVOURITE-REMOVE",
        hook=hooks.FAVOURITE_REMOVE_LOOKUP,
        apply=_any_owner,
    ),
    _fault(
        "bola_fcm_unregister",
        "unregisterFcmToken removes another user's token.",
        "BOLA-FCM-UNREGISTER",
        hook=hooks.FCM_UNREGISTER_LOOKUP,
        apply=_any_owner,
    ),
    _fault(
        "favourites_list_stale",
        "listFavouriteProducts answers from a 30-second cache that adding and removing do not clear.",
        "FAVOURITE-LIST-MODEL",
        hook=hooks.FAVOURITE_LIST_CACHED,
        apply=_force(True),
    ),
    _fault(
        "favourite_missing_bad_request",
        "removeFavouriteProduct answers 400 instead of 404 for a product that is not a favourite.",
        "FAVOURITE-REMOVE-MISSING",
        hook=hooks.FAVOURITE_REMOVE_MISSING,
        apply=_bad_request_for_missing,
    ),
    _fault(
        "fcm_new_token_201",
        "registerFcmToken answers 201 instead of 200 for a token it did not know.",
        "FCM-REGISTER",
        hook=hooks.FCM_REGISTER_STATUS,
        apply=_created_if_new,
    ),
    _fault(
        "fcm_platform_unchecked",
        "registerFcmToken accepts any platform string.",
        "INPUT-NEGATIVE-REJECTED",
        hook=hooks.FCM_REGISTER_PLATFORMS,
        apply=_force(None),
    ),
    _fault(
        "deletion_grace_day_short",
        "confirmAccountDeletion schedules the deletion a day early (29 days after the confirmation).",
        "GDPR-DELETION-FLOW",
        hook=hooks.DELETION_CONFIRM_GRACE_S,
        apply=_a_day_short,
    ),
    _fault(
        "gdpr_status_hides_unconfirmed",
        "getGdprStatus shows no pending deletion while the deletion awaits its OTP.",
        "GDPR-STATUS-MODEL",
        hook=hooks.ACCOUNT_GDPR_STATUS_SHOWS_UNCONFIRMED,
        apply=_force(False),
    ),
    _fault(
        "export_inline_disposition",
        "downloadExport sends Content-Disposition: inline, so the file is shown instead of downloaded.",
        "GDPR-EXPORT-FLOW",
        hook=hooks.EXPORT_DOWNLOAD_DISPOSITION,
        apply=_force("inline"),
    ),
    _fault(
        "export_omits_primary_email",
        "The export file leaves the primary email out of its emails list.",
        "GDPR-EXPORT-CONTENT",
        hook=hooks.EXPORT_RUN_DOCUMENT,
        apply=_without_primary_email,
    ),
    _fault(
        "export_traversal_error",
        "downloadExport answers 500 for a file name that resolves outside the export directory.",
        "GDPR-EXPORT-TRAVERSAL",
        hook=hooks.EXPORT_DOWNLOAD_FILENAME,
        apply=_error_outside_export_dir,
    ),
    _fault(
        "idv_session_processing",
        "appCreateVerificationSession reports a new session as processing, not requires_input.",
        "IDV-SESSION",
        hook=hooks.IDV_CREATE_SESSION_BODY,
        apply=_status_processing,
    ),
    _fault(
        "nfc_chip_always_failed",
        "NFC submission treats every chip authentication as failed, so no valid passport verifies.",
        "IDV-NFC-VALID",
        hook=hooks.IDV_SUBMIT_NFC_CHIP_AUTHENTICATED,
        apply=_force(False),
    ),
    _fault(
        "nfc_failure_unverifies",
        "A refused NFC submission turns an identity already verified by NFC back to failed.",
        "IDV-STATUS-MODEL",
        hook=hooks.IDV_REFUSE_KEEPS_VERIFIED,
        apply=_force(False),
    ),
    _fault(
        "partial_allow_header",
        "A 405's Allow header names only the first route's methods on a path several routes serve.",
        "HTTP-METHOD-NOT-ALLOWED",
        hook=hooks.APP_ALLOWED_METHODS_EVERY_ROUTE,
        apply=_force(False),
    ),
    # -- duplicates, verification tokens, FCM re-registration, export lifetime, page defaults ----------
    _fault(
        "email_added_twice",
        "addUserEmail adds an address already on the account again (201, a second entry), not 409 already_exists.",
        "CONTACT-ALREADY-EXISTS",
        hook=hooks.CONTACT_ADD_TAKEN,
        apply=_on("email", _added_again),
    ),
    _fault(
        "phone_duplicate_conflict_code",
        "addUserPhone refuses a number already on an account with 409 conflict, not the documented already_exists.",
        "CONTACT-ALREADY-EXISTS",
        hook=hooks.CONTACT_ADD_TAKEN,
        apply=_on("phone", _conflict_code),
    ),
    _fault(
        "verify_token_lives_a_day_longer",
        "An email verification token still verifies a day after its 15 minutes (no 400 code_expired).",
        "VERIFY-TOKEN-EXPIRY",
        hook=hooks.CONTACT_ADD_TOKEN_TTL_S,
        apply=_on("email", _a_day_longer),
    ),
    _fault(
        "verify_token_lives_five_minutes",
        "An email verification token expires after 5 minutes, not the contract's 15.",
        "VERIFY-TOKEN-EXPIRY",
        hook=hooks.CONTACT_ADD_TOKEN_TTL_S,
        apply=_on("email", _five_minutes),
    ),
    _fault(
        "burnt_token_invalid_code",
        "A burnt verification token answers 400 invalid_code, not 429 too_many_attempts (still refused).",
        "VERIFY-TOKEN-BURNT",
        hook=hooks.CONTACT_VERIFY_BURNT,
        apply=_burnt_as_wrong,
    ),
    _fault(
        "readd_keeps_spent_attempts",
        "Re-adding a removed address gives a token that starts with the removed token's wrong attempts (burnt).",
        "VERIFY-TOKEN-BURNT",
        hook=hooks.CONTACT_ADD_SPENT_ATTEMPTS,
        apply=_spent_attempts_kept,
    ),
    _fault(
        "fcm_platform_not_updated",
        "registerFcmToken of a known token answers 200 but keeps its old platform.",
        "FCM-PLATFORM-UPDATED",
        hook=hooks.FCM_REGISTER_UPDATES_PLATFORM,
        apply=_force(False),
    ),
    _fault(
        "fcm_token_keeps_owner",
        "registerFcmToken of a token another user registered answers 200 but leaves it with that user.",
        "FCM-REGISTER",
        hook=hooks.FCM_REGISTER_MOVES_OWNER,
        apply=_force(False),
    ),
    _fault(
        "export_expires_a_day_early",
        "An export file answers 410 gone after 6 days, a day before its 7 days are over.",
        "GDPR-EXPORT-EXPIRY",
        hook=hooks.EXPORT_RUN_FILE_TTL_S,
        apply=_a_day_short,
    ),
    _fault(
        "emails_absent_page_refused",
        "listUserEmails without a page parameter answers 422 (an absent page is taken as 0), not page 1.",
        "PAGINATION-DEFAULTS",
        hook=hooks.CONTACT_LIST_DEFAULTS,
        apply=_on("email", _absent_page_zero),
    ),
    _fault(
        "phones_default_per_page_ten",
        "listUserPhones without per_page answers pages of 10 (echoed), not the contract's default of 20.",
        "PAGINATION-DEFAULTS",
        hook=hooks.CONTACT_LIST_DEFAULTS,
        apply=_on("phone", _default_per_page_ten),
    ),
    _fault(
        "sensitive_without_verified_email",
        "requestAccountDeletion and requestDataExport accept a user whose primary email is unverified.",
        "GDPR-VERIFIED-EMAIL-REQUIRED",
        hook=hooks.OTP_OPEN_REQUIRES_VERIFIED_EMAIL,
        apply=_force(False),
    ),
    # Faults that only show under concurrency (race_faults.py): check-then-act without a lock.
    *(
        Fault(
            name=race.name,
            description=race.description,
            requirements=race.requirements,
            hook=race.hook,
            apply=race.apply,
        )
        for race in RACE_FAULTS
    ),
)


def _invariant_faults() -> tuple[Fault[Any, Any], ...]:
    """One fault per x-kesk-invariants rule of the contract: every answer breaks that rule (invariant_faults.py)."""
    return tuple(
        Fault(
            name="invariant_" + breaker.rule.id.lower().replace("-", "_"),
            description=f"Every answer breaks the invariant {breaker.rule.id} of {breaker.rule.schema}: "
            f"{breaker.rule.message}",
            requirements=("SCHEMA-INVARIANTS",),
            hook=hooks.BREAKING_BODY,
            apply=breaker,
            breaks=(f"spec:/components/schemas/{breaker.rule.schema}/x-kesk-invariants/{breaker.rule.index}",),
        )
        for breaker in invariant_breakers()
    )


CATALOGUE += _invariant_faults()

# Faults at state x action pairs of the lifecycles' tables; they use Fault, defined above.
from .transition_faults import TRANSITION_FAULTS  # noqa: E402

CATALOGUE += TRANSITION_FAULTS

# Generated from the contract (misanswers.py): each documented 400/415/422/404 refusal of each operation, answered
# otherwise, unless a fault above already breaks that promise.
CATALOGUE += misanswers.faults(Fault, CATALOGUE)

_BY_NAME = {fault.name: fault for fault in CATALOGUE}


def fault_names() -> tuple[str, ...]:
    return tuple(_BY_NAME)


class UnknownFaultError(ValueError):
    def __init__(self, name: str) -> None:
        # The catalogue holds hundreds of faults: name the closest ones, and where the whole list is.
        close = difflib.get_close_matches(name, list(_BY_NAME), n=3, cutoff=0.5)
        hint = f"did you mean {', '.join(close)}? " if close else ""
        super().__init__(f"unknown fault {name!r}; {hint}`kesk-conformance faults` lists the {len(_BY_NAME)} faults")
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

    @property
    def faults(self) -> tuple[Fault[Any, Any], ...]:
        """The switched-on faults, in catalogue order (the order they apply at a shared hook)."""
        return tuple(fault for fault in CATALOGUE if fault.name in self.names)
