"""The test-support contract's disposable users: verified by default, unverified on request."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from rs_helpers import User, outbox_code

SENSITIVE = ("user/request-account-deletion", "user/request-data-export")


def _created(http: httpx.Client, **kwargs: Any) -> User:
    response = http.post("_test/users", **kwargs)
    assert response.status_code == 201, response.text
    body = response.json()
    return User(http, body["user_id"], body["token"], body["password"], body["email"])


def _primary(user: User) -> dict[str, Any]:
    emails = user.get("user/emails").json()["items"]
    assert len(emails) == 1 and emails[0]["is_primary"] is True
    return emails[0]  # type: ignore[no-any-return]


@pytest.mark.parametrize("body", [None, {}, {"email_verified": True}, {"email_verified": True, "other": 1}])
def test_without_email_verified_false_the_primary_email_is_verified(http: httpx.Client, body: object) -> None:
    # When a user is created without a body, or with email_verified absent or true
    user = _created(http) if body is None else _created(http, json=body)
    # Then its one primary email is the address returned, verified, and GDPR requests are open to it
    primary = _primary(user)
    assert primary["email"] == user.email and primary["is_verified"] is True
    assert user.post(SENSITIVE[0], json={}).status_code == 202


def test_email_verified_false_gives_an_unverified_primary_email_with_its_token_sent(http: httpx.Client) -> None:
    # When
    user = _created(http, json={"email_verified": False})
    # Then the primary email is the address returned, unverified, and its verification token was sent
    primary = _primary(user)
    assert primary["email"] == user.email and primary["is_verified"] is False
    assert user.get("users/me").json()["email"] == user.email
    token = outbox_code(http, user.email, "email_verification")
    # and deletion and export requests are refused until the address is verified
    for path in SENSITIVE:
        refused = user.post(path, json={})
        assert refused.status_code == 403 and refused.json()["code"] == "verification_required"
    assert http.get("_test/outbox", params={"address": user.email, "purpose": "account_deletion"}).json() == {
        "messages": []
    }
    assert user.post(f"user/emails/{primary['id']}/verify", json={"token": token}).status_code == 200
    assert [user.post(path, json={}).status_code for path in SENSITIVE] == [202, 202]


@pytest.mark.parametrize("value", ["false", 0, 1, None, [], {}])
def test_email_verified_must_be_a_boolean(http: httpx.Client, value: object) -> None:
    response = http.post("_test/users", json={"email_verified": value})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_failed" and [d["field"] for d in body["details"]] == ["email_verified"]


@pytest.mark.parametrize(
    ("content", "content_type", "status"),
    [(b"[false]", "application/json", 400), (b"{", "application/json", 400), (b"x=1", "text/plain", 415)],
)
def test_a_body_must_be_a_json_object(http: httpx.Client, content: bytes, content_type: str, status: int) -> None:
    response = http.post("_test/users", content=content, headers={"Content-Type": content_type})
    assert response.status_code == status


def test_a_user_clock_ages_only_that_users_codes_and_files(http: httpx.Client) -> None:
    # Given two users, each with a deletion OTP and an export file, fresh
    ages, stays = _created(http, json={}), _created(http, json={})
    otps = {user.token: user.request_otp("deletion") for user in (ages, stays)}
    files = {user.token: user.finished_export() for user in (ages, stays)}
    # When the clock of the first moves past the OTP's 10 minutes and the file's 7 days
    answer = http.post("_test/clock/advance", json={"seconds": 7 * 86400 + 1, "user_token": ages.token})
    # Then the server says it moved that user's clock only
    assert answer.status_code == 200 and answer.json()["scope"] == "user"
    # and that user's OTP and file have expired
    confirm = ages.post("user/confirm-account-deletion", json={"otp": otps[ages.token]})
    assert confirm.status_code == 400 and confirm.json()["code"] == "code_expired"
    assert ages.get(f"user/download-export/{files[ages.token]}").status_code == 410
    # while the other user's, and the server's own clock, kept their age
    assert stays.get(f"user/download-export/{files[stays.token]}").status_code == 200
    assert stays.post("user/confirm-account-deletion", json={"otp": otps[stays.token]}).status_code == 200
    assert http.post("_test/clock/advance", json={"seconds": 0}).json()["scope"] == "global"


def test_a_user_clock_needs_a_users_token(http: httpx.Client) -> None:
    answer = http.post("_test/clock/advance", json={"seconds": 60, "user_token": "nobody's"})
    assert answer.status_code == 422
    assert answer.json()["details"][0]["field"] == "user_token"
