"""GDPR: deletion with OTP and grace period, data export, permanent deletion with password."""

from __future__ import annotations

import json

import httpx
import pytest
from rs_helpers import OPERATIONS, User, advance_clock, outbox_code, wrong_code

DAY = 86400


def test_deletion_request_confirm_cancel(alice: User) -> None:
    # When
    requested = alice.post("user/request-account-deletion", json={"reason": "moving on"})
    otp = outbox_code(alice.http, alice.email, "account_deletion")
    confirmed = alice.post("user/confirm-account-deletion", json={"otp": otp})
    # Then
    assert requested.status_code == 202
    assert requested.json()["status"] == "pending_confirmation" and requested.json()["otp_expires_at"]
    assert confirmed.status_code == 200
    body = confirmed.json()
    assert body["status"] == "scheduled" and body["scheduled_for"] and body["grace_period_days"] == 30
    assert body["request_id"] == requested.json()["request_id"]
    assert alice.get("user/gdpr-status").json()["pending_deletion"]["status"] == "scheduled"
    again = alice.post("user/request-account-deletion", json={})
    assert again.status_code == 409 and again.json()["code"] == "conflict"
    # And cancelling restores the account
    cancelled = alice.post("user/cancel-account-deletion")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert alice.get("user/gdpr-status").json()["pending_deletion"] is None
    nothing = alice.post("user/cancel-account-deletion")
    assert nothing.status_code == 409 and nothing.json()["code"] == "no_pending_request"


def test_otp_is_single_use(alice: User) -> None:
    otp = alice.request_otp("deletion")
    assert alice.post("user/confirm-account-deletion", json={"otp": otp}).status_code == 200
    reused = alice.post("user/confirm-account-deletion", json={"otp": otp})
    assert reused.status_code == 409 and reused.json()["code"] == "no_pending_request"


def test_otp_is_bound_to_its_user(alice: User, bob: User) -> None:
    mine = alice.request_otp("deletion")
    theirs = bob.request_otp("deletion")
    if theirs == mine:
        pytest.skip("both users drew the same 6 digits")
    response = alice.post("user/confirm-account-deletion", json={"otp": theirs})
    assert response.status_code == 400 and response.json()["code"] == "invalid_code"


def test_a_new_request_supersedes_the_old_otp(alice: User) -> None:
    old = alice.request_otp("deletion")
    new = alice.request_otp("deletion")
    if old == new:
        pytest.skip("both requests drew the same 6 digits")
    stale = alice.post("user/confirm-account-deletion", json={"otp": old})
    assert stale.status_code == 400 and stale.json()["code"] == "invalid_code"
    assert alice.post("user/confirm-account-deletion", json={"otp": new}).status_code == 200


def test_otp_expires_after_ten_minutes(alice: User) -> None:
    otp = alice.request_otp("export")
    advance_clock(alice.http, 600)
    response = alice.post("user/confirm-data-export", json={"otp": otp})
    assert response.status_code == 400 and response.json()["code"] == "code_expired"


def test_otp_allows_five_wrong_attempts_then_429(alice: User) -> None:
    otp = alice.request_otp("deletion")
    wrong = [alice.post("user/confirm-account-deletion", json={"otp": wrong_code(otp)}) for _ in range(5)]
    blocked = alice.post("user/confirm-account-deletion", json={"otp": otp})
    assert {r.status_code for r in wrong} == {400}
    assert blocked.status_code == 429 and blocked.json()["code"] == "too_many_attempts"
    assert int(blocked.headers["retry-after"]) >= 1


def test_sensitive_requests_need_a_verified_primary_email(http: httpx.Client) -> None:
    # Given a user whose primary email is unverified: not reachable through the API, so the state is
    # forged with the mass-assignment fault on a separate server
    from rs_helpers import new_user

    from reference_server.embedded import running_server

    with running_server(faults=["mass_assignment_verified"]) as url, httpx.Client(base_url=url + "/") as other:
        user = new_user(other)
        user.post("user/emails", json={"email": "unverified-primary@example.com", "is_primary": True})
        # When
        deletion = user.post("user/request-account-deletion", json={})
        export = user.post("user/request-data-export", json={})
    # Then
    assert deletion.status_code == export.status_code == 403
    assert deletion.json()["code"] == "verification_required"


def test_scheduled_deletion_takes_effect_after_the_grace_period(alice: User) -> None:
    otp = alice.request_otp("deletion")
    alice.post("user/confirm-account-deletion", json={"otp": otp})
    advance_clock(alice.http, 29 * DAY)
    assert alice.get("users/me").status_code == 200
    advance_clock(alice.http, 1 * DAY)
    assert alice.get("users/me").status_code == 401


def test_export_flow_and_download(alice: User) -> None:
    # Given
    alice.post("favourites", json={"product_id": 7})
    alice.post("account/fcm-tokens", json={"fcm_token": "export-device", "platform": "web"})
    # When
    filename = alice.finished_export()
    response = alice.get(f"user/download-export/{filename}")
    # Then
    assert response.status_code == 200
    assert response.headers["content-disposition"] == f'attachment; filename="{filename}"'
    document = json.loads(response.json())
    assert document["format_version"] == 1 and document["user"]["email"] == alice.email
    assert [f["product_id"] for f in document["favourites"]] == [7]
    assert document["fcm_tokens"][0]["platform"] == "web" and "export-device" not in response.text
    assert document["identity_verification"]["overall_status"] == "unverified"
    status = alice.get("user/gdpr-status").json()["recent_exports"][0]
    assert status["status"] == "ready" and status["format"] == "json" and status["file_expires_at"]


def test_export_is_owner_only_and_expires_after_seven_days(alice: User, bob: User) -> None:
    filename = alice.finished_export()
    missing = bob.get(f"user/download-export/kesk-export-{'Z' * 43}.json")
    foreign = bob.get(f"user/download-export/{filename}")
    assert foreign.status_code == 404 and foreign.json() == missing.json()
    advance_clock(alice.http, 7 * DAY)
    expired = alice.get(f"user/download-export/{filename}")
    assert expired.status_code == 410 and expired.json()["code"] == "gone"
    assert alice.get("user/gdpr-status").json()["recent_exports"][0]["status"] == "expired"


@pytest.mark.parametrize(
    "name",
    [
        "..%2F..%2Fetc%2Fpasswd",
        "..",
        "kesk-export-short.json",
        f"kesk-export-{'a' * 43}.json.bak",
        f"kesk-export-{'a' * 40}..json",
        f"kesk-export-{'a' * 65}.json",
        "%2Fetc%2Fpasswd",
        "kesk-export-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa%00.json",
    ],
)
def test_download_refuses_names_it_could_not_have_minted(alice: User, name: str) -> None:
    response = alice.get(f"user/download-export/{name}")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_delete_account_needs_the_password_and_then_the_token_is_dead(alice: User) -> None:
    # When
    wrong = alice.post("account/delete", json={"password": alice.password + "x"})
    right = alice.post("account/delete", json={"password": alice.password})
    # Then
    assert wrong.status_code == 403 and wrong.json()["code"] == "invalid_password"
    assert right.status_code == 200 and right.json()["deleted"] is True and right.json()["deleted_at"]
    for _operation, method, path, body in OPERATIONS:
        response = alice.request(method, path, json=body)
        assert response.status_code == 401, (method, path)
