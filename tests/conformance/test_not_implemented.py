"""`run --not-implemented GROUP`: optional parts of the API a server leaves out are reported not applicable."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from conformance._spec import load_spec
from conformance.catalogue import catalogue
from conformance.config import ConfigError, parse
from conformance.operations import OperationIndex
from conformance.optional_groups import GROUPS, group_operations, leave_out, resolve_groups
from reference_server.app import create_app
from reference_server.launcher import serve_in_thread

OPERATIONS = OperationIndex(load_spec()).ids()


def kesk(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "conformance.cli", *args], capture_output=True, text=True, timeout=600, check=False
    )


def test_each_group_is_the_operations_the_contract_names() -> None:
    groups = {group.name: set(group_operations(group, OPERATIONS)) for group in GROUPS}
    assert groups == {
        "identity": {"appCreateVerificationSession", "appGetVerificationStatus", "appSubmitNfcVerification"},
        "export": {"requestDataExport", "confirmDataExport", "downloadExport"},
        "fcm": {"registerFcmToken", "unregisterFcmToken"},
    }


def test_a_requirement_that_also_covers_other_operations_still_applies() -> None:
    # When fcm is left out of the whole catalogue
    left = leave_out(["fcm"], OPERATIONS, list(catalogue()))
    ids = {item.id for item in left.requirements}
    # Then the FCM requirements, and the flows that need an FCM operation, are not applicable; the
    # every-operation checks still run (without the FCM operations)
    assert {"FCM-REGISTER", "FCM-UNREGISTER-UNKNOWN", "BOLA-FCM-UNREGISTER", "FCM-PLATFORM-UPDATED"} <= ids
    assert not {"AUTH-401-MISSING", "INPUT-NEGATIVE-REJECTED", "SCHEMA-RESPONSE-BODY"} & ids
    assert all(set(item.operations) & set(left.groups["fcm"]) for item in left.requirements)


def test_an_unknown_group_is_a_config_error_naming_the_groups() -> None:
    with pytest.raises(ConfigError, match="'payments' is not an optional group; choose from identity, export, fcm"):
        resolve_groups(["payments"], OPERATIONS)


def test_the_groups_also_come_from_the_config_file(tmp_path: Path) -> None:
    config = tmp_path / "kesk.toml"
    config.write_text('not-implemented = ["identity", "fcm"]\n', encoding="utf-8")
    assert parse(["--config", str(config)], {}, prog="kesk-conformance run").not_implemented == ["identity", "fcm"]
    assert parse([], {"KESK_NOT_IMPLEMENTED": "export"}, prog="kesk-conformance run").not_implemented == ["export"]


def test_an_unknown_group_is_one_line_and_exit_2_before_any_request(tmp_path: Path) -> None:
    done = kesk(
        "run", "--base-url", "http://127.0.0.1:9/v1", "--token", "t", "--not-implemented", "payments",
        "--report-dir", str(tmp_path),
    )  # fmt: skip
    assert done.returncode == 2
    assert "'payments' is not an optional group" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "cannot reach" not in done.stderr


def test_a_selection_of_only_left_out_requirements_is_a_usage_error(tmp_path: Path) -> None:
    done = kesk("run", "--not-implemented", "fcm", "--select", "FCM-*", "--report-dir", str(tmp_path))
    assert done.returncode == 2 and "--not-implemented leaves no requirement" in done.stderr


def test_left_out_requirements_are_reported_not_applicable_and_not_run(tmp_path: Path) -> None:
    # When a run leaves fcm out
    done = kesk(
        "run", "--not-implemented", "fcm", "--select", "FCM-*", "--select", "BOLA-FCM-*", "--select",
        "AUTH-401-INVALID", "--seed", "2", "--report-dir", str(tmp_path),
    )  # fmt: skip
    # Then the run passes, its FCM requirements are not applicable (not skipped), and sent nothing
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    outcomes = {item["id"]: item for item in results["requirements"]}
    assert outcomes["AUTH-401-INVALID"]["outcome"] == "passed"
    fcm = [item for item in results["requirements"] if "FCM" in item["id"]]
    assert fcm and all(item["outcome"] == "not_applicable" and item["requests"] == 0 for item in fcm)
    assert "fcm" in fcm[0]["reason"]
    assert results["summary"]["not_applicable"] == len(fcm) and results["summary"]["skipped"] == 0
    # (no check sent a left-out operation)
    assert not {"registerFcmToken", "unregisterFcmToken"} & set(results["operations"])
    # And every report says which groups were left out
    assert results["target"]["not_implemented"] == {"fcm": ["registerFcmToken", "unregisterFcmToken"]}
    assert "not implemented by the target (not applicable): fcm" in done.stdout
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "Not implemented" in html and "fcm (registerFcmToken, unregisterFcmToken)" in html
    skipped = [node.get("message", "") for node in ET.parse(tmp_path / "junit.xml").iter("skipped")]
    assert len(skipped) == len(fcm) and all(message.startswith("not applicable") for message in skipped)


class _WithoutFcm:
    """A server that does not offer the FCM group: its paths answer 404 like any unknown path."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and "/account/fcm-tokens" in scope["path"]:
            body = b'{"code": "not_found", "message": "Not found."}'
            headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
            await send({"type": "http.response.start", "status": 404, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)


@pytest.mark.slow
@pytest.mark.full_run
def test_a_server_without_a_group_is_not_sent_its_operations(tmp_path: Path) -> None:
    with serve_in_thread(_WithoutFcm(create_app())) as base_url:
        argv = ["run", "--base-url", base_url, "--test-support", base_url, "--seed", "4", "--max-examples", "2"]
        argv += ["--select", "AUTH-401-*", "--select", "FCM-*", "--quiet"]
        # When the suite is told the server leaves FCM out (Schemathesis included: it fuzzes every operation)
        declared = [*argv, "--select", "INPUT-NEGATIVE-REJECTED", "--not-implemented", "fcm"]
        left_out = kesk(*declared, "--report-dir", str(tmp_path / "declared"))
        # and when it is not told
        undeclared = kesk(*argv, "--report-dir", str(tmp_path / "undeclared"))

    # Then, told, the every-operation checks pass without sending FCM requests and FCM's own are not applicable
    results = json.loads((tmp_path / "declared" / "results.json").read_text(encoding="utf-8"))
    verdicts = {item["id"]: item["outcome"] for item in results["requirements"]}
    assert {verdicts[rid] for rid in verdicts if rid.startswith("FCM-")} == {"not_applicable"}
    assert {outcome for rid, outcome in verdicts.items() if not rid.startswith("FCM-")} == {"passed"}
    assert not {"registerFcmToken", "unregisterFcmToken"} & set(results["operations"])
    assert left_out.returncode == 0, left_out.stdout[-2000:]
    # and, not told, the missing group fails the run
    assert undeclared.returncode == 1
