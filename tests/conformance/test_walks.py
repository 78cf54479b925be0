"""RACE-WALK-*: the walks are declared once per lifecycle and draw the same steps for the same seed.

Which request of a round wins is the server's, so a walk is repeatable only as far as concurrency allows:
the walks whose draws never depend on an answer (favourites, FCM tokens, deletion, export) send exactly the
same requests for one seed. Their verdicts against the clean server and the race faults are proven in
test_races.py, and each race fault alone in the targeted self-test.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.catalogue import catalogue
from conformance.checks.races.walks import LIFECYCLES
from conformance.cli import main as kesk_conformance
from reference_server.race_faults import RACE_FAULTS

REPEATABLE = ("RACE-WALK-FAVOURITES", "RACE-WALK-FCM", "RACE-WALK-DELETION", "RACE-WALK-EXPORT")


def test_every_lifecycle_has_its_walk_in_the_catalogue_with_the_same_needs() -> None:
    by_id = {item.id: item for item in catalogue()}
    for lifecycle in LIFECYCLES:
        assert by_id[lifecycle.requirement_id].needs == frozenset(lifecycle.needs), lifecycle.name


def test_every_walk_is_proven_by_a_race_it_opens_with() -> None:
    named = {rid for race in RACE_FAULTS for rid in race.requirements}
    assert {lifecycle.requirement_id for lifecycle in LIFECYCLES} <= named


@pytest.mark.slow
def test_the_same_seed_sends_the_same_walks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def walked(folder: Path) -> dict[str, tuple[int, str]]:
        argv = ["run", "--seed", "11", "--report-dir", str(folder), "--quiet"]
        assert kesk_conformance([*argv, *(arg for rid in REPEATABLE for arg in ("--select", rid))]) == 0
        capsys.readouterr()
        results = json.loads((folder / "results.json").read_text(encoding="utf-8"))
        # requests per requirement, and how many clients walked (the reason's first words)
        return {item["id"]: (item["requests"], item["reason"].split(" of one")[0]) for item in results["requirements"]}

    # When the walks run twice with one seed, each against a fresh reference server
    first, second = walked(tmp_path / "first"), walked(tmp_path / "second")
    # Then each walk had as many clients and sent as many requests both times
    assert first == second
    assert set(first) == set(REPEATABLE)
