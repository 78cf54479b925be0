"""RACE-*: the clean reference server passes every race requirement in 10 of 10 seeded runs, and each race
fault is caught by every requirement it names in 10 of 10.

One reference server, in a process of its own, serves every run; the runs are in-process and select only
the RACE-* requirements concerned. The faults are switched through the test-support contract, a group at a
time: the faults of a group sit at different hooks, contact kinds or flows, so that one run with the group
on judges each requirement against the fault that names it, undisturbed by the others. The three faults of
the deletion's OTP flow would disturb each other (a confirmation held back by one fault, then by another,
can end in an order that explains it), so they go to different groups. (The targeted self-test,
tests/selftest/test_selftest_faults.py, runs each fault alone against its requirements.) The requirements of
a run go at once (--workers): the race windows are waits, and they overlap.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from conformance.cli import main as kesk_conformance
from conformance.config import Settings
from reference_server.launcher import serve_in_process
from reference_server.race_faults import RACE_FAULTS

pytestmark = pytest.mark.slow

SEEDS = range(10)
ALL_AT_ONCE = "24"  # --workers: at least the number of RACE-* requirements
# Each in a run of its own (with what it names); the rest of RACE_FAULTS make the first group.
APART = (("otp_attempts_race",), ("deletion_schedule_race",))
GROUPS = [
    tuple(race.name for race in RACE_FAULTS if not any(race.name in group for group in APART)),
    *APART,
]
_BY_NAME = {race.name: race for race in RACE_FAULTS}


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    # In its own process: a server thread in this one would share the interpreter with the suite under test.
    with serve_in_process() as process:
        yield process.base_url


def _run(
    url: str, folder: Path, seed: int, capsys: pytest.CaptureFixture[str], select: tuple[str, ...] = ("RACE-*",)
) -> dict[str, str]:
    argv = ["run", "--base-url", url, "--test-support", url, "--seed", str(seed), "--report-dir", str(folder)]
    for requirement_id in select:
        argv += ["--select", requirement_id]
    kesk_conformance([*argv, "--workers", ALL_AT_ONCE, "--quiet"])
    capsys.readouterr()
    results = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    return {item["id"]: item["outcome"] for item in results["requirements"]}


def _switch(url: str, faults: list[str]) -> None:
    assert httpx.post(url + "/_test/reset", timeout=10).status_code in (200, 204)
    assert httpx.put(url + "/_test/faults", json={"faults": faults}, timeout=10).status_code == 200


def test_the_clean_server_passes_every_race_requirement_in_ten_seeded_runs(
    server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the clean reference server
    _switch(server, [])
    # When every RACE-* requirement runs with each of ten seeds, at the default burst width
    outcomes = {seed: _run(server, tmp_path / str(seed), seed, capsys) for seed in SEEDS}
    # Then every one passed every time
    not_passed = [
        (seed, rid, outcome) for seed, run in outcomes.items() for rid, outcome in run.items() if outcome != "passed"
    ]
    assert not_passed == []
    named = {rid for race in RACE_FAULTS for rid in race.requirements}
    assert named <= set(outcomes[0])
    assert Settings().race_width == 20


def test_the_groups_hold_every_race_fault_once() -> None:
    assert sorted(name for group in GROUPS for name in group) == sorted(_BY_NAME)


@pytest.mark.parametrize("group", range(len(GROUPS)), ids=lambda index: "+".join(GROUPS[index])[:60])
def test_every_race_fault_is_caught_by_every_requirement_it_names_in_ten_seeded_runs(
    group: int, server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the reference server with a group of race faults switched on
    faults = [_BY_NAME[name] for name in GROUPS[group]]
    named = tuple(dict.fromkeys(rid for race in faults for rid in race.requirements))
    _switch(server, [race.name for race in faults])
    try:
        # When the requirements they name run with each of ten seeds
        outcomes = {seed: _run(server, tmp_path / str(seed), seed, capsys, named) for seed in SEEDS}
    finally:
        _switch(server, [])
    # Then every one of them failed every time (not undecided: failed)
    missed = [
        (seed, race.name, rid, run.get(rid))
        for seed, run in outcomes.items()
        for race in faults
        for rid in race.requirements
        if run.get(rid) != "failed"
    ]
    assert missed == []
