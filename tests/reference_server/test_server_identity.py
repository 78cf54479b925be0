"""Identity verification: session, combined status, NFC passport checks (ICAO 9303 TD3)."""

from __future__ import annotations

import pytest
from rs_helpers import User, nfc_payload, tampered, td3_mrz, with_bad_check_digit

from reference_server.mrz import MrzError, check_digit, parse_td3


def test_check_digit_matches_the_icao_specimen() -> None:
    # ICAO 9303 part 4 appendix: L898902C3 -> 6, 740812 -> 2, 120415 -> 9
    assert (check_digit("L898902C<"), check_digit("740812"), check_digit("120415")) == ("3", "2", "9")


def test_parse_td3_refuses_each_bad_check_digit() -> None:
    line1, line2 = td3_mrz().split("\n")
    for position in (9, 19, 27, 42, 43):
        digit = str((int(line2[position]) + 1) % 10) if line2[position].isdigit() else "1"
        broken = f"{line1}\n{line2[:position]}{digit}{line2[position + 1 :]}"
        with pytest.raises(MrzError):
            parse_td3(broken)


def test_session_then_status_is_pending(alice: User) -> None:
    session = alice.get("user/idv/verification-session").json()
    status = alice.get("user/idv/verification-status").json()
    assert session["session_id"].startswith("vs_") and session["status"] == "requires_input"
    assert session["client_secret"] and session["ephemeral_key_secret"]
    assert status["overall_status"] == "pending" and status["stripe"]["session_id"] == session["session_id"]
    assert status["nfc"]["status"] == "not_started"


def test_valid_passport_verifies_the_user(alice: User) -> None:
    response = alice.post("user/idv/nfc/submit", json=nfc_payload(td3_mrz(), algorithm="SHA-384"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "verified" and body["issuing_country"] == "UTO"
    assert body["expiry_date"] == "2035-12-31" and set(body["checks"].values()) == {"passed"}
    status = alice.get("user/idv/verification-status").json()
    assert status["overall_status"] == "verified" and status["nfc"]["verified_at"]
    assert alice.get("users/me").json()["identity_verified"] is True


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (nfc_payload(with_bad_check_digit(td3_mrz())), "mrz_invalid"),
        (nfc_payload(td3_mrz(expiry_date="200101")), "document_expired"),
        (tampered(nfc_payload(td3_mrz())), "data_group_mismatch"),
        (nfc_payload(td3_mrz(), chip_result="failed"), "chip_authentication_failed"),
    ],
    ids=["bad-check-digit", "expired", "tampered-dg2", "chip-failed"],
)
def test_nfc_refusals(alice: User, payload: dict[str, object], code: str) -> None:
    response = alice.post("user/idv/nfc/submit", json=payload)
    assert response.status_code == 422 and response.json()["code"] == code
    nfc = alice.get("user/idv/verification-status").json()["nfc"]
    assert nfc["status"] == "failed" and nfc["failure_reason"] == code


def test_dg1_must_equal_the_mrz(alice: User) -> None:
    payload = nfc_payload(td3_mrz())
    other = nfc_payload(td3_mrz(document_number="X12345678"))
    payload["data_groups"]["DG1"] = other["data_groups"]["DG1"]
    payload["security_object"]["data_group_hashes"]["DG1"] = other["security_object"]["data_group_hashes"]["DG1"]
    response = alice.post("user/idv/nfc/submit", json=payload)
    assert response.status_code == 422 and response.json()["code"] == "data_group_mismatch"


@pytest.mark.parametrize(
    "change",
    [
        lambda p: p.pop("mrz"),
        lambda p: p.__setitem__("mrz", "P<UTO\nshort"),
        lambda p: p["data_groups"].pop("DG2"),
        lambda p: p["data_groups"].__setitem__("DG99", "AAAA"),
        lambda p: p["data_groups"].__setitem__("DG3", "not base64!"),
        lambda p: p["security_object"].__setitem__("hash_algorithm", "MD5"),
        lambda p: p["chip_authentication"].__setitem__("result", "maybe"),
        lambda p: p["security_object"].__setitem__("data_group_hashes", {}),
    ],
    ids=["no-mrz", "short-mrz", "no-dg2", "dg99", "bad-base64", "md5", "bad-result", "no-hashes"],
)
def test_nfc_schema_violations_are_422_validation_failed(alice: User, change: object) -> None:
    payload = nfc_payload(td3_mrz())
    change(payload)  # type: ignore[operator]
    response = alice.post("user/idv/nfc/submit", json=payload)
    assert response.status_code == 422 and response.json()["code"] == "validation_failed"
