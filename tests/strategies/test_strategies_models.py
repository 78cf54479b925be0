from __future__ import annotations

import ast
import math
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis.errors import InvalidArgument
from openapi_schema_validator import OAS30Validator, oas30_format_checker
from strategies_helpers import checked, few, find_any

import strategies
from strategies import (
    MODEL_NAMES,
    export_documents,
    from_model,
    gdpr_status_responses,
    paginated_favourites,
    paginated_user_emails,
    paginated_user_phone_numbers,
    profile_validation_responses,
    verification_status_responses,
)

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS: dict[str, Any] = yaml.safe_load((ROOT / "spec" / "openapi.yaml").read_text(encoding="utf-8"))["components"][
    "schemas"
]
# Models whose examples are large (up to 100 items per page); a smaller budget keeps the run short.
HEAVY = {"PaginatedResponse_UserEmailResponse", "PaginatedResponse_UserPhoneNumberResponse", "ExportDocument"}


def inline(node: Any) -> Any:
    """The schema with every local $ref replaced by its target (the contract has no cycles)."""
    if isinstance(node, dict):
        if "$ref" in node:
            return inline(SCHEMAS[node["$ref"].rsplit("/", 1)[1]])
        return {key: inline(value) for key, value in node.items()}
    if isinstance(node, list):
        return [inline(item) for item in node]
    return node


def validator(name: str) -> OAS30Validator:
    return OAS30Validator(inline(SCHEMAS[name]), format_checker=oas30_format_checker)


def test_every_model_of_the_brief_is_in_the_contract() -> None:
    assert set(MODEL_NAMES) <= set(SCHEMAS)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_every_model_strategy_validates_against_its_schema(name: str) -> None:
    # Given the model's schema from spec/openapi.yaml, $refs inlined, formats checked
    schema = validator(name)

    # When the strategy generates instances, Then each is valid for the schema
    @(few if name in HEAVY else checked)
    @given(from_model(name))
    def check(instance: dict[str, Any]) -> None:
        schema.validate(instance)

    check()


def test_from_model_refuses_unknown_names() -> None:
    with pytest.raises(InvalidArgument, match="known models"):
        from_model("UserEmail")
    with pytest.raises(InvalidArgument):
        from_model(42)  # type: ignore[arg-type]


@pytest.mark.parametrize("factory", [paginated_favourites, paginated_user_emails, paginated_user_phone_numbers])
@pytest.mark.parametrize("max_per_page", [0, 101, "20", None])
def test_pages_reject_bad_max_per_page(factory, max_per_page) -> None:
    with pytest.raises(InvalidArgument):
        factory(max_per_page=max_per_page)


def check_page(page: dict[str, Any], key: str) -> None:
    assert page["total_pages"] == math.ceil(page["total"] / page["per_page"])
    before = (page["page"] - 1) * page["per_page"]
    assert len(page["items"]) == max(0, min(page["per_page"], page["total"] - before))
    ids = [item["id"] for item in page["items"]]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert len({item[key] for item in page["items"]}) == len(page["items"])
    assert sum(bool(item.get("is_primary")) for item in page["items"]) <= 1


@checked
@given(paginated_favourites(max_per_page=10))
def test_favourite_pages_are_consistent(page: dict[str, Any]) -> None:
    # Given a page, Then its counts agree with ceil(total / per_page) and its items are ordered
    assert page["per_page"] <= 10
    check_page(page, "product_id")


@few
@given(paginated_user_emails(max_per_page=5), paginated_user_phone_numbers(max_per_page=5))
def test_email_and_phone_pages_are_consistent(emails: dict[str, Any], phones: dict[str, Any]) -> None:
    check_page(emails, "email")
    check_page(phones, "phone_number")
    for item in emails["items"] + phones["items"]:
        assert (item["verified_at"] is not None) == item["is_verified"]


def test_pages_can_be_past_the_end() -> None:
    find_any(paginated_favourites(), lambda p: p["page"] > p["total_pages"] and p["items"] == [])


def test_pages_can_be_full() -> None:
    find_any(paginated_favourites(max_per_page=5), lambda p: 1 < len(p["items"]) == p["per_page"] < p["total"])


@checked
@given(profile_validation_responses())
def test_profile_validation_is_complete_exactly_when_nothing_is_missing(body: dict[str, Any]) -> None:
    assert body["is_complete"] == (body["missing"] == [])
    assert ("primary_phone" in body["missing"]) != body["has_primary_phone"]
    assert ("email_verification" in body["missing"]) != body["email_verified"]
    assert not body["phone_verified"] or body["has_primary_phone"]


def test_profile_validation_can_be_complete() -> None:
    find_any(profile_validation_responses(), lambda body: body["is_complete"])


@checked
@given(verification_status_responses())
def test_verification_status_is_consistent(body: dict[str, Any]) -> None:
    stripe, nfc = body["stripe"]["status"], body["nfc"]["status"]
    verified = "verified" in (stripe, nfc)
    assert body["is_verified"] == verified == (body["overall_status"] == "verified")
    if not verified:
        expected = "pending" if stripe in ("requires_input", "processing") else "unverified"
        assert body["overall_status"] == expected
    assert (body["nfc"]["verified_at"] is not None) == (nfc == "verified")
    assert (body["nfc"]["failure_reason"] is not None) == (nfc == "failed")


@checked
@given(gdpr_status_responses())
def test_gdpr_status_lists_newest_exports_first(body: dict[str, Any]) -> None:
    times = [export["requested_at"] for export in body["recent_exports"]]
    assert len(times) <= 10
    assert times == sorted(times, reverse=True)
    if body["pending_deletion"] is not None:
        assert body["pending_deletion"]["status"] in {"pending_confirmation", "scheduled"}


@few
@given(export_documents())
def test_export_documents_agree_with_the_profile(doc: dict[str, Any]) -> None:
    primaries = [e for e in doc["emails"] if e["is_primary"]]
    assert len(primaries) == 1 and primaries[0]["email"] == doc["user"]["email"]
    phones = [p for p in doc["phones"] if p["is_primary"]]
    assert [p["phone_number"] for p in phones] == ([doc["user"]["phone"]] if doc["user"]["phone"] else [])
    assert doc["user"]["identity_verified"] == doc["identity_verification"]["is_verified"]


def test_the_package_depends_only_on_hypothesis_phonenumbers_and_email_validator() -> None:
    # Given every module of the package, Then each import is stdlib, one of the three, or itself
    allowed = set(sys.stdlib_module_names) | {"hypothesis", "phonenumbers", "email_validator", "strategies"}
    for path in Path(strategies.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            assert {n.split(".")[0] for n in names} <= allowed, (path.name, names)


def test_the_public_api_is_what_all_lists() -> None:
    assert sorted(strategies.__all__) == sorted(set(strategies.__all__))
    for name in strategies.__all__:
        assert getattr(strategies, name).__doc__ or name.isupper() or name in ("CheckDigitField", "NfcCheck"), name
