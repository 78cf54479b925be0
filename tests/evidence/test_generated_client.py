"""Evidence: the Python client openapi-generator builds from spec/openapi.yaml works against the reference server.

The client (`-g python`, package `kesk_client`) is generated once per module, imported into this
process, and driven through all 30 operations of `UserApi` in the order an app would use them:
every answer must come back as the generated model the spec documents (so every body
deserialised), and documented errors must come back as the generated `ApiException` subclasses
with an `ErrorResponse` body. The set of operations answered is compared with the spec's
operationIds.
"""

from __future__ import annotations

import importlib
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
import yaml
from hypothesis import HealthCheck, find, settings
from pydantic import ValidationError

from reference_server.embedded import running_server
from strategies import nfc_data_group_mismatches, nfc_submissions, phone_number_is_valid

ROOT = Path(__file__).resolve().parents[2]
SPEC_PATH = ROOT / "spec" / "openapi.yaml"
SEARCH_PATH = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
PACKAGE = "kesk_client"
_EXPORT_TIMEOUT_S = 15.0

pytestmark = pytest.mark.slow


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def spec_operations() -> dict[str, str]:
    """Generated method name -> operationId, for every operation under `paths` (links excluded)."""
    with SPEC_PATH.open(encoding="utf-8") as fh:
        spec = yaml.safe_load(fh)
    ids = [op["operationId"] for item in spec["paths"].values() for op in item.values() if isinstance(op, dict)]
    return {snake(op_id): op_id for op_id in ids}


@pytest.fixture(scope="module")
def client_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("java") is None:
        pytest.skip("java is not installed (openapi-generator needs Java 17+)")
    generator = shutil.which("openapi-generator-cli", path=SEARCH_PATH)
    if generator is None:
        pytest.skip("openapi-generator-cli is not installed (pip install openapi-generator-cli)")
    out = tmp_path_factory.mktemp(PACKAGE)
    proc = subprocess.run(
        [
            generator, "generate", "-g", "python", "-i", str(SPEC_PATH), "-o", str(out),
            "--package-name", PACKAGE,
            "--global-property", "apiDocs=false,modelDocs=false,apiTests=false,modelTests=false",
        ],
        capture_output=True, text=True, timeout=600, env={**os.environ, "PATH": SEARCH_PATH},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def kc(client_dir: Path) -> Iterator[ModuleType]:
    """The generated package, imported here; sys.path and sys.modules are restored afterwards."""
    assert PACKAGE not in sys.modules, "another kesk_client is already imported"
    sys.path.insert(0, str(client_dir))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(client_dir))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(PACKAGE + ".")]:
            del sys.modules[name]


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:  # not `base_url`: pytest-base-url owns that fixture name
    with running_server() as url:
        yield url


class Server:
    """The reference server's test-support endpoints (users, outbox), outside the product contract."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def new_user(self) -> dict[str, Any]:
        response = httpx.post(f"{self.base_url}/_test/users", timeout=10)
        assert response.status_code == 201, response.text
        return response.json()

    def code(self, address: str, purpose: str) -> str:
        """The newest code the server sent to `address` for `purpose`."""
        response = httpx.get(
            f"{self.base_url}/_test/outbox", params={"address": address, "purpose": purpose}, timeout=10
        )
        assert response.status_code == 200, response.text
        messages = response.json()["messages"]
        assert messages, f"nothing in the outbox for {purpose} to {address}"
        return str(messages[-1]["code"])


class RecordingApi:
    """Wraps `UserApi`: every method that returns (i.e. whose answer deserialised) is recorded."""

    def __init__(self, api: Any, answered: set[str]) -> None:
        self._api = api
        self._answered = answered

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self._api, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            result = method(*args, **kwargs)
            self._answered.add(name)
            return result

        return call


def user_api(kc: ModuleType, base_url: str, token: str, answered: set[str] | None = None) -> Any:
    configuration = kc.Configuration(host=base_url, access_token=token)
    api = kc.UserApi(kc.ApiClient(configuration))
    return api if answered is None else RecordingApi(api, answered)


def valid_nfc_submission() -> dict[str, Any]:
    """One valid NfcIdentityVerificationRequest body, drawn (and shrunk) by the strategies package."""
    return find(
        nfc_submissions(),
        lambda submission: not nfc_data_group_mismatches(submission),
        settings=settings(database=None, max_examples=50, suppress_health_check=list(HealthCheck)),
    )


def test_generated_client_calls_every_operation_and_deserialises_every_answer(kc: ModuleType, server_url: str) -> None:
    # Given: a user with a verified primary email, driven through the generated client
    server = Server(server_url)
    user = server.new_user()
    answered: set[str] = set()
    api = user_api(kc, server_url, user["token"], answered)

    # Emails: add -> verify with the emailed token -> make default -> get -> list -> remove the old one
    new_email = f"second-{user['user_id']}@example.com"
    added = api.add_user_email(kc.CreateUserEmailRequest(email=new_email))
    assert isinstance(added, kc.UserEmailResponse)
    assert (added.email, added.is_verified, added.is_primary, added.verified_at) == (new_email, False, False, None)
    token = server.code(new_email, "email_verification")
    verified = api.verify_user_email(added.id, kc.VerificationTokenRequest(token=token))
    assert isinstance(verified, kc.UserEmailResponse)
    assert verified.id == added.id and verified.is_verified is True and verified.verified_at is not None
    primary = api.set_primary_user_email(added.id)
    assert isinstance(primary, kc.UserEmailResponse)
    assert primary.is_primary is True
    fetched = api.get_user_email(added.id)
    assert isinstance(fetched, kc.UserEmailResponse)
    assert (fetched.email, fetched.is_verified, fetched.is_primary) == (new_email, True, True)
    emails = api.list_user_emails(page=1, per_page=20)
    assert isinstance(emails, kc.PaginatedResponseUserEmailResponse)
    assert all(isinstance(item, kc.UserEmailResponse) for item in emails.items)
    assert (emails.total, len(emails.items), emails.page, emails.per_page, emails.total_pages) == (2, 2, 1, 20, 1)
    assert [item.email for item in emails.items if item.is_primary] == [new_email]
    (old_email,) = [item for item in emails.items if item.id != added.id]
    assert old_email.email == user["email"]
    removed = api.remove_user_email(old_email.id)
    assert isinstance(removed, kc.MessageResponse)
    assert removed.message
    assert api.list_user_emails().total == 1

    # Phones: the first number becomes primary; add a second, verify it, make it default, drop the first
    first_input = {"phone_number": "0401234567", "country_code": "FI"}
    second_input = {"phone_number": "050 123 4567", "country_code": "FI"}
    assert all(phone_number_is_valid(p["phone_number"], p["country_code"]) for p in (first_input, second_input))
    first = api.add_user_phone(kc.CreateUserPhoneNumberRequest(**first_input))
    assert isinstance(first, kc.UserPhoneNumberResponse)
    assert (first.phone_number, first.country_code, first.is_primary, first.is_verified) == (
        "+358401234567", "FI", True, False,
    )  # fmt: skip
    second = api.add_user_phone(kc.CreateUserPhoneNumberRequest(**second_input))
    assert isinstance(second, kc.UserPhoneNumberResponse)
    assert (second.phone_number, second.is_primary, second.is_verified) == ("+358501234567", False, False)
    token = server.code(second.phone_number, "phone_verification")
    verified_phone = api.verify_user_phone(second.id, kc.VerificationTokenRequest(token=token))
    assert isinstance(verified_phone, kc.UserPhoneNumberResponse)
    assert verified_phone.is_verified is True and verified_phone.verified_at is not None
    primary_phone = api.set_primary_user_phone(second.id)
    assert isinstance(primary_phone, kc.UserPhoneNumberResponse)
    assert primary_phone.is_primary is True
    fetched_phone = api.get_user_phone(second.id)
    assert isinstance(fetched_phone, kc.UserPhoneNumberResponse)
    assert (fetched_phone.phone_number, fetched_phone.is_verified, fetched_phone.is_primary) == (
        "+358501234567", True, True,
    )  # fmt: skip
    phones = api.list_user_phones(page=1, per_page=1)
    assert isinstance(phones, kc.PaginatedResponseUserPhoneNumberResponse)
    assert (phones.total, len(phones.items), phones.per_page, phones.total_pages) == (2, 1, 1, 2)
    assert isinstance(phones.items[0], kc.UserPhoneNumberResponse) and phones.items[0].id == first.id
    removed_phone = api.remove_user_phone(first.id)
    assert isinstance(removed_phone, kc.MessageResponse)
    assert [p.id for p in api.list_user_phones().items] == [second.id]

    # Favourites: add -> list -> remove
    added_favourite = api.add_favourite_product(kc.AddFavouriteProductInput(product_id=1001))
    assert isinstance(added_favourite, kc.MessageResponse)
    favourites = api.list_favourite_products()
    assert isinstance(favourites, kc.PaginatedResponseFavourite)
    assert (favourites.total, favourites.page, favourites.per_page, favourites.total_pages) == (1, 1, 20, 1)
    assert isinstance(favourites.items[0], kc.Favourite) and favourites.items[0].product_id == 1001
    removed_favourite = api.remove_favourite_product(1001)
    assert isinstance(removed_favourite, kc.MessageResponse)
    assert api.list_favourite_products().total == 0

    # Push tokens: register -> unregister
    fcm_token = "dQw4w9WgXcQ:APA91bHun4MxP5egoKMwt2KZFBaFUH-1RYqx"
    registered = api.register_fcm_token(kc.RegisterFcmTokenRequest(fcm_token=fcm_token, platform=kc.Platform.ANDROID))
    assert isinstance(registered, kc.GenericSuccess)
    assert registered.success is True
    unregistered = api.unregister_fcm_token(fcm_token)
    assert isinstance(unregistered, kc.GenericSuccess)
    assert unregistered.success is True

    # Profile and its validation reflect the new primary email and phone
    profile = api.get_my_profile()
    assert isinstance(profile, kc.MyProfileResponse)
    assert (profile.id, profile.email, profile.email_verified) == (user["user_id"], new_email, True)
    assert (profile.phone, profile.phone_verified, profile.identity_verified) == ("+358501234567", True, False)
    validation = api.get_profile_validation()
    assert isinstance(validation, kc.ProfileValidationResponse)
    assert (validation.email_verified, validation.phone_verified, validation.identity_verified) == (True, True, False)
    assert validation.has_primary_email is True and validation.has_primary_phone is True
    assert validation.is_complete is (not validation.missing)

    # Account deletion: request -> OTP from the primary email -> confirm -> status -> cancel
    requested = api.request_account_deletion({"reason": "Trying the generated client."})
    assert isinstance(requested, kc.AccountDeletionResponse)
    assert requested.status == "pending_confirmation" and requested.otp_expires_at is not None
    otp = server.code(new_email, "account_deletion")
    scheduled = api.confirm_account_deletion(kc.ConfirmAccountDeletionPayload(otp=otp))
    assert isinstance(scheduled, kc.AccountDeletionResponse)
    assert scheduled.request_id == requested.request_id
    assert scheduled.status == "scheduled" and scheduled.scheduled_for is not None
    assert (scheduled.scheduled_for - scheduled.requested_at).days == scheduled.grace_period_days == 30
    status = api.get_gdpr_status()
    assert isinstance(status, kc.GdprStatusResponse)
    assert isinstance(status.pending_deletion, kc.AccountDeletionResponse)
    assert (status.pending_deletion.request_id, status.pending_deletion.status) == (requested.request_id, "scheduled")
    cancelled = api.cancel_account_deletion()
    assert isinstance(cancelled, kc.AccountDeletionResponse)
    assert cancelled.status == "cancelled"

    # Data export: request -> OTP -> confirm -> poll the GDPR status until ready -> download
    export = api.request_data_export({"format": "json"})
    assert isinstance(export, kc.DataExportResponse)
    assert (export.status, export.format, export.filename) == ("pending_confirmation", "json", None)
    otp = server.code(new_email, "data_export")
    queued = api.confirm_data_export(kc.ConfirmDataExportPayload(otp=otp))
    assert isinstance(queued, kc.DataExportResponse)
    assert queued.request_id == export.request_id and queued.status in {"queued", "processing", "ready"}
    deadline = time.monotonic() + _EXPORT_TIMEOUT_S
    while True:
        status = api.get_gdpr_status()
        assert isinstance(status, kc.GdprStatusResponse)
        assert status.pending_deletion is None
        newest = status.recent_exports[0]
        assert isinstance(newest, kc.DataExportResponse) and newest.request_id == export.request_id
        if newest.status == "ready":
            break
        assert newest.status in {"queued", "processing"}
        assert time.monotonic() < deadline, f"the export is still {newest.status}"
        time.sleep(0.05)
    assert newest.filename and newest.file_expires_at is not None
    document_text = api.download_export(newest.filename)
    assert isinstance(document_text, str)
    document = kc.ExportDocument.from_json(document_text)
    assert isinstance(document, kc.ExportDocument)
    assert [e.email for e in document.emails] == [new_email]
    assert [p.phone_number for p in document.phones] == ["+358501234567"]

    # Identity: a Stripe session, the status, then a valid NFC passport submission
    session = api.app_create_verification_session()
    assert isinstance(session, kc.VerificationSession)
    assert session.session_id and session.client_secret and session.expires_at > session.created_at
    before = api.app_get_verification_status()
    assert isinstance(before, kc.VerificationStatusResponse)
    assert before.is_verified is False
    assert isinstance(before.stripe, kc.StripeVerificationState) and isinstance(before.nfc, kc.NfcVerificationState)
    submission = kc.NfcIdentityVerificationRequest.from_dict(valid_nfc_submission())
    nfc = api.app_submit_nfc_verification(submission)
    assert isinstance(nfc, kc.NfcIdentityVerificationResponse)
    after = api.app_get_verification_status()
    assert isinstance(after, kc.VerificationStatusResponse)
    assert after.is_verified is True and after.nfc.status == "verified" and after.nfc.verified_at is not None
    assert api.get_profile_validation().identity_verified is True

    # Finally: a disposable user deletes their account with the password; the token is dead afterwards
    disposable = server.new_user()
    disposable_api = user_api(kc, server_url, disposable["token"], answered)
    result = disposable_api.delete_account(kc.DeleteAccountRequest(password=disposable["password"]))
    assert isinstance(result, kc.DeleteAccountResult)
    assert result.deleted is True and result.deleted_at is not None
    with pytest.raises(kc.exceptions.UnauthorizedException) as dead:
        user_api(kc, server_url, disposable["token"]).get_my_profile()
    assert dead.value.status == 401

    # Then: every operation of the spec was called and its answer deserialised
    operations = spec_operations()
    assert len(operations) == 30
    assert sorted(answered) == sorted(operations), {
        "not called": sorted(operations.keys() - answered),
        "not in the spec": sorted(answered - operations.keys()),
    }


def test_generated_client_raises_its_exceptions_with_error_bodies(kc: ModuleType, server_url: str) -> None:
    # Given
    server = Server(server_url)
    user = server.new_user()
    api = user_api(kc, server_url, user["token"])

    def error(call: Callable[[], Any], exception: type[Exception], status: int, code: str) -> None:
        with pytest.raises(exception) as raised:
            call()
        assert raised.value.status == status
        assert isinstance(raised.value.data, kc.ErrorResponse), raised.value.body
        assert raised.value.data.code == code and raised.value.data.message

    # When / Then: each documented error comes back as the generated exception with an ErrorResponse
    error(lambda: api.get_user_email(999_999), kc.exceptions.NotFoundException, 404, "not_found")
    stranger = user_api(kc, server_url, "not-a-token")
    error(stranger.get_my_profile, kc.exceptions.UnauthorizedException, 401, "unauthorized")
    wrong_password = kc.DeleteAccountRequest(password=user["password"] + "x")
    error(lambda: api.delete_account(wrong_password), kc.exceptions.ForbiddenException, 403, "invalid_password")
    favourite = kc.AddFavouriteProductInput(product_id=7)
    assert isinstance(api.add_favourite_product(favourite), kc.MessageResponse)
    error(lambda: api.add_favourite_product(favourite), kc.exceptions.ConflictException, 409, "already_exists")
    wrong_otp = kc.ConfirmDataExportPayload(otp="000000")
    error(lambda: api.confirm_data_export(wrong_otp), kc.exceptions.ConflictException, 409, "no_pending_request")
    # And the account is untouched by the rejected deletion
    assert user_api(kc, server_url, user["token"]).get_my_profile().id == user["user_id"]


@pytest.mark.parametrize(
    ("fault", "operation"),
    [("missing_required_field", "get_user_email"), ("wrong_field_type", "get_my_profile")],
)
def test_generated_client_refuses_an_answer_that_breaks_the_schema(kc: ModuleType, fault: str, operation: str) -> None:
    # Given: a server with a seeded response-schema fault, so "deserialised" above is not a formality
    with running_server(faults=[fault]) as url:
        server = Server(url)
        user = server.new_user()
        api = user_api(kc, url, user["token"])
        args = [api.list_user_emails().items[0].id] if operation == "get_user_email" else []

        # When / Then: the generated model refuses the body
        with pytest.raises(ValidationError):
            getattr(api, operation)(*args)
