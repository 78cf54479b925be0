"""Cross-cutting HTTP behaviour: authentication, bodies, errors, media types, test mode."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from rs_helpers import JSON_TYPE, OPERATIONS, User

from reference_server.embedded import running_server

_AUTH_CASES = {
    "missing": None,
    "malformed": "Token abc",
    "bearer-without-token": "Bearer",
    "invalid": "Bearer not-a-real-token-at-all",
}


@pytest.mark.parametrize("auth_case", list(_AUTH_CASES))
@pytest.mark.parametrize(("operation", "method", "path", "body"), OPERATIONS, ids=[op[0] for op in OPERATIONS])
def test_every_operation_refuses_a_bad_token_with_401(
    http: httpx.Client, alice: User, operation: str, method: str, path: str, body: Any, auth_case: str
) -> None:
    # Given a server with at least one user, and a request without a usable token
    header = _AUTH_CASES[auth_case]
    headers = {"Authorization": header} if header is not None else {}
    # When
    response = http.request(method, path, json=body, headers=headers)
    # Then
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == JSON_TYPE
    assert response.json()["code"] == "unauthorized"
    expected = 'Bearer realm="kesk"' if header is None else 'Bearer realm="kesk", error="invalid_token"'
    assert response.headers["www-authenticate"] == expected


def test_thirty_operations_are_covered() -> None:
    assert len({op[0] for op in OPERATIONS}) == 30


@pytest.mark.parametrize(
    ("content", "content_type", "status", "code"),
    [
        (b"{not json", "application/json", 400, "malformed_request"),
        (b"", "application/json", 400, "malformed_request"),
        (b"[1, 2]", "application/json", 400, "malformed_request"),
        (b'{"product_id": NaN}', "application/json", 400, "malformed_request"),
        (b"\xff\xfe", "application/json; charset=utf-8", 400, "malformed_request"),
        (b"product_id=1", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
        (b'{"product_id": 1}', "text/plain", 415, "unsupported_media_type"),
        (b'{"product_id": "1"}', "application/json", 422, "validation_failed"),
        (b'{"product_id": true}', "application/json", 422, "validation_failed"),
        (b'{"product_id": 0}', "application/json", 422, "validation_failed"),
        (b'{"product_id": 99999999999999999999}', "application/json", 422, "validation_failed"),
    ],
)
def test_bad_bodies(alice: User, content: bytes, content_type: str, status: int, code: str) -> None:
    response = alice.post("favourites", content=content, headers={"Content-Type": content_type})
    assert response.status_code == status
    assert response.headers["content-type"] == JSON_TYPE
    assert response.json()["code"] == code


def test_favourites_lifecycle(alice: User, bob: User) -> None:
    # When
    added = alice.post("favourites", json={"product_id": 42})
    duplicate = alice.post("favourites", json={"product_id": 42})
    listing = alice.get("favourites").json()
    # Then
    assert added.status_code == 201 and added.json()["message"]
    assert duplicate.status_code == 409 and duplicate.json()["code"] == "already_exists"
    assert [(f["product_id"], f["id"] >= 1) for f in listing["items"]] == [(42, True)]
    # And bob cannot see or remove it, exactly as if it did not exist
    assert bob.get("favourites").json()["total"] == 0
    assert bob.delete("favourites/42").json() == bob.delete("favourites/43").json()
    assert bob.delete("favourites/42").status_code == 404
    assert alice.delete("favourites/42").status_code == 200
    assert alice.delete("favourites/42").status_code == 404


def test_fcm_tokens_are_idempotent_and_owner_scoped(alice: User, bob: User) -> None:
    # Given
    token = "device-token:abc_123"
    first = alice.post("account/fcm-tokens", json={"fcm_token": token, "platform": "ios"})
    again = alice.post("account/fcm-tokens", json={"fcm_token": token, "platform": "android"})
    # Then
    assert first.status_code == again.status_code == 200
    assert first.json() == {"success": True, "message": "FCM token registered."}
    assert bob.delete(f"account/fcm-tokens/{token}").status_code == 404
    assert alice.delete(f"account/fcm-tokens/{token}").json()["success"] is True
    assert alice.delete(f"account/fcm-tokens/{token}").status_code == 404
    # And a 4096-character token is fine; one character more is refused
    assert alice.post("account/fcm-tokens", json={"fcm_token": "a" * 4096, "platform": "web"}).status_code == 200
    too_long = alice.post("account/fcm-tokens", json={"fcm_token": "a" * 4097, "platform": "web"})
    assert too_long.status_code == 422
    assert alice.post("account/fcm-tokens", json={"fcm_token": "x", "platform": "tv"}).status_code == 422


def test_a_token_registered_by_another_user_moves(alice: User, bob: User) -> None:
    alice.post("account/fcm-tokens", json={"fcm_token": "shared-device", "platform": "ios"})
    bob.post("account/fcm-tokens", json={"fcm_token": "shared-device", "platform": "ios"})
    assert alice.delete("account/fcm-tokens/shared-device").status_code == 404
    assert bob.delete("account/fcm-tokens/shared-device").status_code == 200


def test_profile_and_validation_follow_live_state(alice: User, http: httpx.Client) -> None:
    # Given a fresh user
    profile = alice.get("users/me").json()
    validation = alice.get("user/profile-validation").json()
    assert profile["id"] == alice.user_id and profile["email"] == alice.email and profile["email_verified"]
    assert profile["phone"] is None and profile["identity_verified"] is False
    assert validation["missing"] == ["primary_phone", "phone_verification", "identity_verification"]
    assert validation["is_complete"] is False and validation["has_primary_email"] is True
    # When a phone is added and verified
    phone = alice.add_phone("020 7946 0777")
    code = [m for m in http.get("_test/outbox").json()["messages"] if m["address"] == "+442079460777"][-1]
    alice.post(f"user/phones/{phone['id']}/verify", json={"token": code["code"]})
    # Then
    assert alice.get("users/me").json()["phone"] == "+442079460777"
    after = alice.get("user/profile-validation").json()
    assert after["missing"] == ["identity_verification"] and after["phone_verified"] is True
    alice.delete(f"user/phones/{phone['id']}")


def test_unknown_paths_and_methods_answer_json_errors(http: httpx.Client, alice: User) -> None:
    missing = http.get("no/such/path")
    wrong_method = alice.put("users/me")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    assert wrong_method.status_code == 405 and "GET" in wrong_method.headers["allow"]
    assert wrong_method.headers["content-type"] == JSON_TYPE


def test_test_support_clock(http: httpx.Client) -> None:
    before = http.get("_test/clock").json()["now"]
    after = http.post("_test/clock/advance", json={"seconds": 0}).json()["now"]
    assert before <= after
    assert http.post("_test/clock/advance", json={"seconds": -1}).status_code == 422


def test_test_mode_off_answers_404_over_http() -> None:
    import threading
    import time

    import uvicorn

    from reference_server import create_app
    from reference_server.embedded import base_url, bind_loopback, uvicorn_config

    sock = bind_loopback()
    server = uvicorn.Server(uvicorn_config(create_app(test_mode=False)))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.005)
        url = base_url(sock)
        assert httpx.post(url + "/_test/users").status_code == 404
        assert httpx.get(url + "/_test/outbox").status_code == 404
        assert httpx.get(url + "/users/me").status_code == 401
    finally:
        server.should_exit = True
        thread.join(5)
        sock.close()


def test_embedded_server_yields_a_v1_base_url() -> None:
    with running_server() as url:
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
        assert httpx.get(url + "/_test/clock").status_code == 200


def test_an_unexpected_error_is_logged_without_secrets_and_never_a_500(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import asyncio

    from starlette.requests import Request
    from starlette.responses import Response

    from reference_server.web import endpoint

    # Given a handler with a bug, and a request whose path carries a secret
    async def buggy(request: Request) -> Response:
        raise RuntimeError("boom")

    scope = {"type": "http", "method": "DELETE", "path": "/v1/account/fcm-tokens/secret-device", "headers": []}

    # When
    async def call() -> Response:
        return await endpoint(buggy)(Request(scope))

    response = asyncio.run(call())
    # Then
    assert response.status_code == 400
    assert "secret-device" not in caplog.text and "buggy" in caplog.text
