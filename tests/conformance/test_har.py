"""`run --har FILE`: every exchange of the run as a structurally valid HAR 1.2 log, with no secret in it."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from reference_server.embedded import running_server


def kesk(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "conformance.cli", *args], capture_output=True, text=True, timeout=600, check=False
    )


@pytest.fixture(scope="module")
def har_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """A run with two users whose tokens (and a password) the test knows: the HAR, results.json, the secrets."""
    folder = tmp_path_factory.mktemp("har")
    with running_server() as url:
        a, b = (httpx.post(f"{url}/_test/users", json={}, timeout=10).json() for _ in range(2))
        done = kesk(
            "run", "--base-url", url, "--token", a["token"], "--token-b", b["token"], "--password", a["password"],
            "--select", "AUTH-401-INVALID", "--select", "BOLA-EMAIL-READ", "--select", "ACCOUNT-DELETE-PASSWORD",
            "--report-dir", str(folder), "--har", str(folder / "run.har"), "--quiet",
        )  # fmt: skip
    assert done.returncode == 0, done.stderr + done.stdout
    har = json.loads((folder / "run.har").read_text())
    results = json.loads((folder / "results.json").read_text())
    return har, results, [a["token"], b["token"], a["password"]]


def _names_and_values(items: Any) -> None:
    assert isinstance(items, list)
    for item in items:
        assert isinstance(item["name"], str)
        assert isinstance(item["value"], str)


def test_the_har_file_is_structurally_valid_har_1_2(har_run: tuple[dict[str, Any], dict[str, Any], list[str]]) -> None:
    # Given
    har, results, _ = har_run
    log = har["log"]
    # Then: the log (HAR 1.2: log.version, creator, entries)
    assert log["version"] == "1.2"
    assert log["creator"]["name"] == "kesk-conformance"
    assert isinstance(log["creator"]["version"], str)
    entries = log["entries"]
    # every request a requirement sent is there (the preflight and the cleanup come on top of these)
    assert len(entries) >= sum(item["requests"] for item in results["requirements"])
    for entry in entries:
        datetime.fromisoformat(entry["startedDateTime"])
        assert isinstance(entry["time"], int | float) and entry["time"] >= 0
        request, response = entry["request"], entry["response"]
        assert request["method"] in {"GET", "POST", "PUT", "PATCH", "DELETE"}
        assert httpx.URL(request["url"]).is_absolute_url
        assert request["httpVersion"] and isinstance(request["cookies"], list)
        _names_and_values(request["headers"])
        _names_and_values(request["queryString"])
        assert request["headersSize"] == -1 and isinstance(request["bodySize"], int)
        if "postData" in request:
            assert isinstance(request["postData"]["mimeType"], str) and isinstance(request["postData"]["text"], str)
        assert isinstance(response["status"], int) and isinstance(response["statusText"], str)
        assert response["httpVersion"] and isinstance(response["cookies"], list)
        _names_and_values(response["headers"])
        assert isinstance(response["content"]["size"], int) and isinstance(response["content"]["mimeType"], str)
        assert isinstance(response["redirectURL"], str)
        assert response["headersSize"] == -1 and isinstance(response["bodySize"], int)
        assert entry["cache"] == {}
        assert {"send", "wait", "receive"} <= entry["timings"].keys()
        assert all(value >= -1 for value in entry["timings"].values())
    # and entries keep the order the run sent them in
    assert [int(entry["comment"].split()[0].lstrip("#")) for entry in entries] == sorted(
        int(entry["comment"].split()[0].lstrip("#")) for entry in entries
    )


def test_the_har_file_holds_no_secret(har_run: tuple[dict[str, Any], dict[str, Any], list[str]]) -> None:
    # Given
    har, _, secrets = har_run
    text = json.dumps(har)
    # Then: no token or password, anywhere
    assert not any(secret in text for secret in secrets)
    # and user A's requests show a redacted bearer, the password sent to deleteAccount a mask
    authorizations = [
        header["value"]
        for entry in har["log"]["entries"]
        for header in entry["request"]["headers"]
        if header["name"].lower() == "authorization"
    ]
    assert authorizations and all(value.endswith("[REDACTED]") for value in authorizations)
    deletions = [
        entry["request"]["postData"]["text"]
        for entry in har["log"]["entries"]
        if entry["request"]["url"].endswith("/account/delete") and "postData" in entry["request"]
    ]
    assert deletions and all(json.loads(text)["password"] == "[REDACTED]" for text in deletions)


def test_the_har_entries_name_the_requirement_that_sent_them(
    har_run: tuple[dict[str, Any], dict[str, Any], list[str]],
) -> None:
    har, results, _ = har_run
    for item in results["requirements"]:
        sent = [entry for entry in har["log"]["entries"] if entry["comment"].endswith(f" for {item['id']}")]
        assert len(sent) == item["requests"], item["id"]


def test_an_unwritable_har_path_is_a_usage_error(tmp_path: Path) -> None:
    # Given
    (tmp_path / "file").write_text("")
    # When
    done = kesk(
        "run", "--select", "AUTH-401-MISSING", "--report-dir", str(tmp_path), "--har", str(tmp_path / "file" / "x.har")
    )
    # Then
    assert done.returncode == 2
    assert "pass a writable --har" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
