"""Every request body of the contract has a valid and an invalid strategy, and both tell the truth."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis.errors import InvalidArgument
from jsonschema.exceptions import ValidationError
from strategies_helpers import SPEC, checked, few, find_any, model_name, operations, validator

import strategies
from strategies import (
    REQUEST_MODELS,
    Invalid,
    email_is_valid,
    invalid_request_bodies,
    phone_number_is_valid,
    request_bodies,
)


def request_schemas() -> dict[str, dict[str, Any]]:
    """Every requestBody schema of spec/openapi.yaml, by the name the strategies use."""
    found: dict[str, dict[str, Any]] = {}
    for op in operations():
        for content in op.get("requestBody", {}).get("content", {}).values():
            found[model_name(content["schema"], op)] = content["schema"]
    return found


SCHEMAS = request_schemas()
# Models whose bodies are large (NFC: a passport photo and hashes); a smaller budget keeps the run short.
HEAVY = {"NfcIdentityVerificationRequest"}
# The rules beyond the schema that may refuse a schema-valid body, per model.
RULE_REFUSALS = {
    "CreateUserEmailRequest": "rfc:5322",
    "CreateUserPhoneNumberRequest": "itu:E.164",
    "NfcIdentityVerificationRequest": "rule:NFC-VALIDATION",
    "requestAccountDeletion": "spec:/paths/~1user~1request-account-deletion/post/requestBody",
    "requestDataExport": "spec:/paths/~1user~1request-data-export/post/requestBody",
}


def resolve(pointer: str) -> Any:
    node: Any = SPEC
    for part in pointer.lstrip("/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def test_every_request_body_of_the_contract_has_a_valid_and_an_invalid_strategy() -> None:
    # Given every requestBody schema of the contract (a new one fails here until it has strategies)
    assert len(SCHEMAS) == 11
    # Then each has both strategies, and no strategy names a body the contract does not have
    assert sorted(SCHEMAS) == sorted(REQUEST_MODELS)
    for name in REQUEST_MODELS:
        assert request_bodies(name) is not None
        assert invalid_request_bodies(name) is not None


@pytest.mark.parametrize("name", REQUEST_MODELS)
def test_valid_bodies_validate_against_the_schema(name: str) -> None:
    schema = validator(SCHEMAS[name], direction="request")

    @(few if name in HEAVY else checked)
    @given(request_bodies(name))
    def check(body: Any) -> None:
        schema.validate(body)

    check()


@pytest.mark.parametrize("name", REQUEST_MODELS)
def test_invalid_bodies_fail_the_schema_or_cite_the_rule_they_break(name: str) -> None:
    schema = validator(SCHEMAS[name], direction="request")

    @(few if name in HEAVY else checked)
    @given(invalid_request_bodies(name))
    def check(invalid: Invalid) -> None:
        # Given an invalid body, Then its reason names the member and the defect
        assert isinstance(invalid, Invalid)
        assert re.fullmatch(r"[A-Za-z0-9_.]+: \S.*", invalid.reason), invalid.reason
        if invalid.rule is None:
            # And the schema alone refuses it
            with pytest.raises(ValidationError):
                schema.validate(invalid.body)
        else:
            # Or it cites the one rule beyond the schema this model's bodies can break
            assert invalid.rule == RULE_REFUSALS[name], invalid

    check()


@pytest.mark.parametrize("rule", sorted(set(RULE_REFUSALS.values())))
def test_every_cited_rule_exists(rule: str) -> None:
    kind, _, target = rule.partition(":")
    if kind == "rule":
        assert target in {r["id"] for r in SPEC["x-kesk-rules"]}
    elif kind == "spec":
        # A rule stated in the description of an inline body schema
        assert all("description" in content["schema"] for content in resolve(target)["content"].values())
    else:
        assert (kind, target) in {("rfc", "5322"), ("itu", "E.164")}


@pytest.mark.parametrize("name", sorted(RULE_REFUSALS))
def test_rule_refusals_are_schema_valid_bodies(name: str) -> None:
    # Given a model whose bodies a rule beyond the schema can refuse, Then such bodies turn up,
    # and they pass the schema (else the schema would be the reason)
    schema = validator(SCHEMAS[name], direction="request")
    invalid = find_any(invalid_request_bodies(name), lambda i: i.rule is not None and schema.is_valid(i.body))
    assert invalid.rule == RULE_REFUSALS[name]


@checked
@given(invalid_request_bodies("CreateUserEmailRequest"), invalid_request_bodies("CreateUserPhoneNumberRequest"))
def test_rule_refused_addresses_and_numbers_are_refused_by_their_standard(email: Invalid, phone: Invalid) -> None:
    if email.rule is not None:
        assert not email_is_valid(email.body["email"])
    if phone.rule is not None:
        assert not phone_number_is_valid(phone.body["phone_number"], phone.body["country_code"])


@pytest.mark.parametrize(
    "name, reason",
    [
        ("AddFavouriteProductInput", "product_id: below the minimum of 1"),
        ("AddFavouriteProductInput", "product_id: above the int64 maximum"),
        ("CreateUserEmailRequest", "email: not an email address"),
        ("CreateUserEmailRequest", "email: missing"),
        ("CreateUserPhoneNumberRequest", "phone_number: not a valid number for country_code"),
        ("VerificationTokenRequest", "token: not six ASCII digits"),
        ("ConfirmAccountDeletionPayload", "otp: fewer than six digits"),
        ("DeleteAccountRequest", "password: longer than 1024 characters"),
        ("RegisterFcmTokenRequest", "platform: not ios, android or web"),
        ("NfcIdentityVerificationRequest", "data_groups: a data group does not match its hash"),
        ("requestAccountDeletion", "reason: longer than 500 characters"),
        ("requestDataExport", "body: not a JSON object"),
    ],
)
def test_invalid_bodies_reach_each_kind_of_defect(name: str, reason: str) -> None:
    find_any(invalid_request_bodies(name), lambda invalid: invalid.reason == reason)


def test_each_model_has_a_named_invalid_twin() -> None:
    # Given the names the package exports, Then every invalid twin is one of them, documented
    twins = [n for n in strategies.__all__ if n.startswith("invalid_") and n not in ("invalid_emails",)]
    assert len(twins) == len(REQUEST_MODELS) + 2  # + invalid_phone_numbers, invalid_request_bodies


@pytest.mark.parametrize("lookup", [request_bodies, invalid_request_bodies])
@pytest.mark.parametrize("name", ["UserEmailResponse", "createUserEmailRequest", 3])
def test_lookups_refuse_unknown_models(lookup: Any, name: Any) -> None:
    with pytest.raises(InvalidArgument, match="known request models"):
        lookup(name)


def test_invalid_records_are_frozen() -> None:
    invalid = Invalid({}, "email: missing")
    with pytest.raises(AttributeError):
        invalid.reason = "other"  # type: ignore[misc]
    assert invalid.rule is None
