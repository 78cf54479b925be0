"""The real mail path, end to end: reference server --smtp -> MailDev (SMTP) -> --inbox maildev:URL -> the suite.

MailDev comes from the project's own lock file (`scripts/install-maildev`: npm ci in tools/maildev). Without
Node.js or that install the test skips, saying which; `KESK_REQUIRE_MAILDEV=1` (set by .ci/run) makes
it fail instead, so CI cannot pass without having run it.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bench.staging import MailDev
from reference_server.launcher import ServerProcess

REPO = Path(__file__).parents[2]
# The e-mail lifecycle, the deletion flow (account_deletion mails) and the phone token (SMS from the outbox).
SELECTION = ("EMAIL-*", "GDPR-DELETION-FLOW", "PHONE-VERIFY-TOKEN")

pytestmark = pytest.mark.slow


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
    # When the suite reads its e-mail codes from MailDev (and SMS codes from the outbox of the test support given)
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
    assert results["target"]["inbox"] == {
        "email": f"maildev:{maildev.web_url}",
        "sms": f"test-support:{server.base_url}",
    }
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
