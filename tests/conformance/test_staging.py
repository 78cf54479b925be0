"""The whole catalogue against a staging-shaped server: no test support, codes by mail and by SMS, users from a factory.

The reference server mails its e-mail codes over SMTP to MailDev and runs by an edited contract whose lifetimes are
20 seconds (`serve --spec`), behind a proxy that answers 404 to every /_test path (bench/staging.py). The suite gets
what a staging team gives it: a user factory command (examples/staging/user-factory.py: users with history, of the
kind asked for), `--inbox email=maildev:URL`, `--inbox sms=command:...` (examples/staging/read-sms.py) and
`--real-time-expiry` with the same contract. MailDev comes from the project's lock file: without it the test skips;
`KESK_REQUIRE_MAILDEV=1` (.ci/run) makes it fail instead.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.staging import MailDev, short_lifetimes, staging
from conformance.catalogue import catalogue
from conformance.checks.lifecycles.contacts import EMAILS
from conformance.cli import main as kesk_conformance
from conformance.requirements import Level, Need
from reference_server.embedded import running_server

REPO = Path(__file__).parents[2]
LIFETIME_S = 20

pytestmark = pytest.mark.slow


def _interval(item: dict[str, Any]) -> tuple[float, float]:
    return item["finished_s"] - item["duration_s"], item["finished_s"]


@pytest.mark.full_run
def test_the_catalogue_passes_on_a_staging_server_without_test_support(maildev: MailDev, tmp_path: Path) -> None:
    # Given a staging-shaped server whose codes and files live 20 seconds
    spec = short_lifetimes(REPO / "spec" / "openapi.yaml", tmp_path / "openapi-20s.yaml", LIFETIME_S)
    with staging(maildev, spec=spec) as target:
        # When a staging team runs the catalogue with a user factory, a mail catcher, an SMS command, its contract
        # and --real-time-expiry (and no --test-support)
        args = [*target.run_args(), "--spec", str(spec), "--real-time-expiry"]
        args += ["--seed", "3", "--max-examples", "3", "--report-dir", str(tmp_path / "reports"), "--quiet"]
        run = subprocess.run(
            [sys.executable, "-m", "conformance.cli", "run", *args],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        refused = target.proxy.refused

    # Then it passes, and no MUST requirement is skipped: the phone flows read their codes from the SMS command,
    # the unverified user comes from the factory, and the lifetimes were waited out on the wall clock
    results = json.loads((tmp_path / "reports" / "results.json").read_text(encoding="utf-8"))
    verdicts = {item["id"]: item for item in results["requirements"]}
    not_passed = {
        rid: (item["outcome"], item["reason"]) for rid, item in verdicts.items() if item["outcome"] != "passed"
    }
    assert run.returncode == 0, (not_passed, run.stdout[-3000:], run.stderr[-3000:])
    must = {item.id for item in catalogue() if item.level is Level.MUST}
    assert must <= set(verdicts)
    assert not {rid for rid in must if verdicts[rid]["outcome"] != "passed"}, not_passed
    timed = {item.id for item in catalogue() if Need.CLOCK in item.needs}
    assert timed and {verdicts[rid]["outcome"] for rid in timed} == {"passed"}

    # and nothing was looked up at the base URL that the team did not name: the proxy saw no /_test request
    assert refused == 0
    assert results["target"]["test_support"] is None
    assert results["target"]["inbox"] == {
        "email": f"maildev:{maildev.web_url}",
        "sms": f"command:{sys.executable} ...",  # the command's arguments stay out of the reports
    }
    assert "wall clock" in results["target"]["clock"]

    # and the clock movers ran beside the rest: the emails machine (whose lifetimes wait about 20 s; the requirement
    # that ran it took that long, the others read its outcome) overlapped the run of another unit of work
    ran_it = max((verdicts[rid] for rid in EMAILS.owns), key=lambda item: item["duration_s"])
    assert ran_it["duration_s"] >= LIFETIME_S
    start, end = _interval(ran_it)
    beside = [
        rid
        for rid, item in verdicts.items()
        if rid not in EMAILS.owns
        and not rid.startswith("SCHEMA-")
        and _interval(item)[0] < end
        and _interval(item)[1] > start
    ]
    assert beside, [(rid, _interval(item)) for rid, item in verdicts.items()]

    # and MailDev caught real mail to the users' addresses; no code reached the output
    assert maildev.mails()
    assert "Traceback" not in run.stdout + run.stderr


def test_a_channel_without_an_inbox_skips_what_needs_it_and_names_the_flag(tmp_path: Path) -> None:
    with running_server() as base_url:
        users = [httpx.post(f"{base_url}/_test/users", json={}, timeout=10).json() for _ in range(2)]
        # When only e-mail codes have an inbox (the outbox, named for e-mail alone) and no test support is given
        code = kesk_conformance(
            [
                "run",
                "--base-url",
                base_url,
                "--token",
                users[0]["token"],
                "--token-b",
                users[1]["token"],
                "--inbox",
                "email=test-support",
                *("--select", "PHONE-*", "--select", "PROFILE-PRIMARY-PHONE", "--select", "EMAIL-VERIFY-TOKEN"),
                *("--seed", "2", "--max-examples", "2", "--quiet", "--report-dir", str(tmp_path)),
            ]
        )
    results = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    verdicts = {item["id"]: (item["outcome"], item["reason"]) for item in results["requirements"]}
    # Then what needs an SMS code is skipped, naming the channel and the flag; the rest runs and passes
    sms = {item.id for item in catalogue() if Need.SMS_INBOX in item.needs} & set(verdicts)
    assert "PHONE-VERIFY-TOKEN" in sms and all(verdicts[rid][0] == "skipped" for rid in sms)
    assert all("needs an inbox for sms codes: pass --inbox sms=SPEC" in verdicts[rid][1] for rid in sms)
    assert {outcome for rid, (outcome, _) in verdicts.items() if rid not in sms} == {"passed"}
    assert verdicts["EMAIL-VERIFY-TOKEN"][0] == "passed" and verdicts["PHONE-LIST-MODEL"][0] == "passed"
    assert results["target"]["inbox"] == {"email": f"test-support:{base_url}"} and code == 0
