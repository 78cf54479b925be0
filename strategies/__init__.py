"""Hypothesis strategies for the Kesk UserApi contract (spec/openapi.yaml).

Domain values, each citing its standard, with "invalid twins" for negative tests:

- :func:`emails` / :func:`invalid_emails` - RFC 5321/5322 addresses email-validator accepts / refuses
- :func:`phone_numbers` (:class:`PhoneNumber` records), :func:`e164_phone_numbers`,
  :func:`phone_inputs` / :func:`invalid_phone_numbers` - ITU-T E.164 numbers phonenumbers accepts / refuses
- :func:`otp_codes`, :func:`verification_tokens`, :func:`fcm_tokens`, :func:`product_ids`, :func:`platforms`
- :func:`td3_mrzs` (:class:`TD3Mrz`), :func:`td3_mrzs_with_bad_check_digit`, :func:`mrz_check_digit` - ICAO 9303
- :func:`nfc_submissions` and its twins :func:`tampered_nfc_submissions`,
  :func:`nfc_submissions_with_bad_check_digit`, :func:`nfc_submissions_with_failed_chip_authentication`
  (and ``nfc_submissions(expired=True)``), and :func:`nfc_submissions_failing` (any set of
  :data:`NFC_CHECKS` failed at once) - ICAO 9303 parts 10 and 11

Models: one factory per schema of the contract, and :func:`from_model` to look one up by name::

    from strategies import from_model

    @given(from_model("UserEmailResponse"))
    def test_client_parses_emails(body): ...

For SDK property tests, every request model and every response model of the contract:

- :func:`request_bodies` / :func:`invalid_request_bodies` (names in :data:`REQUEST_MODELS`): valid
  bodies, and :class:`Invalid` records ``(body, reason, rule)`` that say why each is refused;
  one named invalid twin per model too (:func:`invalid_create_user_email_requests`, ...)
- :func:`server_responses` (names in :data:`RESPONSE_MODELS`): answers as conformant servers may
  send them (unknown members at any depth, RFC 3339 offsets and fractions, large sparse ids,
  version-7 UUIDs, free-order lists; :data:`VARIATIONS`), :func:`server_response_texts` the same
  as JSON text in any RFC 8259 style, :func:`export_downloads` the downloaded export::

    from strategies import invalid_request_bodies, server_responses

    @given(server_responses("UserEmailResponse"))
    def test_client_reads_what_servers_send(body): ...

    @given(invalid_request_bodies("CreateUserEmailRequest"))
    def test_client_refuses_bad_bodies(invalid): ...  # invalid.body, invalid.reason

The package depends only on hypothesis, phonenumbers, email-validator and the standard library.
"""

from __future__ import annotations

from strategies._emails import email_is_valid, emails, invalid_emails
from strategies._models import (
    MODEL_NAMES,
    account_deletion_responses,
    add_favourite_product_inputs,
    confirm_account_deletion_payloads,
    confirm_data_export_payloads,
    create_user_email_requests,
    create_user_phone_number_requests,
    data_export_responses,
    delete_account_requests,
    delete_account_results,
    error_responses,
    export_documents,
    favourites,
    from_model,
    gdpr_status_responses,
    generic_successes,
    message_responses,
    my_profile_responses,
    nfc_identity_verification_requests,
    nfc_identity_verification_responses,
    paginated_favourites,
    paginated_user_emails,
    paginated_user_phone_numbers,
    profile_validation_responses,
    register_fcm_token_requests,
    user_email_responses,
    user_phone_number_responses,
    verification_sessions,
    verification_status_responses,
    verification_token_requests,
)
from strategies._mrz import (
    CHECK_DIGIT_FIELDS,
    CheckDigitField,
    TD3Mrz,
    mrz_check_digit,
    td3_check_digit_failures,
    td3_mrzs,
    td3_mrzs_with_bad_check_digit,
)
from strategies._nfc import (
    HASH_ALGORITHMS,
    NFC_CHECKS,
    NfcCheck,
    nfc_data_group_mismatches,
    nfc_submissions,
    nfc_submissions_failing,
    nfc_submissions_with_bad_check_digit,
    nfc_submissions_with_failed_chip_authentication,
    tampered_nfc_submissions,
)
from strategies._phones import (
    PhoneNumber,
    e164_phone_numbers,
    invalid_phone_numbers,
    phone_inputs,
    phone_number_is_valid,
    phone_numbers,
)
from strategies._requests import (
    REQUEST_MODELS,
    Invalid,
    account_deletion_preferences,
    data_export_preferences,
    invalid_account_deletion_preferences,
    invalid_add_favourite_product_inputs,
    invalid_confirm_account_deletion_payloads,
    invalid_confirm_data_export_payloads,
    invalid_create_user_email_requests,
    invalid_create_user_phone_number_requests,
    invalid_data_export_preferences,
    invalid_delete_account_requests,
    invalid_nfc_identity_verification_requests,
    invalid_register_fcm_token_requests,
    invalid_request_bodies,
    invalid_verification_token_requests,
    request_bodies,
)
from strategies._responses import (
    DATE_TIME_MEMBERS,
    RESPONSE_MODELS,
    UNKNOWN_MEMBER_PATTERN,
    UNORDERED_LISTS,
    UUID_MEMBERS,
    VARIATIONS,
    export_downloads,
    server_response_texts,
    server_responses,
)
from strategies._tokens import fcm_tokens, otp_codes, platforms, product_ids, verification_tokens

__all__ = [
    "CHECK_DIGIT_FIELDS",
    "DATE_TIME_MEMBERS",
    "HASH_ALGORITHMS",
    "MODEL_NAMES",
    "NFC_CHECKS",
    "REQUEST_MODELS",
    "RESPONSE_MODELS",
    "UNKNOWN_MEMBER_PATTERN",
    "UNORDERED_LISTS",
    "UUID_MEMBERS",
    "VARIATIONS",
    "CheckDigitField",
    "Invalid",
    "NfcCheck",
    "PhoneNumber",
    "TD3Mrz",
    "account_deletion_preferences",
    "account_deletion_responses",
    "add_favourite_product_inputs",
    "confirm_account_deletion_payloads",
    "confirm_data_export_payloads",
    "create_user_email_requests",
    "create_user_phone_number_requests",
    "data_export_preferences",
    "data_export_responses",
    "delete_account_requests",
    "delete_account_results",
    "e164_phone_numbers",
    "email_is_valid",
    "emails",
    "error_responses",
    "export_documents",
    "export_downloads",
    "favourites",
    "fcm_tokens",
    "from_model",
    "gdpr_status_responses",
    "generic_successes",
    "invalid_account_deletion_preferences",
    "invalid_add_favourite_product_inputs",
    "invalid_confirm_account_deletion_payloads",
    "invalid_confirm_data_export_payloads",
    "invalid_create_user_email_requests",
    "invalid_create_user_phone_number_requests",
    "invalid_data_export_preferences",
    "invalid_delete_account_requests",
    "invalid_emails",
    "invalid_nfc_identity_verification_requests",
    "invalid_phone_numbers",
    "invalid_register_fcm_token_requests",
    "invalid_request_bodies",
    "invalid_verification_token_requests",
    "message_responses",
    "mrz_check_digit",
    "my_profile_responses",
    "nfc_data_group_mismatches",
    "nfc_identity_verification_requests",
    "nfc_identity_verification_responses",
    "nfc_submissions",
    "nfc_submissions_failing",
    "nfc_submissions_with_bad_check_digit",
    "nfc_submissions_with_failed_chip_authentication",
    "otp_codes",
    "paginated_favourites",
    "paginated_user_emails",
    "paginated_user_phone_numbers",
    "phone_inputs",
    "phone_number_is_valid",
    "phone_numbers",
    "platforms",
    "product_ids",
    "profile_validation_responses",
    "register_fcm_token_requests",
    "request_bodies",
    "server_response_texts",
    "server_responses",
    "tampered_nfc_submissions",
    "td3_check_digit_failures",
    "td3_mrzs",
    "td3_mrzs_with_bad_check_digit",
    "user_email_responses",
    "user_phone_number_responses",
    "verification_sessions",
    "verification_status_responses",
    "verification_token_requests",
    "verification_tokens",
]
