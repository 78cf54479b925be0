"""Spec coverage: the figures match what the run sent, and --min-coverage gates the run on them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from conformance.contract import bundled_contract
from conformance.coverage import documented_status_key, spec_coverage
from conformance.operations import OperationIndex

SELECTION = ("--select", "AUTH-401-MISSING", "--select", "BOLA-EMAIL-READ")


def kesk(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "conformance.cli", *args], capture_output=True, text=True, timeout=600, check=False
    )


@pytest.fixture(scope="module")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], dict[str, Any]]:
    """One run of two plain requirements (results.json, and every exchange as HAR)."""
    folder = tmp_path_factory.mktemp("coverage")
    done = kesk("run", *SELECTION, "--report-dir", str(folder), "--har", str(folder / "run.har"), "--quiet")
    assert done.returncode == 0, done.stderr + done.stdout
    results = json.loads((folder / "results.json").read_text())
    har = json.loads((folder / "run.har").read_text())
    results["report_dir"] = str(folder)
    return results, har


def _sent_per_operation(results: dict[str, Any], har: dict[str, Any]) -> dict[str, dict[str, set[str]]]:
    """Per operation: the query parameter names and JSON body properties its recorded requests carried."""
    index = OperationIndex(bundled_contract().document)
    base = httpx.URL(results["target"]["base_url"]).path.rstrip("/")
    sent: dict[str, dict[str, set[str]]] = {}
    for entry in har["log"]["entries"]:
        request = entry["request"]
        url = httpx.URL(request["url"])
        op = index.resolve(request["method"], url.path.removeprefix(base))
        assert op is not None, request["url"]
        mine = sent.setdefault(op.operation_id, {"query": set(), "properties": set()})
        mine["query"].update(item["name"] for item in request["queryString"])
        if "postData" in request:
            body = json.loads(request["postData"]["text"])
            if isinstance(body, dict):
                mine["properties"].update(body)
    return sent


def test_statuses_parameters_and_properties_are_exactly_those_the_run_sent(
    small_run: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    # Given
    results, har = small_run
    coverage = results["coverage"]
    index = OperationIndex(bundled_contract().document)
    sent = _sent_per_operation(results, har)
    # Then: a documented status is covered exactly when the run received a status matching it
    for op in index:
        received = [int(code) for code in results["operations"].get(op.operation_id, {}).get("statuses", {})]
        keys = list(op.responses())
        expected = {key: any(documented_status_key(code, keys) == key for code in received) for key in keys}
        assert coverage["operations"][op.operation_id]["statuses"] == expected, op.operation_id
    # Then: a parameter or property is covered exactly when a recorded request of its operation sent it
    for op in index:
        mine = sent.get(op.operation_id, {"query": set(), "properties": set()})
        row = coverage["operations"][op.operation_id]
        for key, covered in row["parameters"].items():
            where, name = key.split(":", 1)
            assert covered == (op.operation_id in sent if where == "path" else name in mine["query"]), key
        for name, covered in row["properties"].items():
            assert covered == (name in mine["properties"]), (op.operation_id, name)
    # Then: the only rule checked is the one BOLA-EMAIL-READ cites (AUTH-401-MISSING cites none)
    assert {rule for rule, item in coverage["rules"].items() if item["checked"]} == {"OWNER-SCOPE"}
    assert coverage["rules"]["OWNER-SCOPE"]["by"] == ["BOLA-EMAIL-READ"]
    # Then: the overall figure is covered / documented over the four parts
    parts = coverage["parts"]
    assert coverage["covered"] == sum(part["covered"] for part in parts.values())
    assert coverage["documented"] == sum(part["documented"] for part in parts.values())
    assert coverage["percent"] == round(100 * coverage["covered"] / coverage["documented"], 1)
    assert parts["rules"] == {"covered": 1, "documented": len(bundled_contract().rules), "percent": 5.3}


def test_every_documented_item_is_counted_once() -> None:
    # Given: a run that sent nothing
    coverage = spec_coverage(bundled_contract(), statuses={}, exchanges=[], verdicts=[])
    # Then
    index = OperationIndex(bundled_contract().document)
    assert coverage.parts["statuses"].documented == sum(len(op.responses()) for op in index)
    assert coverage.parts["rules"].documented == len(bundled_contract().rules)
    assert coverage.covered == 0
    assert coverage.percent == 0.0
    assert "spec coverage 0.0%" in coverage.line()


@pytest.mark.parametrize(("floor", "code"), [("100", 1), ("1", 0)])
def test_min_coverage_fails_the_run_below_it(floor: str, code: int, tmp_path: Path) -> None:
    # When
    done = kesk("run", "--select", "AUTH-401-MISSING", "--report-dir", str(tmp_path), "--min-coverage", floor)
    # Then
    assert done.returncode == code, done.stderr + done.stdout
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["summary"]["exit_code"] == code
    assert results["coverage"]["min_coverage"] == float(floor)
    assert "spec coverage" in done.stdout
    if code:
        assert done.stderr.strip().splitlines() == [
            f"kesk-conformance: spec coverage {results['coverage']['percent']:.1f}% is below --min-coverage 100%"
        ]
    else:
        assert done.stderr.strip() == ""


def test_min_coverage_out_of_range_is_a_usage_error(tmp_path: Path) -> None:
    # When
    done = kesk("run", "--select", "AUTH-401-MISSING", "--report-dir", str(tmp_path), "--min-coverage", "150")
    # Then
    assert done.returncode == 2
    assert done.stderr.strip() == "kesk-conformance: --min-coverage 150 must be a percentage between 0 and 100"


def test_report_html_shows_the_spec_coverage(small_run: tuple[dict[str, Any], dict[str, Any]]) -> None:
    # Given
    results, _ = small_run
    # When
    page = (Path(results["report_dir"]) / "report.html").read_text()
    # Then
    assert f"Spec coverage {results['coverage']['percent']:.1f}%" in page
    assert 'id="rule-OWNER-SCOPE"' in page
    assert "query:page" in page
