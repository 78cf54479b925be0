"""NFC passport-chip submissions (the contract's NfcIdentityVerificationRequest) and invalid twins.

The data follows ICAO Doc 9303 part 10 (logical data structure: data groups DG1..DG16 and the
document security object, whose hashes cover the data groups) and part 11 (chip and active
authentication), in the simplified JSON form the contract defines: DG1 is the MRZ text itself
(both lines, no newline), every group is base64 (RFC 4648 section 4), every hash is the
lowercase hex digest of the decoded group.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Collection
from datetime import date
from typing import Any, Final, Literal

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from strategies._mrz import (
    _CHECKED,
    CHECK_DIGIT_FIELDS,
    CheckDigitField,
    TD3Mrz,
    _corrupt,
    _digit_value,
    _td3,
    check_today,
    td3_mrzs,
    td3_mrzs_with_bad_check_digit,
)
from strategies._validation import check_choices

__all__ = [
    "HASH_ALGORITHMS",
    "NFC_CHECKS",
    "NfcCheck",
    "nfc_data_group_mismatches",
    "nfc_submissions",
    "nfc_submissions_failing",
    "nfc_submissions_with_bad_check_digit",
    "nfc_submissions_with_failed_chip_authentication",
    "tampered_nfc_submissions",
]

NfcCheck = Literal["mrz_check_digits", "document_expiry", "data_integrity", "chip_authentication"]
# The checks of a submission, named as the contract's NfcVerificationChecks names them, in the order its
# NFC-VALIDATION rule runs them (the first failure is the answer).
NFC_CHECKS: Final[tuple[NfcCheck, ...]] = (
    "mrz_check_digits",
    "document_expiry",
    "data_integrity",
    "chip_authentication",
)

# The contract's hash_algorithm names and the hashlib constructors they mean.
HASH_ALGORITHMS = {"SHA-256": "sha256", "SHA-384": "sha384", "SHA-512": "sha512"}
# Optional groups a real passport chip commonly carries: additional personal details, the chip
# authentication public key, the active authentication public key.
_OPTIONAL_GROUPS = ("DG11", "DG14", "DG15")
_JPEG_START = b"\xff\xd8\xff\xe0"
_MRZ_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _digest(algorithm: str, data: bytes) -> str:
    return hashlib.new(HASH_ALGORITHMS[algorithm], data).hexdigest()


def nfc_data_group_mismatches(submission: dict[str, Any]) -> list[str]:
    """Names of the data groups that break integrity: DG1 differs from the MRZ, a hash differs
    from the decoded group's digest, or a group has no hash. Empty for a consistent submission."""
    groups = submission["data_groups"]
    security = submission["security_object"]
    hashes = security["data_group_hashes"]
    problems = []
    for name, encoded in sorted(groups.items()):
        data = base64.b64decode(encoded, validate=True)
        differs_from_mrz = name == "DG1" and data != submission["mrz"].replace("\n", "").encode("ascii")
        if differs_from_mrz or hashes.get(name) != _digest(security["hash_algorithm"], data):
            problems.append(name)
    return problems


@st.composite
def _submission(draw: st.DrawFn, mrz: TD3Mrz, chip_result: str) -> dict[str, Any]:
    groups = {
        "DG1": mrz.text.encode("ascii"),
        "DG2": _JPEG_START + draw(st.binary(min_size=1, max_size=64)),
    }
    for name in draw(st.lists(st.sampled_from(_OPTIONAL_GROUPS), unique=True)):
        groups[name] = draw(st.binary(min_size=1, max_size=48))
    algorithm = draw(st.sampled_from(sorted(HASH_ALGORITHMS)))
    return {
        "mrz": mrz.mrz,
        "data_groups": {name: _b64(data) for name, data in groups.items()},
        "security_object": {
            "hash_algorithm": algorithm,
            "data_group_hashes": {name: _digest(algorithm, data) for name, data in groups.items()},
        },
        "chip_authentication": {
            "method": draw(st.sampled_from(["chip_authentication", "active_authentication"])),
            "result": chip_result,
            "public_key": _b64(draw(st.binary(min_size=32, max_size=65))),
        },
    }


def nfc_submissions(*, expired: bool = False, today: date | None = None) -> SearchStrategy[dict[str, Any]]:
    """Valid NfcIdentityVerificationRequest bodies for an ICAO 9303 TD3 passport chip.

    ``mrz`` comes from :func:`td3_mrzs` (``expired`` and ``today`` have the same meaning);
    DG1 is the base64 MRZ text, DG2 a base64 JPEG-headed blob, sometimes DG11/DG14/DG15;
    ``security_object`` hashes every group with SHA-256, SHA-384 or SHA-512; chip
    authentication succeeded. With ``expired=True`` the only defect is the expiry date (the
    contract's server answers 422 ``document_expired``).
    """
    return td3_mrzs(expired=expired, today=today).flatmap(lambda mrz: _submission(mrz, "succeeded"))


@st.composite
def _tampered(draw: st.DrawFn, today: date | None) -> dict[str, Any]:
    submission = draw(nfc_submissions(today=today))
    groups = submission["data_groups"]
    name = draw(st.sampled_from(sorted(groups)))
    data = bytearray(base64.b64decode(groups[name]))
    index = draw(st.integers(0, len(data) - 1))
    if name == "DG1":
        # Stay ASCII MRZ text: only the content differs from the MRZ and its hash.
        data[index] = ord(draw(st.sampled_from([c for c in _MRZ_CHARS if ord(c) != data[index]])))
    else:
        data[index] ^= draw(st.integers(1, 255))
    groups[name] = _b64(bytes(data))
    return submission


def tampered_nfc_submissions(*, today: date | None = None) -> SearchStrategy[dict[str, Any]]:
    """NFC submissions where one data group was changed after the security object hashed it.

    Everything else is valid (ICAO 9303 part 11 passive authentication would fail): the
    contract's server answers 422 ``data_group_mismatch``. When the changed group is DG1 it
    also no longer matches the MRZ.
    """
    check_today(today)
    return _tampered(today)


def nfc_submissions_with_bad_check_digit(
    *, fields: Collection[CheckDigitField] | None = None, today: date | None = None
) -> SearchStrategy[dict[str, Any]]:
    """NFC submissions whose MRZ has exactly one wrong check digit (see
    :func:`td3_mrzs_with_bad_check_digit`); DG1 and the hashes match that MRZ, so the check
    digit is the only defect (422 ``mrz_invalid``)."""
    if fields is not None:
        check_choices("fields", fields, CHECK_DIGIT_FIELDS)
    return td3_mrzs_with_bad_check_digit(fields=fields, today=today).flatmap(lambda mrz: _submission(mrz, "succeeded"))


def nfc_submissions_with_failed_chip_authentication(*, today: date | None = None) -> SearchStrategy[dict[str, Any]]:
    """Valid NFC submissions except that chip (or active) authentication failed (ICAO 9303
    part 11); the contract's server answers 422 ``chip_authentication_failed``."""
    check_today(today)
    return td3_mrzs(today=today).flatmap(lambda mrz: _submission(mrz, "failed"))


@st.composite
def _failing(draw: st.DrawFn, checks: tuple[str, ...], today: date | None) -> dict[str, Any]:
    mrz = draw(_td3("document_expiry" in checks, today))
    if "mrz_check_digits" in checks:
        field = draw(st.sampled_from(CHECK_DIGIT_FIELDS))
        right = _digit_value(mrz.line2[_CHECKED[field][0]])
        mrz = _corrupt(mrz, field, draw(st.sampled_from([d for d in range(10) if d != right])))
    submission = draw(_submission(mrz, "failed" if "chip_authentication" in checks else "succeeded"))
    if "data_integrity" in checks:
        # A group changed after the security object hashed it (DG2: the MRZ stays what DG1 holds).
        groups = submission["data_groups"]
        data = bytearray(base64.b64decode(groups["DG2"]))
        data[draw(st.integers(0, len(data) - 1))] ^= draw(st.integers(1, 255))
        groups["DG2"] = _b64(bytes(data))
    return submission


def nfc_submissions_failing(
    *, checks: Collection[NfcCheck], today: date | None = None
) -> SearchStrategy[dict[str, Any]]:
    """NFC submissions that fail exactly the named checks (:data:`NFC_CHECKS`) and pass the others.

    ``mrz_check_digits``: one wrong check digit (any of the five); ``document_expiry``: expired before
    ``today``; ``data_integrity``: DG2 changed after it was hashed; ``chip_authentication``: the chip's
    result is failed. Failing several at once tests the order of ICAO 9303 validation the contract fixes:
    the contract's server answers 422 with the code of the first failed check in :data:`NFC_CHECKS`'s
    order (mrz_invalid, document_expired, data_group_mismatch, chip_authentication_failed).
    """
    chosen = check_choices("checks", checks, NFC_CHECKS)
    check_today(today)
    return _failing(chosen, today)
