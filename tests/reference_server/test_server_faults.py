"""Every seeded fault really misbehaves, and the clean server does not.

Each probe returns True when the server behaves as the contract says. The same
probe runs against the clean server (must be True) and against a server with
just that fault switched on (must be False).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from rs_helpers import (
    JSON_TYPE,
    User,
    advance_clock,
    new_user,
    nfc_payload,
    outbox_code,
    tampered,
    td3_mrz,
    unique_phone,
    with_bad_check_digit,
    wrong_code,
)

from reference_server.embedded import running_server
from reference_server.faults import CATALOGUE, FaultSet, UnknownFaultError

Probe = Callable[[httpx.Client], bool]
PROBES: dict[str, Probe] = {}


def probe(name: str) -> Callable[[Probe], Probe]:
    def register(function: Probe) -> Probe:
        PROBES[name] = function
        return function

    return register


def _two_distinct_otps(http: httpx.Client, first: User, second: User) -> tuple[str, str]:
    while True:
        a, b = first.request_otp("deletion"), second.request_otp("deletion")
        if a != b:
            return a, b


@probe("missing_required_field")
def _(http: httpx.Client) -> bool:
    user = new_user(http)
    return "is_primary" in user.get(f"user/emails/{user.primary_email_id()}").json()


@probe("wrong_field_type")
def _(http: httpx.Client) -> bool:
    return isinstance(new_user(http).get("users/me").json()["id"], int)


@probe("undocumented_status")
def _(http: httpx.Client) -> bool:
    return new_user(http).post("favourites", json={"product_id": 5}).status_code == 201


@probe("wrong_content_type")
def _(http: httpx.Client) -> bool:
    return new_user(http).get("user/gdpr-status").headers["content-type"] == JSON_TYPE


@probe("auth_ignored")
def _(http: httpx.Client) -> bool:
    new_user(http)
    return http.get("user/profile-validation").status_code == 401


@probe("invalid_token_accepted")
def _(http: httpx.Client) -> bool:
    new_user(http)
    return http.get("users/me", headers={"Authorization": "Bearer forged"}).status_code == 401


@probe("bola_email_read")
def _(http: httpx.Client) -> bool:
    alice, bob = new_user(http), new_user(http)
    return bob.get(f"user/emails/{alice.primary_email_id()}").status_code == 404


@probe("bola_phone_remove")
def _(http: httpx.Client) -> bool:
    alice, bob = new_user(http), new_user(http)
    phone = alice.add_phone(unique_phone())
    refused = bob.delete(f"user/phones/{phone['id']}").status_code == 404
    return refused and alice.get(f"user/phones/{phone['id']}").status_code == 200


@probe("bola_export_download")
def _(http: httpx.Client) -> bool:
    alice, bob = new_user(http), new_user(http)
    return bob.get(f"user/download-export/{alice.finished_export()}").status_code == 404


@probe("two_primaries")
def _(http: httpx.Client) -> bool:
    user = new_user(http)
    email = user.add_verified_email("second-primary@example.com")
    user.put(f"user/emails/{email['id']}/make-default")
    primaries = [e for e in user.get("user/emails").json()["items"] if e["is_primary"]]
    return len(primaries) == 1


@probe("unverified_primary")
def _(http: httpx.Client) -> bool:
    user = new_user(http)
    email = user.add_email("not-yet@example.com")
    return user.put(f"user/emails/{email['id']}/make-default").status_code == 409


@probe("wrong_token_verifies")
def _(http: httpx.Client) -> bool:
    user = new_user(http)
    email = user.add_email("guess@example.com")
    code = outbox_code(http, "guess@example.com", "email_verification")
    return user.post(f"user/emails/{email['id']}/verify", json={"token": wrong_code(code)}).status_code == 400


@probe("primary_removable")
def _(http: httpx.Client) -> bool:
    user = new_user(http)
    return user.delete(f"user/emails/{user.primary_email_id()}").status_code == 409


@probe("removed_phone_readable")
def _(http: httpx.Client) -> bool:
    user = new_user(http)
    phone = user.add_phone(unique_phone())
    user.delete(f"user/phones/{phone['id']}")
    return user.get(f"user/phones/{phone['id']}").status_code == 404


@probe("cancel_noop")
def _(http: httpx.Client) -> bool:
    user = new_user(http)
    user.post("user/confirm-account-deletion", json={"otp": user.request_otp("deletion")})
    user.post("user/cancel-account-deletion")
    return user.get("user/gdpr-status").json()["pending_deletion"] is None


@probe("otp_reusable")
def _(http: httpx.Client) -> bool:
    user = new_user(http)
    otp = user.request_otp("export")
    user.post("user/confirm-data-export", json={"otp": otp})
    return user.post("user/confirm-data-export", json={"otp": otp}).status_code == 409


@probe("foreign_otp_accepted")
def _(http: httpx.Client) -> bool:
    alice, bob = new_user(http), new_user(http)
    _, bobs = _two_distinct_otps(http, alice, bob)
    return alice.post("user/confirm-account-deletion", json={"otp": bobs}).status_code == 400


@probe("stale_otp_accepted")
def _(http: httpx.Client) -> bool:
    user = new_user(http)
    old = user.request_otp("deletion")
    new = user.request_otp("deletion")
    while new == old:
        new = user.request_otp("deletion")
    return user.post("user/confirm-account-deletion", json={"otp": old}).status_code == 400


@probe("expired_otp_accepted")
def _(http: httpx.Client) -> bool:
    user = new_user(http)
    otp = user.request_otp("deletion")
    advance_clock(http, 601)
    return user.post("user/confirm-account-deletion", json={"otp": otp}).status_code == 400


@probe("otp_unlimited_attempts")
def _(http: httpx.Client) -> bool:
    user = new_user(http)
    otp = user.request_otp("deletion")
    for _ in range(5):
        user.post("user/confirm-account-deletion", json={"otp": wrong_code(otp)})
    return user.post("user/confirm-account-deletion", json={"otp": otp}).status_code == 429


@probe("expired_export_downloads")
def _(http: httpx.Client) -> bool:
    user = new_user(http)
    filename = user.finished_export()
    advance_clock(http, 7 * 86400 + 1)
    return user.get(f"user/download-export/{filename}").status_code == 410


def _walk(user: User, kind: str) -> list[int]:
    ids: list[int] = []
    page = 1
    while True:
        body = user.get(f"user/{kind}", params={"page": page, "per_page": 2}).json()
        ids += [item["id"] for item in body["items"]]
        if page >= body["total_pages"]:
            return ids
        page += 1


@probe("pagination_drops_item")
def _(http: httpx.Client) -> bool:
    user = new_user(http)
    for n in range(4):
        user.add_email(f"walk-{n}@example.com")
    ids = _walk(user, "emails")
    return len(ids) == 5 == len(set(ids))


@probe("pagination_repeats_item")
def _(http: httpx.Client) -> bool:
    user = new_user(http)
    for _ in range(5):
        user.add_phone(unique_phone())
    ids = _walk(user, "phones")
    return len(ids) == 5 == len(set(ids))


@probe("wrong_password_deletes")
def _(http: httpx.Client) -> bool:
    user = new_user(http)
    return user.post("account/delete", json={"password": user.password + "!"}).status_code == 403


@probe("token_survives_deletion")
def _(http: httpx.Client) -> bool:
    user = new_user(http)
    user.post("account/delete", json={"password": user.password})
    return user.get("users/me").status_code == 401


@probe("server_error_non_ascii")
def _(http: httpx.Client) -> bool:
    return new_user(http).post("user/emails", json={"email": "jörg@example.com"}).status_code < 500


@probe("server_error_max_length")
def _(http: httpx.Client) -> bool:
    response = new_user(http).post("account/fcm-tokens", json={"fcm_token": "t" * 4096, "platform": "ios"})
    return response.status_code < 500


@probe("mass_assignment_verified")
def _(http: httpx.Client) -> bool:
    body = {"email": "assign@example.com", "is_verified": True, "is_primary": True}
    created = new_user(http).post("user/emails", json=body).json()
    return (created["is_verified"], created["is_primary"]) == (False, False)


@probe("profile_stale_primary")
def _(http: httpx.Client) -> bool:
    user = new_user(http)
    email = user.add_verified_email("fresh-primary@example.com")
    user.put(f"user/emails/{email['id']}/make-default")
    shown: str = user.get("users/me").json()["email"]
    return shown == "fresh-primary@example.com"


@probe("favourite_duplicate")
def _(http: httpx.Client) -> bool:
    user = new_user(http)
    user.post("favourites", json={"product_id": 9})
    return user.post("favourites", json={"product_id": 9}).status_code == 409


@probe("fcm_unknown_unregister_ok")
def _(http: httpx.Client) -> bool:
    return new_user(http).delete("account/fcm-tokens/never-registered").status_code == 404


@probe("nfc_bad_check_digit_accepted")
def _(http: httpx.Client) -> bool:
    payload = nfc_payload(with_bad_check_digit(td3_mrz()))
    return new_user(http).post("user/idv/nfc/submit", json=payload).status_code == 422


@probe("nfc_tampered_group_accepted")
def _(http: httpx.Client) -> bool:
    payload = tampered(nfc_payload(td3_mrz()))
    return new_user(http).post("user/idv/nfc/submit", json=payload).status_code == 422


@probe("nfc_expired_accepted")
def _(http: httpx.Client) -> bool:
    payload = nfc_payload(td3_mrz(expiry_date="200101"))
    return new_user(http).post("user/idv/nfc/submit", json=payload).status_code == 422


FAULT_NAMES = [fault.name for fault in CATALOGUE]


def test_catalogue_has_the_34_faults_of_the_contract() -> None:
    assert len(FAULT_NAMES) == len(set(FAULT_NAMES)) == 34
    for fault in CATALOGUE:
        assert fault.description and fault.hook and fault.requirements
        assert all(re.fullmatch(r"[A-Z0-9]+(-[A-Z0-9]+)+", rid) for rid in fault.requirements)


def test_every_fault_has_a_probe() -> None:
    assert sorted(PROBES) == sorted(FAULT_NAMES)


def test_each_fault_is_consulted_at_exactly_one_hook_point() -> None:
    source = "\n".join(path.read_text() for path in Path(__file__).parents[2].joinpath("reference_server").glob("*.py"))
    for name in FAULT_NAMES:
        assert source.count(f'active("{name}")') == 1, name


def test_unknown_fault_names_are_refused() -> None:
    with pytest.raises(UnknownFaultError, match="valid faults: auth_ignored"):
        FaultSet.of(["no_such_fault"])
    with pytest.raises(KeyError):
        FaultSet.of([]).active("no_such_fault")


@pytest.fixture(params=FAULT_NAMES)
def faulty(request: pytest.FixtureRequest) -> Iterator[tuple[str, httpx.Client]]:
    with running_server(faults=[request.param]) as url, httpx.Client(base_url=url + "/", timeout=10) as client:
        yield request.param, client


def test_clean_server_passes_every_probe(http: httpx.Client) -> None:
    failing = [name for name, check in PROBES.items() if not check(http)]
    assert failing == []


def test_faulty_server_fails_its_probe(faulty: tuple[str, httpx.Client]) -> None:
    name, client = faulty
    assert PROBES[name](client) is False, f"fault {name} did not change the behaviour"
