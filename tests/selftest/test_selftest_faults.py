"""Mutation analysis as a user would run it: the full default catalogue against each seeded fault.

tests/conformance/ proves each fault with a selection narrowed to its area; here every run is the whole
`kesk-conformance run` (CI budget), so a fault must be caught among everything else the suite does.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from selftest_helpers import run_cli

from reference_server.faults import CATALOGUE, Fault

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("fault", CATALOGUE, ids=lambda fault: fault.name)
def test_the_full_run_catches_each_fault_by_its_named_requirement(
    fault: Fault, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # When the suite's full default catalogue runs against a reference server with this one fault
    run = run_cli(capsys, tmp_path, fault.name)

    # Then every requirement the fault names failed
    outcomes = run.outcomes()
    failed = {rid for rid, outcome in outcomes.items() if outcome == "failed"}
    assert set(fault.requirements) <= failed, {rid: outcomes.get(rid) for rid in fault.requirements}
    # and the run exits 1, unless the fault names only SHOULD requirements (they fail a run with --strict only)
    levels = {run.requirement(rid)["level"] for rid in fault.requirements}
    assert run.exit_code == (1 if "MUST" in levels else 0)
    # and the failure carries a curl line that reproduces it, shown on the terminal too
    for requirement_id in fault.requirements:
        curls = [failure["curl"] for failure in run.requirement(requirement_id)["failures"]]
        assert any(curl.startswith("curl -X ") for curl in curls), curls
    assert "Reproduce with: curl -X " in run.output
    # and no check crashed or was left undecided. Other requirements may fail too when a fault breaks
    # more than one rule (python -m selftest.detection lists them as extra failures).
    assert {rid: outcome for rid, outcome in outcomes.items() if outcome == "error"} == {}
