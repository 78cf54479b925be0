"""Every seeded fault really misbehaves, and the clean server does not.

Each probe returns True when the server behaves as the contract says. The same
probe runs against the clean server (must be True) and against a server with
just that fault switched on (must be False).
"""

from __future__ import annotations

import ast
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
import yaml
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
from transition_probes import TRANSITION_PROBES

import reference_server
from reference_server import hooks
from reference_server.embedded import running_server
from reference_server.faults import CATALOGUE, FaultSet, UnknownFaultError
from reference_server.hooks import HOOKS, Behaviour, Switchboard
from reference_server.misanswers import MISANSWERS

GENERATED = {item.name for item in MISANSWERS}

V = TypeVar("V")
C = TypeVar("C")
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


@probe("bola_answers_forbidden")
def _(http: httpx.Client) -> bool:
    alice, bob = new_user(http), new_user(http)
    return bob.get(f"user/emails/{alice.primary_email_id()}").json()["code"] == "not_found"


@probe("bola_verified_contacts")
def _(http: httpx.Client) -> bool:
    alice, bob = new_user(http), new_user(http)
    verified = alice.add_verified_email(f"verified-{uuid.uuid4().hex[:8]}@example.com")
    return bob.get(f"user/emails/{verified['id']}").status_code == 404


@probe("removed_email_gone_code")
def _(http: httpx.Client) -> bool:
    user = new_user(http)
    added = user.add_email(f"removed-{uuid.uuid4().hex[:8]}@example.com")
    user.delete(f"user/emails/{added['id']}")
    return user.get(f"user/emails/{added['id']}").json()["code"] == "not_found"


@probe("favourites_per_page_400")
def _(http: httpx.Client) -> bool:
    return new_user(http).get("favourites", params={"per_page": 0}).status_code == 422


@probe("favourites_newest_first")
def _(http: httpx.Client) -> bool:
    user = new_user(http)
    for product in (11, 12):
        user.post("favourites", json={"product_id": product})
    ids = [item["id"] for item in user.get("favourites").json()["items"]]
    return ids == sorted(ids)


def _listed_in_order(http: httpx.Client, kind: str) -> bool:
    user = new_user(http)
    for n in range(2):
        if kind == "emails":
            user.add_email(f"order-{n}-{uuid.uuid4().hex[:8]}@example.com")
        else:
            user.add_phone(unique_phone())
    ids = [item["id"] for item in user.get(f"user/{kind}").json()["items"]]
    return len(ids) >= 2 and ids == sorted(ids)


@probe("emails_newest_first")
def _(http: httpx.Client) -> bool:
    return _listed_in_order(http, "emails")


@probe("phones_newest_first")
def _(http: httpx.Client) -> bool:
    return _listed_in_order(http, "phones")


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


# -- contact, pagination and profile faults ------------------------------------------------


@probe("bola_email_make_default")
def _(http: httpx.Client) -> bool:
    alice, bob = new_user(http), new_user(http)
    email = alice.add_email("bola-default@example.com")
    return bob.put(f"user/emails/{email['id']}/make-default").status_code == 404


@probe("bola_email_remove")
def _(http: httpx.Client) -> bool:
    alice, bob = new_user(http), new_user(http)
    email = alice.add_email("bola-remove@example.com")
    refused = bob.delete(f"user/emails/{email['id']}").status_code == 404
    return refused and alice.get(f"user/emails/{email['id']}").status_code == 200


@probe("bola_phone_read")
def _(http: httpx.Client) -> bool:
    alice, bob = new_user(http), new_user(http)
    phone = alice.add_phone(unique_phone())
    return bob.get(f"user/phones/{phone['id']}").status_code == 404


@probe("bola_phone_verify")
def _(http: httpx.Client) -> bool:
    alice, bob = new_user(http), new_user(http)
    phone = alice.add_phone(unique_phone())
    return bob.post(f"user/phones/{phone['id']}/verify", json={"token": "000000"}).status_code == 404


@probe("removed_email_readable")
def _(http: httpx.Client) -> bool:
    user = new_user(http)
    email = user.add_email("removed-read@example.com")
    user.delete(f"user/emails/{email['id']}")
    return user.get(f"user/emails/{email['id']}").status_code == 404


@probe("email_total_counts_removed")
def _(http: httpx.Client) -> bool:
    user = new_user(http)
    email = user.add_email("counted-once@example.com")
    user.delete(f"user/emails/{email['id']}")
    return user.get("user/emails").json()["total"] == 1  # the signup address only


@probe("first_phone_not_primary")
def _(http: httpx.Client) -> bool:
    return new_user(http).add_phone(unique_phone())["is_primary"] is True


@probe("unverified_primary_phone")
def _(http: httpx.Client) -> bool:
    user = new_user(http)
    user.add_phone(unique_phone())
    second = user.add_phone(unique_phone())
    return user.put(f"user/phones/{second['id']}/make-default").status_code == 409


@probe("wrong_token_verifies_phone")
def _(http: httpx.Client) -> bool:
    user = new_user(http)
    phone = user.add_phone(unique_phone())
    code = outbox_code(http, phone["phone_number"], "phone_verification")
    return user.post(f"user/phones/{phone['id']}/verify", json={"token": wrong_code(code)}).status_code == 400


@probe("primary_phone_removable")
def _(http: httpx.Client) -> bool:
    user = new_user(http)
    first = user.add_phone(unique_phone())
    user.add_phone(unique_phone())
    return user.delete(f"user/phones/{first['id']}").status_code == 409


@probe("phone_trunk_prefix_kept")
def _(http: httpx.Client) -> bool:
    national = unique_phone()  # "020 7946 xxxx"
    stored: str = new_user(http).add_phone(national)["phone_number"]
    return stored == "+44" + national.replace(" ", "")[1:]


@probe("pagination_bounds_400")
def _(http: httpx.Client) -> bool:
    return new_user(http).get("user/emails", params={"per_page": 101}).status_code == 422


@probe("profile_latest_phone")
def _(http: httpx.Client) -> bool:
    user = new_user(http)
    first = user.add_phone(unique_phone())
    user.add_phone(unique_phone())
    shown: str = user.get("users/me").json()["phone"]
    return shown == first["phone_number"]


@probe("validation_ignores_identity")
def _(http: httpx.Client) -> bool:
    body = new_user(http).get("user/profile-validation").json()
    return body["is_complete"] is False and "identity_verification" in body["missing"]


@probe("deep_page_refused")
def _(http: httpx.Client) -> bool:
    return new_user(http).get("user/phones", params={"page": 1_000_000}).status_code == 200


@probe("removal_not_saved")
def _(http: httpx.Client) -> bool:
    user = new_user(http)
    phone = user.add_phone(unique_phone())
    user.delete(f"user/phones/{phone['id']}")
    return user.get("user/phones").json()["total"] == 0


@probe("unverified_email_not_found")
def _(http: httpx.Client) -> bool:
    user = new_user(http)
    email = user.add_email("not-found-yet@example.com")
    response = user.put(f"user/emails/{email['id']}/make-default")
    return response.status_code == 409 and response.json()["code"] == "not_verified"


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


@probe("export_any_otp_accepted")
def _(http: httpx.Client) -> bool:
    user = new_user(http)
    otp = user.request_otp("export")
    return user.post("user/confirm-data-export", json={"otp": wrong_code(otp)}).status_code == 400


@probe("export_otp_reusable")
def _(http: httpx.Client) -> bool:
    user = new_user(http)
    otp = user.request_otp("export")
    user.post("user/confirm-data-export", json={"otp": otp})
    return user.post("user/confirm-data-export", json={"otp": otp}).status_code == 409


@probe("export_foreign_otp_accepted")
def _(http: httpx.Client) -> bool:
    alice, bob = new_user(http), new_user(http)
    while True:
        alices, bobs = alice.request_otp("export"), bob.request_otp("export")
        if alices != bobs:
            break
    return alice.post("user/confirm-data-export", json={"otp": bobs}).status_code == 400


@probe("export_stale_otp_accepted")
def _(http: httpx.Client) -> bool:
    user = new_user(http)
    old = user.request_otp("export")
    new = user.request_otp("export")
    while new == old:
        new = user.request_otp("export")
    return user.post("user/confirm-data-export", json={"otp": old}).status_code == 400


@probe("export_expired_otp_accepted")
def _(http: httpx.Client) -> bool:
    user = new_user(http)
    otp = user.request_otp("export")
    advance_clock(http, 601)
    return user.post("user/confirm-data-export", json={"otp": otp}).status_code == 400


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


# -- auth, isolation, favourites, FCM, GDPR, identity and routing faults ----------------------------


@probe("basic_challenge_for_basic")
def _(http: httpx.Client) -> bool:
    new_user(http)
    response = http.get("users/me", headers={"Authorization": "Basic a2VzazprZXNr"})
    return response.status_code == 401 and response.headers["www-authenticate"].startswith("Bearer ")


@probe("login_redirect_without_token")
def _(http: httpx.Client) -> bool:
    new_user(http)
    return http.get("users/me", headers={"Accept": "*/*"}).status_code == 401


@probe("challenge_missing_unless_json")
def _(http: httpx.Client) -> bool:
    new_user(http)
    return "www-authenticate" in http.get("users/me", headers={"Accept": "*/*"}).headers


@probe("fcm_refresh_with_unknown_token")
def _(http: httpx.Client) -> bool:
    body = {"fcm_token": "refresh-me", "platform": "ios"}
    new_user(http).post("account/fcm-tokens", json=body)
    return http.post("account/fcm-tokens", json=body, headers={"Authorization": "Bearer forged"}).status_code == 401


@probe("bola_favourites_list")
def _(http: httpx.Client) -> bool:
    alice, bob = new_user(http), new_user(http)
    alice.post("favourites", json={"product_id": 4242})
    return all(item["product_id"] != 4242 for item in bob.get("favourites").json()["items"])


@probe("bola_favourite_remove")
def _(http: httpx.Client) -> bool:
    alice, bob = new_user(http), new_user(http)
    alice.post("favourites", json={"product_id": 4343})
    refused = bob.delete("favourites/4343").status_code == 404
    return refused and any(item["product_id"] == 4343 for item in alice.get("favourites").json()["items"])


@probe("bola_fcm_unregister")
def _(http: httpx.Client) -> bool:
    alice, bob = new_user(http), new_user(http)
    alice.post("account/fcm-tokens", json={"fcm_token": "alices-device", "platform": "android"})
    refused = bob.delete("account/fcm-tokens/alices-device").status_code == 404
    return refused and alice.delete("account/fcm-tokens/alices-device").status_code == 200


@probe("favourites_list_stale")
def _(http: httpx.Client) -> bool:
    user = new_user(http)
    user.get("favourites")
    user.post("favourites", json={"product_id": 4444})
    return [item["product_id"] for item in user.get("favourites").json()["items"]] == [4444]


@probe("favourite_missing_bad_request")
def _(http: httpx.Client) -> bool:
    return new_user(http).delete("favourites/4545").status_code == 404


@probe("fcm_new_token_201")
def _(http: httpx.Client) -> bool:
    user = new_user(http)
    first = user.post("account/fcm-tokens", json={"fcm_token": "twice", "platform": "ios"})
    again = user.post("account/fcm-tokens", json={"fcm_token": "twice", "platform": "web"})
    return first.status_code == again.status_code == 200


@probe("fcm_platform_unchecked")
def _(http: httpx.Client) -> bool:
    body = {"fcm_token": "odd-platform", "platform": "windows"}
    return new_user(http).post("account/fcm-tokens", json=body).status_code == 422


@probe("deletion_grace_day_short")
def _(http: httpx.Client) -> bool:
    from datetime import datetime, timedelta

    user = new_user(http)
    body = user.post("user/confirm-account-deletion", json={"otp": user.request_otp("deletion")}).json()
    ahead = datetime.fromisoformat(body["scheduled_for"]) - datetime.fromisoformat(body["requested_at"])
    return abs(ahead - timedelta(days=30)) < timedelta(seconds=5)


@probe("gdpr_status_hides_unconfirmed")
def _(http: httpx.Client) -> bool:
    user = new_user(http)
    user.request_otp("deletion")
    return user.get("user/gdpr-status").json()["pending_deletion"] is not None


@probe("export_inline_disposition")
def _(http: httpx.Client) -> bool:
    user = new_user(http)
    response = user.get(f"user/download-export/{user.finished_export()}")
    return response.headers["content-disposition"].startswith("attachment;")


@probe("export_omits_primary_email")
def _(http: httpx.Client) -> bool:
    import json

    user = new_user(http)
    document = json.loads(user.get(f"user/download-export/{user.finished_export()}").json())
    return [email["email"] for email in document["emails"]] == [user.email]


@probe("export_traversal_error")
def _(http: httpx.Client) -> bool:
    return new_user(http).get("user/download-export/..%2Fetc%2Fpasswd").status_code == 404


@probe("idv_session_processing")
def _(http: httpx.Client) -> bool:
    return new_user(http).get("user/idv/verification-session").json()["status"] == "requires_input"


@probe("nfc_chip_always_failed")
def _(http: httpx.Client) -> bool:
    return new_user(http).post("user/idv/nfc/submit", json=nfc_payload(td3_mrz())).status_code == 200


@probe("nfc_failure_unverifies")
def _(http: httpx.Client) -> bool:
    user = new_user(http)
    user.post("user/idv/nfc/submit", json=nfc_payload(td3_mrz()))
    user.post("user/idv/nfc/submit", json=nfc_payload(with_bad_check_digit(td3_mrz())))
    return user.get("user/idv/verification-status").json()["nfc"]["status"] == "verified"


@probe("partial_allow_header")
def _(http: httpx.Client) -> bool:
    response = new_user(http).request("OPTIONS", "favourites")
    return response.status_code == 405 and response.headers["allow"] == "GET, POST"


@probe("sensitive_without_verified_email")
def _(http: httpx.Client) -> bool:
    body = http.post("_test/users", json={"email_verified": False}).json()
    headers = {"Authorization": f"Bearer {body['token']}"}
    paths = ("user/request-account-deletion", "user/request-data-export")
    answers = [http.post(path, json={}, headers=headers) for path in paths]
    return all(answer.status_code == 403 and answer.json()["code"] == "verification_required" for answer in answers)


@probe("email_added_twice")
def _(http: httpx.Client) -> bool:
    user = new_user(http)
    address = f"twice-{uuid.uuid4().hex[:8]}@example.com"
    user.add_email(address)
    again = user.post("user/emails", json={"email": address})
    return again.status_code == 409 and again.json()["code"] == "already_exists"


@probe("phone_duplicate_conflict_code")
def _(http: httpx.Client) -> bool:
    user = new_user(http)
    number = unique_phone()
    user.add_phone(number)
    again = user.post("user/phones", json={"phone_number": number, "country_code": "GB"})
    return again.status_code == 409 and again.json()["code"] == "already_exists"


def _token_after(http: httpx.Client, seconds: int) -> httpx.Response:
    user = new_user(http)
    address = f"aged-{uuid.uuid4().hex[:8]}@example.com"
    added = user.add_email(address)
    code = outbox_code(http, address, "email_verification")
    advance_clock(http, seconds)
    return user.post(f"user/emails/{added['id']}/verify", json={"token": code})


@probe("verify_token_lives_a_day_longer")
def _(http: httpx.Client) -> bool:
    answer = _token_after(http, 901)
    return answer.status_code == 400 and answer.json()["code"] == "code_expired"


@probe("verify_token_lives_five_minutes")
def _(http: httpx.Client) -> bool:
    return _token_after(http, 840).status_code == 200


def _burn(user: User, address: str) -> tuple[int, str]:
    added = user.add_email(address)
    code = outbox_code(user.http, address, "email_verification")
    for _ in range(5):
        user.post(f"user/emails/{added['id']}/verify", json={"token": wrong_code(code)})
    return int(added["id"]), code


@probe("burnt_token_invalid_code")
def _(http: httpx.Client) -> bool:
    user = new_user(http)
    email_id, code = _burn(user, f"burnt-{uuid.uuid4().hex[:8]}@example.com")
    answer = user.post(f"user/emails/{email_id}/verify", json={"token": code})
    return answer.status_code == 429 and answer.json()["code"] == "too_many_attempts"


@probe("readd_keeps_spent_attempts")
def _(http: httpx.Client) -> bool:
    user = new_user(http)
    address = f"readded-{uuid.uuid4().hex[:8]}@example.com"
    email_id, _ = _burn(user, address)
    user.delete(f"user/emails/{email_id}")
    again = user.add_email(address)
    code = outbox_code(http, address, "email_verification")
    return user.post(f"user/emails/{again['id']}/verify", json={"token": code}).status_code == 200


@probe("fcm_platform_not_updated")
def _(http: httpx.Client) -> bool:
    user = new_user(http)
    token = f"platform-{uuid.uuid4().hex}"
    user.post("account/fcm-tokens", json={"fcm_token": token, "platform": "android"})
    user.post("account/fcm-tokens", json={"fcm_token": token, "platform": "ios"})
    document = json.loads(user.get(f"user/download-export/{user.finished_export()}").json())
    return [device["platform"] for device in document["fcm_tokens"]] == ["ios"]


@probe("fcm_token_keeps_owner")
def _(http: httpx.Client) -> bool:
    alice, bob = new_user(http), new_user(http)
    token = f"moving-{uuid.uuid4().hex}"
    bob.post("account/fcm-tokens", json={"fcm_token": token, "platform": "web"})
    alice.post("account/fcm-tokens", json={"fcm_token": token, "platform": "android"})
    return bob.delete(f"account/fcm-tokens/{token}").status_code == 404


@probe("export_expires_a_day_early")
def _(http: httpx.Client) -> bool:
    user = new_user(http)
    filename = user.finished_export()
    advance_clock(http, 7 * 86400 - 60)
    return user.get(f"user/download-export/{filename}").status_code == 200


@probe("emails_absent_page_refused")
def _(http: httpx.Client) -> bool:
    return new_user(http).get("user/emails").status_code == 200


@probe("phones_default_per_page_ten")
def _(http: httpx.Client) -> bool:
    return new_user(http).get("user/phones").json()["per_page"] == 20


# -- race faults (race_faults.py): only requests that overlap see them ------------------------------------


def _at_once(*calls: Callable[[], httpx.Response]) -> list[int]:
    """The statuses of `calls` sent from threads released together (the race windows are 0.25 s wide)."""
    barrier = threading.Barrier(len(calls))

    def send(call: Callable[[], httpx.Response]) -> int:
        barrier.wait()
        return call().status_code

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(send, calls))


@probe("deletion_otp_race")
def _(http: httpx.Client) -> bool:
    user = new_user(http)
    otp = user.request_otp("deletion")
    statuses = _at_once(*[lambda: user.post("user/confirm-account-deletion", json={"otp": otp})] * 4)
    return statuses.count(200) == 1


@probe("export_otp_race")
def _(http: httpx.Client) -> bool:
    user = new_user(http)
    otp = user.request_otp("export")
    statuses = _at_once(*[lambda: user.post("user/confirm-data-export", json={"otp": otp})] * 4)
    return statuses.count(202) == 1


@probe("otp_attempts_race")
def _(http: httpx.Client) -> bool:
    user = new_user(http)
    otp = user.request_otp("deletion")
    statuses = _at_once(*[lambda: user.post("user/confirm-account-deletion", json={"otp": wrong_code(otp)})] * 6)
    return statuses.count(400) == 5  # x-kesk-limits otp_max_attempts: the sixth is refused 429


@probe("deletion_schedule_race")
def _(http: httpx.Client) -> bool:
    user = new_user(http)
    otp = user.request_otp("deletion")
    confirm = lambda: user.post("user/confirm-account-deletion", json={"otp": otp})  # noqa: E731
    statuses = _at_once(confirm, lambda: (time.sleep(0.05), user.post("user/cancel-account-deletion"))[1])
    pending = user.get("user/gdpr-status").json()["pending_deletion"]
    return not (statuses == [200, 200] and pending is not None)


def _verify_race_probe(kind: str) -> Probe:
    def check(http: httpx.Client) -> bool:
        user = new_user(http)
        if kind == "email":
            address = f"race-{uuid.uuid4().hex[:8]}@example.com"
            contact, path = user.add_email(address), "user/emails"
        else:
            contact, path = user.add_phone(unique_phone()), "user/phones"
            address = contact["phone_number"]
        code = outbox_code(http, address, f"{kind}_verification")
        verify = lambda token: user.post(f"{path}/{contact['id']}/verify", json={"token": token})  # noqa: E731
        statuses = _at_once(*[lambda: verify(wrong_code(code))] * 6)
        return statuses.count(400) == 5 and verify(code).status_code == 429  # 5 attempts (x-kesk-limits)

    return check


def _add_race_probe(kind: str) -> Probe:
    def check(http: httpx.Client) -> bool:
        user = new_user(http)
        if kind == "email":
            path, body = "user/emails", {"email": f"race-{uuid.uuid4().hex[:8]}@example.com"}
        elif kind == "phone":
            path, body = "user/phones", {"phone_number": unique_phone(), "country_code": "GB"}
        else:
            path, body = "favourites", {"product_id": 4242}
        statuses = _at_once(*[lambda: user.post(path, json=body)] * 4)
        return statuses.count(201) == 1

    return check


def _make_default_race_probe(kind: str) -> Probe:
    def check(http: httpx.Client) -> bool:
        user = new_user(http)
        path = "user/emails" if kind == "email" else "user/phones"
        ids = []
        for _ in range(3):
            if kind == "email":
                ids.append(user.add_verified_email(f"race-{uuid.uuid4().hex[:8]}@example.com")["id"])
            else:
                phone = user.add_phone(unique_phone())
                code = outbox_code(http, phone["phone_number"], "phone_verification")
                user.post(f"{path}/{phone['id']}/verify", json={"token": code})
                ids.append(phone["id"])
        _at_once(*[lambda i=i: user.put(f"{path}/{i}/make-default") for i in ids])
        return sum(item["is_primary"] for item in user.get(path).json()["items"]) == 1

    return check


def _remove_race_probe(kind: str) -> Probe:
    def check(http: httpx.Client) -> bool:
        user = new_user(http)
        if kind == "email":
            path, target = "user/emails", user.add_verified_email(f"race-{uuid.uuid4().hex[:8]}@example.com")["id"]
        else:
            path = "user/phones"
            user.add_phone(unique_phone())
            phone = user.add_phone(unique_phone())
            code = outbox_code(http, phone["phone_number"], "phone_verification")
            user.post(f"{path}/{phone['id']}/verify", json={"token": code})
            target = phone["id"]
        remove = lambda: user.delete(f"{path}/{target}")  # noqa: E731
        _at_once(remove, lambda: (time.sleep(0.05), user.put(f"{path}/{target}/make-default"))[1])
        return sum(item["is_primary"] for item in user.get(path).json()["items"]) == 1

    return check


@probe("fcm_register_race")
def _(http: httpx.Client) -> bool:
    user = new_user(http)
    body = {"fcm_token": f"race-{uuid.uuid4().hex}", "platform": "ios"}
    return _at_once(*[lambda: user.post("account/fcm-tokens", json=body)] * 4) == [200] * 4


PROBES.update(
    email_verify_race=_verify_race_probe("email"),
    phone_verify_race=_verify_race_probe("phone"),
    email_add_race=_add_race_probe("email"),
    phone_add_race=_add_race_probe("phone"),
    favourite_add_race=_add_race_probe("favourite"),
    email_make_default_race=_make_default_race_probe("email"),
    phone_make_default_race=_make_default_race_probe("phone"),
    email_remove_race=_remove_race_probe("email"),
    phone_remove_race=_remove_race_probe("phone"),
)


PROBES.update(TRANSITION_PROBES)  # the faults of reference_server/transition_faults.py

# The faults written by hand. Those generated from the contract have tests of their own: the misanswers
# (test_misanswers.py, one server for all), and the faults that rewrite whole answers (one per x-kesk-invariants
# rule, at hooks.BREAKING_BODY), proven on every answer of a recorded default run and a sample in real runs.
FAULT_NAMES = [
    fault.name for fault in CATALOGUE if fault.name not in GENERATED and fault.hook is not hooks.BREAKING_BODY
]
SERVER = Path(reference_server.__file__).parent
# The modules that declare behaviours; every other module of the server is a handler (or plumbing).
CATALOGUE_MODULES = {"hooks", "faults", "misanswers", "invariant_faults", "race_faults", "transition_faults"}


def test_each_fault_is_declared_once_and_names_its_requirements() -> None:
    assert len(FAULT_NAMES) == len(set(FAULT_NAMES))
    for fault in CATALOGUE:
        assert fault.description and fault.requirements and fault.hook in HOOKS
        assert all(re.fullmatch(r"[A-Z0-9]+(-[A-Z0-9]+)+", rid) for rid in fault.requirements)


def test_every_fault_has_a_probe() -> None:
    assert sorted(PROBES) == sorted(FAULT_NAMES)


@dataclass(frozen=True)
class HookUse:
    constant: str  # the name of the hook in hooks.py, e.g. CONTACT_GET_BODY
    where: str  # "<module>.<function>" around the use
    consulted: bool  # the first argument of a `.at(...)` call


def _hook_uses(module: str, tree: ast.Module) -> list[HookUse]:
    """Every `hooks.X` in one module, with the function it sits in and whether `.at()` consults it there."""
    consulted = {
        id(call.args[0])
        for call in ast.walk(tree)
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == "at" and call.args
    }
    # `.attached(hooks.X)` only asks whether a behaviour waits there (a layer stepping aside): no decision.
    asked = {
        id(call.args[0])
        for call in ast.walk(tree)
        if isinstance(call, ast.Call)
        and isinstance(call.func, ast.Attribute)
        and call.func.attr == "attached"
        and call.args
    }
    uses: list[HookUse] = []

    def visit(node: ast.AST, function: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                visit(child, child.name)
                continue
            if (
                isinstance(child, ast.Attribute)
                and isinstance(child.value, ast.Name)
                and child.value.id == "hooks"
                and id(child) not in asked
            ):
                uses.append(HookUse(child.attr, f"{module}.{function}", id(child) in consulted))
            visit(child, function)

    visit(tree, "<module>")
    return uses


def _handler_modules() -> dict[str, ast.Module]:
    return {
        path.stem: ast.parse(path.read_text(encoding="utf-8"))
        for path in sorted(SERVER.glob("*.py"))
        if path.stem not in CATALOGUE_MODULES
    }


def test_each_hook_is_consulted_once_in_the_function_its_name_gives() -> None:
    # Given every hook point declared in hooks.py
    declared = {name: value for name, value in vars(hooks).items() if isinstance(value, hooks.Hook)}
    assert set(declared.values()) == set(HOOKS)
    # When the handlers are read
    uses = [use for module, tree in _handler_modules().items() for use in _hook_uses(module, tree)]
    # Then each hook is named once, as the hook argument of a `.at()` call, inside the function it names
    assert sorted(use.constant for use in uses) == sorted(declared)
    assert [use for use in uses if not use.consulted] == []
    assert {use.constant: use.where for use in uses} == {name: hook.where for name, hook in declared.items()}


def test_handlers_import_no_hook_point_by_name() -> None:
    # `from .hooks import CONTACT_GET_BODY` would hide a use from the test above.
    for module, tree in _handler_modules().items():
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "hooks":
                imported = {alias.name for alias in node.names}
                assert not imported & {name for name, value in vars(hooks).items() if value in HOOKS}, module


def test_no_handler_names_a_fault() -> None:
    # Given the handler modules (everything but the catalogues, the app that builds the fault set,
    # the state that carries it and the CLI that lists it)
    plumbing = {"app", "state", "cli", "__init__"}
    for module, tree in _handler_modules().items():
        # Then no string in them is a fault name, and no handler reaches for the fault set
        strings = {node.value for node in ast.walk(tree) if isinstance(node, ast.Constant)}
        assert not strings & set(FAULT_NAMES), module
        if module in plumbing:
            continue
        attributes = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
        assert "faults" not in attributes and "active" not in attributes, module
        imports = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert "faults" not in imports, module


def test_a_hook_without_switched_on_behaviour_passes_the_value_through() -> None:
    board = Switchboard(())
    assert board.at(hooks.FAVOURITE_ADD_STATUS, 201, None) == 201


def test_only_the_switched_on_faults_at_a_hook_act() -> None:
    # Given the two pagination faults, which share a hook, and an unrelated one
    faults = FaultSet.of(["pagination_drops_item", "pagination_repeats_item", "cancel_noop"]).faults
    board = Switchboard(faults)
    # When the second page of 10 is read for each contact kind
    emails = board.at(hooks.CONTACT_LIST_WINDOW, (10, 10), hooks.ContactCall("email"))
    phones = board.at(hooks.CONTACT_LIST_WINDOW, (10, 10), hooks.ContactCall("phone"))
    first_page = board.at(hooks.CONTACT_LIST_WINDOW, (0, 10), hooks.ContactCall("email"))
    # Then each fault changes its own kind only, and only after the first page
    assert (emails, phones, first_page) == ((11, 9), (9, 10), (0, 10))
    assert board.at(hooks.DELETION_CANCEL_CANCELS, True, None) is False
    assert board.at(hooks.FAVOURITE_ADD_STATUS, 201, None) == 201


def test_a_variant_is_the_same_kind_of_object_at_the_same_hooks() -> None:
    # Given a behaviour the contract would allow (the shape issue 10's variants take), next to a fault
    @dataclass(slots=True, frozen=True)
    class Variant(Behaviour[V, C]):
        pass

    smaller_pages = Variant(
        name="short_pages",
        description="listUserEmails serves at most 5 items a page.",
        requirements=("PAGINATION-WALK",),
        hook=hooks.CONTACT_LIST_WINDOW,
        apply=lambda window, call: (window[0], min(window[1], 5)),
    )
    board = Switchboard([*FaultSet.of(["pagination_drops_item"]).faults, smaller_pages])
    # Then both act at the hook, in the order given
    assert board.at(hooks.CONTACT_LIST_WINDOW, (10, 10), hooks.ContactCall("email")) == (11, 5)


def test_unknown_fault_names_are_refused() -> None:
    with pytest.raises(
        UnknownFaultError, match=r"unknown fault 'two_primary'; did you mean two_primaries.*faults` lists"
    ):
        FaultSet.of(["two_primary"])


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


def test_an_answer_fault_rewrites_the_answer_the_client_reads() -> None:
    # Given a server whose profile validation breaks VALIDATION-COMPLETE (is_complete against missing)
    with running_server(faults=["invariant_validation_complete"]) as url, httpx.Client(base_url=url + "/") as client:
        user = new_user(client)
        # When a new user (nothing complete yet) reads it
        body = user.get("user/profile-validation").json()
    # Then is_complete no longer agrees with missing, and everything else still matches the schema
    assert body["missing"] and body["is_complete"] is True


def test_answer_faults_name_the_invariant_they_break() -> None:
    answer_faults = [fault for fault in CATALOGUE if fault.hook is hooks.BREAKING_BODY]
    spec = yaml.safe_load((SERVER.parent / "spec" / "openapi.yaml").read_text(encoding="utf-8"))
    pointers = {
        f"spec:/components/schemas/{name}/x-kesk-invariants/{index}"
        for name, schema in spec["components"]["schemas"].items()
        for index, _ in enumerate(schema.get("x-kesk-invariants", []))
    }
    assert sorted(breaks for fault in answer_faults for breaks in fault.breaks) == sorted(pointers)
    assert all(fault.requirements == ("SCHEMA-INVARIANTS",) for fault in answer_faults)
