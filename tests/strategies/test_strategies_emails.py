from __future__ import annotations

import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from strategies_helpers import checked, find_any

from strategies import emails, invalid_emails


@checked
@given(emails())
def test_emails_are_accepted_by_email_validator(address: str) -> None:
    # Given an address from emails()
    # When email-validator checks its syntax
    validate_email(address, check_deliverability=False)
    # Then it is accepted and fits RFC 5321's limits (and the contract's maxLength 254)
    local, _, _domain = address.rpartition("@")
    assert len(address.encode()) <= 254
    assert len(local.encode()) <= 64
    assert address.isascii()


@checked
@given(emails(max_length=20, smtputf8=True))
def test_emails_respect_max_length_in_octets(address: str) -> None:
    # Given a tight budget and non-ASCII local parts
    # Then the UTF-8 length stays within the budget and the address is still accepted
    assert len(address.encode()) <= 20
    validate_email(address, check_deliverability=False)


@checked
@given(emails(domains=st.sampled_from(["kesk.app", "mail.example.org"])))
def test_emails_use_the_given_domains(address: str) -> None:
    # Given a domains strategy, every address is at one of them
    assert address.rpartition("@")[2] in {"kesk.app", "mail.example.org"}


@checked
@given(invalid_emails())
def test_invalid_emails_are_refused_by_email_validator(candidate: str) -> None:
    # Given a string from invalid_emails(), When email-validator checks it, Then it is refused
    with pytest.raises(EmailNotValidError):
        validate_email(candidate, check_deliverability=False)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"domains": "kesk.app"},
        {"max_length": 5},
        {"max_length": 255},
        {"max_length": "254"},
        {"max_length": True},
        {"smtputf8": "yes"},
    ],
)
def test_emails_rejects_bad_arguments(kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidArgument):
        emails(**kwargs)  # type: ignore[arg-type]


def test_emails_can_have_a_subaddress() -> None:
    # RFC 5233 user+detail: a corner clients and servers often mangle.
    find_any(emails(), lambda address: "+" in address.rpartition("@")[0])


def test_emails_can_be_non_ascii_with_smtputf8() -> None:
    find_any(emails(smtputf8=True), lambda address: not address.isascii())


def test_emails_can_reach_the_length_limit() -> None:
    find_any(emails(), lambda address: len(address) > 60)


def test_invalid_emails_include_overlong_addresses() -> None:
    find_any(invalid_emails(), lambda candidate: len(candidate) > 254)
