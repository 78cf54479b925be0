"""`run --known-failures FILE` and `kesk-conformance baseline`: known failures that cannot go stale."""

from __future__ import annotations

import datetime
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conformance.catalogue import catalogue
from conformance.config import ConfigError
from conformance.failures import FailureDetail
from conformance.known_failures import apply_known_failures, baseline, load_known_failures
from conformance.results import Outcome, RequirementResult, RunResult

SELECTION = ("--select", "AUTH-401-MISSING", "--select", "AUTH-401-INVALID", "--seed", "4")


def kesk(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "conformance.cli", *args], capture_output=True, text=True, timeout=600, check=False
    )


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


KNOWN_AUTH = """
[[known]]
requirement = "AUTH-401-MISSING"
reason = "KESK-42: profile validation answers without a token"
"""


def outcomes(folder: Path) -> dict[str, dict[str, object]]:
    results = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    return {item["id"]: item for item in results["requirements"]}


def test_a_listed_failure_does_not_count_toward_exitfirst(tmp_path: Path) -> None:
    # Given the same listed failure, and a run that stops at the first failure
    known = write(tmp_path / "known.toml", KNOWN_AUTH)
    # When
    done = kesk(
        "run", "--fault", "auth_ignored", *SELECTION, "--known-failures", str(known), "--exitfirst", "--workers", "1",
        "--report-dir", str(tmp_path),
    )  # fmt: skip
    # Then the known failure does not stop the run: the requirement after it still runs and passes
    assert done.returncode == 0, done.stdout + done.stderr
    results = outcomes(tmp_path)
    assert results["AUTH-401-MISSING"]["outcome"] == "known"
    assert results["AUTH-401-INVALID"]["outcome"] == "passed"


def test_a_listed_failure_is_reported_known_and_does_not_fail_the_run(tmp_path: Path) -> None:
    # Given a server that answers getProfileValidation without a token, and a file that lists that failure
    known = write(tmp_path / "known.toml", KNOWN_AUTH)
    # When
    done = kesk(
        "run", "--fault", "auth_ignored", *SELECTION, "--known-failures", str(known), "--report-dir", str(tmp_path)
    )
    # Then the run passes, and every report says the requirement is a known failure
    assert done.returncode == 0, done.stdout + done.stderr
    results = outcomes(tmp_path)
    assert results["AUTH-401-MISSING"]["outcome"] == "known"
    assert "KESK-42" in str(results["AUTH-401-MISSING"]["reason"])
    assert results["AUTH-401-MISSING"]["failures"], "the violations are kept"
    assert results["AUTH-401-INVALID"]["outcome"] == "passed"
    case = next(
        node
        for node in ET.parse(tmp_path / "junit.xml").iter("testcase")
        if node.get("name", "").startswith("AUTH-401-M")
    )
    skipped = case.find("skipped")
    assert skipped is not None and "known failure" in skipped.get("message", "")
    assert "known" in (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "1 known" in done.stdout.strip().splitlines()[-1]


def test_a_listed_failure_that_passes_now_fails_the_run_as_stale(tmp_path: Path) -> None:
    # Given a clean server and a file that still lists AUTH-401-MISSING
    known = write(tmp_path / "known.toml", KNOWN_AUTH)
    # When
    done = kesk("run", *SELECTION, "--known-failures", str(known), "--report-dir", str(tmp_path))
    # Then the run fails, and says which entry to remove from which file
    assert done.returncode == 1, done.stdout + done.stderr
    result = outcomes(tmp_path)["AUTH-401-MISSING"]
    assert result["outcome"] == "passed" and result["stale"] is True
    assert f"remove it from {known}" in str(result["reason"])
    assert f"remove it from {known}" in done.stdout


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ('requirement = "AUTH-401-MISING"\nreason = "typo"', "'AUTH-401-MISING' is not a requirement of the catalogue"),
        ('requirement = "AUTH-401-MISSING"\noperation = "noSuchOperation"', "operation 'noSuchOperation' is not one"),
        ('requirement = "AUTH-401-MISSING"\nexpires = "soon"', "expires must be a TOML date"),
        ('requirement = "AUTH-401-MISSING"\nwhy = "x"', "unknown key 'why'"),
    ],
)
def test_a_bad_entry_is_one_line_and_exit_2_before_any_request(entry: str, message: str, tmp_path: Path) -> None:
    # Given a known-failures file with a mistake, and a target that would refuse every connection
    known = write(tmp_path / "known.toml", f"[[known]]\n{entry}\n")
    # When
    done = kesk(
        "run", "--base-url", "http://127.0.0.1:9/v1", "--token", "t0ken-value", "--known-failures", str(known),
        "--report-dir", str(tmp_path),
    )  # fmt: skip
    # Then it says so in one line, without trying to reach the target
    assert done.returncode == 2
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "cannot reach the target" not in done.stderr and "Traceback" not in done.stderr


def test_the_setting_also_comes_from_the_environment(tmp_path: Path) -> None:
    known = write(tmp_path / "known.toml", '[[known]]\nrequirement = "NOPE-NOPE"\n')
    done = subprocess.run(
        [sys.executable, "-m", "conformance.cli", "run", "--report-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**__import__("os").environ, "KESK_KNOWN_FAILURES": str(known)},
    )
    assert done.returncode == 2 and "'NOPE-NOPE' is not a requirement" in done.stderr


def test_a_baseline_round_trips_into_a_green_run(tmp_path: Path) -> None:
    # Given a run that fails on a fault
    first, second = tmp_path / "first", tmp_path / "second"
    failing = kesk("run", "--fault", "auth_ignored", *SELECTION, "--report-dir", str(first))
    assert failing.returncode == 1, failing.stdout + failing.stderr
    # When its failures become the baseline, and the same run is made with that file
    printed = kesk("baseline", str(first / "results.json"), "--expires", "2999-12-31")
    assert printed.returncode == 0, printed.stderr
    known = write(tmp_path / "baseline.toml", printed.stdout)
    again = kesk(
        "run", "--fault", "auth_ignored", *SELECTION, "--known-failures", str(known), "--report-dir", str(second)
    )
    # Then the file lists exactly the failures, and the second run is green with them known
    entries = load_known_failures(known, {item.id: item.operations for item in catalogue()}).entries
    assert {entry.requirement for entry in entries} == {"AUTH-401-MISSING"}
    assert all(entry.expires == datetime.date(2999, 12, 31) and entry.reason for entry in entries)
    assert again.returncode == 0, again.stdout + again.stderr
    assert outcomes(second)["AUTH-401-MISSING"]["outcome"] == "known"


def test_baseline_of_a_file_that_is_not_results_is_one_line(tmp_path: Path) -> None:
    done = kesk("baseline", str(write(tmp_path / "x.json", "[]")))
    assert done.returncode == 2 and "is not a kesk-conformance results.json" in done.stderr


# --- the rules, on results made by hand ----------------------------------------------------------

MISSING = catalogue().get("AUTH-401-MISSING")
IDS = {item.id: item.operations for item in catalogue()}


def run_with(result: RequirementResult) -> RunResult:
    return RunResult(target={}, seed=1, strict=False, results=[result], operations={}, duration_s=0.0)


def failed_on(*operations: str) -> RequirementResult:
    failures = [FailureDetail(operation=op, expected="401", actual="200") for op in operations]
    return RequirementResult(MISSING, Outcome.FAILED, failures=failures)


def known_file(tmp_path: Path, text: str) -> Path:
    return write(tmp_path / "known.toml", text)


def test_an_expired_entry_no_longer_excuses(tmp_path: Path) -> None:
    # Given an entry that expired yesterday
    text = KNOWN_AUTH + f"expires = {datetime.date.today() - datetime.timedelta(days=1)}\n"
    run = run_with(failed_on("getProfileValidation"))
    # When
    apply_known_failures(run, load_known_failures(known_file(tmp_path, text), IDS))
    # Then the failure fails the run again, and says why
    assert run.results[0].outcome is Outcome.FAILED and run.exit_code == 1
    assert "expired on" in run.results[0].reason


def test_an_entry_with_an_operation_excuses_that_operation_only(tmp_path: Path) -> None:
    text = '[[known]]\nrequirement = "AUTH-401-MISSING"\noperation = "getProfileValidation"\nreason = "r"\n'
    known = load_known_failures(known_file(tmp_path, text), IDS)
    # A failure on the listed operation only: known
    only = run_with(failed_on("getProfileValidation"))
    apply_known_failures(only, known)
    assert only.results[0].outcome is Outcome.KNOWN and only.exit_code == 0
    # A failure on another operation too: not excused
    more = run_with(failed_on("getProfileValidation", "getMyProfile"))
    apply_known_failures(more, known)
    assert more.results[0].outcome is Outcome.FAILED and more.exit_code == 1
    # A failure elsewhere while the listed operation passes: the entry is stale
    moved = run_with(failed_on("getMyProfile"))
    apply_known_failures(moved, known)
    assert moved.results[0].stale and moved.exit_code == 1


def test_a_skipped_requirement_is_neither_excused_nor_stale(tmp_path: Path) -> None:
    run = run_with(RequirementResult(MISSING, Outcome.SKIPPED, reason="needs an inbox"))
    apply_known_failures(run, load_known_failures(known_file(tmp_path, KNOWN_AUTH), IDS))
    assert run.results[0].outcome is Outcome.SKIPPED and not run.results[0].stale and run.exit_code == 0


def test_baseline_writes_valid_toml_for_any_server_text(tmp_path: Path) -> None:
    # Given a failure whose server text holds quotes, backslashes, control characters and non-ASCII
    nasty = 'a "quoted" \\ back\x7fslash\ttab é 😀'
    results = {
        "target": {"base_url": "http://x"},
        "seed": 1,
        "requirements": [
            {
                "id": "AUTH-401-MISSING",
                "outcome": "failed",
                "failures": [{"operation": "getMyProfile", "expected": "401", "actual": nasty}],
            }
        ],
    }
    # When its baseline is read back
    entries = load_known_failures(known_file(tmp_path, baseline(results)), IDS).entries
    # Then it is the same entry
    assert [(e.requirement, e.operation) for e in entries] == [("AUTH-401-MISSING", "getMyProfile")]
    assert "😀" in entries[0].reason


def test_config_error_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is not valid TOML"):
        load_known_failures(known_file(tmp_path, "[[known]\n"), IDS)
