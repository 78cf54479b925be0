"""The real mail path, end to end: reference server --smtp -> MailDev (SMTP) -> --inbox maildev:URL -> the suite.

MailDev comes from the project's own lock file (`scripts/install-maildev`: npm ci in tools/maildev). Without
Node.js or that install the test skips, saying which; `KESK_REQUIRE_MAILDEV=1` (set by .ci/run) makes
it fail instead, so CI cannot pass without having run it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from reference_server.launcher import ServerProcess

REPO = Path(__file__).parents[2]
MAILDEV = REPO / "tools" / "maildev" / "node_modules" / ".bin" / "maildev"
REQUIRED = os.environ.get("KESK_REQUIRE_MAILDEV") == "1"
# The e-mail lifecycle, the deletion flow (account_deletion mails) and the phone token (SMS from the outbox).
SELECTION = ("EMAIL-*", "GDPR-DELETION-FLOW", "PHONE-VERIFY-TOKEN")

pytestmark = pytest.mark.slow


def unavailable(reason: str) -> None:
    if REQUIRED:
        pytest.fail(f"{reason}; KESK_REQUIRE_MAILDEV=1 forbids skipping this test", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class MailDev:
    web_url: str
    smtp_port: int

    def mails(self) -> list[dict[str, Any]]:
        listed: list[dict[str, Any]] = httpx.get(f"{self.web_url}/api/email", timeout=10).json()
        return listed


@pytest.fixture(scope="module")
def maildev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MailDev]:
    if shutil.which("node") is None:
        unavailable("Node.js is not installed: MailDev needs Node.js 20+ (apt-get install nodejs npm)")
    if not MAILDEV.exists():
        unavailable("MailDev is not installed: run scripts/install-maildev (npm ci in tools/maildev)")
    folder = tmp_path_factory.mktemp("maildev")
    smtp_port, web_port = free_port(), free_port()
    log = (folder / "maildev.log").open("w")
    listen = ["--ip", "127.0.0.1", "--web-ip", "127.0.0.1", "--smtp", str(smtp_port), "--web", str(web_port)]
    process = subprocess.Popen(
        [str(MAILDEV), *listen, "--mail-directory", str(folder / "mail")],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    web_url = f"http://127.0.0.1:{web_port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{web_url}/api/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail(f"MailDev did not start:\n{(folder / 'maildev.log').read_text()[-2000:]}", pytrace=False)
            time.sleep(0.1)
        yield MailDev(web_url, smtp_port)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture(scope="module")
def server(maildev: MailDev) -> Iterator[ServerProcess]:
    """`kesk-conformance serve --smtp` in its own process, mailing to MailDev."""
    command = [
        sys.executable,
        "-m",
        "conformance.cli",
        "serve",
        "--port",
        "0",
        "--smtp",
        f"127.0.0.1:{maildev.smtp_port}",
    ]
    process = ServerProcess(command, cwd=REPO)
    try:
        yield process
    finally:
        process.stop()


def test_the_email_lifecycles_pass_with_codes_read_from_maildev(
    maildev: MailDev, server: ServerProcess, tmp_path: Path
) -> None:
    # Given a reference server that mails its codes to MailDev
    selection = [arg for pattern in SELECTION for arg in ("--select", pattern)]
    # When the suite reads its e-mail codes from MailDev (and SMS codes from the test-support outbox)
    target = ["--base-url", server.base_url, "--test-support", server.base_url]
    quick = ["--max-examples", "2", "--seed", "1", "--workers", "2", "--quiet", "--report-dir", str(tmp_path)]
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "conformance.cli",
            "run",
            *target,
            "--inbox",
            f"maildev:{maildev.web_url}",
            *selection,
            *quick,
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    # Then every selected requirement passed
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    results = json.loads((tmp_path / "results.json").read_text())
    outcomes = {r["id"]: r["outcome"] for r in results["requirements"]}
    assert {"EMAIL-VERIFY-TOKEN", "GDPR-DELETION-FLOW", "PHONE-VERIFY-TOKEN"} <= set(outcomes)
    assert set(outcomes.values()) == {"passed"}, outcomes
    assert "MailDev at" in json.dumps(results)
    # And MailDev really received every e-mail code the server sent, to its address, and no SMS
    outbox = httpx.get(f"{server.base_url}/_test/outbox", timeout=10).json()["messages"]
    sent = {(m["address"].casefold(), m["code"]) for m in outbox if m["channel"] == "email"}
    caught = {
        (to["address"].casefold(), code)
        for mail in maildev.mails()
        for to in mail["to"]
        for code in re.findall(r"\b\d{6}\b", mail["text"])
    }
    purposes = {m["purpose"] for m in outbox if m["channel"] == "email"}
    assert {"email_verification", "account_deletion"} <= purposes
    assert sent and sent <= caught
    sms_codes = {m["code"] for m in outbox if m["channel"] == "sms"}
    assert sms_codes and not sms_codes & {code for _, code in caught}
    # And no code reached the run's output
    codes = {code for _, code in sent} | sms_codes
    assert not any(code in run.stdout + run.stderr for code in codes)
