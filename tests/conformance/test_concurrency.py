"""Requirements on a pool of workers: the same verdicts whatever the concurrency; violations reported when seen;
--exitfirst stops and cleans up."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from conformance.cli import main as kesk_conformance
from conformance.config import parse
from conformance.runner import AUTO_LOCAL_WORKERS, AUTO_REMOTE_WORKERS, auto_workers
from reference_server.embedded import running_server

pytestmark = pytest.mark.slow

# Quick checks and lifecycles of every kind; Schemathesis and the observers are left to the self-test.
_SELECTION = ("AUTH-401-*", "BOLA-*", "MASS-ASSIGNMENT", "FAVOURITE-*", "FCM-*", "EMAIL-*", "GDPR-*", "IDV-*")


def _run(report_dir: Path, *args: str) -> tuple[int, dict[str, object]]:
    argv = ["run", "--seed", "11", "--max-examples", "3", "--report-dir", str(report_dir), "--quiet", *args]
    for glob in _SELECTION:
        argv += ["--select", glob]
    code = kesk_conformance(argv)
    return code, json.loads((report_dir / "results.json").read_text(encoding="utf-8"))


def _verdicts(results: dict[str, object]) -> dict[str, str]:
    return {item["id"]: item["outcome"] for item in results["requirements"]}  # type: ignore[attr-defined]


def test_workers_1_and_8_give_the_same_verdicts(tmp_path: Path) -> None:
    # When the same seed runs one requirement at a time, then on eight workers, against a server with a fault
    one_code, one = _run(tmp_path / "one", "--workers", "1", "--fault", "bola_email_read")
    eight_code, eight = _run(tmp_path / "eight", "--workers", "8", "--fault", "bola_email_read")

    # Then every requirement has the same verdict, and the fault is caught both times
    assert _verdicts(one) == _verdicts(eight)
    # (the fault also lets a verified contact be read: BOLA-CONTACT-VERIFIED sees it too)
    failed = {rid for rid, outcome in _verdicts(eight).items() if outcome != "passed"}
    assert failed == {"BOLA-EMAIL-READ", "BOLA-CONTACT-VERIFIED"}
    assert one_code == eight_code == 1


def test_exitfirst_stops_starting_requirements_and_still_cleans_up(tmp_path: Path) -> None:
    with running_server(faults=("bola_email_read",)) as base_url:
        user = httpx.post(f"{base_url}/_test/users", json={}, timeout=10).json()
        other = httpx.post(f"{base_url}/_test/users", json={}, timeout=10).json()
        # When a run with --exitfirst meets a failure in a requirement that adds to user A's account
        argv = ("--base-url", base_url, "--token", user["token"], "--token-b", other["token"], "--workers", "1")
        code, results = _run(tmp_path, *argv, "--exitfirst")
        held = {
            path: httpx.get(f"{base_url}{path}", headers={"Authorization": f"Bearer {user['token']}"}).json()["total"]
            for path in ("/user/emails", "/user/phones", "/favourites")
        }

    # Then the run fails, and the requirements after the failure did not start and say why
    verdicts = _verdicts(results)
    assert code == 1
    assert verdicts["AUTH-401-MISSING"] == "passed"
    assert verdicts["BOLA-EMAIL-READ"] == "failed"
    after = list(verdicts)[list(verdicts).index("BOLA-EMAIL-READ") + 1 :]
    assert after and {verdicts[rid] for rid in after} == {"skipped"}
    reasons = {item["id"]: item["reason"] for item in results["requirements"]}  # type: ignore[attr-defined]
    assert all("--maxfail is 1" in reasons[rid] for rid in after)
    # and what the requirement that ran added to user A's account was removed: A holds its one email
    assert held == {"/user/emails": 1, "/user/phones": 0, "/favourites": 0}


def test_workers_auto_is_few_for_a_local_target_and_many_across_a_network() -> None:
    assert parse(["--workers", "auto"], {}, prog="kesk-conformance run").workers is None
    assert parse([], {}, prog="kesk-conformance run").workers is None  # the default
    assert auto_workers(0.002) == AUTO_LOCAL_WORKERS < auto_workers(0.050) == AUTO_REMOTE_WORKERS


def test_a_violation_is_printed_when_seen_and_kept_with_its_request(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # When a run (one requirement at a time) meets a server whose answers break the schema
    argv = ["run", "--fault", "wrong_field_type", "--seed", "3", "--max-examples", "2", "--workers", "1"]
    argv += ["--report-dir", str(tmp_path)]
    for glob in ("SCHEMA-RESPONSE-BODY", "AUTH-401-MISSING", "BOLA-EMAIL-READ"):
        argv += ["--select", glob]
    code = kesk_conformance(argv)
    output = capsys.readouterr().out
    results = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))

    # Then the violation is printed when it is seen, before the requirement's verdict
    body = next(item for item in results["requirements"] if item["id"] == "SCHEMA-RESPONSE-BODY")
    seen = f"failing SCHEMA-RESPONSE-BODY (first seen at request {body['first_failure_request']},"
    assert code == 1 and seen in output
    assert output.index(seen) < output.index("failed  SCHEMA-RESPONSE-BODY")
    # and results.json keeps when and at which request: the first of its failures, before its verdict
    assert body["first_failure_request"] == min(failure["request_number"] for failure in body["failures"])
    assert 0 < body["first_failure_s"] <= body["finished_s"]
    # and it was judged as it arrived: before the checks that ran after the observers' first reads ended, not
    # when the observer's own turn came at the end (a requirement that passed has no first failure)
    passed = next(item for item in results["requirements"] if item["id"] == "AUTH-401-MISSING")
    assert passed["outcome"] == "passed" and passed["first_failure_s"] is None
    assert body["first_failure_s"] < passed["finished_s"] < body["finished_s"]


def test_exitfirst_stops_the_checks_still_running_at_the_first_violation(tmp_path: Path) -> None:
    # When the whole catalogue runs with --exitfirst against a server whose profile answers break the schema
    code, results = _full_run(tmp_path, "--fault", "wrong_field_type", "--exitfirst")

    # Then the violation fails its requirement, seen while everything else still ran
    verdicts = _verdicts(results)
    assert code == 1 and verdicts["SCHEMA-RESPONSE-BODY"] == "failed"
    # and every other requirement stopped or never started, saying why: none ran to its end
    others = {item["id"]: item for item in results["requirements"] if item["id"] != "SCHEMA-RESPONSE-BODY"}
    assert {item["outcome"] for item in others.values()} == {"skipped"}
    assert all("--maxfail is 1" in item["reason"] for item in others.values())


def _full_run(report_dir: Path, *args: str) -> tuple[int, dict[str, object]]:
    argv = ["run", "--seed", "11", "--max-examples", "3", "--report-dir", str(report_dir), "--quiet", *args]
    code = kesk_conformance(argv)
    return code, json.loads((report_dir / "results.json").read_text(encoding="utf-8"))
