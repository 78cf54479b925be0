"""Mutation analysis as a user would run it: each seeded fault against the requirements that can see it.

Every fault of the reference server's catalogue runs once, targeted: `kesk-conformance run --fault NAME
--select ID ...`, selecting the ids the fault names plus what they need to see it (selftest/targeting.py: an
observer gets the suite's own active checks). A lifecycle fault runs at the default budget, as users run
the suite (its machines' covering paths execute every pair of their tables, so it is caught whatever the
seed: a sample runs under other seeds too); the others at the CI budget. Its named requirements must fail
with a curl line, and no other selected MUST requirement may fail unless `ALSO_FAILS` lists it.

The faults generated from the contract (reference_server/misanswers.py: a documented refusal of one operation
answered otherwise, dozens of them) run in batches instead: every fault that one requirement must catch, on
different operations, in one targeted run of that requirement, which must fail on each of their operations and
on no other (its probes record every violation); one fault of each batch also runs alone.

One lifecycle fault also runs against the full default catalogue, twice with one seed, so that a fault is
shown caught among everything else the suite does, the same way each time; `python -m selftest.detection`
runs every fault that way (reports/detection.json; `--markdown` prints its table).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from selftest_helpers import CI, UserRun, failure_operations, run_cli

from conformance.checks.lifecycles import REQUIREMENT_IDS
from conformance.checks.stateful_sequences import RESOURCE_AVAILABLE, USE_AFTER_FREE
from reference_server import hooks
from reference_server.faults import CATALOGUE, Fault
from reference_server.misanswers import MISANSWERS, Misanswer
from selftest.targeting import targeted_selection

pytestmark = pytest.mark.slow

# Other MUST requirements a fault is known to break too (one bug can break more than one rule): allowed to
# fail in its runs, targeted or full. Any other MUST failure fails the test.
ALSO_FAILS: dict[str, frozenset[str]] = {
    # getUserEmail without is_primary: the emails machine's reads of an address disagree with its model too.
    "missing_required_field": frozenset({"EMAIL-LIST-MODEL", "EMAIL-VERIFY-TOKEN"}),
    # any token acts as the first user: a deleted account's token still works, Schemathesis' auth check agrees.
    "invalid_token_accepted": frozenset({"ACCOUNT-DELETE-TOKEN-REVOKED", "AUTH-IGNORED"}),
    # two primary email addresses: EMAILS-ONE-PRIMARY (an invariant of the contract), and the race checks' models
    # of the emails see two primaries as well.
    "two_primaries": frozenset(
        {"SCHEMA-INVARIANTS", "RACE-EMAIL-PRIMARY-ONE", "RACE-EMAIL-REMOVE-PRIMARY", "RACE-WALK-EMAILS"}
    ),
}

# The faults that rewrite whole answers (one per x-kesk-invariants rule) are proven on every answer of a recorded
# default run (test_selftest_clean.py); a sample of them, over schemas of different kinds, also in real runs here.
ANSWER_FAULTS_RUN = (
    "invariant_validation_complete",
    "invariant_error_codes_404",
    "invariant_emails_page_fill",
    "invariant_stripe_session_once_started",
)
TARGETED = [fault for fault in CATALOGUE if fault.hook is not hooks.BREAKING_BODY or fault.name in ANSWER_FAULTS_RUN]

# Requirements whose verdicts come from covering paths: the lifecycles' tables, and the create/delete
# sequences of the stateful requirements. A fault naming only these is caught whatever the seed and budget.
DETERMINISTIC = frozenset({*REQUIREMENT_IDS, USE_AFTER_FREE, RESOURCE_AVAILABLE})
LIFECYCLE_FAULTS = [fault for fault in CATALOGUE if set(fault.requirements) <= DETERMINISTIC]
# One lifecycle fault per machine (and the stateful sequences), run under another seed than the CI one.
OTHER_SEEDS = (2,)
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
    if fault.hook is hooks.BREAKING_BODY:
        # An answer fault breaks one invariant in every answer that holds its schema; checks that read those
        # answers for other reasons may fail too. The invariant observer names the one broken.
        invariant = re.search(r"the invariant (\S+) of", fault.description).group(1)  # type: ignore[union-attr]
        failures = run.requirement("SCHEMA-INVARIANTS")["failures"]
        assert any(f"{invariant} at " in failure["actual"] for failure in failures), failures
    else:
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


# The generated faults in the catalogue, by the requirement that must catch them: proven in batches, and the
# first of each batch alone too.
BATCHES: dict[str, list[Misanswer]] = {}
for _item in MISANSWERS:
    if _item.name in {fault.name for fault in CATALOGUE}:
        BATCHES.setdefault(_item.kind.requirement, []).append(_item)
ONE_BY_ONE = [
    fault
    for fault in TARGETED
    if fault.name not in {item.name for item in MISANSWERS} or fault.name in {b[0].name for b in BATCHES.values()}
]


@pytest.mark.parametrize("fault", ONE_BY_ONE, ids=lambda fault: fault.name)
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


@pytest.mark.parametrize("requirement_id", sorted(BATCHES))
def test_each_generated_fault_is_caught_on_its_operation_in_one_run_per_requirement(
    requirement_id: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given every generated fault the requirement must catch, each on another operation
    batch = BATCHES[requirement_id]
    assert len({item.operation for item in batch}) == len(batch)

    # When the requirement runs against a server with all of them
    run = run_cli(capsys, tmp_path, *(item.name for item in batch), select=[requirement_id])

    # Then it fails, with a violation on each faulty operation naming the documented answer, and on no other
    assert run.outcomes() == {requirement_id: "failed"} and run.exit_code == 1
    failures = run.requirement(requirement_id)["failures"]
    for item in batch:
        expected = f"status {item.status} {item.code}"
        assert any(f["operation"] == item.operation and expected in f["expected"] for f in failures), item.name
    assert {f["operation"] for f in failures} <= {item.operation for item in batch}
    assert all(f["curl"].startswith("curl -X ") for f in failures)
    assert not _UNREDACTED_BEARER.search(json.dumps(run.results)) and not _UNREDACTED_BEARER.search(run.output)


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
    assert {*ALSO_FAILS, SAME_SEED_TWICE, *ANSWER_FAULTS_RUN, *SEED_SAMPLE} <= set(_BY_NAME)
    assert {_BY_NAME[name] for name in SEED_SAMPLE} <= set(LIFECYCLE_FAULTS)
