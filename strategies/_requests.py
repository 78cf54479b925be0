"""Request bodies for every operation of the contract that takes one, valid and invalid.

An SDK's request models should accept every valid body and its validation (or the server)
should refuse every invalid one. Each invalid body is an :class:`Invalid` record that says why
it is invalid: ``reason`` names the member and the defect ("email: not an email address"), and
``rule`` is None when the JSON Schema of spec/openapi.yaml alone refuses the body, or cites the
rule beyond the schema that does (``rule:NFC-VALIDATION`` for an ``x-kesk-rules`` id,
``rfc:5322``, ``itu:E.164``, ``spec:<JSON pointer>`` for a rule stated in a description).

Models are named as the contract names them: the ``components/schemas`` name of a ``$ref``
body, or the operationId for the two bodies typed inline (``requestAccountDeletion``,
``requestDataExport``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis.strategies import SearchStrategy

from strategies._emails import ADDRESS_MAX_OCTETS, emails, invalid_emails
from strategies._models import (
    Json,
    add_favourite_product_inputs,
    confirm_account_deletion_payloads,
    confirm_data_export_payloads,
    create_user_email_requests,
    create_user_phone_number_requests,
    delete_account_requests,
    nfc_identity_verification_requests,
    register_fcm_token_requests,
    verification_token_requests,
)
from strategies._nfc import (
    nfc_submissions,
    nfc_submissions_with_bad_check_digit,
    nfc_submissions_with_failed_chip_authentication,
    tampered_nfc_submissions,
)
from strategies._phones import invalid_phone_numbers
from strategies._tokens import FCM_TOKEN_MAX_LENGTH, INT64_MAX

__all__ = [
    "REQUEST_MODELS",
    "Invalid",
    "account_deletion_preferences",
    "data_export_preferences",
    "invalid_account_deletion_preferences",
    "invalid_add_favourite_product_inputs",
    "invalid_confirm_account_deletion_payloads",
    "invalid_confirm_data_export_payloads",
    "invalid_create_user_email_requests",
    "invalid_create_user_phone_number_requests",
    "invalid_data_export_preferences",
    "invalid_delete_account_requests",
    "invalid_nfc_identity_verification_requests",
    "invalid_register_fcm_token_requests",
    "invalid_request_bodies",
    "invalid_verification_token_requests",
    "request_bodies",
]

PASSWORD_MAX_LENGTH = 1024  # the contract's DeleteAccountRequest.password maxLength
PHONE_INPUT_MAX_LENGTH = 32  # the contract's CreateUserPhoneNumberRequest.phone_number maxLength
DELETION_REASON_MAX_LENGTH = 500  # the requestAccountDeletion body description: "at most 500 characters"
_DELETION_BODY = "spec:/paths/~1user~1request-account-deletion/post/requestBody"
_EXPORT_BODY = "spec:/paths/~1user~1request-data-export/post/requestBody"


@dataclass(frozen=True, slots=True)
class Invalid:
    """A request body the contract refuses, with the reason.

    ``reason`` is ``"<member>: <defect>"`` (``"body: ..."`` for the whole body). ``rule`` is None
    when the schema alone refuses the body; otherwise it cites the rule that does, beyond the
    schema's keywords: ``rule:<x-kesk-rules id>``, ``rfc:<number>``, ``itu:E.164`` or
    ``spec:<JSON pointer>`` (a rule stated in a description).
    """

    body: Any
    reason: str
    rule: str | None = None


# The JSON type of each top-level member, to draw a value of another type ("wrong type").
_MEMBER_TYPES: dict[str, dict[str, str]] = {
    "AddFavouriteProductInput": {"product_id": "integer"},
    "CreateUserEmailRequest": {"email": "string"},
    "CreateUserPhoneNumberRequest": {"phone_number": "string", "country_code": "string"},
    "VerificationTokenRequest": {"token": "string"},
    "ConfirmAccountDeletionPayload": {"otp": "string"},
    "ConfirmDataExportPayload": {"otp": "string"},
    "DeleteAccountRequest": {"password": "string"},
    "RegisterFcmTokenRequest": {"fcm_token": "string", "platform": "string"},
    "NfcIdentityVerificationRequest": {
        "mrz": "string",
        "data_groups": "object",
        "security_object": "object",
        "chip_authentication": "object",
    },
}

# A value of each JSON type; digits as text, so a string is never mistaken for a well-typed number.
_TYPED_VALUES: dict[str, SearchStrategy[Any]] = {
    "string": st.text(alphabet="0123456789", min_size=1, max_size=6),
    "integer": st.integers(-5, 10**6),
    "boolean": st.booleans(),
    "null": st.none(),
    "array": st.lists(st.integers(0, 9), max_size=2),
    "object": st.dictionaries(st.sampled_from(["value", "id"]), st.integers(0, 9), max_size=1),
}
_NOT_OBJECTS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.text(max_size=10), st.lists(st.integers(0, 9), max_size=3)
)


def _replace(body: Json, member: str, value: Any) -> Json:
    return {**body, member: value}


def _without(valid: SearchStrategy[Json], member: str) -> SearchStrategy[Invalid]:
    return valid.map(lambda body: Invalid({k: v for k, v in body.items() if k != member}, f"{member}: missing"))


def _schema_refusals(model: str, valid: SearchStrategy[Json]) -> list[SearchStrategy[Invalid]]:
    """The defects every object body can have: not an object, a required member missing or mistyped."""
    refusals = [_NOT_OBJECTS.map(lambda body: Invalid(body, "body: not a JSON object"))]
    for member, kind in _MEMBER_TYPES[model].items():
        others = st.one_of(*(strategy for name, strategy in _TYPED_VALUES.items() if name != kind))
        refusals += [_without(valid, member), _with(valid, member, others, f"not of type {kind}")]
    return refusals


def _with(
    valid: SearchStrategy[Json], member: str, values: SearchStrategy[Any], defect: str
) -> SearchStrategy[Invalid]:
    """``valid`` bodies whose ``member`` is replaced by one of ``values``."""
    return st.tuples(valid, values).map(lambda pair: Invalid(_replace(pair[0], member, pair[1]), f"{member}: {defect}"))


def _six_digit_refusals(model: str, valid: SearchStrategy[Json], member: str) -> SearchStrategy[Invalid]:
    digits = "0123456789"
    return st.one_of(
        *_schema_refusals(model, valid),
        _with(valid, member, st.text(alphabet=digits, min_size=0, max_size=5), "fewer than six digits"),
        _with(valid, member, st.text(alphabet=digits, min_size=7, max_size=12), "more than six digits"),
        # Six characters, one of them not an ASCII digit (a letter, a space, a fullwidth digit).
        _with(
            valid,
            member,
            st.tuples(st.integers(0, 5), st.sampled_from("aZ -٣３")).map(
                lambda p: "123456"[: p[0]] + p[1] + "123456"[p[0] + 1 :]
            ),
            "not six ASCII digits",
        ),
    )


# ---- One invalid twin per request model -----------------------------------------------------
def invalid_add_favourite_product_inputs() -> SearchStrategy[Invalid]:
    """AddFavouriteProductInput bodies the contract refuses: ``product_id`` below 1, above the
    int64 maximum, fractional, missing, or of another type; or a body that is not an object."""
    valid = add_favourite_product_inputs()
    return st.one_of(
        *_schema_refusals("AddFavouriteProductInput", valid),
        _with(valid, "product_id", st.integers(max_value=0), "below the minimum of 1"),
        _with(valid, "product_id", st.integers(INT64_MAX + 1, 2**64), "above the int64 maximum"),
        # Fractional only: JSON Schema counts 2.0 as an integer.
        _with(valid, "product_id", st.floats(1, 1e6).filter(lambda x: not x.is_integer()), "not an integer"),
    )


def invalid_create_user_email_requests() -> SearchStrategy[Invalid]:
    """CreateUserEmailRequest bodies the contract refuses: an address RFC 5322 refuses (see
    :func:`strategies.invalid_emails`), one longer than 254 or shorter than 3 characters, a missing
    or mistyped ``email``, or a body that is not an object."""
    valid = create_user_email_requests()
    too_long = emails(max_length=64).map(lambda a: "a" * (ADDRESS_MAX_OCTETS + 1 - len(a)) + "." + a)
    return st.one_of(
        *_schema_refusals("CreateUserEmailRequest", valid),
        _with(valid, "email", too_long, f"longer than {ADDRESS_MAX_OCTETS} characters"),
        _with(valid, "email", st.sampled_from(["", "a", "@", "a@"]), "shorter than 3 characters"),
        # The schema's `format: email` defers to RFC 5322; validators check it to different depths.
        invalid_emails()
        .filter(lambda a: 3 <= len(a) <= ADDRESS_MAX_OCTETS)
        .map(lambda a: Invalid({"email": a}, "email: not an email address", "rfc:5322")),
    )


def invalid_create_user_phone_number_requests() -> SearchStrategy[Invalid]:
    """CreateUserPhoneNumberRequest bodies the contract refuses: a number E.164 refuses for its
    region (see :func:`strategies.invalid_phone_numbers`), letters or more than 32 characters in
    ``phone_number``, a ``country_code`` that is not two capital letters, a member missing or
    mistyped, or a body that is not an object."""
    valid = create_user_phone_number_requests()
    lettered = st.tuples(st.from_regex(r"\+[0-9]{4,10}", fullmatch=True), st.sampled_from(["CALL", "x12", "ext"]))
    return st.one_of(
        *_schema_refusals("CreateUserPhoneNumberRequest", valid),
        _with(valid, "phone_number", lettered.map("".join), "not digits, spaces, (, ), - and a leading +"),
        _with(
            valid,
            "phone_number",
            st.text(alphabet="0123456789", min_size=PHONE_INPUT_MAX_LENGTH + 1, max_size=PHONE_INPUT_MAX_LENGTH + 8),
            f"longer than {PHONE_INPUT_MAX_LENGTH} characters",
        ),
        _with(
            valid,
            "country_code",
            st.from_regex(r"[a-z]{2}|[A-Z]{3}|[A-Z][0-9]|", fullmatch=True),
            "not an ISO 3166-1 alpha-2 code in capitals",
        ),
        invalid_phone_numbers().map(
            lambda body: Invalid(body, "phone_number: not a valid number for country_code", "itu:E.164")
        ),
    )


def invalid_verification_token_requests() -> SearchStrategy[Invalid]:
    """VerificationTokenRequest bodies the contract refuses: a ``token`` that is not six ASCII
    digits, missing or mistyped, or a body that is not an object."""
    return _six_digit_refusals("VerificationTokenRequest", verification_token_requests(), "token")


def invalid_confirm_account_deletion_payloads() -> SearchStrategy[Invalid]:
    """ConfirmAccountDeletionPayload bodies the contract refuses: an ``otp`` that is not six ASCII
    digits, missing or mistyped, or a body that is not an object."""
    return _six_digit_refusals("ConfirmAccountDeletionPayload", confirm_account_deletion_payloads(), "otp")


def invalid_confirm_data_export_payloads() -> SearchStrategy[Invalid]:
    """ConfirmDataExportPayload bodies the contract refuses: an ``otp`` that is not six ASCII
    digits, missing or mistyped, or a body that is not an object."""
    return _six_digit_refusals("ConfirmDataExportPayload", confirm_data_export_payloads(), "otp")


def invalid_delete_account_requests() -> SearchStrategy[Invalid]:
    """DeleteAccountRequest bodies the contract refuses: an empty ``password``, one longer than
    1024 characters, a missing or mistyped one, or a body that is not an object."""
    valid = delete_account_requests()
    return st.one_of(
        *_schema_refusals("DeleteAccountRequest", valid),
        _with(valid, "password", st.just(""), "empty"),
        _with(
            valid,
            "password",
            st.integers(PASSWORD_MAX_LENGTH + 1, PASSWORD_MAX_LENGTH + 64).map(lambda n: "p" * n),
            f"longer than {PASSWORD_MAX_LENGTH} characters",
        ),
    )


def invalid_register_fcm_token_requests() -> SearchStrategy[Invalid]:
    """RegisterFcmTokenRequest bodies the contract refuses: an empty ``fcm_token``, one longer
    than 4096 characters or with a character outside ``[A-Za-z0-9_:-]``, a ``platform`` outside
    ios/android/web (case counts), a member missing or mistyped, or a body that is not an object."""
    valid = register_fcm_token_requests()
    # The bad character is followed by a good one: a regex `$` (Python's, and so jsonschema's) matches before a
    # trailing newline, so "abc\n" would pass the pattern.
    outside = st.tuples(st.text(alphabet="abc123", min_size=1, max_size=20), st.sampled_from(" /+=.é\n")).map(
        lambda pair: pair[0] + pair[1] + "x"
    )
    return st.one_of(
        *_schema_refusals("RegisterFcmTokenRequest", valid),
        _with(valid, "fcm_token", st.just(""), "empty"),
        _with(
            valid,
            "fcm_token",
            st.integers(FCM_TOKEN_MAX_LENGTH + 1, FCM_TOKEN_MAX_LENGTH + 64).map(lambda n: "t" * n),
            f"longer than {FCM_TOKEN_MAX_LENGTH} characters",
        ),
        _with(valid, "fcm_token", outside, "a character outside [A-Za-z0-9_:-]"),
        _with(valid, "platform", st.sampled_from(["iOS", "Android", "windows", "", "web "]), "not ios, android or web"),
    )


_DELETE = object()  # a _nested value that removes the member


def _nested(body: Json, path: tuple[str, ...], value: Any) -> Json:
    """``body`` with the member at ``path`` set to ``value`` (deleted when ``value`` is ``_DELETE``)."""
    head, *rest = path
    if rest:
        return {**body, head: _nested(body[head], tuple(rest), value)}
    if value is _DELETE:
        return {k: v for k, v in body.items() if k != head}
    return {**body, head: value}


def _nfc_edit(
    valid: SearchStrategy[Json], path: tuple[str, ...], values: SearchStrategy[Any], defect: str
) -> SearchStrategy[Invalid]:
    where = ".".join(path)
    return st.tuples(valid, values).map(lambda pair: Invalid(_nested(pair[0], path, pair[1]), f"{where}: {defect}"))


def invalid_nfc_identity_verification_requests() -> SearchStrategy[Invalid]:
    """NfcIdentityVerificationRequest bodies the contract refuses.

    By the schema: an MRZ that is not two lines of 44 ``[A-Z0-9<]``, DG1 missing, a data group
    beyond DG16, a data group that is not base64, no data-group hashes, an unknown hash algorithm
    or chip-authentication result. By rule NFC-VALIDATION (ICAO 9303, schema-valid): a wrong MRZ
    check digit, an expired document, a data group that does not match its hash, failed chip
    authentication.
    """
    valid = nfc_identity_verification_requests()
    rule = "rule:NFC-VALIDATION"
    return st.one_of(
        *_schema_refusals("NfcIdentityVerificationRequest", valid),
        _nfc_edit(valid, ("mrz",), st.just("P<UTO" + "<" * 39), "not two lines of 44 characters"),
        st.tuples(valid, st.integers(0, 88).filter(lambda i: i != 44)).map(
            lambda pair: Invalid(
                _nested(pair[0], ("mrz",), pair[0]["mrz"][: pair[1]] + "a" + pair[0]["mrz"][pair[1] + 1 :]),
                "mrz: a character outside [A-Z0-9<]",
            )
        ),
        _nfc_edit(valid, ("data_groups", "DG1"), st.just(_DELETE), "missing"),
        _nfc_edit(valid, ("data_groups", "DG17"), st.just("AAAA"), "not a data group of ICAO 9303 (DG1 to DG16)"),
        _nfc_edit(valid, ("data_groups", "DG2"), st.sampled_from(["not base64!", "****"]), "not base64"),
        _nfc_edit(valid, ("security_object", "data_group_hashes"), st.just({}), "empty"),
        _nfc_edit(
            valid,
            ("security_object", "hash_algorithm"),
            st.sampled_from(["MD5", "SHA-1", "sha256"]),
            "not SHA-256, SHA-384 or SHA-512",
        ),
        _nfc_edit(
            valid, ("chip_authentication", "result"), st.sampled_from(["ok", "SUCCEEDED"]), "not succeeded or failed"
        ),
        nfc_submissions_with_bad_check_digit().map(lambda body: Invalid(body, "mrz: a wrong check digit", rule)),
        nfc_submissions(expired=True).map(lambda body: Invalid(body, "mrz: the document has expired", rule)),
        tampered_nfc_submissions().map(
            lambda body: Invalid(body, "data_groups: a data group does not match its hash", rule)
        ),
        nfc_submissions_with_failed_chip_authentication().map(
            lambda body: Invalid(body, "chip_authentication: the chip did not authenticate", rule)
        ),
    )


# ---- The two bodies typed inline -------------------------------------------------------------
_EXTRA_KEYS = st.dictionaries(
    st.from_regex(r"[a-z][a-z_]{0,11}", fullmatch=True).filter(lambda k: k not in ("reason", "format")),
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=20)),
    max_size=2,
)


def account_deletion_preferences() -> SearchStrategy[Json]:
    """requestAccountDeletion bodies: a free-form object, optionally with ``reason`` (at most 500
    characters); other keys are accepted and ignored."""
    reason = st.text(max_size=DELETION_REASON_MAX_LENGTH)
    return st.tuples(_EXTRA_KEYS, st.one_of(st.none(), reason)).map(
        lambda pair: pair[0] if pair[1] is None else {**pair[0], "reason": pair[1]}
    )


def data_export_preferences() -> SearchStrategy[Json]:
    """requestDataExport bodies: a free-form object, optionally with ``format`` (only ``json``);
    other keys are accepted and ignored."""
    return st.tuples(_EXTRA_KEYS, st.booleans()).map(lambda pair: {**pair[0], "format": "json"} if pair[1] else pair[0])


def invalid_account_deletion_preferences() -> SearchStrategy[Invalid]:
    """requestAccountDeletion bodies the contract refuses: not an object (schema), or a ``reason``
    that is not a string or longer than 500 characters (the body's description)."""
    valid = account_deletion_preferences()
    return st.one_of(
        _NOT_OBJECTS.map(lambda body: Invalid(body, "body: not a JSON object")),
        st.tuples(valid, st.integers(DELETION_REASON_MAX_LENGTH + 1, DELETION_REASON_MAX_LENGTH + 50)).map(
            lambda pair: Invalid(
                {**pair[0], "reason": "r" * pair[1]},
                f"reason: longer than {DELETION_REASON_MAX_LENGTH} characters",
                _DELETION_BODY,
            )
        ),
        st.tuples(valid, st.one_of(st.integers(), st.booleans(), st.lists(st.text(max_size=3), max_size=2))).map(
            lambda pair: Invalid({**pair[0], "reason": pair[1]}, "reason: not a string", _DELETION_BODY)
        ),
    )


def invalid_data_export_preferences() -> SearchStrategy[Invalid]:
    """requestDataExport bodies the contract refuses: not an object (schema), or a ``format``
    other than ``json`` (the body's description)."""
    valid = data_export_preferences()
    return st.one_of(
        _NOT_OBJECTS.map(lambda body: Invalid(body, "body: not a JSON object")),
        st.tuples(valid, st.one_of(st.sampled_from(["csv", "JSON", "xml", ""]), st.integers(0, 3))).map(
            lambda pair: Invalid({**pair[0], "format": pair[1]}, "format: not json", _EXPORT_BODY)
        ),
    )


# ---- Lookup by model name -------------------------------------------------------------------
_REQUESTS: Mapping[str, tuple[Callable[[], SearchStrategy[Json]], Callable[[], SearchStrategy[Invalid]]]] = {
    "AddFavouriteProductInput": (add_favourite_product_inputs, invalid_add_favourite_product_inputs),
    "CreateUserEmailRequest": (create_user_email_requests, invalid_create_user_email_requests),
    "CreateUserPhoneNumberRequest": (create_user_phone_number_requests, invalid_create_user_phone_number_requests),
    "VerificationTokenRequest": (verification_token_requests, invalid_verification_token_requests),
    "ConfirmAccountDeletionPayload": (confirm_account_deletion_payloads, invalid_confirm_account_deletion_payloads),
    "ConfirmDataExportPayload": (confirm_data_export_payloads, invalid_confirm_data_export_payloads),
    "DeleteAccountRequest": (delete_account_requests, invalid_delete_account_requests),
    "RegisterFcmTokenRequest": (register_fcm_token_requests, invalid_register_fcm_token_requests),
    "NfcIdentityVerificationRequest": (nfc_identity_verification_requests, invalid_nfc_identity_verification_requests),
    "requestAccountDeletion": (account_deletion_preferences, invalid_account_deletion_preferences),
    "requestDataExport": (data_export_preferences, invalid_data_export_preferences),
}
REQUEST_MODELS: tuple[str, ...] = tuple(sorted(_REQUESTS))


def _lookup(model: str) -> tuple[Callable[[], SearchStrategy[Json]], Callable[[], SearchStrategy[Invalid]]]:
    if not isinstance(model, str) or model not in _REQUESTS:
        raise InvalidArgument(f"No request model {model!r}; known request models: {', '.join(REQUEST_MODELS)}.")
    return _REQUESTS[model]


def request_bodies(model: str) -> SearchStrategy[Json]:
    """Valid bodies for the request model ``model`` (one of :data:`REQUEST_MODELS`: a schema name,
    or the operationId of a body typed inline), e.g. ``request_bodies("CreateUserEmailRequest")``."""
    return _lookup(model)[0]()


def invalid_request_bodies(model: str) -> SearchStrategy[Invalid]:
    """:class:`Invalid` bodies for the request model ``model``, each with the reason it is invalid,
    e.g. ``invalid_request_bodies("CreateUserEmailRequest")``."""
    return _lookup(model)[1]()
