"""Probes of the faults at transition-table pairs (reference_server/transition_faults.py), each True when the
server behaves as the contract says: test_server_faults.py runs them on the clean server and on each fault."""

from __future__ import annotations

import base64
from collections.abc import Callable

import httpx
from rs_helpers import new_user, nfc_payload, outbox_code, td3_mrz, unique_phone, with_bad_check_digit, wrong_code

Probe = Callable[[httpx.Client], bool]
TRANSITION_PROBES: dict[str, Probe] = {}


def probe(name: str) -> Callable[[Probe], Probe]:
    def register(function: Probe) -> Probe:
        TRANSITION_PROBES[name] = function
        return function

    return register


@probe("nfc_chip_failure_accepted")
def _(http: httpx.Client) -> bool:
    answer = new_user(http).post("user/idv/nfc/submit", json=nfc_payload(td3_mrz(), chip_result="failed"))
    return answer.status_code == 422 and answer.json()["code"] == "chip_authentication_failed"


@probe("nfc_checks_out_of_order")
def _(http: httpx.Client) -> bool:
    payload = nfc_payload(with_bad_check_digit(td3_mrz(expiry_date="150301")), chip_result="failed")
    payload["data_groups"]["DG2"] = base64.b64encode(b"another face").decode()
    answer = new_user(http).post("user/idv/nfc/submit", json=payload)
    return answer.json()["code"] == "mrz_invalid"


@probe("removed_email_verifiable")
def _(http: httpx.Client) -> bool:
    user = new_user(http)
    email = user.add_email("removed-verify@example.com")
    user.delete(f"user/emails/{email['id']}")
    return user.post(f"user/emails/{email['id']}/verify", json={"token": "000000"}).status_code == 404


@probe("removed_phone_made_default")
def _(http: httpx.Client) -> bool:
    user = new_user(http)
    user.add_phone(unique_phone())
    second = user.add_phone(unique_phone())
    user.delete(f"user/phones/{second['id']}")
    return user.put(f"user/phones/{second['id']}/make-default").status_code == 404


@probe("only_phone_not_removable")
def _(http: httpx.Client) -> bool:
    user = new_user(http)
    only = user.add_phone(unique_phone())
    return user.delete(f"user/phones/{only['id']}").status_code == 200


@probe("verify_token_burns_early")
def _(http: httpx.Client) -> bool:
    user = new_user(http)
    email = user.add_email("burns-early@example.com")
    token = outbox_code(http, "burns-early@example.com", "email_verification")
    answers = [user.post(f"user/emails/{email['id']}/verify", json={"token": wrong_code(token)}) for _ in range(5)]
    return [answer.status_code for answer in answers] == [400] * 5


@probe("verified_email_verifies_again")
def _(http: httpx.Client) -> bool:
    user = new_user(http)
    email = user.add_verified_email("verified-again@example.com")
    answer = user.post(f"user/emails/{email['id']}/verify", json={"token": "000000"})
    return answer.status_code == 409 and answer.json()["code"] == "already_verified"


@probe("otp_locks_one_attempt_early")
def _(http: httpx.Client) -> bool:
    user = new_user(http)
    otp = user.request_otp("deletion")
    for _ in range(4):
        user.post("user/confirm-account-deletion", json={"otp": wrong_code(otp)})
    return user.post("user/confirm-account-deletion", json={"otp": otp}).status_code == 200


@probe("deletion_request_while_scheduled")
def _(http: httpx.Client) -> bool:
    user = new_user(http)
    user.post("user/confirm-account-deletion", json={"otp": user.request_otp("deletion")})
    return user.post("user/request-account-deletion", json={}).status_code == 409


@probe("cancel_without_request_succeeds")
def _(http: httpx.Client) -> bool:
    user = new_user(http)
    user.request_otp("deletion")
    user.post("user/cancel-account-deletion")
    return user.post("user/cancel-account-deletion").status_code == 409
