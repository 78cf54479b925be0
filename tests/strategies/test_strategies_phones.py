from __future__ import annotations

import re

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from phonenumbers import NumberParseException, PhoneNumberFormat
from strategies_helpers import checked, find_any

from strategies import PhoneNumber, e164_phone_numbers, invalid_phone_numbers, phone_inputs, phone_numbers

E164 = re.compile(r"\+[1-9][0-9]{6,14}")  # UserPhoneNumberResponse.phone_number
REQUEST = re.compile(r"\+?[0-9 ()-]{2,32}")  # CreateUserPhoneNumberRequest.phone_number


@checked
@given(phone_numbers())
def test_phone_numbers_are_valid_e164_for_their_region(number: PhoneNumber) -> None:
    # Given a number record
    # When phonenumbers parses its E.164 form
    parsed = phonenumbers.parse(number.e164)
    # Then it is valid, valid for the record's region, and already normalised
    assert phonenumbers.is_valid_number(parsed)
    assert phonenumbers.is_valid_number_for_region(parsed, number.region)
    assert phonenumbers.format_number(parsed, PhoneNumberFormat.E164) == number.e164
    assert E164.fullmatch(number.e164)


@checked
@given(phone_numbers())
def test_national_forms_parse_back_for_their_region(number: PhoneNumber) -> None:
    # Given a number record, When its national form is parsed for its region
    parsed = phonenumbers.parse(number.national, number.region)
    # Then it is the same number, and the form fits the request pattern
    assert phonenumbers.format_number(parsed, PhoneNumberFormat.E164) == number.e164
    assert REQUEST.fullmatch(number.national)


@checked
@given(phone_inputs(regions=["GB", "FI", "US"]))
def test_phone_inputs_are_requests_the_contract_accepts(body: dict[str, str]) -> None:
    # Given a CreateUserPhoneNumberRequest body
    # Then it has the schema's shape and the server's parse (region = country_code) accepts it
    assert set(body) == {"phone_number", "country_code"}
    assert body["country_code"] in {"GB", "FI", "US"}
    assert REQUEST.fullmatch(body["phone_number"])
    parsed = phonenumbers.parse(body["phone_number"], body["country_code"])
    assert phonenumbers.is_valid_number_for_region(parsed, body["country_code"])


@checked
@given(e164_phone_numbers(regions=["DE"]))
def test_e164_phone_numbers_are_strings_for_the_region(text: str) -> None:
    assert text.startswith("+49")
    assert phonenumbers.is_valid_number(phonenumbers.parse(text))


@checked
@given(invalid_phone_numbers())
def test_invalid_phone_numbers_are_refused_by_phonenumbers(body: dict[str, str]) -> None:
    # Given an invalid twin: it still fits the request schema
    assert REQUEST.fullmatch(body["phone_number"])
    assert re.fullmatch(r"[A-Z]{2}", body["country_code"])
    # When phonenumbers parses it for the region, Then it fails or is not a valid number
    try:
        parsed = phonenumbers.parse(body["phone_number"], body["country_code"])
    except NumberParseException:
        return
    assert not phonenumbers.is_valid_number(parsed)
    assert not phonenumbers.is_valid_number_for_region(parsed, body["country_code"])


@pytest.mark.parametrize(
    "factory, kwargs",
    [
        (phone_numbers, {"regions": []}),
        (phone_numbers, {"regions": "GB"}),
        (phone_numbers, {"regions": ["GB", "XX"]}),
        (phone_numbers, {"regions": ["gb"]}),
        (e164_phone_numbers, {"regions": ["001"]}),
        (phone_inputs, {"national": "yes"}),
        (invalid_phone_numbers, {"regions": [None]}),
    ],
)
def test_phone_factories_reject_bad_arguments(factory, kwargs) -> None:
    with pytest.raises(InvalidArgument):
        factory(**kwargs)


def test_phone_numbers_span_at_least_three_regions() -> None:
    find_any(st.lists(phone_numbers(), min_size=3), lambda numbers: len({n.region for n in numbers}) >= 3)


def test_phone_numbers_reach_mobile_and_fixed_line_numbers() -> None:
    kinds = {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE}
    find_any(
        st.lists(phone_numbers(regions=["GB"]), min_size=2),
        lambda numbers: {phonenumbers.number_type(phonenumbers.parse(n.e164)) for n in numbers} >= kinds,
    )


def test_phone_inputs_can_use_the_national_form() -> None:
    find_any(phone_inputs(national=True), lambda body: not body["phone_number"].startswith("+"))


def test_invalid_phone_numbers_include_more_than_fifteen_digits() -> None:
    # E.164 allows at most 15 digits (the "16-digit phone" twin).
    find_any(invalid_phone_numbers(), lambda body: sum(c.isdigit() for c in body["phone_number"]) > 15)


def test_invalid_phone_numbers_include_unknown_country_codes() -> None:
    def unknown_code(body: dict[str, str]) -> bool:
        try:
            phonenumbers.parse(body["phone_number"], body["country_code"])
        except NumberParseException as exc:
            return exc.error_type == NumberParseException.INVALID_COUNTRY_CODE
        return False

    find_any(invalid_phone_numbers(), unknown_code)
