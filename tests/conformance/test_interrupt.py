"""Ctrl-C and SIGTERM (a CI timeout) mid-run: the results so far are written and user A is left as found."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from reference_server.embedded import running_server

pytestmark = pytest.mark.slow

_VERDICT = re.compile(r"\s*\d+/\d+ (passed|failed|skipped|error)\b")
_HELD = ("/user/emails", "/user/phones", "/favourites")


def _held(base_url: str, token: str) -> dict[str, list[object]]:
    headers = {"Authorization": f"Bearer {token}"}
    return {
        path: httpx.get(f"{base_url}{path}", params={"per_page": 100}, headers=headers, timeout=10).json()["items"]
        for path in _HELD
    }


def _interrupt_after_verdicts(argv: list[str], verdicts: int, signum: int) -> tuple[int, str]:
    """Start a run, send `signum` once it has printed `verdicts` verdict lines; its exit code and output."""
    process = subprocess.Popen(
        [sys.executable, "-m", "conformance.cli", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert process.stdout is not None
    seen, lines = 0, []
    for line in process.stdout:
        lines.append(line)
        if _VERDICT.match(line):
            seen += 1
        if seen >= verdicts:
            break
    process.send_signal(signum)
    started = time.monotonic()
    rest, _ = process.communicate(timeout=120)
    assert time.monotonic() - started < 60, "the interrupted run took too long to stop"
    return process.returncode, "".join(lines) + rest


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_an_interrupted_run_writes_its_results_and_cleans_up(tmp_path: Path, signum: int) -> None:
    with running_server() as base_url:
        user = httpx.post(f"{base_url}/_test/users", json={}, timeout=10).json()
        other = httpx.post(f"{base_url}/_test/users", json={}, timeout=10).json()
        before = _held(base_url, user["token"])
        # When a run on user A's own account (no user factory) is interrupted once a few verdicts are known
        argv = [
            "run",
            "--base-url",
            base_url,
            "--token",
            user["token"],
            "--token-b",
            other["token"],
            "--inbox",
            "test-support",
            "--seed",
            "5",
            "--report-dir",
            str(tmp_path),
        ]
        code, output = _interrupt_after_verdicts(argv, verdicts=8, signum=signum)
        after = _held(base_url, user["token"])

    # Then it exits 130 without a traceback, and its results are written, marked interrupted
    assert code == 130, output[-2000:]
    assert "Traceback" not in output
    results = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    assert results["summary"]["interrupted"] is True
    cut = [item for item in results["requirements"] if "interrupted" in item["reason"]]
    assert cut and all(item["outcome"] == "skipped" for item in cut), [
        (i["id"], i["outcome"], i["reason"]) for i in cut if i["outcome"] != "skipped"
    ]
    assert len(results["requirements"]) - len(cut) >= 8  # the verdicts known before the signal are kept
    # And what the run added to user A's account is gone
    assert after == before
    assert user["token"] not in output
