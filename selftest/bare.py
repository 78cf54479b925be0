"""Bare Schemathesis: the documented `st run` with only conformance/schemathesis.toml, no hooks, no suite code.

The command is the one tests/evidence/test_bare_schemathesis.py runs; only the budget
(`--max-examples`) and the seed vary.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
SPEC = REPO / "spec" / "openapi.yaml"
CONFIG = REPO / "conformance" / "schemathesis.toml"

__all__ = ["BareRun", "bare_command", "new_token", "run_bare_st"]


@dataclass(slots=True, frozen=True)
class BareRun:
    exit_code: int | None  # None: timed out
    duration_s: float
    output_tail: str  # the end of its output, token masked

    @property
    def caught(self) -> bool:
        """Exit 1 is Schemathesis' "failures found"; anything else is not a detection."""
        return self.exit_code == 1


def new_token(base_url: str) -> str:
    """A disposable user from the test-support contract."""
    answer = httpx.post(f"{base_url}/_test/users", timeout=10)
    answer.raise_for_status()
    return str(answer.json()["token"])


def bare_command(base_url: str, token: str, *, max_examples: int, seed: int) -> list[str]:
    return [
        sys.executable, "-m", "schemathesis.cli", "--config-file", str(CONFIG),
        "run", str(SPEC), "--url", base_url, "-H", f"Authorization: Bearer {token}",
        "--checks", "all", "--phases", "examples,coverage,fuzzing,stateful",
        "--max-examples", str(max_examples), "--seed", str(seed), "--no-color",
    ]  # fmt: skip


def run_bare_st(base_url: str, *, max_examples: int, seed: int, timeout_s: float, workers: int = 1) -> BareRun:
    """Run bare `st run` against base_url with a fresh user; its cwd is a temporary directory (Schemathesis and
    Hypothesis write their folders there)."""
    token = new_token(base_url)
    command = [*bare_command(base_url, token, max_examples=max_examples, seed=seed), "--workers", str(workers)]
    # No hooks module, even one named in the caller's environment: the config alone must suffice.
    env = {name: value for name, value in os.environ.items() if name != "SCHEMATHESIS_HOOKS"}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="selftest-st-") as cwd:
        try:
            done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout_s, env=env)
        except subprocess.TimeoutExpired as exc:
            out = exc.stdout if isinstance(exc.stdout, str) else (exc.stdout or b"").decode(errors="replace")
            return BareRun(None, time.perf_counter() - started, out[-2000:].replace(token, "[TOKEN]"))
    output = (done.stdout + done.stderr).replace(token, "[TOKEN]")
    return BareRun(done.returncode, time.perf_counter() - started, output[-4000:])
