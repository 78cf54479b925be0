from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis.errors import InvalidArgument
from strategies_helpers import checked, find_any

from strategies import (
    CHECK_DIGIT_FIELDS,
    TD3Mrz,
    mrz_check_digit,
    td3_check_digit_failures,
    td3_mrzs,
    td3_mrzs_with_bad_check_digit,
)
from strategies._icao import ICAO_CODES

TODAY = date(2025, 6, 1)
# The ICAO 9303 part 4 specimen passport.
SPECIMEN = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10"

_VALUES = {**{str(d): d for d in range(10)}, **{chr(65 + i): 10 + i for i in range(26)}, "<": 0}


def reference_check_digit(text: str) -> int:
    # Written out independently of the package: ICAO 9303 part 3 section 4.9.
    return sum(_VALUES[c] * (7, 3, 1)[i % 3] for i, c in enumerate(text)) % 10


def wrong_digits(line2: str) -> set[str]:
    """The check digits of line 2 that do not recompute (an empty personal number may use '<')."""
    digit = {"<": 0, **{str(d): d for d in range(10)}}
    fields = {
        "document_number": (line2[0:9], line2[9]),
        "birth_date": (line2[13:19], line2[19]),
        "expiry_date": (line2[21:27], line2[27]),
        "personal_number": (line2[28:42], line2[42]),
        "composite": (line2[0:10] + line2[13:20] + line2[21:43], line2[43]),
    }
    return {name for name, (text, check) in fields.items() if digit.get(check) != reference_check_digit(text)}


@pytest.mark.parametrize(
    "text, expected",
    [("L898902C3", 6), ("740812", 2), ("120415", 9), ("ZE184226B<<<<<", 1), ("<<<<<<<<<<<<<<", 0), ("", 0)],
)
def test_mrz_check_digit_matches_the_icao_specimen(text: str, expected: int) -> None:
    assert mrz_check_digit(text) == expected


def test_mrz_check_digit_refuses_characters_outside_the_mrz_alphabet() -> None:
    with pytest.raises(ValueError):
        mrz_check_digit("l898902c3")


def test_the_specimen_has_no_check_digit_failures() -> None:
    assert td3_check_digit_failures(SPECIMEN) == ()


@checked
@given(td3_mrzs(today=TODAY))
def test_td3_mrzs_have_correct_check_digits(mrz: TD3Mrz) -> None:
    # Given a TD3 MRZ
    # Then both lines are 44 MRZ characters and every check digit recomputes
    assert re.fullmatch(r"[A-Z0-9<]{44}\n[A-Z0-9<]{44}", mrz.mrz)
    assert wrong_digits(mrz.line2) == set()
    assert mrz.bad_check_digit is None
    assert td3_check_digit_failures(mrz.mrz) == ()


@checked
@given(td3_mrzs(today=TODAY))
def test_td3_fields_agree_with_the_lines(mrz: TD3Mrz) -> None:
    # Given a TD3 MRZ, Then the decoded fields are where ICAO 9303 part 4 puts them
    assert mrz.line1.startswith(mrz.document_code) and mrz.document_code[0] == "P"
    assert mrz.line1[2:5] == mrz.issuing_state and mrz.issuing_state in ICAO_CODES
    name_field = mrz.line1[5:]
    assert name_field.startswith(mrz.surname)
    assert mrz.given_names == "" or mrz.given_names in name_field
    assert mrz.line2[0:9] == mrz.document_number
    assert mrz.line2[10:13] == mrz.nationality
    assert mrz.line2[13:19] == mrz.birth_date.strftime("%y%m%d")
    assert mrz.line2[20] == mrz.sex in {"M", "F", "<"}
    assert mrz.line2[21:27] == mrz.expiry_date.strftime("%y%m%d")
    assert mrz.line2[28:42] == mrz.personal_number
    assert mrz.text == mrz.line1 + mrz.line2
    # And the document is valid on TODAY (and 60 days later), issued to someone already born
    assert mrz.expiry_date > TODAY
    assert mrz.birth_date < TODAY and mrz.birth_date < mrz.expiry_date


@checked
@given(td3_mrzs(expired=True, today=TODAY))
def test_expired_td3_mrzs_expire_before_today_with_correct_digits(mrz: TD3Mrz) -> None:
    assert mrz.expiry_date < TODAY
    assert mrz.expiry_date.year >= 2000  # expiry years read as 20YY
    assert wrong_digits(mrz.line2) == set()


@checked
@given(td3_mrzs_with_bad_check_digit(today=TODAY))
def test_bad_check_digit_twins_have_exactly_the_named_digit_wrong(mrz: TD3Mrz) -> None:
    # Given an invalid twin, When the check digits are recomputed
    # Then exactly one is wrong, and it is the one bad_check_digit names
    assert wrong_digits(mrz.line2) == {mrz.bad_check_digit}
    assert td3_check_digit_failures(mrz.mrz) == (mrz.bad_check_digit,)
    assert mrz.expiry_date > TODAY


@checked
@given(td3_mrzs_with_bad_check_digit(fields=["birth_date", "composite"], today=TODAY))
def test_bad_check_digit_twins_respect_fields(mrz: TD3Mrz) -> None:
    assert mrz.bad_check_digit in {"birth_date", "composite"}


@pytest.mark.parametrize(
    "factory, kwargs",
    [
        (td3_mrzs, {"expired": "yes"}),
        (td3_mrzs, {"today": datetime(2025, 1, 1, tzinfo=UTC)}),
        (td3_mrzs, {"today": "2025-01-01"}),
        (td3_mrzs, {"today": date(1999, 1, 1)}),
        (td3_mrzs, {"today": date(2095, 1, 1)}),
        (td3_mrzs_with_bad_check_digit, {"fields": []}),
        (td3_mrzs_with_bad_check_digit, {"fields": ["name"]}),
        (td3_mrzs_with_bad_check_digit, {"fields": "composite"}),
        (td3_mrzs_with_bad_check_digit, {"today": 20250101}),
    ],
)
def test_mrz_factories_reject_bad_arguments(factory, kwargs) -> None:
    with pytest.raises(InvalidArgument):
        factory(**kwargs)


def test_td3_mrzs_can_have_a_filler_padded_name_with_given_names() -> None:
    find_any(td3_mrzs(today=TODAY), lambda m: m.given_names and m.line1.endswith("<<<"))


def test_td3_mrzs_can_have_a_name_that_fills_the_whole_field() -> None:
    find_any(td3_mrzs(today=TODAY), lambda m: not m.line1.endswith("<"))


def test_td3_mrzs_can_have_an_unused_personal_number_with_a_filler_check_digit() -> None:
    find_any(td3_mrzs(today=TODAY), lambda m: m.line2[28:43] == "<" * 15)


def test_td3_mrzs_can_have_a_nationality_other_than_the_issuing_state() -> None:
    find_any(td3_mrzs(today=TODAY), lambda m: m.nationality != m.issuing_state)


@pytest.mark.parametrize("field", CHECK_DIGIT_FIELDS)
def test_every_check_digit_can_be_the_wrong_one(field: str) -> None:
    find_any(td3_mrzs_with_bad_check_digit(today=TODAY), lambda m: m.bad_check_digit == field)


def test_the_vendored_icao_codes_are_well_formed() -> None:
    assert all(re.fullmatch(r"[A-Z<]{3}", code) for code in ICAO_CODES)
    assert {"D<<", "UTO", "GBR", "XXA"} <= set(ICAO_CODES)
    assert "DEU" not in ICAO_CODES
