"""Per-test control of the reference server through the test-support contract: reset, faults and
variants switched at run time, fixtures, the clock, the outbox's purpose enum, and secrets that
never start with '-'.

Each test that changes server-wide state gets a server of its own (never the session's shared one).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import openapi_schema_validator as osv
import pytest
import yaml
from rs_helpers import User, advance_clock, new_user, outbox_code

from reference_server.cli import new_user_main
from reference_server.embedded import running_server
from reference_server.faults import CATALOGUE as FAULTS
from reference_server.state import CHANNELS, PURPOSES
from reference_server.users import new_secret

ROOT = Path(__file__).resolve().parents[2]
TEST_SUPPORT = yaml.safe_load((ROOT / "spec" / "test-support.yaml").read_text(encoding="utf-8"))
EXAMPLE_FIXTURE = ROOT / "spec" / "examples" / "fixture.json"


@pytest.fixture
def server() -> Iterator[httpx.Client]:
    """A server of this test's own: resets and switches must not reach other tests' users."""
    with running_server() as url, httpx.Client(base_url=url + "/", timeout=10) as client:
        yield client


def _problems(schema_name: str, instance: Any) -> list[str]:
    """Violations of a schema of spec/test-support.yaml, its $refs resolved there."""
    rooted = {"$ref": f"#/components/schemas/{schema_name}", "components": TEST_SUPPORT["components"]}
    validator = osv.OAS30Validator(rooted, format_checker=osv.oas30_format_checker)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(instance)]


def _server_time(http: httpx.Client) -> datetime:
    return datetime.fromisoformat(http.get("_test/clock").json()["now"])


# -- reset ------------------------------------------------------------------------------------


def test_reset_drops_every_users_data_and_puts_the_clock_back(server: httpx.Client) -> None:
    # Given a user with a favourite, a device, a phone awaiting verification and a finished export,
    # on a server whose clock has moved a day on
    user = new_user(server)
    assert user.post("favourites", json={"product_id": 7}).status_code == 201
    assert user.post("account/fcm-tokens", json={"fcm_token": "dev-1", "platform": "ios"}).status_code == 200
    user.add_phone("020 7946 0123")
    filename = user.finished_export()
    advance_clock(server, 86400)
    # When the server is reset
    response = server.post("_test/reset")
    # Then it answers its switches and a clock back at real time
    assert response.status_code == 200, response.text
    body = response.json()
    assert not _problems("ResetResult", body)
    assert body["faults"] == [] and body["variants"] == []
    assert abs((datetime.fromisoformat(body["now"]) - datetime.now(UTC)).total_seconds()) < 60
    assert abs((_server_time(server) - datetime.now(UTC)).total_seconds()) < 60
    # and nothing of the user is left: its token, its messages, its export file
    assert user.get("users/me").status_code == 401
    assert server.get("_test/outbox").json() == {"messages": []}
    assert user.get(f"user/download-export/{filename}").status_code == 401
    # and ids go on counting, so an old id never names a new user's resource
    assert new_user(server).user_id > user.user_id
    # and the same device token and phone number may be registered again
    again = new_user(server)
    assert again.post("account/fcm-tokens", json={"fcm_token": "dev-1", "platform": "ios"}).status_code == 200
    again.add_phone("020 7946 0123")


def test_reset_deletes_the_export_files(tmp_path: Path) -> None:
    # Given a server whose export directory holds a finished export and a fixture's
    with running_server(export_dir=str(tmp_path)) as url, httpx.Client(base_url=url + "/", timeout=10) as http:
        new_user(http).finished_export()
        assert http.post("_test/fixtures", json={"users": [{"exports": [{}]}]}).status_code == 201
        assert len(list(tmp_path.glob("kesk-export-*.json"))) == 2
        # When it is reset
        assert http.post("_test/reset").status_code == 200
        # Then both files are gone
        assert list(tmp_path.glob("kesk-export-*.json")) == []


def test_reset_restores_the_start_up_faults_and_variants() -> None:
    # Given a server started with one fault and one variant, then switched to others
    start_fault, other_fault = FAULTS[0].name, FAULTS[1].name
    with (
        running_server(faults=[start_fault], variants=["extra_headers"]) as url,
        httpx.Client(base_url=url + "/", timeout=10) as http,
    ):
        assert http.put("_test/faults", json={"faults": [other_fault]}).status_code == 200
        assert http.put("_test/variants", json={"variants": []}).status_code == 200
        # When it is reset
        body = http.post("_test/reset").json()
        # Then the start-up set is back, and the variant shows again
        assert body["faults"] == [start_fault] and body["variants"] == ["extra_headers"]
        assert http.get("_test/faults").json()["faults"] == [start_fault]
        assert "x-request-id" in http.get("_test/clock").headers


# -- faults and variants at run time ----------------------------------------------------------


def test_a_fault_switched_on_acts_from_the_next_request_and_off_again(server: httpx.Client) -> None:
    user = new_user(server)
    # Given the clean server answers 201 to an add
    assert user.post("favourites", json={"product_id": 1}).status_code == 201
    # When undocumented_status is switched on
    response = server.put("_test/faults", json={"faults": ["undocumented_status"]})
    # Then the answer names it, and the next add answers 200
    assert response.status_code == 200, response.text
    assert response.json()["faults"] == ["undocumented_status"]
    assert not _problems("FaultSwitches", response.json())
    assert user.post("favourites", json={"product_id": 2}).status_code == 200
    # When the set is replaced by an empty one, the add answers 201 again
    assert server.put("_test/faults", json={"faults": []}).json()["faults"] == []
    assert user.post("favourites", json={"product_id": 3}).status_code == 201


def test_the_fault_set_is_replaced_whole(server: httpx.Client) -> None:
    # When two faults are switched on, then one other
    server.put("_test/faults", json={"faults": ["undocumented_status", "favourite_duplicate"]})
    body = server.put("_test/faults", json={"faults": ["favourite_duplicate"]}).json()
    # Then only the last set is on, and every catalogue fault is offered
    assert body["faults"] == ["favourite_duplicate"]
    assert body["available"] == [fault.name for fault in FAULTS]
    user = new_user(server)
    assert user.post("favourites", json={"product_id": 4}).status_code == 201


@pytest.mark.parametrize("kind", ["faults", "variants"])
def test_unknown_names_answer_422_naming_each_one_and_switch_nothing(server: httpx.Client, kind: str) -> None:
    # Given one known name of the kind switched on
    known = server.get(f"_test/{kind}").json()["available"][0]
    assert server.put(f"_test/{kind}", json={kind: [known]}).status_code == 200
    # When a set with an unknown name and a non-string is sent
    response = server.put(f"_test/{kind}", json={kind: [known, "no_such_name", 3]})
    # Then 422 names both, in the ErrorResponse shape, and the known set stays on
    assert response.status_code == 422
    body = response.json()
    assert not _problems("Error", body)
    assert body["code"] == "validation_failed"
    assert [d["field"] for d in body["details"]] == [f"{kind}[1]", f"{kind}[2]"]
    assert "'no_such_name'" in body["details"][0]["message"]
    assert server.get(f"_test/{kind}").json()[kind] == [known]


@pytest.mark.parametrize("kind", ["faults", "variants"])
@pytest.mark.parametrize("body", [{}, {"faults": "x", "variants": "x"}, {"faults": None, "variants": None}])
def test_a_set_that_is_not_a_list_is_refused(server: httpx.Client, kind: str, body: dict[str, Any]) -> None:
    response = server.put(f"_test/{kind}", json=body)
    assert response.status_code == 422
    assert [d["field"] for d in response.json()["details"]] == [kind]


def test_a_variant_switched_on_rewrites_the_next_answer_and_off_again(server: httpx.Client) -> None:
    # Given the clean server writes compact JSON
    assert "\r\n" not in server.get("_test/clock").text
    # When json_whitespace is switched on
    response = server.put("_test/variants", json={"variants": ["json_whitespace"]})
    assert response.status_code == 200, response.text
    assert json.loads(response.text)["variants"] == ["json_whitespace"]
    assert not _problems("VariantSwitches", json.loads(response.text))
    # Then the next answer is spread over CRLF lines, and compact again once it is off
    assert "\r\n" in server.get("_test/clock").text
    server.put("_test/variants", json={"variants": []})
    assert "\r\n" not in server.get("_test/clock").text


def test_the_id_variants_switch_on_and_off_at_run_time(server: httpx.Client) -> None:
    # When ids_large_sparse is switched on, new ids start above 2**31 and leave gaps
    server.put("_test/variants", json={"variants": ["ids_large_sparse"]})
    first, second = new_user(server).user_id, new_user(server).user_id
    assert first > 2**31 and second > first + 1
    # When it is switched off, ids are consecutive again (its triggers are gone)
    server.put("_test/variants", json={"variants": []})
    third, fourth = new_user(server).user_id, new_user(server).user_id
    assert fourth == third + 1 and third > second


# -- fixtures ----------------------------------------------------------------------------------


def test_the_example_fixture_follows_its_schema() -> None:
    assert not _problems("Fixture", json.loads(EXAMPLE_FIXTURE.read_text(encoding="utf-8")))


def test_loading_the_example_fixture_creates_its_users(server: httpx.Client) -> None:
    # When the example fixture is loaded
    response = server.post(
        "_test/fixtures", content=EXAMPLE_FIXTURE.read_bytes(), headers={"Content-Type": "application/json"}
    )
    # Then every user comes back, in order, with the given credentials or generated ones
    assert response.status_code == 201, response.text
    body = response.json()
    assert not _problems("LoadedFixture", body)
    anna, ben, bare = body["users"]
    assert [anna["key"], ben["key"], bare["key"]] == ["anna", "ben", "no-contacts"]
    assert anna["token"] == "kt-anna-3f0e2a4c8b1d4e6f9a7b2c5d8e1f4a6b" and anna["password"] == "pw-anna-9b2c4d6e1f3a"
    assert anna["email"] == "anna@example.com" and bare["email"] is None
    assert not ben["token"].startswith("-") and not ben["password"].startswith("-")
    user = User(server, anna["user_id"], anna["token"], anna["password"], anna["email"])
    # and Anna's contacts, favourites and exports are there as the fixture says
    emails = user.get("user/emails").json()["items"]
    assert [(e["email"], e["is_verified"], e["is_primary"]) for e in emails] == [
        ("anna@example.com", True, True),
        ("anna.work@example.org", False, False),
    ]
    phones = user.get("user/phones").json()["items"]
    assert [(p["phone_number"], p["is_verified"], p["is_primary"]) for p in phones] == [("+358401234567", True, True)]
    favourites = user.get("favourites").json()["items"]
    assert [f["product_id"] for f in favourites] == [1001, 1002, 1003]
    exports = user.get("user/gdpr-status").json()["recent_exports"]
    assert sorted(e["status"] for e in exports) == ["expired", "ready"]
    fresh, old = anna["exports"]
    download = user.get(f"user/download-export/{fresh}")
    assert download.status_code == 200
    assert json.loads(download.json())["emails"][0]["email"] == "anna@example.com"
    assert user.get(f"user/download-export/{old}").status_code == 410
    # and her device token is registered (it cannot be registered again by another user's fixture)
    assert user.delete("account/fcm-tokens/fcm-anna-android-1").status_code in (200, 204)
    # and the unverified addresses have their verification token in the outbox
    ben_user = User(server, ben["user_id"], ben["token"], ben["password"], ben["email"])
    token = outbox_code(server, "ben@example.com", "email_verification")
    primary = ben_user.primary_email_id()
    assert ben_user.post(f"user/emails/{primary}/verify", json={"token": token}).status_code == 200
    outbox_code(server, "anna.work@example.org", "email_verification")


def test_a_fixture_clashing_with_stored_data_answers_409_and_loads_nothing(server: httpx.Client) -> None:
    # Given the example fixture loaded once
    fixture = json.loads(EXAMPLE_FIXTURE.read_text(encoding="utf-8"))
    assert server.post("_test/fixtures", json=fixture).status_code == 201
    # When it is loaded again, with one new user first
    fixture["users"].insert(0, {"key": "new", "token": "kt-new-user", "emails": [{"email": "new@example.com"}]})
    response = server.post("_test/fixtures", json=fixture)
    # Then 409 names every clash (emails, phone, token, device), and the new user was not created
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "already_exists" and not _problems("Error", body)
    fields = [d["field"] for d in body["details"]]
    assert "users[1].emails[0]" in fields and "users[1].token" in fields
    assert "users[1].phones[0]" in fields and "users[1].fcm_tokens[0]" in fields
    assert not any(field.startswith("users[0].") for field in fields)
    assert server.get("users/me", headers={"Authorization": "Bearer kt-new-user"}).status_code == 401


@pytest.mark.parametrize(
    ("fixture", "fields"),
    [
        ([], ["fixture"]),
        ({}, ["users"]),
        ({"users": [{"emial": []}]}, ["users[0].emial"]),
        ({"users": [{"emails": [{"email": "not-an-address"}]}]}, ["users[0].emails[0].email"]),
        (
            {
                "users": [
                    {
                        "emails": [
                            {"email": "a@example.com", "primary": True},
                            {"email": "b@example.com", "primary": True},
                        ]
                    }
                ]
            },
            ["users[0].emails"],
        ),
        ({"users": [{"phones": [{"phone_number": "020 7946 0123"}]}]}, ["users[0].phones[0].country_code"]),
        ({"users": [{"token": "-"}, {"token": "two words"}]}, ["users[1].token"]),
        ({"users": [{"key": "a"}, {"key": "a"}]}, ["users[1].key"]),
        (
            {"users": [{"emails": [{"email": "x@example.com"}]}, {"emails": [{"email": "X@example.com"}]}]},
            ["users[1].emails[0]"],
        ),
        (
            {"users": [{"favourites": [1, 1, 0, "2"]}]},
            ["users[0].favourites[1]", "users[0].favourites[2]", "users[0].favourites[3]"],
        ),
        ({"users": [{"fcm_tokens": [{"token": "t", "platform": "symbian"}]}]}, ["users[0].fcm_tokens[0].platform"]),
        ({"users": [{"exports": [{"requested_ago_s": -1}]}]}, ["users[0].exports[0].requested_ago_s"]),
        ({"users": [{"emails": [{"email": "c@example.com", "verified": "yes"}]}]}, ["users[0].emails[0].verified"]),
    ],
)
def test_a_fixture_breaking_its_schema_answers_422_naming_every_field(
    server: httpx.Client, fixture: Any, fields: list[str]
) -> None:
    response = server.post("_test/fixtures", json=fixture)
    expected = 400 if not isinstance(fixture, dict) else 422
    assert response.status_code == expected, response.text
    if expected == 422:
        assert [d["field"] for d in response.json()["details"]] == fields
        # and the schema in spec/test-support.yaml refuses it too, but for the rules it states in words
        rule_only = any(m in d["message"] for d in response.json()["details"] for m in ("primaries", "same"))
        assert bool(_problems("Fixture", fixture)) is not rule_only


def test_fixture_users_without_primary_flags_get_the_first_contact_as_primary(server: httpx.Client) -> None:
    fixture = {
        "users": [
            {
                "emails": [{"email": "p1@example.com"}, {"email": "p2@example.com"}],
                "phones": [{"phone_number": "020 7946 0456", "country_code": "GB", "primary": False}],
            }
        ]
    }
    loaded = server.post("_test/fixtures", json=fixture).json()["users"][0]
    user = User(server, loaded["user_id"], loaded["token"], loaded["password"], loaded["email"])
    assert [e["is_primary"] for e in user.get("user/emails").json()["items"]] == [True, False]
    assert [p["is_primary"] for p in user.get("user/phones").json()["items"]] == [False]


# -- clock and outbox --------------------------------------------------------------------------


def test_the_clock_endpoints_are_documented_and_reset_puts_the_clock_back(server: httpx.Client) -> None:
    assert TEST_SUPPORT["paths"]["/_test/clock"]["get"]["operationId"] == "readClock"
    assert TEST_SUPPORT["paths"]["/_test/clock/advance"]["post"]["operationId"] == "advanceClock"
    before = _server_time(server)
    advance_clock(server, 3600)
    assert (_server_time(server) - before).total_seconds() >= 3600
    server.post("_test/reset")
    assert abs((_server_time(server) - datetime.now(UTC)).total_seconds()) < 60


def test_the_outbox_enums_are_the_servers() -> None:
    schemas = TEST_SUPPORT["components"]["schemas"]
    assert tuple(schemas["Purpose"]["enum"]) == PURPOSES
    assert tuple(schemas["Channel"]["enum"]) == CHANNELS


@pytest.mark.parametrize(("name", "value"), [("purpose", "email_verify"), ("purpose", ""), ("channel", "pigeon")])
def test_an_unknown_outbox_filter_answers_422(http: httpx.Client, name: str, value: str) -> None:
    response = http.get("_test/outbox", params={name: value})
    assert response.status_code == 422
    assert [d["field"] for d in response.json()["details"]] == [name]


@pytest.mark.parametrize("purpose", PURPOSES)
def test_every_documented_purpose_is_a_valid_filter(http: httpx.Client, purpose: str) -> None:
    assert http.get("_test/outbox", params={"purpose": purpose, "address": "nobody@example.com"}).json() == {
        "messages": []
    }


# -- secrets never start with '-' -------------------------------------------------------------


def test_generated_secrets_never_start_with_a_dash() -> None:
    # 20 000 draws: with token_urlsafe alone about 312 would start with '-' and as many with '_'
    firsts = {new_secret(18)[0] for _ in range(20_000)}
    assert not firsts & {"-", "_"}
    assert len(new_secret(32)) >= 43


def test_new_users_tokens_and_passwords_never_start_with_a_dash(http: httpx.Client) -> None:
    for _ in range(64):
        body = http.post("_test/users").json()
        assert not body["token"].startswith("-") and not body["password"].startswith("-")


def test_new_user_help_says_to_pass_the_password_with_an_equals_sign(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        new_user_main(["--help"])
    assert '--password="$P"' in capsys.readouterr().out
