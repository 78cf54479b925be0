"""`kesk-conformance diff OLD NEW [--markdown]`: what changed between two runs, per requirement and operation."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance.diff import diff_results

SELECTION = ("--select", "AUTH-401-MISSING", "--select", "AUTH-401-INVALID", "--seed", "6")


def kesk(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "conformance.cli", *args], capture_output=True, text=True, timeout=600, check=False
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """results.json of a clean run and of the same run against a server that ignores a missing token."""
    folder = tmp_path_factory.mktemp("diff")
    clean = kesk("run", *SELECTION, "--report-dir", str(folder / "clean"))
    faulty = kesk("run", "--fault", "auth_ignored", *SELECTION, "--report-dir", str(folder / "faulty"))
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert faulty.returncode == 1, faulty.stdout + faulty.stderr
    yield folder / "clean" / "results.json", folder / "faulty" / "results.json"


def test_a_regression_between_releases_is_found_and_exits_1(runs: tuple[Path, Path]) -> None:
    clean, faulty = runs
    # When the faulty release is compared with the clean one
    done = kesk("diff", str(clean), str(faulty))
    # Then the requirement and the operation it regressed on are named, and the diff fails
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Regressed (1):" in done.stdout
    assert "AUTH-401-MISSING [MUST] passed -> failed on getProfileValidation" in done.stdout
    assert "getProfileValidation: regressed AUTH-401-MISSING" in done.stdout
    assert "AUTH-401-INVALID" not in done.stdout


def test_the_way_back_is_a_fix_and_exits_0(runs: tuple[Path, Path]) -> None:
    clean, faulty = runs
    done = kesk("diff", str(faulty), str(clean))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Fixed (1):" in done.stdout and "Regressed" not in done.stdout


def test_markdown_for_a_pull_request_comment(runs: tuple[Path, Path]) -> None:
    clean, faulty = runs
    done = kesk("diff", str(clean), str(faulty), "--markdown")
    assert done.returncode == 1
    assert "**1 regression(s)**" in done.stdout
    assert "| `AUTH-401-MISSING` | MUST | passed -> failed | `getProfileValidation` |" in done.stdout
    assert "| `getProfileValidation` | `AUTH-401-MISSING` |  |" in done.stdout


def test_a_file_that_is_not_results_is_one_line_and_exit_2(tmp_path: Path, runs: tuple[Path, Path]) -> None:
    (tmp_path / "x.json").write_text("{}", encoding="utf-8")
    done = kesk("diff", str(runs[0]), str(tmp_path / "x.json"))
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "is not a kesk-conformance results.json" in done.stderr


# --- on results edited by hand ---------------------------------------------------------------------


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def test_new_removed_and_a_failure_on_a_further_operation(runs: tuple[Path, Path]) -> None:
    # Given the faulty run, and a later one where AUTH-401-MISSING also fails on getMyProfile,
    # AUTH-401-INVALID is gone and a requirement appeared
    old = load(runs[1])
    new = copy.deepcopy(old)
    missing = next(item for item in new["requirements"] if item["id"] == "AUTH-401-MISSING")
    missing["failures"].append({**missing["failures"][0], "operation": "getMyProfile"})
    new["requirements"] = [item for item in new["requirements"] if item["id"] != "AUTH-401-INVALID"]
    new["requirements"].append({"id": "AUTH-401-MALFORMED", "level": "MUST", "outcome": "passed", "failures": []})
    # When
    found = diff_results(old, new)
    # Then
    assert [(c.id, c.operations) for c in found.regressed] == [("AUTH-401-MISSING", ("getMyProfile",))]
    assert [c.id for c in found.removed] == ["AUTH-401-INVALID"]
    assert [c.id for c in found.new_requirements] == ["AUTH-401-MALFORMED"]
    assert found.by_operation() == {"getMyProfile": {"regressed": ["AUTH-401-MISSING"], "fixed": []}}
    assert found.exit_code == 1


def test_a_verdict_that_disappears_is_a_change_not_a_regression(runs: tuple[Path, Path]) -> None:
    old = load(runs[0])
    new = copy.deepcopy(old)
    for item in new["requirements"]:
        item["outcome"], item["reason"] = "skipped", "needs an inbox"
    found = diff_results(old, new)
    assert not found.regressed and len(found.changed) == 2 and found.exit_code == 0
