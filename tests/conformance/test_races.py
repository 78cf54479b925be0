"""RACE-*: the clean reference server passes every race requirement in 10 of 10 seeded runs, and each race
fault is caught by its requirement in 10 of 10.

One reference server serves every run (faults switched through the test-support contract, the server reset
between faults); each run selects only the RACE-* requirements concerned.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from conformance.cli import main as kesk_conformance
from reference_server.launcher import serve_in_process
from reference_server.race_faults import RACE_FAULTS

pytestmark = pytest.mark.slow

SEEDS = range(10)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    # In its own process: a server thread in this one would share the interpreter with the suite under test.
    with serve_in_process() as process:
        yield process.base_url


def _run(url: str, tmp_path: Path, seed: int, select: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    folder = tmp_path / str(seed)
    argv = ["run", "--base-url", url, "--test-support", url, "--seed", str(seed), "--report-dir", str(folder)]
    for requirement_id in select:
        argv += ["--select", requirement_id]
    kesk_conformance([*argv, "--quiet"])
    capsys.readouterr()
    results = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    return {item["id"]: item["outcome"] for item in results["requirements"]}


def _switch(url: str, faults: list[str]) -> None:
    assert httpx.put(url + "/_test/faults", json={"faults": faults}, timeout=10).status_code == 200


def test_the_clean_server_passes_every_race_requirement_in_ten_seeded_runs(
    server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the clean reference server
    _switch(server, [])
    # When every RACE-* requirement runs with each of ten seeds
    outcomes = [_run(server, tmp_path, seed, ["RACE-*"], capsys) for seed in SEEDS]
    # Then every one passed every time
    not_passed = [
        (seed, rid, outcome)
        for seed, run in zip(SEEDS, outcomes, strict=True)
        for rid, outcome in run.items()
        if outcome != "passed"
    ]
    assert not_passed == []
    assert len(outcomes[0]) >= len(RACE_FAULTS)


def test_every_race_fault_is_caught_in_ten_seeded_runs(
    server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the reference server with every race fault switched on (each at its own hook and kind: the
    # targeted self-test, tests/selftest/test_selftest_faults.py, runs each alone against its requirement)
    _switch(server, [race.name for race in RACE_FAULTS])
    try:
        # When the RACE-* requirements run with each of ten seeds
        outcomes = [_run(server, tmp_path, seed, ["RACE-*"], capsys) for seed in SEEDS]
    finally:
        _switch(server, [])
    # Then every requirement a race fault names failed every time
    named = {race.requirement for race in RACE_FAULTS}
    missed = [
        (seed, rid, run.get(rid))
        for seed, run in zip(SEEDS, outcomes, strict=True)
        for rid in sorted(named)
        if run.get(rid) != "failed"
    ]
    assert missed == []
