"""ANSWER-*: requests built from the contract's structure so that it requires exactly one documented refusal."""

from __future__ import annotations

import random
import re

import pytest
from hypothesis import strategies as st

from conformance.catalogue import catalogue
from conformance.checks._contract_requests import needs_stage, never_existed, parameters, request_model
from conformance.checks._drawn import alternatives, draw_each
from conformance.checks.answers import schema_refusals
from conformance.contract import bundled_contract
from conformance.expectations import documented_answers
from conformance.operations import OperationIndex
from strategies import REQUEST_MODELS

OPERATIONS = OperationIndex(bundled_contract().document)
KINDS = {
    "ANSWER-400-MALFORMED": ("400", "malformed_request"),
    "ANSWER-415-MEDIA-TYPE": ("415", "unsupported_media_type"),
    "ANSWER-422-VALIDATION": ("422", "validation_failed"),
    "ANSWER-404-NOT-FOUND": ("404", "not_found"),
}


def test_each_requirement_reaches_every_operation_that_documents_its_answer() -> None:
    # Given the documented answers as coverage.expectations enumerates them
    answers = documented_answers(bundled_contract().document)
    for requirement_id, (status, code) in KINDS.items():
        # Then the requirement declares exactly the operations that document its status and code
        expected = {answer.operation for answer in answers if (answer.status, answer.code) == (status, code)}
        assert set(catalogue().get(requirement_id).operations) == expected, requirement_id


def test_the_operations_whose_body_is_staged_are_the_targets_of_links() -> None:
    # Exactly the operations with a body that act on another's answer (a link) wait for it
    staged = {op.operation_id for op in OPERATIONS if needs_stage(OPERATIONS, op)}
    assert staged == {"verifyUserEmail", "verifyUserPhone", "confirmAccountDeletion", "confirmDataExport"}


@pytest.mark.parametrize(
    ("operation_id", "name"),
    [("getUserEmail", "email_id"), ("unregisterFcmToken", "fcm_token"), ("downloadExport", "filename")],
)
def test_a_value_that_never_existed_fits_its_schema_and_is_drawn_again_each_seed(operation_id: str, name: str) -> None:
    schema = next(p.schema for p in parameters(OPERATIONS, OPERATIONS[operation_id]) if p.name == name)
    first, again, other = (never_existed(schema, random.Random(seed)) for seed in (1, 1, 2))
    assert first == again != other
    if schema["type"] == "integer":
        assert isinstance(first, int) and 2**62 <= first < 2**63
    else:
        assert isinstance(first, str) and re.search(schema["pattern"], first) and first != schema["example"]
        assert len(first) <= schema["maxLength"]


def test_alternatives_flattens_one_of_as_hypothesis_builds_it() -> None:
    # SearchStrategy.branches is not documented Hypothesis API: this pins what _drawn.alternatives relies on
    nested = st.one_of(st.just(1), st.one_of(st.just(2), st.just(3)).map(lambda x: x * 10))
    assert len(alternatives(nested)) == 3
    assert len(alternatives(st.just(1))) == 1


def test_draw_each_gives_every_alternative_the_same_for_the_same_seed() -> None:
    strategy = st.one_of(st.just("a"), st.integers(0, 10**9), st.text(min_size=1))
    first, again = draw_each(strategy, seed_value=5), draw_each(strategy, seed_value=5)
    assert first == again
    assert (
        "a" in first and any(isinstance(v, int) for v in first) and any(isinstance(v, str) and v != "a" for v in first)
    )


@pytest.mark.parametrize("model", REQUEST_MODELS)
def test_schema_refusals_are_objects_the_schema_or_a_contract_description_refuses(model: str) -> None:
    refusals = schema_refusals(model, 3)
    assert refusals, model  # every request model of the contract has a body the schema refuses
    assert all(isinstance(item.body, dict) for item in refusals)  # not an object: a 400, sent elsewhere
    assert all(item.rule is None or item.rule.startswith("spec:") for item in refusals)


def test_schema_refusals_cover_each_kind_of_defect_of_a_model() -> None:
    reasons = {item.reason for item in schema_refusals("VerificationTokenRequest", 3)}
    assert reasons == {
        "token: missing",
        "token: not of type string",
        "token: fewer than six digits",
        "token: more than six digits",
        "token: not six ASCII digits",
    }
    nfc = {item.reason for item in schema_refusals("NfcIdentityVerificationRequest", 3)}
    assert "security_object.data_group_hashes: empty" in nfc
    assert not any("check digit" in reason or "expired" in reason for reason in nfc)  # NFC-VALIDATION's own codes


def test_every_operation_with_a_body_has_a_request_model_strategies_knows() -> None:
    models = {request_model(OPERATIONS, op) for op in OPERATIONS if op.has_body}
    assert models == set(REQUEST_MODELS)
