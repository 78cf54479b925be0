"""The clean reference server: the full default run is green (the same seed twice: test_selftest_faults.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from selftest_helpers import CI, run_cli

from conformance.checks.lifecycles import MACHINES
from conformance.ledger import recorded_expectations
from selftest.answer_faults import answer_faults, caught_on_recorded_run, recorded_answers
from selftest.targeting import catalogue

pytestmark = pytest.mark.slow


@pytest.mark.full_run
def test_the_clean_server_passes_every_must_requirement(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # When the full default catalogue runs against a clean reference server, every exchange kept as HAR
    har = tmp_path / "run.har"
    run = run_cli(capsys, tmp_path / "first", seed=CI.seed, extra=["--har", str(har)])

    # Then every requirement of the catalogue ran, every MUST passed, and the run exits 0
    requirements = run.results["requirements"]
    assert {item["id"] for item in requirements} == {item.id for item in catalogue()}
    not_passed = {
        item["id"]: (item["outcome"], item["reason"])
        for item in requirements
        if item["level"] == "MUST" and item["outcome"] != "passed"
    }
    assert not_passed == {}
    assert run.exit_code == 0
    # and whatever was skipped (SHOULD only, by the line above) says why
    assert [item["id"] for item in requirements if item["outcome"] == "skipped" and not item["reason"].strip()] == []
    assert [item["id"] for item in requirements if item["outcome"] == "error"] == []

    # and every fault that rewrites whole answers (one per x-kesk-invariants rule), applied by the server's own
    # code to the answers of this run, is reported by the suite's invariant judge on at least one of them
    caught = caught_on_recorded_run(answer_faults(), list(recorded_answers(har)))
    assert len(caught) >= 40
    assert [name for name, where in caught.items() if not where] == []
    # and every documented answer the ledger says a check requires (conformance/expectations.json, recorded from a
    # default run) was required by that check in this run too: the ledger claims no judge a run does not show
    required = run.results["coverage"]["expectations"]["by"]
    claimed = recorded_expectations()
    assert {label: sorted(set(ids) - set(required.get(label, ()))) for label, ids in claimed.items()} == {
        label: [] for label in claimed
    }
    # and every documented refusal a request provokes without state is required by some check (ANSWER-*, BOLA-*...)
    stateless = (" 400 malformed_request", " 415 unsupported_media_type", " 422 validation_failed", " 404 not_found")
    missing = run.results["coverage"]["expectations"]["missing"]
    assert [label for label in missing if label.endswith(stateless)] == []
    # and every machine executed every pair of its transition table (results.json transitions)
    transitions = run.results["transitions"]
    assert set(transitions) == {spec.name for spec in MACHINES}
    assert {name: machine["missing"] for name, machine in transitions.items() if machine["missing"]} == {}
    assert all(machine["covered"] == machine["total"] > 0 for machine in transitions.values())
