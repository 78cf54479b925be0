"""Every verdict stands on its own: each requirement alone, and the catalogue in reverse and shuffled order, pass."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.catalogue import catalogue
from conformance.checks.lifecycles import MachineVerdict
from conformance.cli import main as kesk_conformance
from conformance.requirements import Requirement

pytestmark = pytest.mark.slow


def _run(report_dir: Path, *args: str) -> tuple[int, dict[str, str]]:
    argv = ["run", "--seed", "3", "--max-examples", "2", "--report-dir", str(report_dir), "--quiet", *args]
    code = kesk_conformance(argv)
    results = json.loads((report_dir / "results.json").read_text(encoding="utf-8"))
    return code, {item["id"]: item["outcome"] for item in results["requirements"]}


# A requirement runs alone with those whose verdict comes from the same run: the requirements of one lifecycle
# machine (selecting any of them runs the whole machine), and the Schemathesis-backed requirements with the
# observers (one shared engine run). Alone, each would repeat that run and judge nothing more.


def _shared_run(item: Requirement) -> str:
    if isinstance(item.check, MachineVerdict):
        return "+".join(spec.name for spec in item.check.machines)
    return "schemathesis" if item.observes or item.area == "schemathesis" else item.id


_BY_RUN: dict[str, list[str]] = {}
for _item in catalogue():
    _BY_RUN.setdefault(_shared_run(_item), []).append(_item.id)
_ALONE = [tuple(ids) for ids in _BY_RUN.values()]


@pytest.mark.parametrize(
    "selection", _ALONE, ids=[f"{unit[0]}+{len(unit) - 1}" if len(unit) > 1 else unit[0] for unit in _ALONE]
)
def test_each_requirement_passes_alone_on_a_fresh_server(tmp_path: Path, selection: tuple[str, ...]) -> None:
    # When only this requirement runs, against a fresh reference server
    code, verdicts = _run(tmp_path, *(arg for rid in selection for arg in ("--select", rid)))

    # Then it passes: it set up what it needed itself
    not_passed = {rid: outcome for rid, outcome in verdicts.items() if outcome != "passed"}
    assert set(verdicts) == set(selection)
    assert not_passed == {}
    assert code == 0


@pytest.mark.full_run
@pytest.mark.parametrize("order", ["reverse", "shuffled"])
def test_the_catalogue_passes_in_any_order(tmp_path: Path, order: str) -> None:
    # When the whole catalogue runs in reverse, or shuffled by the seed
    code, verdicts = _run(tmp_path, "--order", order)

    # Then every requirement passes, as in the catalogue's order
    not_passed = {rid: outcome for rid, outcome in verdicts.items() if outcome != "passed"}
    assert not_passed == {}
    assert code == 0
