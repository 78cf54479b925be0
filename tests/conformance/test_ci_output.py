"""Output made for CI logs: no carriage returns, no wrapping, the summary last; GitHub annotations and step summary."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from conformance.catalogue import catalogue
from conformance.failures import FailureDetail
from conformance.reporting.ci import github_annotations, markdown_summary
from conformance.reporting.terminal import render_summary
from conformance.results import Outcome, RequirementResult, RunResult

SELECTION = ("--select", "AUTH-401-MISSING", "--select", "AUTH-401-INVALID", "--seed", "8")


def kesk(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # stdout is a pipe, as in a CI job
    return subprocess.run(
        [sys.executable, "-m", "conformance.cli", *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env=env,
    )


@pytest.fixture(scope="module")
def github_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[subprocess.CompletedProcess[str], Path]]:
    folder = tmp_path_factory.mktemp("ci")
    summary = folder / "step-summary.md"
    summary.write_text("earlier step\n", encoding="utf-8")
    env = {**os.environ, "GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary), "COLUMNS": "80"}
    done = kesk("run", "--fault", "auth_ignored", *SELECTION, "--report-dir", str(folder / "reports"), env=env)
    yield done, folder


def test_ci_output_has_no_carriage_return_and_ends_with_the_summary(
    github_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    done, _ = github_run
    assert done.returncode == 1, done.stdout + done.stderr
    # Then nothing in the log rewrites a line
    assert "\r" not in done.stdout
    # And the last line is the whole summary, with the seed, on one line
    last = done.stdout.rstrip("\n").splitlines()[-1]
    assert last.startswith("1 passed, 1 failed, 0 skipped, 0 error"), last
    assert last.endswith("seed 8)"), last
    # And long lines are not wrapped at 80 columns: the reproduction command is one line
    curl = [line for line in done.stdout.splitlines() if "Reproduce with: curl" in line]
    assert curl and all("/user/profile-validation" in line for line in curl), curl
    assert max(len(line) for line in done.stdout.splitlines()) > 80


def test_under_github_actions_each_failure_is_an_annotation_and_the_step_summary_is_appended(
    github_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    done, folder = github_run
    annotations = [line for line in done.stdout.splitlines() if line.startswith("::")]
    assert len(annotations) == 1, annotations
    assert annotations[0].startswith("::error title=AUTH-401-MISSING::")
    assert "Expected: no Authorization header: status 401" in annotations[0]
    summary = (folder / "step-summary.md").read_text(encoding="utf-8")
    assert summary.startswith("earlier step\n"), "the summary is appended, not overwritten"
    assert "## Kesk conformance: failed (exit code 1)" in summary
    assert "| `AUTH-401-MISSING` | MUST | failed | `getProfileValidation` |" in summary
    assert "seed `8`" in summary


def test_the_requests_add_up(github_run: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    _, folder = github_run
    results = json.loads((folder / "reports" / "results.json").read_text(encoding="utf-8"))
    summary = results["summary"]
    per_requirement = sum(item["requests"] for item in results["requirements"])
    per_operation = sum(stats["requests"] for stats in results["operations"].values())
    assert per_requirement == summary["requests_for_requirements"] > 0
    assert per_requirement + summary["requests_for_setup"] == summary["requests"]
    assert per_operation + summary["requests_off_spec"] == summary["requests"]
    assert 0 < summary["requests_for_setup"] < per_requirement  # the preflight and the cleanup


def test_outside_github_actions_there_is_no_annotation(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if key not in ("GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY")}
    done = kesk("run", "--select", "AUTH-401-INVALID", "--report-dir", str(tmp_path), env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert not [line for line in done.stdout.splitlines() if line.startswith("::")]
    assert "seed" in done.stdout.splitlines()[-1]


# --- on results made by hand -----------------------------------------------------------------------


def requirement(requirement_id: str) -> RequirementResult:
    return RequirementResult(catalogue().get(requirement_id), Outcome.PASSED)


def test_annotations_escape_newlines_and_separators_and_warn_on_a_lenient_should() -> None:
    # Given an undecided MUST requirement whose reason spans lines, and a SHOULD violation without --strict
    must = requirement("AUTH-401-MISSING")
    must.outcome = Outcome.ERROR
    must.reason = "no answer\r\nread: 100% lost"
    should = next(item for item in catalogue() if item.level.value == "SHOULD")
    lenient = RequirementResult(should, Outcome.FAILED, failures=[FailureDetail("getMyProfile", "x", "y")])
    run = RunResult(target={}, seed=1, strict=False, results=[must, lenient], operations={}, duration_s=0.0)
    # When
    lines = github_annotations(run)
    # Then one line each, GitHub's escapes applied
    assert lines[0].startswith("::error title=AUTH-401-MISSING::") and "no answer%0D%0Aread: 100%25 lost" in lines[0]
    assert lines[1].startswith(f"::warning title={should.id}::")
    assert all("\n" not in line for line in lines)
    assert "| Requirement |" in markdown_summary(run)


def test_an_observer_reports_the_exchanges_it_judged() -> None:
    observer = next(item for item in catalogue() if item.observes)
    judged = RequirementResult(observer, Outcome.PASSED, requests=0, judged=1234)
    run = RunResult(target={}, seed=1, strict=False, results=[judged], operations={}, duration_s=0.0, sent=5)
    out = io.StringIO()
    render_summary(run, Console(file=out, width=200, soft_wrap=True))
    assert "judged 1234" in out.getvalue()
    assert run.as_json()["requirements"][0]["judged"] == 1234  # type: ignore[index]
