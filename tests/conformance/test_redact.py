"""Redaction: secrets never survive into text, JSON or curl lines."""

from __future__ import annotations

from conformance.redact import MASK, Redactor


def test_known_secret_values_are_masked_everywhere() -> None:
    # Given a redactor that knows a token and an OTP
    redactor = Redactor()
    redactor.add("tok_123456789", "482913")
    # When / Then
    assert "tok_123456789" not in redactor.text("token tok_123456789 in a message")
    assert redactor.text("code 482913") == f"code {MASK}"


def test_secret_json_fields_are_masked_by_name() -> None:
    redactor = Redactor()
    body = b'{"password": "hunter2", "otp": "123456", "email": "a@example.com", "code": "not_found"}'
    text = redactor.body(body)
    assert "hunter2" not in text and "123456" not in text
    assert "a@example.com" in text and "not_found" in text


def test_curl_masks_the_authorization_header_and_body_secrets() -> None:
    redactor = Redactor()
    curl = redactor.curl(
        "POST",
        "http://127.0.0.1:1/v1/account/delete",
        {"Authorization": "Bearer abc.def.ghi", "Content-Type": "application/json"},
        b'{"password": "pw-secret"}',
    )
    assert "abc.def.ghi" not in curl and "pw-secret" not in curl
    assert "Authorization: Bearer [REDACTED]" in curl
    assert curl.startswith("curl -X POST http://127.0.0.1:1/v1/account/delete")


def test_free_text_authorization_headers_are_masked() -> None:
    assert "sekret" not in Redactor().text("Authorization: Bearer sekret")


def test_short_values_are_not_treated_as_secrets() -> None:
    # A two-character "secret" would blank ordinary words; such values are refused
    redactor = Redactor()
    redactor.add("to")
    assert redactor.text("to the server") == "to the server"
