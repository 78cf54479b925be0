#!/usr/bin/env python3
"""A user factory for `kesk-conformance run --user-factory CMD`, written as a staging team writes one.

The contract: print one JSON object {"token", "password", "email"} of a fresh disposable user and exit 0.
The kind of user wanted comes as KESK_USER_KIND and as the last argument:

- `verified`: a user whose primary email is verified (every flow but one);
- `unverified-email`: a user whose primary email is not verified yet (GDPR-VERIFIED-EMAIL-REQUIRED).

Exit 3 when the factory cannot make that kind: the requirements that need it are skipped with the reason.
Any other failure (another exit status, no JSON) is an error of the run.

This one asks the reference server's test support (`POST /_test/fixtures`, out of the suite's sight, the way a
staging admin API would be asked) for a user who already holds data: favourites, an FCM token, an unverified
second address, an unverified phone number and a past data export. Standard library only, so it starts fast.

    user-factory.py ADMIN_BASE_URL [KIND]
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import urllib.error
import urllib.request

KINDS = ("verified", "unverified-email")


def fixture(kind: str) -> dict[str, object]:
    """One fixture user with history; its addresses, number and tokens are new on the server."""
    mark = secrets.token_hex(6)
    number = secrets.randbelow(10_000_000)
    return {
        "key": f"factory-{mark}",
        "emails": [
            {"email": f"staging-{mark}@example.com", "verified": kind == "verified", "primary": True},
            {"email": f"staging-{mark}-old@example.org", "verified": False},
        ],
        "phones": [{"phone_number": f"+3361{number:07d}", "country_code": "FR", "verified": False}],
        "favourites": [7, 1000 + secrets.randbelow(10**6)],
        "fcm_tokens": [{"token": f"staging-{mark}-device", "platform": "android"}],
        "exports": [{"requested_ago_s": 3600}] if kind == "verified" else [],
    }


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: user-factory.py ADMIN_BASE_URL [KIND]", file=sys.stderr)
        return 2
    kind = argv[1] if len(argv) > 1 else os.environ.get("KESK_USER_KIND", "verified")
    if kind not in KINDS:
        return 3  # a kind this factory cannot make
    body = json.dumps({"users": [fixture(kind)]}).encode()
    request = urllib.request.Request(
        f"{argv[0].rstrip('/')}/_test/fixtures",
        data=body,
        headers={"Content-Type": "application/json; charset=utf-8"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            user = json.load(answer)["users"][0]
    except (urllib.error.URLError, KeyError, ValueError) as exc:
        print(f"user-factory: the admin API did not make a user: {exc}", file=sys.stderr)
        return 1
    print(json.dumps({"token": user["token"], "password": user["password"], "email": user["email"]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
