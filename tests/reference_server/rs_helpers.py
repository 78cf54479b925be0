"""Helpers for the reference-server tests: users, outbox codes, the clock, ICAO TD3 passports."""

from __future__ import annotations

import base64
import hashlib
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from reference_server.mrz import check_digit

JSON_TYPE = "application/json; charset=utf-8"


@dataclass
class User:
    """One disposable user of a running server; requests carry the user's bearer token."""

    http: httpx.Client
    user_id: int
    token: str
    password: str
    email: str
    headers: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.headers = {"Authorization": f"Bearer {self.token}"}

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return self.http.request(method, path.lstrip("/"), headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", path, **kwargs)

    # -- flows used by many tests -------------------------------------------------
    def primary_email_id(self) -> int:
        items = self.get("user/emails").json()["items"]
        return int(next(item["id"] for item in items if item["is_primary"]))

    def add_email(self, address: str) -> dict[str, Any]:
        response = self.post("user/emails", json={"email": address})
        assert response.status_code == 201, response.text
        return response.json()  # type: ignore[no-any-return]

    def add_verified_email(self, address: str) -> dict[str, Any]:
        email = self.add_email(address)
        code = outbox_code(self.http, address, "email_verification")
        response = self.post(f"user/emails/{email['id']}/verify", json={"token": code})
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    def add_phone(self, number: str, country: str = "GB") -> dict[str, Any]:
        response = self.post("user/phones", json={"phone_number": number, "country_code": country})
        assert response.status_code == 201, response.text
        return response.json()  # type: ignore[no-any-return]

    def request_otp(self, kind: str) -> str:
        """Open a deletion or export request and return the OTP the server mailed."""
        path, purpose = {
            "deletion": ("user/request-account-deletion", "account_deletion"),
            "export": ("user/request-data-export", "data_export"),
        }[kind]
        response = self.post(path, json={})
        assert response.status_code == 202, response.text
        return outbox_code(self.http, self.email, purpose)

    def finished_export(self) -> str:
        """Run a whole data export and return the ready file's name."""
        otp = self.request_otp("export")
        response = self.post("user/confirm-data-export", json={"otp": otp})
        assert response.status_code == 202, response.text
        request_id = response.json()["request_id"]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            exports = self.get("user/gdpr-status").json()["recent_exports"]
            export = next(e for e in exports if e["request_id"] == request_id)
            if export["status"] == "ready":
                return str(export["filename"])
            time.sleep(0.01)
        raise AssertionError("the export never became ready")


def new_user(http: httpx.Client) -> User:
    response = http.post("_test/users")
    assert response.status_code == 201, response.text
    body = response.json()
    return User(http, body["user_id"], body["token"], body["password"], body["email"])


def outbox_code(http: httpx.Client, address: str, purpose: str) -> str:
    messages = http.get("_test/outbox", params={"address": address, "purpose": purpose}).json()["messages"]
    assert messages, f"no {purpose} message for {address}"
    return str(messages[-1]["code"])


def advance_clock(http: httpx.Client, seconds: int) -> None:
    assert http.post("_test/clock/advance", json={"seconds": seconds}).status_code == 200


def wrong_code(right: str) -> str:
    return f"{(int(right) + 1) % 1_000_000:06d}"


_phone_counter = iter(range(10_000))


def unique_phone() -> str:
    """A valid GB number (020 7946 xxxx is Ofcom's drama range) unique within the test session."""
    return f"020 7946 {next(_phone_counter):04d}"


# -- ICAO 9303 TD3 passports ---------------------------------------------------------
def td3_mrz(
    *,
    document_number: str = "L898902C3",
    birth_date: str = "740812",
    expiry_date: str = "351231",
    personal_number: str = "ZE184226B<<<<<",
    country: str = "UTO",
) -> str:
    """A TD3 MRZ with correct check digits (ICAO 9303 part 4 layout)."""
    line1 = f"P<{country}ERIKSSON<<ANNA<MARIA".ljust(44, "<")
    doc = document_number.ljust(9, "<")
    personal = personal_number.ljust(14, "<")
    line2_head = (
        doc
        + check_digit(doc)
        + country
        + birth_date
        + check_digit(birth_date)
        + "F"
        + expiry_date
        + check_digit(expiry_date)
        + personal
        + check_digit(personal)
    )
    composite = line2_head[0:10] + line2_head[13:20] + line2_head[21:43]
    line2 = line2_head + check_digit(composite)
    assert len(line1) == len(line2) == 44
    return f"{line1}\n{line2}"


def nfc_payload(mrz: str, *, chip_result: str = "succeeded", algorithm: str = "SHA-256") -> dict[str, Any]:
    """A consistent NFC submission: DG1 carries the MRZ, every hash matches."""
    groups = {"DG1": mrz.replace("\n", "").encode("ascii"), "DG2": b"\xff\xd8 face image"}
    digest = {"SHA-256": hashlib.sha256, "SHA-384": hashlib.sha384, "SHA-512": hashlib.sha512}[algorithm]
    return {
        "mrz": mrz,
        "data_groups": {name: base64.b64encode(data).decode() for name, data in groups.items()},
        "security_object": {
            "hash_algorithm": algorithm,
            "data_group_hashes": {name: digest(data).hexdigest() for name, data in groups.items()},
        },
        "chip_authentication": {
            "method": "chip_authentication",
            "result": chip_result,
            "public_key": base64.b64encode(b"public key").decode(),
        },
    }


def with_bad_check_digit(mrz: str) -> str:
    """The same MRZ with the document-number check digit changed."""
    line1, line2 = mrz.split("\n")
    bad = str((int(line2[9]) + 1) % 10)
    return f"{line1}\n{line2[:9]}{bad}{line2[10:]}"


def tampered(payload: dict[str, Any]) -> dict[str, Any]:
    """DG2 replaced after the security object was signed."""
    changed = dict(payload)
    changed["data_groups"] = dict(payload["data_groups"], DG2=base64.b64encode(b"another face").decode())
    return changed


# -- the 30 operations: (operationId, method, path, body) ------------------------------
OPERATIONS: list[tuple[str, str, str, dict[str, Any] | None]] = [
    ("addFavouriteProduct", "POST", "favourites", {"product_id": 1}),
    ("listFavouriteProducts", "GET", "favourites", None),
    ("removeFavouriteProduct", "DELETE", "favourites/1", None),
    ("addUserEmail", "POST", "user/emails", {"email": "a@example.com"}),
    ("listUserEmails", "GET", "user/emails", None),
    ("getUserEmail", "GET", "user/emails/1", None),
    ("verifyUserEmail", "POST", "user/emails/1/verify", {"token": "123456"}),
    ("setPrimaryUserEmail", "PUT", "user/emails/1/make-default", None),
    ("removeUserEmail", "DELETE", "user/emails/1", None),
    ("addUserPhone", "POST", "user/phones", {"phone_number": "020 7946 0001", "country_code": "GB"}),
    ("listUserPhones", "GET", "user/phones", None),
    ("getUserPhone", "GET", "user/phones/1", None),
    ("verifyUserPhone", "POST", "user/phones/1/verify", {"token": "123456"}),
    ("setPrimaryUserPhone", "PUT", "user/phones/1/make-default", None),
    ("removeUserPhone", "DELETE", "user/phones/1", None),
    ("registerFcmToken", "POST", "account/fcm-tokens", {"fcm_token": "abc", "platform": "ios"}),
    ("unregisterFcmToken", "DELETE", "account/fcm-tokens/abc", None),
    ("getMyProfile", "GET", "users/me", None),
    ("getProfileValidation", "GET", "user/profile-validation", None),
    ("requestAccountDeletion", "POST", "user/request-account-deletion", {}),
    ("confirmAccountDeletion", "POST", "user/confirm-account-deletion", {"otp": "123456"}),
    ("cancelAccountDeletion", "POST", "user/cancel-account-deletion", None),
    ("requestDataExport", "POST", "user/request-data-export", {}),
    ("confirmDataExport", "POST", "user/confirm-data-export", {"otp": "123456"}),
    ("downloadExport", "GET", f"user/download-export/kesk-export-{'a' * 43}.json", None),
    ("getGdprStatus", "GET", "user/gdpr-status", None),
    ("deleteAccount", "POST", "account/delete", {"password": "x"}),
    ("appCreateVerificationSession", "GET", "user/idv/verification-session", None),
    ("appGetVerificationStatus", "GET", "user/idv/verification-status", None),
    ("appSubmitNfcVerification", "POST", "user/idv/nfc/submit", {}),
]
