"""Every conformant variant really shows its behaviour, the clean server does not, and every answer
of a variant server stays valid against the contract.

The mirror of test_server_faults.py: each probe returns True when the server shows the variant's
behaviour. The same probe runs against the clean server (must be False) and against a server with
just that variant switched on (must be True). Then one scripted walk through the 30 operations runs
against each variant, and every answer it gets is checked against spec/openapi.yaml by a validator
written here from the contract alone (not the server's own reading of it).
"""

from __future__ import annotations

import itertools
import json
import re
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import openapi_schema_validator as osv
import pytest
import yaml
from rs_helpers import User, new_user, nfc_payload, outbox_code, td3_mrz, unique_phone, wrong_code

from reference_server.app import create_app
from reference_server.breaking import BreakingLayer
from reference_server.embedded import running_server
from reference_server.variants import CATALOGUE, UnknownVariantError, VariantSet, variant_names

ROOT = Path(__file__).resolve().parents[2]
SPEC = yaml.safe_load((ROOT / "spec" / "openapi.yaml").read_text(encoding="utf-8"))
VARIANT_NAMES = [variant.name for variant in CATALOGUE]

Probe = Callable[[httpx.Client], bool]
PROBES: dict[str, Probe] = {}
# Variants whose only sign is timing: the clean server is not probed (a slow machine would show "latency" too).
TIMING_ONLY = {"latency"}


def probe(name: str) -> Callable[[Probe], Probe]:
    def register(function: Probe) -> Probe:
        PROBES[name] = function
        return function

    return register


# -- probes ---------------------------------------------------------------------------------


@probe("ids_large_sparse")
def _(http: httpx.Client) -> bool:
    user = new_user(http)
    first, second = (
        user.add_email(f"a-{uuid.uuid4().hex[:8]}@example.com"),
        user.add_email(f"b-{uuid.uuid4().hex[:8]}@example.com"),
    )
    return 2**31 < user.user_id < 2**53 and second["id"] - first["id"] > 1


@probe("ids_above_2_53")
def _(http: httpx.Client) -> bool:
    user = new_user(http)
    return user.user_id > 2**53 and user.get("users/me").json()["id"] == user.user_id


@probe("unknown_members")
def _(http: httpx.Client) -> bool:
    user = new_user(http)
    emails = user.get("user/emails").json()
    nfc = user.post("user/idv/nfc/submit", json=nfc_payload(td3_mrz())).json()
    return "kesk_trace" in emails and "kesk_trace" in emails["items"][0] and "kesk_trace" in nfc["checks"]


@probe("unordered_lists_reversed")
def _(http: httpx.Client) -> bool:
    missing = new_user(http).get("user/profile-validation").json()["missing"]
    return len(missing) > 1 and missing[0] == "identity_verification"


@probe("profile_names_set")
def _(http: httpx.Client) -> bool:
    me = new_user(http).get("users/me").json()
    return me["display_name"] is not None and me["avatar_url"] is not None


@probe("messages_localised")
def _(http: httpx.Client) -> bool:
    message = new_user(http).get("user/emails/999999").json()["message"]
    return bool(set(message) & set("äöÄÖ"))


def _created_at(http: httpx.Client) -> str:
    return str(new_user(http).get("users/me").json()["created_at"])


@probe("timestamp_plus_zero")
def _(http: httpx.Client) -> bool:
    return _created_at(http).endswith("+00:00")


@probe("timestamp_offset")
def _(http: httpx.Client) -> bool:
    created = _created_at(http)
    now = datetime.fromisoformat(http.get("_test/clock").json()["now"].replace("Z", "+00:00"))
    # The same instant as the server's clock, spelt in +02:00.
    return created.endswith("+02:00") and abs((datetime.fromisoformat(created) - now).total_seconds()) < 60


@probe("timestamp_nanoseconds")
def _(http: httpx.Client) -> bool:
    return re.search(r"\.\d{9}(Z|[+-]\d\d:\d\d)$", _created_at(http)) is not None


@probe("uuid_v7")
def _(http: httpx.Client) -> bool:
    answer = new_user(http).post("user/request-data-export", json={})
    return uuid.UUID(answer.json()["request_id"]).version == 7


@probe("export_filename_long")
def _(http: httpx.Client) -> bool:
    user = new_user(http)
    filename = user.finished_export()
    token = filename.removeprefix("kesk-export-").removesuffix(".json")
    download = user.get(f"user/download-export/{filename}")
    disposition = download.headers.get("content-disposition", "")
    return len(token) == 64 and download.status_code == 200 and filename in disposition


@probe("json_whitespace")
def _(http: httpx.Client) -> bool:
    return "\r\n\t" in new_user(http).get("users/me").text


PROFILE_MEMBERS = list(SPEC["components"]["schemas"]["MyProfileResponse"]["properties"])


@probe("json_member_order")
def _(http: httpx.Client) -> bool:
    members = list(new_user(http).get("users/me").json())
    return sorted(members) == sorted(PROFILE_MEMBERS) and members != PROFILE_MEMBERS


@probe("json_escaped")
def _(http: httpx.Client) -> bool:
    refused = new_user(http).post("user/emails", content=b"{}", headers={"Content-Type": "text/plain"})
    return (
        refused.content.isascii()
        and "application\\/json" in refused.text
        and refused.json()["message"].startswith("Send the body as application/json")
    )


@probe("media_type_compact")
def _(http: httpx.Client) -> bool:
    return new_user(http).get("users/me").headers["content-type"] == "application/json;charset=UTF-8"


@probe("media_type_mixed_case")
def _(http: httpx.Client) -> bool:
    return new_user(http).get("users/me").headers["content-type"] == 'Application/JSON; Charset="utf-8"'


@probe("bearer_error_parameters")
def _(http: httpx.Client) -> bool:
    bad = http.get("users/me", headers={"Authorization": "Bearer not-a-token"})
    missing = http.get("users/me")
    challenge = bad.headers["www-authenticate"]
    return (
        bad.status_code == 401
        and challenge.startswith('Bearer realm="kesk", error="invalid_token"')
        and 'error_description="' in challenge
        and "error=" not in missing.headers["www-authenticate"]  # RFC 6750 3.1: no error info without a token
    )


@probe("extra_headers")
def _(http: httpx.Client) -> bool:
    headers = new_user(http).get("users/me").headers
    return "x-request-id" in headers and headers.get("cache-control") == "no-store"


@probe("rate_limited")
def _(http: httpx.Client) -> bool:
    user = new_user(http)
    answers = [user.get("user/profile-validation") for _ in range(13)]
    limited = [i for i, answer in enumerate(answers) if answer.status_code == 429]
    return (
        bool(limited)
        and all(b - a > 1 for a, b in itertools.pairwise(limited))  # never twice in a row
        and all(
            answers[i].headers.get("retry-after") == "1" and answers[i].json()["code"] == "rate_limited"
            for i in limited
        )
        and all(answer.status_code in (200, 429) for answer in answers)
    )


@probe("latency")
def _(http: httpx.Client) -> bool:
    user = new_user(http)
    started = time.perf_counter()
    for _ in range(16):
        user.get("users/me")
    return time.perf_counter() - started >= 0.072  # two cycles of 1..8 ms of added delay


@probe("gzip")
def _(http: httpx.Client) -> bool:
    user = new_user(http)
    packed = user.get("users/me", headers={"Accept-Encoding": "gzip"})
    plain = user.get("users/me", headers={"Accept-Encoding": "identity"})
    return (
        packed.headers.get("content-encoding") == "gzip"
        and packed.json()["id"] == user.user_id
        and "content-encoding" not in plain.headers
    )


@probe("chunked")
def _(http: httpx.Client) -> bool:
    headers = new_user(http).get("users/me").headers
    return headers.get("transfer-encoding") == "chunked" and "content-length" not in headers


@probe("connection_close")
def _(http: httpx.Client) -> bool:
    user = new_user(http)
    url = urlsplit(str(http.base_url))
    request = (
        f"GET {url.path}users/me HTTP/1.1\r\nHost: {url.hostname}\r\nAuthorization: Bearer {user.token}\r\n\r\n"
    ).encode()
    with socket.create_connection((url.hostname, url.port), timeout=2) as sock:
        sock.sendall(request)
        received = b""
        try:
            while chunk := sock.recv(65536):  # b"" once the server closed the connection
                received += chunk
        except TimeoutError:
            return False  # still open after the answer: kept alive
    return b"\r\nconnection: close\r\n" in received.lower()


# -- the catalogue ---------------------------------------------------------------------------


def test_catalogue_has_at_least_twelve_variants_each_quoting_its_clause() -> None:
    assert len(VARIANT_NAMES) == len(set(VARIANT_NAMES)) >= 12
    assert variant_names() == tuple(VARIANT_NAMES)
    for variant in CATALOGUE:
        assert re.fullmatch(r"[a-z0-9]+(_[a-z0-9]+)*", variant.name)
        assert variant.description.endswith(".")
        # allowed_by names its source and quotes it
        assert re.search(r"spec/openapi\.yaml|RFC \d+|OpenAPI 3\.0\.3", variant.allowed_by), variant.name
        assert variant.allowed_by.count('"') >= 2, variant.name


def test_every_variant_has_a_probe() -> None:
    assert sorted(PROBES) == sorted(VARIANT_NAMES)


def test_unknown_variant_names_are_refused() -> None:
    with pytest.raises(UnknownVariantError, match="unknown variant 'no_such_variant'; valid variants: "):
        create_app(variants=["no_such_variant"])
    with pytest.raises(UnknownVariantError):
        VariantSet.of(["gzip", "nope"])


def test_a_clean_app_has_no_rewriting_layer() -> None:
    app = create_app()
    try:
        # Only the fault layer, which passes every request through while no fault is attached to it
        assert [m.cls for m in app.user_middleware] == [BreakingLayer] and app.state.variants == ()
    finally:
        app.state.server.db.close()


def test_id_variants_leave_nothing_in_a_database_file(tmp_path: Path) -> None:
    # Given a file database served once with sparse ids
    db = str(tmp_path / "kesk.sqlite")
    app = create_app(db=db, variants=["ids_large_sparse"])
    app.state.server.db.close()
    # When it is opened again without the variant
    app = create_app(db=db)
    try:
        with app.state.server.db.transaction() as conn:
            triggers = conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall()
            sequence = dict(conn.execute("SELECT name, seq FROM sqlite_sequence").fetchall())
    finally:
        app.state.server.db.close()
    # Then the gaps' triggers are gone (they were TEMP) and the ids keep their high start
    assert triggers == []
    assert sequence["users"] > 2**31


# -- each variant shows its behaviour; the clean server does not -------------------------------


@pytest.fixture(scope="module")
def clean_http() -> Iterator[httpx.Client]:
    with running_server() as url, httpx.Client(base_url=url + "/", timeout=10) as client:
        yield client


@pytest.mark.parametrize("name", sorted(set(VARIANT_NAMES) - TIMING_ONLY))
def test_the_clean_server_does_not_show_the_variant(name: str, clean_http: httpx.Client) -> None:
    assert PROBES[name](clean_http) is False


@pytest.mark.parametrize("name", VARIANT_NAMES)
def test_the_variant_shows_its_behaviour(name: str) -> None:
    with running_server(variants=[name]) as url, httpx.Client(base_url=url + "/", timeout=10) as http:
        assert PROBES[name](http) is True


# -- every answer of every variant is valid against the contract -------------------------------


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = SPEC
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _media_type(text: str) -> tuple[str, dict[str, str]]:
    """RFC 9110 8.3.1: type/subtype and parameters, names case-folded, quoted values unquoted."""
    kind, *parameters = text.split(";")
    values = {}
    for parameter in parameters:
        name, _, value = parameter.strip().partition("=")
        values[name.strip().lower()] = value.strip().strip('"')
    return kind.strip().lower(), values


OPERATIONS = [
    (method.upper(), re.compile("^/v1" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$"), item[method])
    for path, item in SPEC["paths"].items()
    for method in ("get", "post", "put", "delete")
    if method in item
]


def _operation(request: httpx.Request) -> dict[str, Any] | None:
    return next(
        (op for method, path, op in OPERATIONS if method == request.method and path.match(request.url.path)), None
    )


def contract_problems(response: httpx.Response) -> list[str]:
    """What in this answer the contract does not allow (empty: a valid answer)."""
    request = response.request
    where = f"{request.method} {request.url.path} -> {response.status_code}"
    operation = _operation(request)
    if operation is None:
        return []  # test support, or a path the contract does not have: nothing to judge by
    documented = operation["responses"].get(str(response.status_code))
    if documented is None:
        return [f"{where}: status not documented"]
    documented = _resolve(documented)
    problems = []
    for name, header in (documented.get("headers") or {}).items():
        header = _resolve(header)
        value = response.headers.get(name)
        if value is None:
            if header.get("required"):
                problems.append(f"{where}: header {name} missing")
            continue
        schema = header["schema"]
        if schema.get("type") == "integer":
            if not re.fullmatch(r"[0-9]+", value):
                problems.append(f"{where}: header {name}={value!r} is not an integer")
        elif "pattern" in schema and not re.search(schema["pattern"], value):
            problems.append(f"{where}: header {name}={value!r} does not match {schema['pattern']}")
    content = documented.get("content") or {}
    if not content:
        return problems
    media_type, parameters = _media_type(response.headers.get("content-type", ""))
    # A documented media type matches when type, subtype and parameters do, the charset case-insensitively.
    same = (media_type, {**parameters, "charset": parameters.get("charset", "").lower()})
    key = next((k for k in content if _media_type(k) == same), None)
    if key is None:
        return [*problems, f"{where}: Content-Type {response.headers.get('content-type')!r} not documented"]
    body = json.loads(response.text)
    problems += [f"{where}: {problem}" for problem in _schema_problems(content[key]["schema"], body)]
    document = documented.get("x-kesk-document-schema")
    if document is not None and isinstance(body, str):
        problems += [f"{where}: document {problem}" for problem in _schema_problems(document, json.loads(body))]
    return problems


def _schema_problems(schema: dict[str, Any], instance: Any) -> list[str]:
    """Violations of a response schema of the contract (its $refs resolved in the contract), as read by a client."""
    rooted = {**schema, "components": SPEC["components"]}  # "#/components/..." resolves against this root
    validator = osv.OAS30ReadValidator(rooted, format_checker=osv.oas30_format_checker)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(instance)]


class Recorder:
    """Sends requests through one user's token; checks every answer; sends a rate-limited one again."""

    def __init__(self, http: httpx.Client, user: User) -> None:
        self.http = http
        self.user = user
        self.problems: list[str] = []
        self.statuses: list[int] = []
        self.judged = 0  # answers of a contract operation, checked against it

    def __call__(self, method: str, path: str, *, token: bool = True, **kwargs: Any) -> httpx.Response:
        headers = {**(self.user.headers if token else {}), **kwargs.pop("headers", {})}
        for _ in range(3):
            response = self.http.request(method, path, headers=headers, **kwargs)
            self.problems += contract_problems(response)
            self.judged += _operation(response.request) is not None
            self.statuses.append(response.status_code)
            if response.status_code != 429 or response.json().get("code") != "rate_limited":
                return response
        return response


def walk_the_api(http: httpx.Client) -> Recorder:
    """Every operation, in success and in refusal, for two users."""
    alice, bob = new_user(http), new_user(http)
    api, other = Recorder(http, alice), Recorder(http, bob)
    api("GET", "users/me")
    api("GET", "user/profile-validation")
    api("GET", "users/me", token=False)
    api("GET", "users/me", headers={"Authorization": "Bearer nope"})
    # emails
    api("POST", "user/emails", json={"email": f"jörö-{uuid.uuid4().hex[:8]}@example.com"})
    address = f"jo-{uuid.uuid4().hex[:8]}@example.com"
    added = api("POST", "user/emails", json={"email": address}).json()
    api("POST", "user/emails", json={"email": address})
    api("POST", "user/emails", content=b"{not json", headers={"Content-Type": "application/json"})
    api("POST", "user/emails", content=b"{}", headers={"Content-Type": "text/plain"})
    api("POST", "user/emails", json={"email": "no-at-sign"})
    api("GET", "user/emails", params={"per_page": 1})
    api("GET", "user/emails", params={"per_page": 1000})
    api("GET", f"user/emails/{added['id']}")
    other("GET", f"user/emails/{added['id']}")
    code = outbox_code(http, address, "email_verification")
    api("POST", f"user/emails/{added['id']}/verify", json={"token": wrong_code(code)})
    api("PUT", f"user/emails/{added['id']}/make-default")
    api("POST", f"user/emails/{added['id']}/verify", json={"token": code})
    api("PUT", f"user/emails/{added['id']}/make-default")
    api("DELETE", f"user/emails/{added['id']}")
    first = next(e for e in api("GET", "user/emails").json()["items"] if e["id"] != added["id"])
    api("DELETE", f"user/emails/{first['id']}")
    # phones
    phone = api("POST", "user/phones", json={"phone_number": unique_phone(), "country_code": "GB"}).json()
    api("GET", "user/phones")
    api("GET", f"user/phones/{phone['id']}")
    api("POST", f"user/phones/{phone['id']}/verify", json={"token": "000000"})
    api("PUT", f"user/phones/{phone['id']}/make-default")
    api("DELETE", f"user/phones/{phone['id']}")
    api("GET", f"user/phones/{phone['id']}")
    # favourites and push tokens
    api("POST", "favourites", json={"product_id": 1001})
    api("POST", "favourites", json={"product_id": 1001})
    api("GET", "favourites")
    api("DELETE", "favourites/1001")
    api("DELETE", "favourites/1001")
    api("POST", "account/fcm-tokens", json={"fcm_token": "tok:abc-1", "platform": "ios"})
    api("DELETE", "account/fcm-tokens/tok:abc-1")
    api("DELETE", "account/fcm-tokens/tok:abc-1")
    # identity
    api("GET", "user/idv/verification-session")
    api("POST", "user/idv/nfc/submit", json=nfc_payload(td3_mrz()))
    api("POST", "user/idv/nfc/submit", json={"mrz": "x"})
    api("GET", "user/idv/verification-status")
    # data export, whole
    api("POST", "user/request-data-export", json={})
    otp = outbox_code(http, address, "data_export")  # the primary email since make-default
    api("POST", "user/confirm-data-export", json={"otp": wrong_code(otp)})
    confirmed = api("POST", "user/confirm-data-export", json={"otp": otp}).json()
    filename = None
    for _ in range(500):
        exports = api("GET", "user/gdpr-status").json()["recent_exports"]
        ready = [e for e in exports if e["request_id"] == confirmed["request_id"] and e["status"] == "ready"]
        if ready:
            filename = ready[0]["filename"]
            break
        time.sleep(0.01)
    assert filename is not None, "the export never became ready"
    api("GET", f"user/download-export/{filename}")
    other("GET", f"user/download-export/{filename}")
    api("GET", "user/download-export/kesk-export-" + "A" * 43 + ".json")
    # deletion with an OTP, then cancelled; permanent deletion of the other user
    api("POST", "user/request-account-deletion", json={"reason": "testing"})
    otp = outbox_code(http, address, "account_deletion")
    api("POST", "user/confirm-account-deletion", json={"otp": otp})
    api("GET", "user/gdpr-status")
    api("POST", "user/cancel-account-deletion")
    api("POST", "user/cancel-account-deletion")
    other("POST", "account/delete", json={"password": "wrong"})
    other("POST", "account/delete", json={"password": bob.password})
    other("GET", "users/me")
    api.problems += other.problems
    api.statuses += other.statuses
    api.judged += other.judged
    return api


def test_the_walk_is_valid_on_the_clean_server(clean_http: httpx.Client) -> None:
    walked = walk_the_api(clean_http)
    assert walked.problems == []
    assert walked.judged == len(walked.statuses) > 55


@pytest.mark.parametrize("name", VARIANT_NAMES)
def test_every_answer_of_the_variant_is_valid_against_the_contract(name: str) -> None:
    with running_server(variants=[name]) as url, httpx.Client(base_url=url + "/", timeout=10) as http:
        walked = walk_the_api(http)
    assert walked.problems == []
    assert walked.judged == len(walked.statuses) > 55


def test_every_answer_with_all_variants_at_once_is_valid_against_the_contract() -> None:
    with running_server(variants=VARIANT_NAMES) as url, httpx.Client(base_url=url + "/", timeout=10) as http:
        walked = walk_the_api(http)
    assert walked.problems == []
    assert 429 in walked.statuses


def test_non_ascii_text_is_escaped_when_both_variants_are_on() -> None:
    # Given a server with non-ASCII names (the reference server writes none of its own) and escaped JSON
    with running_server(variants=["profile_names_set", "json_escaped"]) as url:
        answer = new_user(httpx.Client(base_url=url + "/", timeout=10)).get("users/me")
    # Then the bytes are ASCII and the text is the same
    assert answer.content.isascii() and "\\u00d6" in answer.text
    assert answer.json()["last_name"] == "Öhman"
    assert answer.json()["avatar_url"].startswith("https://") and "\\/" in answer.text


def test_the_validator_sees_a_broken_answer() -> None:
    # Given an answer the contract forbids (is_primary missing, an undocumented media type)
    request = httpx.Request("GET", "http://x/v1/user/emails/5")
    body = {"id": 5, "email": "a@example.com", "is_verified": True, "verified_at": None, "created_at": "x"}
    broken = httpx.Response(
        200,
        content=json.dumps(body).encode(),
        headers={"Content-Type": "application/json; charset=utf-8"},
        request=request,
    )
    wrong_type = httpx.Response(200, content=b"{}", headers={"Content-Type": "text/plain"}, request=request)
    # Then the validator says so
    assert any("is_primary" in problem for problem in contract_problems(broken))
    assert contract_problems(wrong_type) == ["GET /v1/user/emails/5 -> 200: Content-Type 'text/plain' not documented"]


# -- the command line -----------------------------------------------------------------------------


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "conformance.cli", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=ROOT, check=False)


def test_variants_command_lists_the_catalogue_as_json() -> None:
    done = _cli("variants", "--json")
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert [row["name"] for row in rows] == VARIANT_NAMES
    assert all(set(row) == {"name", "description", "allowed_by"} for row in rows)
    plain = _cli("variants")
    assert plain.returncode == 0 and len(plain.stdout.splitlines()) == len(VARIANT_NAMES)


@pytest.mark.parametrize("command", [["serve", "--variant", "nope"], ["run", "--variant", "nope", "--quiet"]])
def test_an_unknown_variant_is_one_line_and_exit_2(command: list[str], tmp_path: Path) -> None:
    extra = ["--report-dir", str(tmp_path)] if command[0] == "run" else []
    done = _cli(*command, *extra)
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and "unknown variant 'nope'" in done.stderr


def test_run_refuses_a_variant_for_another_server(tmp_path: Path) -> None:
    done = _cli("run", "--base-url", "http://127.0.0.1:9/v1", "--token", "t", "--variant", "gzip")
    assert done.returncode == 2
    assert "--variant applies to the bundled reference server only" in done.stderr
