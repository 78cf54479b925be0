"""The mirror of the fault self-test: against conformant variations of the server, the suite passes.

Every variant of `reference_server.variants.CATALOGUE` is switched on in one of two full runs (they combine;
the two id variants each set the id sequences, so they go to different runs). A run that fails names the
requirement; `kesk-conformance run --variant NAME` then finds which variant it does not tolerate.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from selftest_helpers import CI

from conformance.cli import main as kesk_conformance
from reference_server.variants import CATALOGUE

pytestmark = pytest.mark.slow

_ALONE = "ids_above_2_53"
GROUPS = {
    "every-variant-but-one": tuple(variant.name for variant in CATALOGUE if variant.name != _ALONE),
    _ALONE: (_ALONE,),
}


def test_the_groups_cover_every_variant() -> None:
    assert sorted(name for group in GROUPS.values() for name in group) == sorted(v.name for v in CATALOGUE)


@pytest.mark.full_run
@pytest.mark.parametrize("group", list(GROUPS), ids=list(GROUPS))
def test_the_full_catalogue_passes_against_conformant_variants(
    group: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # When the full default catalogue runs against a reference server showing these variants
    argv = ["run", "--seed", str(CI.seed), "--max-examples", str(CI.max_examples), "--report-dir", str(tmp_path)]
    for name in GROUPS[group]:
        argv += ["--variant", name]
    code = kesk_conformance([*argv, "--quiet"])
    output = capsys.readouterr().out

    # Then no MUST requirement failed or stayed undecided, and the run exits 0
    results = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    bad = {
        item["id"]: (item["outcome"], item["reason"], [f["actual"][:200] for f in item["failures"][:1]])
        for item in results["requirements"]
        if item["level"] == "MUST" and item["outcome"] in ("failed", "error")
    }
    assert bad == {}, output[-3000:]
    assert code == 0
