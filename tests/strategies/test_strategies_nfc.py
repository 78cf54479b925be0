from __future__ import annotations

import base64
import hashlib
import re
from datetime import date
from typing import Any

import pytest
from hypothesis import given
from hypothesis.errors import InvalidArgument
from strategies_helpers import checked, find_any
from test_strategies_mrz import wrong_digits

from strategies import (
    NFC_CHECKS,
    nfc_data_group_mismatches,
    nfc_submissions,
    nfc_submissions_failing,
    nfc_submissions_with_bad_check_digit,
    nfc_submissions_with_failed_chip_authentication,
    tampered_nfc_submissions,
)

TODAY = date(2025, 6, 1)
HASHLIB = {"SHA-256": hashlib.sha256, "SHA-384": hashlib.sha384, "SHA-512": hashlib.sha512}


def mismatched_groups(body: dict[str, Any]) -> set[str]:
    """Recomputed independently of the package: groups whose hash (or, for DG1, MRZ) differs."""
    algorithm = HASHLIB[body["security_object"]["hash_algorithm"]]
    hashes = body["security_object"]["data_group_hashes"]
    bad = set()
    for name, encoded in body["data_groups"].items():
        data = base64.b64decode(encoded, validate=True)
        if hashes.get(name) != algorithm(data).hexdigest():
            bad.add(name)
        if name == "DG1" and data != body["mrz"].replace("\n", "").encode("ascii"):
            bad.add(name)
    return bad


def expiry(body: dict[str, Any]) -> date:
    yymmdd = body["mrz"].split("\n")[1][21:27]
    return date(2000 + int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:]))


@checked
@given(nfc_submissions(today=TODAY))
def test_nfc_submissions_pass_every_check_of_the_contract(body: dict[str, Any]) -> None:
    # Given a submission
    line1, line2 = body["mrz"].split("\n")
    # Then the MRZ is two 44-character lines with correct check digits
    assert re.fullmatch(r"[A-Z0-9<]{44}", line1) and re.fullmatch(r"[A-Z0-9<]{44}", line2)
    assert wrong_digits(line2) == set()
    # And the document has not expired
    assert expiry(body) >= TODAY
    # And DG1 is the MRZ text, DG2 is present, and every group's hash matches (lowercase hex)
    assert base64.b64decode(body["data_groups"]["DG1"]) == (line1 + line2).encode("ascii")
    assert "DG2" in body["data_groups"]
    assert mismatched_groups(body) == set()
    assert set(body["security_object"]["data_group_hashes"]) == set(body["data_groups"])
    assert all(re.fullmatch(r"[0-9a-f]+", h) for h in body["security_object"]["data_group_hashes"].values())
    assert nfc_data_group_mismatches(body) == []
    # And the chip authenticated
    assert body["chip_authentication"]["result"] == "succeeded"
    assert base64.b64decode(body["chip_authentication"]["public_key"], validate=True)


@checked
@given(tampered_nfc_submissions(today=TODAY))
def test_tampered_submissions_break_only_data_integrity(body: dict[str, Any]) -> None:
    # Given a tampered twin, Then exactly one group no longer matches (by hash or, for DG1, the MRZ)
    assert len(mismatched_groups(body)) == 1
    assert nfc_data_group_mismatches(body) == sorted(mismatched_groups(body))
    # And nothing checked before data integrity fails
    assert wrong_digits(body["mrz"].split("\n")[1]) == set()
    assert expiry(body) >= TODAY
    assert body["chip_authentication"]["result"] == "succeeded"


@checked
@given(nfc_submissions(expired=True, today=TODAY))
def test_expired_submissions_break_only_the_expiry(body: dict[str, Any]) -> None:
    assert expiry(body) < TODAY
    assert wrong_digits(body["mrz"].split("\n")[1]) == set()
    assert mismatched_groups(body) == set()


@checked
@given(nfc_submissions_with_bad_check_digit(today=TODAY))
def test_bad_check_digit_submissions_break_one_check_digit_only(body: dict[str, Any]) -> None:
    assert len(wrong_digits(body["mrz"].split("\n")[1])) == 1
    assert mismatched_groups(body) == set()  # DG1 and its hash follow the broken MRZ
    assert expiry(body) >= TODAY


@checked
@given(nfc_submissions_with_failed_chip_authentication(today=TODAY))
def test_failed_chip_submissions_break_only_chip_authentication(body: dict[str, Any]) -> None:
    assert body["chip_authentication"]["result"] == "failed"
    assert wrong_digits(body["mrz"].split("\n")[1]) == set()
    assert mismatched_groups(body) == set()
    assert expiry(body) >= TODAY


@pytest.mark.parametrize(
    "factory, kwargs",
    [
        (nfc_submissions, {"expired": 1}),
        (nfc_submissions, {"today": "today"}),
        (tampered_nfc_submissions, {"today": date(1970, 1, 1)}),
        (nfc_submissions_with_bad_check_digit, {"fields": ["dg1"]}),
        (nfc_submissions_with_failed_chip_authentication, {"today": 0}),
    ],
)
def test_nfc_factories_reject_bad_arguments(factory, kwargs) -> None:
    with pytest.raises(InvalidArgument):
        factory(**kwargs)


def test_nfc_submissions_can_carry_optional_groups_with_sha512() -> None:
    find_any(
        nfc_submissions(today=TODAY),
        lambda body: (
            {"DG14", "DG15"} <= set(body["data_groups"]) and body["security_object"]["hash_algorithm"] == "SHA-512"
        ),
    )


def test_tampering_can_hit_dg1() -> None:
    find_any(tampered_nfc_submissions(today=TODAY), lambda body: mismatched_groups(body) == {"DG1"})


# ---- several checks failed at once (the order NFC-VALIDATION fixes) -----------------------------
FAILABLE = ("mrz_check_digits", "document_expiry", "data_integrity", "chip_authentication")


def failed_checks(body: dict[str, Any]) -> set[str]:
    """Which of the contract's checks a submission fails, recomputed independently of the package."""
    failed = set()
    if wrong_digits(body["mrz"].split("\n")[1]):
        failed.add("mrz_check_digits")
    if expiry(body) < TODAY:
        failed.add("document_expiry")
    if mismatched_groups(body):
        failed.add("data_integrity")
    if body["chip_authentication"]["result"] != "succeeded":
        failed.add("chip_authentication")
    return failed


@pytest.mark.parametrize(
    "checks",
    [FAILABLE, FAILABLE[1:], FAILABLE[2:], FAILABLE[3:], ("mrz_check_digits", "chip_authentication")],
    ids=lambda checks: "+".join(checks),
)
def test_submissions_failing_given_checks_fail_exactly_those(checks: tuple[str, ...]) -> None:
    @checked
    @given(nfc_submissions_failing(checks=checks, today=TODAY))
    def each(body: dict[str, Any]) -> None:
        # Then the submission fails exactly the named checks, and DG1 still holds the MRZ it carries
        assert failed_checks(body) == set(checks)
        assert base64.b64decode(body["data_groups"]["DG1"]) == body["mrz"].replace("\n", "").encode("ascii")

    each()


def test_the_failing_checks_come_in_the_contracts_order() -> None:
    assert NFC_CHECKS == FAILABLE


@pytest.mark.parametrize("checks", [(), "data_integrity", ["chip"], [1]], ids=repr)
def test_submissions_failing_refuse_bad_checks(checks: Any) -> None:
    with pytest.raises(InvalidArgument):
        nfc_submissions_failing(checks=checks).example()


def test_submissions_failing_can_fail_every_check_digit_field() -> None:
    find_any(
        nfc_submissions_failing(checks=["mrz_check_digits", "document_expiry"], today=TODAY),
        lambda body: "composite" in {*map(str, _failing_digit_fields(body))},
    )


def _failing_digit_fields(body: dict[str, Any]) -> tuple[str, ...]:
    from strategies import td3_check_digit_failures

    return td3_check_digit_failures(body["mrz"])
