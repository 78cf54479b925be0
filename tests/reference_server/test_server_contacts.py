"""Emails and phones: add, verify, make-default, remove, ownership, token rules."""

from __future__ import annotations

import httpx
import pytest
from rs_helpers import JSON_TYPE, User, advance_clock, outbox_code, unique_phone, wrong_code


def test_add_email_answers_201_with_location_and_mails_a_token(alice: User, http: httpx.Client) -> None:
    # When
    response = alice.post("user/emails", json={"email": "new-1@Example.COM"})
    # Then
    assert response.status_code == 201
    assert response.headers["content-type"] == JSON_TYPE
    body = response.json()
    assert response.headers["location"] == f"/v1/user/emails/{body['id']}"
    assert body["email"] == "new-1@example.com"
    assert (body["is_verified"], body["is_primary"], body["verified_at"]) == (False, False, None)
    assert len(outbox_code(http, "new-1@example.com", "email_verification")) == 6


def test_list_and_get_email(alice: User) -> None:
    # Given
    added = alice.add_email("listed@example.com")
    # When
    listing = alice.get("user/emails").json()
    single = alice.get(f"user/emails/{added['id']}")
    # Then
    assert [item["email"] for item in listing["items"]] == [alice.email, "listed@example.com"]
    assert (listing["page"], listing["per_page"], listing["total"], listing["total_pages"]) == (1, 20, 2, 1)
    assert single.status_code == 200 and single.json() == added


def test_verify_with_the_right_token_then_409_already_verified(alice: User, http: httpx.Client) -> None:
    # Given
    email = alice.add_email("verify-me@example.com")
    code = outbox_code(http, "verify-me@example.com", "email_verification")
    # When
    first = alice.post(f"user/emails/{email['id']}/verify", json={"token": code})
    again = alice.post(f"user/emails/{email['id']}/verify", json={"token": code})
    # Then
    assert first.status_code == 200
    assert first.json()["is_verified"] is True and first.json()["verified_at"]
    assert again.status_code == 409 and again.json()["code"] == "already_verified"


def test_five_wrong_tokens_burn_the_token(alice: User, http: httpx.Client) -> None:
    # Given
    email = alice.add_email("brute@example.com")
    code = outbox_code(http, "brute@example.com", "email_verification")
    path = f"user/emails/{email['id']}/verify"
    # When
    wrong = [alice.post(path, json={"token": wrong_code(code)}) for _ in range(5)]
    after = alice.post(path, json={"token": code})
    # Then
    assert [(r.status_code, r.json()["code"]) for r in wrong] == [(400, "invalid_code")] * 5
    assert after.status_code == 429 and after.json()["code"] == "too_many_attempts"
    assert int(after.headers["retry-after"]) >= 1


def test_expired_token_is_refused(alice: User, http: httpx.Client) -> None:
    # Given
    email = alice.add_email("late@example.com")
    code = outbox_code(http, "late@example.com", "email_verification")
    advance_clock(http, 15 * 60)
    # When
    response = alice.post(f"user/emails/{email['id']}/verify", json={"token": code})
    # Then
    assert response.status_code == 400 and response.json()["code"] == "code_expired"


def test_make_default_keeps_exactly_one_primary_and_updates_the_profile(alice: User) -> None:
    # Given
    verified = alice.add_verified_email("second@example.com")
    # When
    response = alice.put(f"user/emails/{verified['id']}/make-default")
    # Then
    assert response.status_code == 200 and response.json()["is_primary"] is True
    primaries = [e["email"] for e in alice.get("user/emails").json()["items"] if e["is_primary"]]
    assert primaries == ["second@example.com"]
    assert alice.get("users/me").json()["email"] == "second@example.com"
    # And making it primary again is idempotent
    assert alice.put(f"user/emails/{verified['id']}/make-default").status_code == 200


def test_unverified_email_cannot_become_primary(alice: User) -> None:
    email = alice.add_email("unverified@example.com")
    response = alice.put(f"user/emails/{email['id']}/make-default")
    assert response.status_code == 409 and response.json()["code"] == "not_verified"


def test_primary_email_cannot_be_removed_but_others_can(alice: User) -> None:
    # Given
    other = alice.add_email("removable@example.com")
    # When
    primary = alice.delete(f"user/emails/{alice.primary_email_id()}")
    removed = alice.delete(f"user/emails/{other['id']}")
    # Then
    assert primary.status_code == 409 and primary.json()["code"] == "primary_removal"
    assert removed.status_code == 200 and removed.json()["message"]
    assert alice.get(f"user/emails/{other['id']}").status_code == 404


def test_duplicate_email_is_409_on_the_same_and_on_another_account(alice: User, bob: User) -> None:
    alice.add_email("dupe@example.com")
    for user in (alice, bob):
        response = user.post("user/emails", json={"email": "DUPE@example.com"})
        assert response.status_code == 409 and response.json()["code"] == "already_exists"


@pytest.mark.parametrize(
    "body",
    [{}, {"email": "not-an-email"}, {"email": 42}, {"email": "a" * 250 + "@example.com"}],
)
def test_invalid_email_bodies_are_422(alice: User, body: dict[str, object]) -> None:
    response = alice.post("user/emails", json=body)
    assert response.status_code == 422
    assert response.json()["code"] == "validation_failed" and response.json()["details"]


def test_first_phone_becomes_primary_and_is_normalised(alice: User, http: httpx.Client) -> None:
    # When
    response = alice.post("user/phones", json={"phone_number": "020 7946 0999", "country_code": "GB"})
    # Then
    assert response.status_code == 201
    phone = response.json()
    assert phone["phone_number"] == "+442079460999" and phone["country_code"] == "GB"
    assert phone["is_primary"] is True and phone["is_verified"] is False
    assert response.headers["location"] == f"/v1/user/phones/{phone['id']}"
    messages = http.get("_test/outbox", params={"address": "+442079460999", "channel": "sms"}).json()
    assert messages["messages"][-1]["purpose"] == "phone_verification"
    alice.delete(f"user/phones/{phone['id']}")


@pytest.mark.parametrize(
    "body",
    [
        {"phone_number": "12", "country_code": "GB"},
        {"phone_number": "020 7946 0018", "country_code": "US"},
        {"phone_number": "020 7946 0018", "country_code": "gb"},
        {"phone_number": "abc", "country_code": "GB"},
        {"phone_number": "020 7946 0018"},
    ],
)
def test_impossible_phones_are_422(alice: User, body: dict[str, object]) -> None:
    response = alice.post("user/phones", json=body)
    assert response.status_code == 422 and response.json()["code"] == "validation_failed"


def test_phone_primary_rules(alice: User, http: httpx.Client) -> None:
    # Given two phones: the first is primary, the second gets verified
    first = alice.add_phone(unique_phone())
    second = alice.add_phone(unique_phone())
    code = outbox_code(http, second["phone_number"], "phone_verification")
    assert alice.post(f"user/phones/{second['id']}/verify", json={"token": code}).status_code == 200
    # When / Then: the primary cannot go while another phone exists
    blocked = alice.delete(f"user/phones/{first['id']}")
    assert blocked.status_code == 409 and blocked.json()["code"] == "primary_removal"
    # an unverified phone cannot become primary, a verified one can
    assert alice.put(f"user/phones/{first['id']}/make-default").json()["code"] == "not_verified"
    assert alice.put(f"user/phones/{second['id']}/make-default").json()["is_primary"] is True
    assert [p["is_primary"] for p in alice.get("user/phones").json()["items"]] == [False, True]
    # the non-primary goes, then the only (primary) phone may go too
    assert alice.delete(f"user/phones/{first['id']}").status_code == 200
    assert alice.delete(f"user/phones/{second['id']}").status_code == 200
    assert alice.get("user/phones").json()["total"] == 0


def test_pagination_walk_and_bounds(alice: User) -> None:
    # Given five emails in all
    for n in range(4):
        alice.add_email(f"page-{n}@example.com")
    # When
    pages = [alice.get("user/emails", params={"page": p, "per_page": 2}).json() for p in (1, 2, 3, 4)]
    # Then
    ids = [item["id"] for page in pages for item in page["items"]]
    assert len(ids) == 5 and ids == sorted(ids)
    assert pages[0]["total_pages"] == 3 and pages[3]["items"] == []
    for params, status in (
        ({"page": 0}, 422),
        ({"per_page": 101}, 422),
        ({"per_page": 0}, 422),
        ({"page": "x"}, 400),
        ({"page": 10**30}, 422),
        ({"page": 2**31 - 1}, 200),
    ):
        assert alice.get("user/emails", params=params).status_code == status, params


@pytest.mark.parametrize("kind", ["emails", "phones"])
def test_another_users_contact_is_answered_like_a_missing_one(alice: User, bob: User, kind: str) -> None:
    # Given
    owned = alice.add_email("mine@example.com") if kind == "emails" else alice.add_phone(unique_phone())
    missing = bob.get(f"user/{kind}/999999999")
    # When / Then: every item operation of bob on alice's id looks exactly like a missing id
    for method, suffix, body in (
        ("GET", "", None),
        ("DELETE", "", None),
        ("PUT", "/make-default", None),
        ("POST", "/verify", {"token": "000000"}),
    ):
        response = bob.request(method, f"user/{kind}/{owned['id']}{suffix}", json=body)
        assert response.status_code == 404, (method, suffix)
        assert response.json() == missing.json()
    assert alice.get(f"user/{kind}/{owned['id']}").status_code == 200
    if kind == "phones":
        alice.delete(f"user/phones/{owned['id']}")


@pytest.mark.parametrize(("raw", "status"), [("abc", 400), ("1.5", 400), ("0", 404), ("-3", 404), ("9" * 30, 400)])
def test_id_path_parameters(alice: User, raw: str, status: int) -> None:
    response = alice.get(f"user/emails/{raw}")
    assert response.status_code == status
    assert response.json()["code"] == ("malformed_request" if status == 400 else "not_found")


def test_server_owned_fields_in_the_body_are_ignored(alice: User) -> None:
    response = alice.post(
        "user/emails", json={"email": "mass@example.com", "is_verified": True, "is_primary": True, "id": 1}
    )
    assert response.status_code == 201
    assert (response.json()["is_verified"], response.json()["is_primary"]) == (False, False)
    assert response.json()["id"] != 1
