"""Every response model of the contract has a strategy of answers as servers send them, and they are valid."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis.errors import InvalidArgument
from strategies_helpers import SCHEMAS, SPEC, checked, few, find_any, inline, model_name, operations, validator

from strategies import (
    DATE_TIME_MEMBERS,
    RESPONSE_MODELS,
    UNKNOWN_MEMBER_PATTERN,
    UNORDERED_LISTS,
    UUID_MEMBERS,
    export_downloads,
    from_model,
    server_response_texts,
    server_responses,
)


def response_schemas() -> dict[str, dict[str, Any]]:
    """Every response body schema of spec/openapi.yaml (2xx and errors), by the name the strategies use."""
    found: dict[str, dict[str, Any]] = {}
    for op in operations():
        for response in op["responses"].values():
            if "$ref" in response:
                response = SPEC["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
            for content in (response.get("content") or {}).values():
                found[model_name(content["schema"], op)] = content["schema"]
    return found


RESPONSES = response_schemas()
HEAVY = {
    "PaginatedResponse_Favourite",
    "PaginatedResponse_UserEmailResponse",
    "PaginatedResponse_UserPhoneNumberResponse",
    "downloadExport",
}
_TIMESTAMP = re.compile(r"(\d{4}-\d\d-\d\d)[Tt](\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?([Zz]|[+-]\d\d:\d\d)")


def instant(text: str) -> datetime:
    """An RFC 3339 date-time as an aware datetime (microseconds: the strategies use milliseconds)."""
    match = _TIMESTAMP.fullmatch(text)
    assert match, text
    date, time, fraction, offset = match.groups()
    offset = "+00:00" if offset in "Zz" else offset
    return datetime.fromisoformat(f"{date}T{time}.{(fraction or '').ljust(6, '0')[:6]}{offset}")


def walk(value: Any, path: tuple[str, ...] = ()) -> Any:
    """Every (path, value) pair in a JSON value, depth first."""
    yield path, value
    if isinstance(value, dict):
        for key, member in value.items():
            yield from walk(member, (*path, key))
    elif isinstance(value, list):
        for item in value:
            yield from walk(item, (*path, "[]"))


def declared_properties() -> list[tuple[str, dict[str, Any]]]:
    """(name, schema) of every property declared anywhere in the response schemas, $refs inlined."""
    found: list[tuple[str, dict[str, Any]]] = []

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            for name, prop in (node.get("properties") or {}).items():
                found.append((name, prop))
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for item in node:
                visit(item)

    for schema in RESPONSES.values():
        visit(inline(schema))
    visit(inline(SCHEMAS["ExportDocument"]))  # what downloadExport's string holds
    return found


def formats(prop: dict[str, Any]) -> set[str | None]:
    branches = prop.get("anyOf") or prop.get("oneOf") or [prop]
    return {branch.get("format") for branch in branches if branch.get("type") != "object" or "enum" not in branch}


def test_every_response_body_of_the_contract_has_a_server_answers_strategy() -> None:
    # Given every response body schema of the contract (a new one fails here until it has a strategy)
    assert len(RESPONSES) == 18
    # Then each has answers as servers send them, and no strategy names an answer the contract lacks
    assert sorted(RESPONSES) == sorted(RESPONSE_MODELS)


@pytest.mark.parametrize("name", RESPONSE_MODELS)
def test_server_answers_validate_against_the_response_schema(name: str) -> None:
    schema = validator(RESPONSES[name], direction="response")
    document = validator({"$ref": "#/components/schemas/ExportDocument"}, direction="response")

    @(few if name in HEAVY else checked)
    @given(server_responses(name))
    def check(answer: Any) -> None:
        schema.validate(answer)
        if name == "downloadExport":  # a string holding the export document
            document.validate(json.loads(answer))

    check()


@pytest.mark.parametrize("name", sorted(set(RESPONSE_MODELS) - HEAVY))
def test_server_answer_texts_parse_to_valid_answers(name: str) -> None:
    schema = validator(RESPONSES[name], direction="response")

    @few
    @given(server_response_texts(name))
    def check(text: str) -> None:
        schema.validate(json.loads(text))

    check()


def test_date_time_and_uuid_members_are_the_contracts() -> None:
    # Given every property of every response schema, Then the names the variations respell are exactly
    # those the contract types date-time / uuid, and never name a member of another format
    by_name: dict[str, set[str | None]] = {}
    for name, prop in declared_properties():
        by_name.setdefault(name, set()).update(formats(prop))
    assert {n for n, f in by_name.items() if "date-time" in f} == DATE_TIME_MEMBERS
    assert {n for n, f in by_name.items() if "uuid" in f} == UUID_MEMBERS
    assert all(by_name[n] == {"date-time"} for n in DATE_TIME_MEMBERS)
    assert all(by_name[n] == {"uuid"} for n in UUID_MEMBERS)


def test_unknown_member_names_are_never_declared() -> None:
    declared = {name for name, _ in declared_properties()}
    assert not [name for name in declared if re.fullmatch(UNKNOWN_MEMBER_PATTERN, name)]


def test_unordered_lists_are_lists_whose_description_states_no_order() -> None:
    for model, members in UNORDERED_LISTS.items():
        for member in members:
            prop = inline(SCHEMAS[model])["properties"][member]
            assert prop["type"] == "array"
            assert not re.search(r"order|first|ascending", prop.get("description", "")), (model, member)


@checked
@given(server_responses("UserEmailResponse"), server_responses("AccountDeletionResponse"))
def test_respelt_timestamps_keep_their_instants(email: dict[str, Any], deletion: dict[str, Any]) -> None:
    # Given answers whose timestamps are respelt, Then the orders between instants still hold
    if email["verified_at"] is not None:
        assert instant(email["verified_at"]) >= instant(email["created_at"])
    if deletion["otp_expires_at"] is not None:
        ttl = (instant(deletion["otp_expires_at"]) - instant(deletion["requested_at"])).total_seconds()
        assert ttl == SPEC["x-kesk-limits"]["otp_ttl_s"]


@checked
@given(server_responses("GdprStatusResponse"))
def test_gdpr_exports_stay_newest_first_whatever_the_offsets(body: dict[str, Any]) -> None:
    times = [instant(export["requested_at"]) for export in body["recent_exports"]]
    assert times == sorted(times, reverse=True)


@checked
@given(server_responses("UserEmailResponse", variations=()))
def test_no_variations_gives_the_plain_spelling(body: dict[str, Any]) -> None:
    assert set(body) == set(SCHEMAS["UserEmailResponse"]["properties"])
    assert body["created_at"].endswith("Z")


@pytest.mark.parametrize(
    "name, condition",
    [
        ("UserEmailResponse", lambda b: any(re.fullmatch(UNKNOWN_MEMBER_PATTERN, k) for k in b)),
        (
            "PaginatedResponse_Favourite",
            lambda b: any(re.fullmatch(UNKNOWN_MEMBER_PATTERN, k) for item in b["items"] for k in item),
        ),
        ("VerificationStatusResponse", lambda b: any(re.fullmatch(UNKNOWN_MEMBER_PATTERN, k) for k in b["nfc"])),
        ("UserEmailResponse", lambda b: re.search(r"[+-](?!00:00)\d\d:\d\d$", b["created_at"])),
        ("UserEmailResponse", lambda b: b["created_at"].endswith("+00:00")),
        ("UserEmailResponse", lambda b: re.search(r"\.\d{9}", b["created_at"])),
        ("UserEmailResponse", lambda b: "t" in b["created_at"] and b["created_at"].endswith("z")),
        ("DataExportResponse", lambda b: UUID(b["request_id"]).version == 7),
        ("DataExportResponse", lambda b: UUID(b["request_id"]).version == 4),
        ("UserEmailResponse", lambda b: b["id"] > 2**53),
        ("UserPhoneNumberResponse", lambda b: 2**31 <= b["id"] < 2**32 + 2**16),
        ("ProfileValidationResponse", lambda b: len(b["missing"]) > 1 and b["missing"][0] != "email_verification"),
    ],
    ids=[
        "unknown-top-level", "unknown-in-page-items", "unknown-nested", "offset", "plus-zero", "nanoseconds",
        "lowercase", "uuid-v7", "uuid-v4", "id-above-2**53", "id-past-2**31", "unordered-list",
    ],
)  # fmt: skip
def test_each_variation_turns_up(name: str, condition: Any) -> None:
    find_any(server_responses(name), condition)


def test_page_ids_are_sparse_and_large() -> None:
    find_any(
        from_model("PaginatedResponse_Favourite"),
        lambda page: (
            len(page["items"]) > 2
            and page["items"][-1]["id"] > 2**31
            and any(b["id"] - a["id"] > 1 for a, b in zip(page["items"], page["items"][1:], strict=False))
        ),
    )


@few
@given(export_downloads(), server_response_texts("ErrorResponse"))
def test_texts_vary_the_json_style(download: str, error: str) -> None:
    json.loads(download)
    json.loads(error)


def test_texts_reach_escaped_and_spaced_styles() -> None:
    find_any(server_response_texts("MessageResponse"), lambda t: "\r\n" in t and " : " in t)
    find_any(server_response_texts("MessageResponse"), lambda t: "\\u" in t)


@pytest.mark.parametrize(
    "kwargs",
    [{"model": "UserEmail"}, {"model": 1}, {"model": "UserEmailResponse", "variations": ["gzip"]},
     {"model": "UserEmailResponse", "variations": "unknown_members"}],
)  # fmt: skip
def test_server_responses_refuse_bad_arguments(kwargs: dict[str, Any]) -> None:
    with pytest.raises(InvalidArgument):
        server_responses(**kwargs)
