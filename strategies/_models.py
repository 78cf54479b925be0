"""Strategies for every model of the contract (spec/openapi.yaml), as JSON-ready dicts.

Each factory returns instances valid for its schema *and* for the rules the contract states in
prose: a page's ``total_pages`` is ``ceil(total / per_page)`` and it holds what that page would,
``is_complete`` is true exactly when ``missing`` is empty, nullable timestamps are set exactly
in the states that set them, and so on. :func:`from_model` looks a factory up by model name.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from hypothesis import reject
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis.strategies import SearchStrategy

from strategies._emails import emails
from strategies._icao import ICAO_CODES
from strategies._nfc import nfc_submissions
from strategies._phones import phone_inputs, phone_numbers
from strategies._tokens import fcm_tokens, otp_codes, platforms, product_ids, verification_tokens
from strategies._validation import check_int_range
from strategies._values import format_timestamp, later, messages, moments, resource_ids, timestamps, uuids

Json = dict[str, Any]

PER_PAGE_MAX = 100  # x-kesk-limits per_page_max
GRACE_PERIOD_DAYS = 30  # x-kesk-limits deletion_grace_period_days
OTP_TTL = timedelta(seconds=600)  # x-kesk-limits otp_ttl_s
EXPORT_FILE_TTL = timedelta(days=7)  # x-kesk-limits export_file_ttl_s
RECENT_EXPORTS_MAX = 10  # x-kesk-limits gdpr_recent_exports_max
# fmt: off
ERROR_CODES = (
    "malformed_request", "validation_failed", "invalid_code", "code_expired", "unauthorized",
    "forbidden", "verification_required", "invalid_password", "not_found", "conflict",
    "already_exists", "already_verified", "not_verified", "primary_removal", "no_pending_request",
    "gone", "unsupported_media_type", "too_many_attempts", "rate_limited", "document_expired",
    "mrz_invalid", "data_group_mismatch", "chip_authentication_failed",
)
# fmt: on
NFC_FAILURES = ("mrz_invalid", "document_expired", "data_group_mismatch", "chip_authentication_failed")
_NAMES = st.one_of(st.none(), st.text(min_size=1, max_size=40))


# ---- Small request bodies --------------------------------------------------------------------
def add_favourite_product_inputs() -> SearchStrategy[Json]:
    """AddFavouriteProductInput: ``{"product_id": int64 >= 1}``."""
    return st.fixed_dictionaries({"product_id": product_ids()})


def create_user_email_requests() -> SearchStrategy[Json]:
    """CreateUserEmailRequest: an address email-validator accepts (RFC 5322, at most 254 octets)."""
    return st.fixed_dictionaries({"email": emails()})


def create_user_phone_number_requests() -> SearchStrategy[Json]:
    """CreateUserPhoneNumberRequest: a valid number (E.164 or national form) and its region."""
    return phone_inputs()


def verification_token_requests() -> SearchStrategy[Json]:
    """VerificationTokenRequest: ``{"token": six digits}``."""
    return st.fixed_dictionaries({"token": verification_tokens()})


def confirm_account_deletion_payloads() -> SearchStrategy[Json]:
    """ConfirmAccountDeletionPayload: ``{"otp": six digits}``."""
    return st.fixed_dictionaries({"otp": otp_codes()})


def confirm_data_export_payloads() -> SearchStrategy[Json]:
    """ConfirmDataExportPayload: ``{"otp": six digits}``."""
    return st.fixed_dictionaries({"otp": otp_codes()})


def delete_account_requests() -> SearchStrategy[Json]:
    """DeleteAccountRequest: a password of 1 to 1024 characters."""
    return st.fixed_dictionaries({"password": st.text(min_size=1, max_size=1024)})


def register_fcm_token_requests() -> SearchStrategy[Json]:
    """RegisterFcmTokenRequest: an FCM token and its platform."""
    return st.fixed_dictionaries({"fcm_token": fcm_tokens(), "platform": platforms()})


def nfc_identity_verification_requests() -> SearchStrategy[Json]:
    """NfcIdentityVerificationRequest: see :func:`strategies.nfc_submissions`."""
    return nfc_submissions()


# ---- Small responses -------------------------------------------------------------------------
def message_responses() -> SearchStrategy[Json]:
    """MessageResponse: ``{"message": non-empty text}``."""
    return st.fixed_dictionaries({"message": messages()})


def generic_successes() -> SearchStrategy[Json]:
    """GenericSuccess: ``success`` is true (the contract sends it on 2xx answers only)."""
    return st.fixed_dictionaries({"success": st.just(True), "message": messages()})


def delete_account_results() -> SearchStrategy[Json]:
    """DeleteAccountResult: ``deleted`` is always true."""
    return st.fixed_dictionaries({"deleted": st.just(True), "deleted_at": timestamps(), "message": messages()})


def error_responses() -> SearchStrategy[Json]:
    """ErrorResponse: a contract error code, a message, sometimes field details."""
    detail = st.fixed_dictionaries({"field": st.text(max_size=30), "message": messages()})
    return st.fixed_dictionaries(
        {"code": st.sampled_from(ERROR_CODES), "message": messages()},
        optional={"details": st.lists(detail, max_size=3)},
    )


def favourites() -> SearchStrategy[Json]:
    """Favourite: its id, the product id, when it was added."""
    return st.fixed_dictionaries({"id": resource_ids(), "product_id": product_ids(), "created_at": timestamps()})


# ---- Emails and phones -----------------------------------------------------------------------
@st.composite
def _owned(draw: st.DrawFn, verified: bool | None = None) -> Json:
    """The server-owned fields shared by emails and phones, with consistent verification times."""
    created = draw(moments())
    is_verified = draw(st.booleans()) if verified is None else verified
    verified_at = format_timestamp(draw(later(created))) if is_verified else None
    return {"is_verified": is_verified, "verified_at": verified_at, "created_at": format_timestamp(created)}


@st.composite
def _user_email(draw: st.DrawFn, primary: bool | None = None) -> Json:
    body = {"id": draw(resource_ids()), "email": draw(emails())}
    body.update(draw(_owned()))
    body["is_primary"] = draw(st.booleans()) if primary is None else primary
    return body


def user_email_responses() -> SearchStrategy[Json]:
    """UserEmailResponse: ``verified_at`` is set exactly when ``is_verified``, never before ``created_at``."""
    return _user_email()


@st.composite
def _user_phone(draw: st.DrawFn, primary: bool | None = None) -> Json:
    number = draw(phone_numbers())
    body = {"id": draw(resource_ids()), "phone_number": number.e164, "country_code": number.region}
    body.update(draw(_owned()))
    body["is_primary"] = draw(st.booleans()) if primary is None else primary
    return body


def user_phone_number_responses() -> SearchStrategy[Json]:
    """UserPhoneNumberResponse: a valid E.164 number with the region it was added for."""
    return _user_phone()


# ---- Pages -----------------------------------------------------------------------------------
@st.composite
def _page(draw: st.DrawFn, item: Callable[[bool], SearchStrategy[Json]], key: str, max_per_page: int) -> Json:
    per_page = draw(st.integers(1, max_per_page))
    total = draw(st.integers(0, 3 * max_per_page))
    total_pages = math.ceil(total / per_page)
    page = draw(st.integers(1, total_pages + 2))  # a page past the end is empty, not an error
    count = max(0, min(per_page, total - (page - 1) * per_page))
    # At most one primary on a page (exactly one across all pages, when there are items).
    primary_at = draw(st.integers(-1, count - 1)) if count else -1
    items = [draw(item(i == primary_at)) for i in range(count)]
    ids = sorted(draw(st.lists(resource_ids(), min_size=count, max_size=count, unique=True)))
    for body, item_id in zip(items, ids, strict=True):
        body["id"] = item_id  # ordered by id ascending
    if len({body[key] for body in items}) != count:
        reject()  # a user cannot hold the same address, number or product twice
    return {"items": items, "page": page, "per_page": per_page, "total": total, "total_pages": total_pages}


def _check_per_page(max_per_page: int) -> int:
    return check_int_range("max_per_page", max_per_page, min_value=1, max_value=PER_PAGE_MAX)


def paginated_favourites(*, max_per_page: int = PER_PAGE_MAX) -> SearchStrategy[Json]:
    """PaginatedResponse_Favourite: ``total_pages == ceil(total / per_page)``; the page holds
    ``min(per_page, total - (page - 1) * per_page)`` items (none past the end), ids ascending,
    each product at most once. ``max_per_page`` (1 to 100) bounds ``per_page``."""
    return _page(lambda _primary: favourites(), "product_id", _check_per_page(max_per_page))


def paginated_user_emails(*, max_per_page: int = PER_PAGE_MAX) -> SearchStrategy[Json]:
    """PaginatedResponse_UserEmailResponse: as :func:`paginated_favourites`, with distinct
    addresses and at most one primary."""
    return _page(_user_email, "email", _check_per_page(max_per_page))


def paginated_user_phone_numbers(*, max_per_page: int = PER_PAGE_MAX) -> SearchStrategy[Json]:
    """PaginatedResponse_UserPhoneNumberResponse: as :func:`paginated_favourites`, with distinct
    numbers and at most one primary."""
    return _page(_user_phone, "phone_number", _check_per_page(max_per_page))


# ---- Profile ---------------------------------------------------------------------------------
@st.composite
def _profile(draw: st.DrawFn) -> Json:
    phone = draw(st.one_of(st.none(), phone_numbers().map(lambda n: n.e164)))
    avatar = draw(
        st.one_of(
            st.none(),
            st.from_regex(r"[a-z0-9]{8,24}", fullmatch=True).map(lambda k: f"https://cdn.kesk.app/avatars/{k}.png"),
        )
    )
    return {
        "id": draw(resource_ids()),
        "display_name": draw(_NAMES),
        "first_name": draw(_NAMES),
        "last_name": draw(_NAMES),
        "email": draw(emails()),
        "email_verified": draw(st.booleans()),
        "phone": phone,
        "phone_verified": phone is not None and draw(st.booleans()),
        "identity_verified": draw(st.booleans()),
        "avatar_url": avatar,
        "created_at": draw(timestamps()),
    }


def my_profile_responses() -> SearchStrategy[Json]:
    """MyProfileResponse: ``phone_verified`` is false when there is no ``phone``."""
    return _profile()


@st.composite
def _profile_validation(draw: st.DrawFn) -> Json:
    has_email = draw(st.booleans())
    has_phone = draw(st.booleans())
    email_verified = has_email and draw(st.booleans())
    phone_verified = has_phone and draw(st.booleans())
    identity_verified = draw(st.booleans())
    missing = [
        name
        for name, done in (
            ("email_verification", email_verified),
            ("primary_phone", has_phone),
            ("phone_verification", phone_verified),
            ("identity_verification", identity_verified),
        )
        if not done
    ]
    return {
        "is_complete": not missing,
        "email_verified": email_verified,
        "phone_verified": phone_verified,
        "identity_verified": identity_verified,
        "has_primary_email": has_email,
        "has_primary_phone": has_phone,
        "missing": missing,
    }


def profile_validation_responses() -> SearchStrategy[Json]:
    """ProfileValidationResponse: ``missing`` lists each unmet requirement in the contract's
    order, ``is_complete == (missing == [])``, and nothing is verified that is absent."""
    return _profile_validation()


# ---- GDPR ------------------------------------------------------------------------------------
@st.composite
def _deletion(draw: st.DrawFn, statuses: tuple[str, ...] = ("pending_confirmation", "scheduled", "cancelled")) -> Json:
    status = draw(st.sampled_from(statuses))
    requested = draw(moments())
    confirmed = draw(later(requested, max_seconds=int(OTP_TTL.total_seconds())))
    scheduled_for = confirmed + timedelta(days=GRACE_PERIOD_DAYS)
    if status == "pending_confirmation":
        otp_expires, scheduled = requested + OTP_TTL, None
    elif status == "scheduled":
        otp_expires, scheduled = None, scheduled_for
    else:  # cancelled before or after confirmation
        otp_expires, scheduled = None, draw(st.sampled_from([None, scheduled_for]))
    return {
        "request_id": draw(uuids()),
        "status": status,
        "message": draw(messages()),
        "requested_at": format_timestamp(requested),
        "otp_expires_at": None if otp_expires is None else format_timestamp(otp_expires),
        "scheduled_for": None if scheduled is None else format_timestamp(scheduled),
        "grace_period_days": GRACE_PERIOD_DAYS,
    }


def account_deletion_responses() -> SearchStrategy[Json]:
    """AccountDeletionResponse: ``otp_expires_at`` (requested + 10 min) only while awaiting
    confirmation, ``scheduled_for`` (confirmation + 30 days) once scheduled."""
    return _deletion()


@st.composite
def _export(draw: st.DrawFn, requested: datetime | None = None) -> Json:
    status = draw(st.sampled_from(["pending_confirmation", "queued", "processing", "ready", "expired"]))
    if requested is None:
        requested = draw(moments())
    filename = file_expires = otp_expires = None
    if status == "pending_confirmation":
        otp_expires = format_timestamp(requested + OTP_TTL)
    elif status in ("ready", "expired"):
        ready = draw(later(requested, max_seconds=3600))
        filename = "kesk-export-" + draw(st.from_regex(r"[A-Za-z0-9_-]{32,64}", fullmatch=True)) + ".json"
        file_expires = format_timestamp(ready + EXPORT_FILE_TTL)
    return {
        "request_id": draw(uuids()),
        "status": status,
        "message": draw(messages()),
        "format": "json",
        "requested_at": format_timestamp(requested),
        "otp_expires_at": otp_expires,
        "filename": filename,
        "file_expires_at": file_expires,
    }


def data_export_responses() -> SearchStrategy[Json]:
    """DataExportResponse: ``otp_expires_at`` only while awaiting confirmation; ``filename`` and
    ``file_expires_at`` (ready + 7 days) once ready (kept when expired)."""
    return _export()


@st.composite
def _gdpr_status(draw: st.DrawFn) -> Json:
    pending = draw(st.one_of(st.none(), _deletion(("pending_confirmation", "scheduled"))))
    newest = draw(moments())
    gaps = draw(st.lists(st.integers(1, 30 * 86400), max_size=RECENT_EXPORTS_MAX - 1))
    moments_desc = [newest]
    for gap in gaps:
        moments_desc.append(moments_desc[-1] - timedelta(seconds=gap))
    count = draw(st.integers(0, len(moments_desc)))
    return {"pending_deletion": pending, "recent_exports": [draw(_export(m)) for m in moments_desc[:count]]}


def gdpr_status_responses() -> SearchStrategy[Json]:
    """GdprStatusResponse: a deletion awaiting confirmation or scheduled (or null), and at most
    10 exports, newest first."""
    return _gdpr_status()


# ---- Identity verification -------------------------------------------------------------------
@st.composite
def _session(draw: st.DrawFn) -> Json:
    session_id = "vs_" + draw(st.from_regex(r"[A-Za-z0-9]{14,24}", fullmatch=True))
    secret = draw(st.from_regex(r"[A-Za-z0-9]{16,32}", fullmatch=True))
    created = draw(moments())
    return {
        "session_id": session_id,
        "client_secret": f"{session_id}_secret_{secret}",
        "ephemeral_key_secret": "ek_" + draw(st.from_regex(r"(test|live)_[A-Za-z0-9]{16,32}", fullmatch=True)),
        "status": draw(st.sampled_from(["requires_input", "processing", "verified", "canceled"])),
        "created_at": format_timestamp(created),
        "expires_at": format_timestamp(created + timedelta(seconds=draw(st.integers(60, 86400)))),
    }


def verification_sessions() -> SearchStrategy[Json]:
    """VerificationSession: a Stripe Identity ``vs_`` session; ``expires_at`` after ``created_at``."""
    return _session()


@st.composite
def _verification_status(draw: st.DrawFn) -> Json:
    stripe_status = draw(st.sampled_from(["not_started", "requires_input", "processing", "verified", "canceled"]))
    if stripe_status == "not_started":
        stripe = {"status": stripe_status, "session_id": None, "updated_at": None}
    else:
        session = draw(_session())
        stripe = {"status": stripe_status, "session_id": session["session_id"], "updated_at": draw(timestamps())}
    nfc_status = draw(st.sampled_from(["not_started", "verified", "failed"]))
    nfc: Json = {"status": nfc_status, "document_type": None, "verified_at": None, "failure_reason": None}
    if nfc_status == "verified":
        nfc.update(document_type="passport", verified_at=draw(timestamps()))
    elif nfc_status == "failed":
        nfc["failure_reason"] = draw(st.sampled_from(NFC_FAILURES))
    if "verified" in (stripe_status, nfc_status):
        overall = "verified"
    elif stripe_status in ("requires_input", "processing"):
        overall = "pending"
    else:
        overall = "unverified"
    return {"overall_status": overall, "is_verified": overall == "verified", "stripe": stripe, "nfc": nfc}


def verification_status_responses() -> SearchStrategy[Json]:
    """VerificationStatusResponse: ``overall_status`` is verified when either method verified,
    pending when Stripe is requires_input/processing, else unverified; ``is_verified`` agrees;
    each side's nullable fields are set exactly in the states that set them."""
    return _verification_status()


@st.composite
def _nfc_response(draw: st.DrawFn) -> Json:
    verified = draw(moments())
    expiry = draw(st.dates(verified.date(), min(verified.date() + timedelta(days=3653), datetime(2099, 12, 31).date())))
    return {
        "verification_id": draw(uuids()),
        "status": "verified",
        "document_type": "passport",
        "issuing_country": draw(st.sampled_from(ICAO_CODES)),
        "expiry_date": expiry.isoformat(),
        "verified_at": format_timestamp(verified),
        "checks": {
            "mrz_check_digits": "passed",
            "document_expiry": "passed",
            "data_integrity": "passed",
            "chip_authentication": "passed",
        },
    }


def nfc_identity_verification_responses() -> SearchStrategy[Json]:
    """NfcIdentityVerificationResponse: an ICAO 9303 issuing state, an expiry date not before
    the verification, every check passed."""
    return _nfc_response()


# ---- Export document -------------------------------------------------------------------------
@st.composite
def _export_document(draw: st.DrawFn) -> Json:
    user = draw(_profile())
    emails_count = draw(st.integers(1, 4))
    primary_email = draw(st.integers(0, emails_count - 1))
    user_emails = [draw(_user_email(i == primary_email)) for i in range(emails_count)]
    phones_count = draw(st.integers(0, 3))
    primary_phone = draw(st.integers(0, phones_count - 1)) if phones_count else -1
    user_phones = [draw(_user_phone(i == primary_phone)) for i in range(phones_count)]
    identity = draw(_verification_status())
    # The profile repeats the primary email and phone and the identity outcome.
    user["email"] = user_emails[primary_email]["email"]
    user["email_verified"] = user_emails[primary_email]["is_verified"]
    user["phone"] = user_phones[primary_phone]["phone_number"] if user_phones else None
    user["phone_verified"] = bool(user_phones) and user_phones[primary_phone]["is_verified"]
    user["identity_verified"] = identity["is_verified"]
    for listed, key in ((user_emails, "email"), (user_phones, "phone_number")):
        if len({body[key] for body in listed}) != len(listed):
            reject()  # a user cannot hold the same address or number twice
        ids = draw(st.lists(resource_ids(), min_size=len(listed), max_size=len(listed), unique=True))
        for body, item_id in zip(listed, sorted(ids), strict=True):
            body["id"] = item_id
    return {
        "format_version": 1,
        "generated_at": draw(timestamps()),
        "user": user,
        "emails": user_emails,
        "phones": user_phones,
        "favourites": draw(st.lists(favourites(), max_size=5, unique_by=lambda f: f["product_id"])),
        "fcm_tokens": draw(
            st.lists(st.fixed_dictionaries({"platform": platforms(), "registered_at": timestamps()}), max_size=3)
        ),
        "identity_verification": identity,
    }


def export_documents() -> SearchStrategy[Json]:
    """ExportDocument (the downloaded file): the profile agrees with the exported primary email,
    primary phone and identity status; push tokens appear by platform only."""
    return _export_document()


MODELS: dict[str, Callable[[], SearchStrategy[Json]]] = {
    "AddFavouriteProductInput": add_favourite_product_inputs,
    "MessageResponse": message_responses,
    "CreateUserEmailRequest": create_user_email_requests,
    "UserEmailResponse": user_email_responses,
    "CreateUserPhoneNumberRequest": create_user_phone_number_requests,
    "UserPhoneNumberResponse": user_phone_number_responses,
    "VerificationSession": verification_sessions,
    "VerificationStatusResponse": verification_status_responses,
    "NfcIdentityVerificationRequest": nfc_identity_verification_requests,
    "NfcIdentityVerificationResponse": nfc_identity_verification_responses,
    "AccountDeletionResponse": account_deletion_responses,
    "ConfirmAccountDeletionPayload": confirm_account_deletion_payloads,
    "DataExportResponse": data_export_responses,
    "ConfirmDataExportPayload": confirm_data_export_payloads,
    "DeleteAccountRequest": delete_account_requests,
    "DeleteAccountResult": delete_account_results,
    "GdprStatusResponse": gdpr_status_responses,
    "MyProfileResponse": my_profile_responses,
    "ProfileValidationResponse": profile_validation_responses,
    "Favourite": favourites,
    "PaginatedResponse_Favourite": paginated_favourites,
    "PaginatedResponse_UserEmailResponse": paginated_user_emails,
    "PaginatedResponse_UserPhoneNumberResponse": paginated_user_phone_numbers,
    "RegisterFcmTokenRequest": register_fcm_token_requests,
    "GenericSuccess": generic_successes,
    "VerificationTokenRequest": verification_token_requests,
    "ErrorResponse": error_responses,
    "ExportDocument": export_documents,
}
MODEL_NAMES: tuple[str, ...] = tuple(sorted(MODELS))


def from_model(name: str) -> SearchStrategy[Json]:
    """The strategy for the contract model ``name`` (a key of ``components/schemas``), e.g.
    ``from_model("UserEmailResponse")``. Raises ``InvalidArgument`` for any other name."""
    if not isinstance(name, str) or name not in MODELS:
        raise InvalidArgument(f"No strategy for model {name!r}; known models: {', '.join(MODEL_NAMES)}.")
    return MODELS[name]()
