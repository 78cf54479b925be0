"""Staging users have history: the suite passes when every account it is handed already holds data."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import httpx
import pytest
from prefill import prefill

from conformance.cli import main as kesk_conformance
from reference_server.embedded import running_server

pytestmark = pytest.mark.slow

_PREFILL = Path(__file__).with_name("prefill.py")


def _verdicts(report_dir: Path) -> dict[str, str]:
    results = json.loads((report_dir / "results.json").read_text(encoding="utf-8"))
    return {item["id"]: item["outcome"] for item in results["requirements"]}


@pytest.mark.full_run
def test_the_catalogue_passes_on_users_handed_over_with_history(tmp_path: Path) -> None:
    with running_server() as base_url:
        # Given users A and B that already hold favourites, FCM tokens, unverified emails and phones, an export
        users = [httpx.post(f"{base_url}/_test/users", json={}, timeout=10).json() for _ in range(2)]
        for user in users:
            prefill(base_url, user["token"], user["email"])
        # When the whole catalogue runs on them (their own accounts: no user factory)
        code = kesk_conformance(
            [
                "run",
                "--base-url",
                base_url,
                "--token",
                users[0]["token"],
                "--token-b",
                users[1]["token"],
                "--password",
                users[0]["password"],
                "--inbox",
                "test-support",
                "--seed",
                "8",
                "--max-examples",
                "2",
                "--report-dir",
                str(tmp_path),
                "--quiet",
            ]
        )

    # Then nothing fails; what needs the clock or disposable users is skipped, and says why
    verdicts = _verdicts(tmp_path)
    assert {rid for rid, outcome in verdicts.items() if outcome not in ("passed", "skipped")} == set()
    assert list(verdicts.values()).count("passed") >= 40
    assert code == 0


@pytest.mark.full_run
def test_the_catalogue_passes_when_every_new_user_comes_with_history(tmp_path: Path) -> None:
    with running_server() as base_url:
        # When every user the suite asks for (the factory's) already holds data, clock and inbox included
        factory = f"{sys.executable} {_PREFILL} {base_url}"
        code = kesk_conformance(
            [
                "run",
                "--base-url",
                base_url,
                "--user-factory",
                factory,
                "--test-support",
                base_url,
                "--seed",
                "8",
                "--max-examples",
                "2",
                "--report-dir",
                str(tmp_path),
                "--quiet",
            ]
        )

    # Then nothing fails; at most a few requirements are skipped (a Schemathesis phase that drew no DELETE at
    # this budget)
    verdicts = _verdicts(tmp_path)
    assert {rid for rid, outcome in verdicts.items() if outcome not in ("passed", "skipped")} == set()
    assert list(verdicts.values()).count("passed") >= len(verdicts) - 3
    assert code == 0
