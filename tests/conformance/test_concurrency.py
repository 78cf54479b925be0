"""Requirements on a pool of workers: the same verdicts whatever the concurrency; --exitfirst stops and cleans up."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from conformance.cli import main as kesk_conformance
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
