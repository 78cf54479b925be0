"""Every verdict stands on its own: each requirement alone, and the catalogue in reverse and shuffled order, pass."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.catalogue import catalogue
from conformance.checks import responses, schemathesis_engine
from conformance.cli import main as kesk_conformance

pytestmark = pytest.mark.slow


def _run(report_dir: Path, *args: str) -> tuple[int, dict[str, str]]:
    argv = ["run", "--seed", "3", "--max-examples", "2", "--report-dir", str(report_dir), "--quiet", *args]
    code = kesk_conformance(argv)
    results = json.loads((report_dir / "results.json").read_text(encoding="utf-8"))
    return code, {item["id"]: item["outcome"] for item in results["requirements"]}


# The Schemathesis-backed requirements and the observers judge one shared engine run, whatever else runs:
# alone, each would repeat that run; they are run alone together.
_ENGINE = tuple(item.id for item in (*schemathesis_engine.REQUIREMENTS, *responses.REQUIREMENTS))
_ALONE = [(item.id,) for item in catalogue() if item.id not in _ENGINE] + [_ENGINE]


@pytest.mark.parametrize(
    "selection", _ALONE, ids=[unit[0] if len(unit) == 1 else "schemathesis-engine" for unit in _ALONE]
)
def test_each_requirement_passes_alone_on_a_fresh_server(tmp_path: Path, selection: tuple[str, ...]) -> None:
    # When only this requirement runs, against a fresh reference server
    code, verdicts = _run(tmp_path, *(arg for rid in selection for arg in ("--select", rid)))

    # Then it passes: it set up what it needed itself
    assert verdicts == dict.fromkeys(selection, "passed")
    assert code == 0


@pytest.mark.parametrize("order", ["reverse", "shuffled"])
def test_the_catalogue_passes_in_any_order(tmp_path: Path, order: str) -> None:
    # When the whole catalogue runs in reverse, or shuffled by the seed
    code, verdicts = _run(tmp_path, "--order", order)

    # Then every requirement passes, as in the catalogue's order
    assert {rid for rid, outcome in verdicts.items() if outcome != "passed"} == set()
    assert code == 0
