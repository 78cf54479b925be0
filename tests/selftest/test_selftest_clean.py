"""The clean reference server: the full default run is green, and the same seed gives the same verdicts."""

from __future__ import annotations

from pathlib import Path

import pytest
from selftest_helpers import CI, UserRun, run_cli

from conformance.catalogue import catalogue

pytestmark = pytest.mark.slow


def test_the_clean_server_passes_every_must_requirement(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # When the full default catalogue runs against a clean reference server
    run = run_cli(capsys, tmp_path)

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


def _failure_operations(run: UserRun) -> dict[str, list[str]]:
    return {
        item["id"]: sorted(failure["operation"] for failure in item["failures"])
        for item in run.results["requirements"]
        if item["failures"]
    }


@pytest.mark.parametrize("faults", [(), ("two_primaries",)], ids=["clean", "two_primaries"])
def test_the_same_seed_twice_gives_the_same_verdicts(
    faults: tuple[str, ...], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # When the same seed runs twice, each time against a fresh reference server
    first = run_cli(capsys, tmp_path / "first", *faults, seed=CI.seed)
    second = run_cli(capsys, tmp_path / "second", *faults, seed=CI.seed)

    # Then results.json holds the same verdict for every requirement, and the same failing operations
    assert first.results["seed"] == second.results["seed"] == CI.seed
    assert first.outcomes() == second.outcomes()
    assert _failure_operations(first) == _failure_operations(second)
    assert first.exit_code == second.exit_code
    if faults:
        assert first.outcomes()["EMAIL-PRIMARY-UNIQUE"] == "failed"
