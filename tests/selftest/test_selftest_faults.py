"""Mutation analysis as a user would run it: each seeded fault against the requirements that can see it.

Every fault of the reference server's catalogue runs once, targeted: `kesk-conformance run --fault NAME
--select ID ...`, selecting the ids the fault names plus what they need to see it (selftest/targeting.py: an
observer gets the suite's own active checks). A lifecycle fault runs at the default budget, as users run
the suite (its machines' covering paths execute every pair of their tables, so it is caught whatever the
seed: a sample runs under other seeds too); the others at the CI budget. Its named requirements must fail
with a curl line, and no other selected MUST requirement may fail unless `ALSO_FAILS` lists it.

One lifecycle fault also runs against the full default catalogue, twice with one seed, so that a fault is
shown caught among everything else the suite does, the same way each time; `python -m selftest.detection`
runs every fault that way (reports/detection.json and the README table).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from selftest_helpers import CI, UserRun, failure_operations, run_cli

from conformance.checks.lifecycles import REQUIREMENT_IDS
from conformance.checks.stateful_sequences import RESOURCE_AVAILABLE, USE_AFTER_FREE
from reference_server.faults import CATALOGUE, Fault
from selftest.targeting import targeted_selection

pytestmark = pytest.mark.slow

# Other MUST requirements a fault is known to break too (one bug can break more than one rule): allowed to
# fail in its runs, targeted or full. Any other MUST failure fails the test.
ALSO_FAILS: dict[str, frozenset[str]] = {
    # getUserEmail without is_primary: the emails machine's reads of an address disagree with its model too.
    "missing_required_field": frozenset({"EMAIL-LIST-MODEL", "EMAIL-VERIFY-TOKEN"}),
    # any token acts as the first user: a deleted account's token still works, Schemathesis' auth check agrees.
    "invalid_token_accepted": frozenset({"ACCOUNT-DELETE-TOKEN-REVOKED", "AUTH-IGNORED"}),
}

# Requirements whose verdicts come from covering paths: the lifecycles' tables, and the create/delete
# sequences of the stateful requirements. A fault naming only these is caught whatever the seed and budget.
DETERMINISTIC = frozenset({*REQUIREMENT_IDS, USE_AFTER_FREE, RESOURCE_AVAILABLE})
LIFECYCLE_FAULTS = [fault for fault in CATALOGUE if set(fault.requirements) <= DETERMINISTIC]
# One lifecycle fault per machine (and the stateful sequences), run under other seeds than the CI one.
OTHER_SEEDS = (2, 3)
SEED_SAMPLE = (
    "nfc_failure_unverifies",
    "two_primaries",
    "primary_phone_removable",
    "otp_reusable",
    "export_expired_otp_accepted",
    "favourite_duplicate",
    "fcm_unknown_unregister_ok",
    "wrong_password_deletes",
    "removal_not_saved",
)

# A lifecycle fault runs against the full default catalogue twice (same seed, same verdicts): caught among
# everything else the suite does. (`python -m selftest.detection` runs every fault that way.)
SAME_SEED_TWICE = "two_primaries"


_BY_NAME = {fault.name: fault for fault in CATALOGUE}
# an Authorization header (curl line, step, terminal) whose bearer token is not redacted
_UNREDACTED_BEARER = re.compile(r"Authorization\W{1,4}Bearer (?!\[REDACTED\])")


def assert_caught(run: UserRun, fault: Fault) -> None:
    outcomes = run.outcomes()
    failed = {rid for rid, outcome in outcomes.items() if outcome == "failed"}
    required = set(fault.requirements)
    # Then every requirement the fault names failed
    assert required <= failed, {rid: outcomes.get(rid) for rid in fault.requirements}
    # and no other MUST requirement failed, unless the fault is known to break it too
    must_failed = {rid for rid in failed if run.requirement(rid)["level"] == "MUST"}
    unexpected = must_failed - set(fault.requirements) - ALSO_FAILS.get(fault.name, frozenset())
    assert not unexpected, {rid: run.requirement(rid)["reason"] for rid in sorted(unexpected)}
    # and the run exits 1, unless the fault names only SHOULD requirements (they fail a run with --strict only)
    levels = {run.requirement(rid)["level"] for rid in fault.requirements}
    assert run.exit_code == (1 if "MUST" in levels else 0)
    # and the failure carries a curl line that reproduces it, shown on the terminal too; no bearer token is
    # shown unredacted anywhere in results.json or on the terminal
    for requirement_id in required:
        failures = run.requirement(requirement_id)["failures"]
        assert any(failure["curl"].startswith("curl -X ") for failure in failures), failures
    assert "Reproduce with: curl -X " in run.output
    assert not _UNREDACTED_BEARER.search(json.dumps(run.results)), _UNREDACTED_BEARER.search(json.dumps(run.results))
    assert not _UNREDACTED_BEARER.search(run.output)
    # and no check crashed or was left undecided
    assert {rid: outcome for rid, outcome in outcomes.items() if outcome == "error"} == {}


@pytest.mark.parametrize("fault", CATALOGUE, ids=lambda fault: fault.name)
def test_each_fault_is_caught_by_the_requirements_that_can_see_it(
    fault: Fault, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # When the suite runs what can see this fault against a reference server with it (a lifecycle fault at the
    # default budget, as users run it)
    selection = targeted_selection(fault.requirements)
    default_budget = fault in LIFECYCLE_FAULTS
    run = run_cli(
        capsys, tmp_path, fault.name, select=selection, max_examples=None if default_budget else CI.max_examples
    )

    # Then it ran exactly that selection
    assert set(run.outcomes()) == set(selection)
    assert_caught(run, fault)


@pytest.mark.parametrize("seed", OTHER_SEEDS)
@pytest.mark.parametrize("name", SEED_SAMPLE)
def test_a_lifecycle_fault_is_caught_whatever_the_seed(
    name: str, seed: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # When a lifecycle fault's targeted run uses another seed than the CI one, at the default budget
    fault = _BY_NAME[name]
    run = run_cli(capsys, tmp_path, name, seed=seed, select=targeted_selection(fault.requirements), max_examples=None)

    # Then it is caught all the same: the covering paths do not depend on what Hypothesis draws
    assert_caught(run, fault)


@pytest.mark.full_run
def test_the_same_seed_twice_gives_the_same_verdicts_under_a_fault(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # When the full default catalogue runs twice with the same seed, each time against a fresh server with a fault
    first = run_cli(capsys, tmp_path / "first", SAME_SEED_TWICE, seed=CI.seed)
    second = run_cli(capsys, tmp_path / "second", SAME_SEED_TWICE, seed=CI.seed)

    # Then the fault is caught among everything else
    assert_caught(first, _BY_NAME[SAME_SEED_TWICE])
    # and results.json holds the same verdict for every requirement, and the same failing operations
    assert first.results["seed"] == second.results["seed"] == CI.seed
    assert first.outcomes() == second.outcomes()
    assert failure_operations(first) == failure_operations(second)
    assert first.exit_code == second.exit_code


def test_the_chosen_faults_are_in_the_catalogue() -> None:
    assert {*ALSO_FAILS, SAME_SEED_TWICE, *SEED_SAMPLE} <= set(_BY_NAME)
    assert {_BY_NAME[name] for name in SEED_SAMPLE} <= set(LIFECYCLE_FAULTS)
