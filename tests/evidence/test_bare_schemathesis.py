"""Evidence: bare Schemathesis, with only conformance/schemathesis.toml, passes the clean reference server.

No hooks module and no suite code: the contract, the config file and a bearer token are all
it gets. The second test seeds a fault and expects the same command to fail, so the config's
per-operation expectations are shown not to hide real bugs.
"""

from __future__ import annotations

import os
import queue
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "spec" / "openapi.yaml"
CONFIG = ROOT / "conformance" / "schemathesis.toml"
_START_TIMEOUT_S = 30.0
_RUN_TIMEOUT_S = 600.0

pytestmark = pytest.mark.slow


@contextmanager
def reference_server(*faults: str) -> Iterator[str]:
    """`python -m reference_server --port 0` in a subprocess; yields the base URL it prints."""
    command = [sys.executable, "-m", "reference_server", "--port", "0"]
    for fault in faults:
        command += ["--fault", fault]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue[str] = queue.Queue()
    assert process.stdout is not None
    # Keep draining the pipe in the background: a full pipe would block the server.
    threading.Thread(target=_drain, args=(process.stdout, lines), daemon=True).start()
    try:
        while True:
            line = lines.get(timeout=_START_TIMEOUT_S)
            match = re.match(r"base URL: (\S+)", line)
            if match:
                break
        yield match.group(1)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def _drain(stream: IO[str], into: queue.Queue[str]) -> None:
    for line in stream:
        into.put(line)


def bare_st_run(base_url: str, tmp_path: Path, *narrowing: str) -> tuple[int, str]:
    """The documented bare command (narrowed by `narrowing` filters); its exit code and its output, token masked."""
    token = httpx.post(f"{base_url}/_test/users", timeout=10).json()["token"]
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(CONFIG),
        "run",
        str(SPEC),
        "--url",
        base_url,
        "-H",
        f"Authorization: Bearer {token}",
        "--checks",
        "all",
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--seed",
        "1",
        "--max-examples",
        "10",
        "--no-color",
        *narrowing,
    ]
    # tmp_path as cwd: nothing Schemathesis writes (reports, caches) lands in the repository.
    # And no hooks module, even one named in the caller's environment: the config alone must suffice.
    env = {name: value for name, value in os.environ.items() if name != "SCHEMATHESIS_HOOKS"}
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=_RUN_TIMEOUT_S, env=env)
    return done.returncode, (done.stdout + done.stderr).replace(token, "[TOKEN]")


def _failures_section(output: str) -> str:
    start = output.find("FAILURES")
    return output[start:] if start >= 0 else output[-4000:]


def test_bare_schemathesis_passes_the_clean_reference_server(tmp_path: Path) -> None:
    # Given the clean reference server and a disposable user
    with reference_server() as base_url:
        # When bare st runs every phase and every check with only the checked-in config
        code, output = bare_st_run(base_url, tmp_path)
    # Then it finds nothing
    assert code == 0, _failures_section(output)
    assert "30 selected / 30 total" in output


@pytest.mark.parametrize(
    ("fault", "operation", "symptom"),
    [
        ("wrong_content_type", "GET /user/gdpr-status", "Undocumented Content-Type"),
        ("undocumented_status", "POST /favourites", "ST103 Undocumented status code"),
    ],
)
def test_bare_schemathesis_still_fails_on_a_seeded_fault(
    tmp_path: Path, fault: str, operation: str, symptom: str
) -> None:
    # Given a server with one seeded bug that no documented refusal covers
    with reference_server(fault) as base_url:
        # When the same command runs, narrowed to the operation with the bug (the clean run above is the whole API)
        method, path = operation.split(" ", 1)
        code, output = bare_st_run(base_url, tmp_path, "--include-method", method, "--include-path", path)
    # Then the same command and config exit 1 and report that operation with that symptom
    assert code == 1, output[-4000:]
    section = _operation_section(_failures_section(output), operation)
    assert symptom in section, section or output[-4000:]


def _operation_section(failures: str, operation: str) -> str:
    """The block of the FAILURES section headed '____ <operation> ____' (empty when there is none)."""
    match = re.search(rf"_+ {re.escape(operation)} _+\n(.*?)(?=\n_{{5,}} |\n=+ )", failures, re.S)
    return match.group(1) if match else ""
