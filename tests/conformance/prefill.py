"""Give a user history through the product API, as staging users have: favourites, FCM tokens, extra
unverified emails and phones, a past export. As a script, `python prefill.py BASE_URL` is a user factory:
it creates a user through the test-support contract, fills it and prints {"token", "password", "email"}."""

from __future__ import annotations

import json
import secrets
import sys
import time

import httpx


def prefill(base_url: str, token: str, email: str) -> None:
    """Add history to the user holding `token` (whose verified primary email is `email`)."""
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=10) as api:
        mark = secrets.randbelow(10**8)
        for product in (7, 10**9 + mark % 1000, 42 + mark % 100_000):
            api.post("/favourites", json={"product_id": product}).raise_for_status()
        for platform in ("android", "ios"):
            api.post("/account/fcm-tokens", json={"fcm_token": f"history{mark}{platform}", "platform": platform})
        for n in range(2):
            api.post("/user/emails", json={"email": f"history{mark}-{n}@example.com"}).raise_for_status()
        api.post(
            "/user/phones", json={"phone_number": f"+447400{mark % 1_000_000:06d}", "country_code": "GB"}
        ).raise_for_status()
        api.post(
            "/user/phones", json={"phone_number": f"+3361{mark % 10_000_000:07d}", "country_code": "FR"}
        ).raise_for_status()
        api.post("/user/request-data-export", json={"format": "json"}).raise_for_status()
        otp = _latest_code(base_url, email, "data_export")
        api.post("/user/confirm-data-export", json={"otp": otp}).raise_for_status()
        for _ in range(50):  # until the export is ready: a past export the user can still download
            status = api.get("/user/gdpr-status").json()
            if any(item.get("status") == "ready" for item in status.get("recent_exports", [])):
                return
            time.sleep(0.1)
        raise RuntimeError("the past export never became ready")


def _latest_code(base_url: str, address: str, purpose: str) -> str:
    messages = httpx.get(f"{base_url}/_test/outbox", params={"address": address, "purpose": purpose}).json()
    return str(messages["messages"][-1]["code"])


def main(base_url: str) -> None:
    user = httpx.post(f"{base_url}/_test/users", json={}, timeout=10).json()
    prefill(base_url, user["token"], user["email"])
    print(json.dumps({"token": user["token"], "password": user["password"], "email": user["email"]}))


if __name__ == "__main__":
    main(sys.argv[1])
