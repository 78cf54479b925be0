"""The clean reference server: the full default run is green (the same seed twice: test_selftest_faults.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from selftest_helpers import CI, run_cli

from conformance.checks.lifecycles import MACHINES
from selftest.targeting import catalogue

pytestmark = pytest.mark.slow


@pytest.mark.full_run
def test_the_clean_server_passes_every_must_requirement(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # When the full default catalogue runs against a clean reference server
    run = run_cli(capsys, tmp_path / "first", seed=CI.seed)

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
    # and every machine executed every pair of its transition table (results.json transitions)
    transitions = run.results["transitions"]
    assert set(transitions) == {spec.name for spec in MACHINES}
    assert {name: machine["missing"] for name, machine in transitions.items() if machine["missing"]} == {}
    assert all(machine["covered"] == machine["total"] > 0 for machine in transitions.values())
