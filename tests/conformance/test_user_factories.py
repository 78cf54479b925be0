"""User factories are told the kind of user wanted (KESK_USER_KIND and the last argument) and may refuse (exit 3)."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import pytest

from conformance.cli import main as kesk_conformance
from conformance.redact import Redactor
from conformance.users import CommandUserFactory, UnsupportedUser, UserFactoryError, UserKind
from reference_server.embedded import running_server

EXAMPLE_FACTORY = Path(__file__).parents[2] / "examples" / "staging" / "user-factory.py"


def _script(tmp_path: Path, body: str) -> str:
    path = tmp_path / "factory.py"
    path.write_text("import json, os, sys\n" + body, encoding="utf-8")
    return f"{shlex.quote(sys.executable)} {shlex.quote(str(path))}"


def test_the_command_is_told_the_kind_in_its_environment_and_as_its_last_argument(tmp_path: Path) -> None:
    # Given a factory that echoes what it was asked, in its token
    command = _script(tmp_path, "print(json.dumps({'token': os.environ['KESK_USER_KIND'] + '/' + sys.argv[-1]}))\n")
    factory = CommandUserFactory(command, Redactor())
    # When it is asked for each kind; then it was told each
    assert factory.create("A").token == "verified/verified"
    assert factory.create("u", UserKind.UNVERIFIED_EMAIL).token == "unverified-email/unverified-email"


def test_exit_3_refuses_a_kind_and_any_other_failure_is_an_error(tmp_path: Path) -> None:
    refusing = CommandUserFactory(_script(tmp_path, "raise SystemExit(3)\n"), Redactor())
    with pytest.raises(UnsupportedUser, match=r"cannot make a user of kind unverified-email \(exit 3\)"):
        refusing.create("u", UserKind.UNVERIFIED_EMAIL)
    failing = CommandUserFactory(_script(tmp_path, "raise SystemExit(1)\n"), Redactor())
    with pytest.raises(UserFactoryError, match="exited 1") as caught:
        failing.create("A")
    assert not isinstance(caught.value, UnsupportedUser)


def _verified_email_required(tmp_path: Path, factory: str, *faults: str) -> dict[str, str]:
    """GDPR-VERIFIED-EMAIL-REQUIRED against a server without test support for the suite: users from `factory`."""
    with running_server(faults=faults) as base_url:
        code = kesk_conformance(
            [
                "run",
                "--base-url",
                base_url,
                "--user-factory",
                factory.replace("{base}", base_url),
                "--select",
                "GDPR-VERIFIED-EMAIL-REQUIRED",
                "--report-dir",
                str(tmp_path / "reports"),
                "--quiet",
            ]
        )
    results = json.loads((tmp_path / "reports" / "results.json").read_text(encoding="utf-8"))
    item = results["requirements"][0]
    return {"code": str(code), "outcome": item["outcome"], "reason": item["reason"]}


def test_an_unverified_user_comes_from_a_command_factory(tmp_path: Path) -> None:
    factory = f"{shlex.quote(sys.executable)} {shlex.quote(str(EXAMPLE_FACTORY))} {{base}}"
    # When the factory can make users whose primary email is unverified, the requirement is judged: it passes
    assert _verified_email_required(tmp_path / "clean", factory) == {"code": "0", "outcome": "passed", "reason": ""}
    # and it fails on a server that lets such a user request a deletion
    broken = _verified_email_required(tmp_path / "fault", factory, "sensitive_without_verified_email")
    assert (broken["code"], broken["outcome"]) == ("1", "failed")


def test_a_factory_that_refuses_the_kind_skips_the_requirement_with_the_reason(tmp_path: Path) -> None:
    refusing = _script(
        tmp_path,
        "if os.environ['KESK_USER_KIND'] != 'verified':\n    raise SystemExit(3)\n"
        "import subprocess\nsys.exit(subprocess.call([sys.executable, sys.argv[1], sys.argv[2]]))\n",
    )
    found = _verified_email_required(tmp_path, f"{refusing} {shlex.quote(str(EXAMPLE_FACTORY))} {{base}}")
    assert (found["code"], found["outcome"]) == ("0", "skipped")
    assert "cannot make a user of kind unverified-email (exit 3)" in found["reason"]


def test_a_factory_that_ignores_the_kind_is_not_trusted_with_a_verified_user(tmp_path: Path) -> None:
    # Given a factory written before kinds existed: it always makes a verified user
    ignoring = f"{shlex.quote(sys.executable)} {shlex.quote(str(EXAMPLE_FACTORY))} {{base}} verified"
    found = _verified_email_required(tmp_path, ignoring)
    # Then the requirement is skipped, saying why, rather than judged on the wrong user
    assert (found["code"], found["outcome"]) == ("0", "skipped")
    assert (
        "gave a user whose primary email is verified when asked for KESK_USER_KIND=unverified-email"
        in (found["reason"])
    )
