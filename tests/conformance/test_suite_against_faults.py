"""The suite against the reference server: all green when clean; each seeded fault caught by its requirement.

Covers the faults of the schema, auth, isolation and mass-assignment areas; the lifecycle faults have
their own parametrised test in test_lifecycles.py.
"""

from __future__ import annotations

import pytest

from conformance.config import Settings
from conformance.results import Outcome, RunResult
from conformance.runner import execute
from reference_server.faults import CATALOGUE as FAULTS

AREAS = ("AUTH-*", "BOLA-*", "MASS-*", "SCHEMA-*")
# Schemathesis-backed requirements have their own tests (test_schemathesis_engine.py); leaving them out
# here keeps each of these runs to the suite's own checks, which must catch these faults by themselves.
SCHEMATHESIS_BACKED = ("AUTH-HEADER-REQUIRED", "AUTH-IGNORED")
FAST = dict(max_examples=2, seed=7)
OWNED_PREFIXES = ("AUTH-", "BOLA-", "MASS-", "SCHEMA-")
OWNED_FAULTS = sorted(
    fault.name
    for fault in FAULTS
    if all(req.startswith(OWNED_PREFIXES) and req not in SCHEMATHESIS_BACKED for req in fault.requirements)
)
REQUIREMENTS_OF = {fault.name: set(fault.requirements) for fault in FAULTS}


def _run(*faults: str) -> RunResult:
    settings = Settings(select=list(AREAS), exclude=list(SCHEMATHESIS_BACKED), fault=list(faults), **FAST)  # type: ignore[arg-type]
    return execute(settings)


@pytest.fixture(scope="module")
def clean_run() -> RunResult:
    return _run()


def test_clean_reference_server_passes_every_requirement(clean_run: RunResult) -> None:
    # Then every selected requirement ran and passed: nothing skipped, nothing undecided
    outcomes = {result.requirement.id: result.outcome for result in clean_run.results}
    assert outcomes and all(outcome is Outcome.PASSED for outcome in outcomes.values()), outcomes
    assert clean_run.exit_code == 0


def test_clean_run_exercises_all_30_operations(clean_run: RunResult) -> None:
    assert len(clean_run.operations) == 30
    assert all(stats.requests > 0 for stats in clean_run.operations.values())


def test_the_fault_list_covers_the_suite_areas() -> None:
    # Guards the parametrisation below against an accidentally empty selection
    assert {
        "auth_ignored",
        "invalid_token_accepted",
        "bola_email_read",
        "mass_assignment_verified",
        "wrong_content_type",
        "server_error_non_ascii",
    } <= set(OWNED_FAULTS)


@pytest.mark.parametrize("fault", OWNED_FAULTS)
def test_each_fault_is_caught_by_its_named_requirement(fault: str) -> None:
    # When the suite runs against a server with one seeded fault
    result = _run(fault)
    # Then the requirement the fault names fails, with a curl line, and the run exits 1
    failed = {r.requirement.id: r for r in result.results if r.outcome is Outcome.FAILED}
    named = REQUIREMENTS_OF[fault]
    assert named <= failed.keys(), f"{fault}: expected {named} to fail, failed: {sorted(failed)}"
    assert result.exit_code == 1
    for requirement_id in named:
        assert any(failure.curl.startswith("curl -X ") for failure in failed[requirement_id].failures)
