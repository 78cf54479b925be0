"""Give a user history through the product API, as staging users have: favourites, FCM tokens, extra
unverified emails and phones, a past export.

As a script, `python prefill.py BASE_URL [KIND]` is a user factory (the `--user-factory` contract):
it creates a user through the test-support contract at BASE_URL, fills it and prints {"token", "password",
"email"}. The kind wanted comes as KESK_USER_KIND and as the last argument: `verified` (the default), or
`unverified-email`, a user whose primary email is not verified yet (its history then has no export, which
needs a verified email).
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import time

import httpx

__all__ = ["create_user", "main", "prefill"]

KINDS = ("verified", "unverified-email")


def prefill(base_url: str, token: str, email: str, *, export: bool = True) -> None:
    """Add history to the user holding `token` (whose primary email is `email`; verified when `export`)."""
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
        if not export:
            return
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


def create_user(base_url: str, kind: str = "verified") -> dict[str, str]:
    """A fresh user of `kind` with history, made through the test-support contract at `base_url`."""
    body = {} if kind == "verified" else {"email_verified": False}
    user = httpx.post(f"{base_url}/_test/users", json=body, timeout=10).json()
    prefill(base_url, user["token"], user["email"], export=kind == "verified")
    return {"token": user["token"], "password": user["password"], "email": user["email"]}


def main(argv: list[str]) -> int:
    kind = argv[-1] if len(argv) > 1 and argv[-1] in KINDS else os.environ.get("KESK_USER_KIND", "verified")
    if kind not in KINDS:
        return 3  # a kind this factory cannot make: the requirements that need it are skipped
    print(json.dumps(create_user(argv[0], kind)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
