"""`pytest --pyargs conformance --base-url URL`: the suite inside a team's own pytest."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from reference_server.embedded import running_server


def run_pytest(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "--pyargs", "conformance", "-p", "no:cacheprovider", "-rA", *args],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=cwd,
        check=False,
    )


@pytest.mark.parametrize(
    ("url_flag", "plugins"),
    [
        ("--base-url", []),  # pytest-base-url's option, which the suite reads
        ("--kesk-base-url", []),
        ("--base-url", ["-p", "no:base_url"]),  # without pytest-base-url, the plugin's own --base-url
    ],
    ids=["pytest-base-url", "kesk-base-url", "own-base-url"],
)
def test_one_test_per_requirement_and_a_fault_fails_its_test(tmp_path: Path, url_flag: str, plugins: list[str]) -> None:
    # Given a server that answers getProfileValidation without a token
    with running_server(faults=("auth_ignored",)) as base_url:
        token = httpx.post(f"{base_url}/_test/users", json={}, timeout=10).json()["token"]
        # When a team runs the suite from its own pytest, in its own folder
        done = run_pytest(
            tmp_path,
            *plugins,
            url_flag,
            base_url,
            "--kesk-token",
            token,
            "--kesk-select",
            "AUTH-401-MISSING",
            "--kesk-select",
            "AUTH-401-INVALID",
        )
    # Then each requirement is a test: the broken one fails with its curl line, the other passes
    assert done.returncode == 1, done.stdout[-2000:]
    assert "FAILED" in done.stdout and "test_requirement[AUTH-401-MISSING]" in done.stdout
    assert "PASSED" in done.stdout and "test_requirement[AUTH-401-INVALID]" in done.stdout
    assert "curl -X GET" in done.stdout and token not in done.stdout
    assert (tmp_path / "reports" / "results.json").is_file()


def test_the_plugin_coexists_with_pytest_base_url(tmp_path: Path) -> None:
    # Given pytest-base-url (a test extra) and a team's own test that uses its base_url fixture
    assert importlib.util.find_spec("pytest_base_url") is not None, "pip install -e '.[test]'"
    (tmp_path / "test_app.py").write_text(
        "def test_app(base_url):\n    assert base_url == 'https://app.example.com'\n", encoding="utf-8"
    )
    # When the team runs its pytest with pytest-base-url's option (both plugins load)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--base-url", "https://app.example.com"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        check=False,
    )
    # Then no option conflicts, the team's test sees its URL, and the suite (not collected) stays out of the way
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "conflicting option string" not in done.stderr
    assert "1 passed" in done.stdout
    assert [path.name for path in tmp_path.iterdir()] == ["test_app.py"]


def test_a_bad_option_is_a_usage_error_not_a_traceback(tmp_path: Path) -> None:
    done = run_pytest(tmp_path, "--kesk-base-url", "ftp://nowhere", "--kesk-token", "t")
    assert done.returncode == 4  # pytest's usage-error status
    assert "is not an http(s) URL" in done.stderr
    assert "Traceback" not in done.stdout + done.stderr


def test_under_pytest_xdist_the_verdicts_are_one_process_verdicts(tmp_path: Path) -> None:
    # Given a server with a fault, and a selection the suite runs in one process and on two xdist workers
    selection = ["--kesk-select", "AUTH-401-*", "--kesk-select", "BOLA-*", "--kesk-select", "FAVOURITE-*"]
    with running_server(faults=("bola_email_read",)) as base_url:
        users = [httpx.post(f"{base_url}/_test/users", json={}, timeout=10).json() for _ in range(2)]
        given = ["--base-url", base_url, "--kesk-token", users[0]["token"], "--kesk-token-b", users[1]["token"]]
        # A user factory gives each worker's lifecycles users of their own (user A is shared by both workers).
        given += ["--kesk-test-support", base_url, "--kesk-seed", "9", *selection]
        (tmp_path / "one").mkdir()
        (tmp_path / "two").mkdir()
        one = run_pytest(tmp_path / "one", *given, "-p", "no:xdist")
        two = run_pytest(tmp_path / "two", *given, "-n", "2")

    # Then both fail the same way, and the workers' results are merged into one results.json
    assert one.returncode == two.returncode == 1, two.stdout[-2000:]

    def verdicts(folder: Path) -> dict[str, str]:
        results = json.loads((folder / "reports" / "results.json").read_text(encoding="utf-8"))
        return {item["id"]: item["outcome"] for item in results["requirements"]}

    assert verdicts(tmp_path / "one") == verdicts(tmp_path / "two")
    assert verdicts(tmp_path / "two")["BOLA-EMAIL-READ"] == "failed"
    assert len(list((tmp_path / "two" / "reports" / ".workers").iterdir())) == 2
    # and nothing but the reports was written in the team's folder
    assert [path.name for path in (tmp_path / "one").iterdir()] == ["reports"]


# --- adopting the suite step by step, as with `kesk-conformance run` -------------------------------------------
_KNOWN = """
[[known]]
requirement = "AUTH-401-MISSING"
reason = "KESK-1: getProfileValidation answers without a token"

[[known]]
requirement = "AUTH-401-INVALID"
reason = "fixed since"
"""


def _adoption_run(folder: Path, base_url: str, token: str, *args: str, env: dict[str, str] | None = None) -> Any:
    selection = ["--kesk-select", "AUTH-401-MISSING", "--kesk-select", "AUTH-401-INVALID", "--kesk-select", "FCM-*"]
    given = ["--kesk-base-url", base_url, "--kesk-token", token, "--kesk-seed", "5", *selection, *args]
    return subprocess.run(
        [sys.executable, "-m", "pytest", "--pyargs", "conformance", "-p", "no:cacheprovider", "-rA", *given],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=folder,
        check=False,
        env={**os.environ, **(env or {})},
    )


def _outcomes(folder: Path) -> dict[str, tuple[str, bool]]:
    results = json.loads((folder / "reports" / "results.json").read_text(encoding="utf-8"))
    return {item["id"]: (item["outcome"], bool(item.get("stale"))) for item in results["requirements"]}


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["one-process", "xdist"])
def test_known_failures_and_left_out_groups_mean_what_they_mean_to_run(tmp_path: Path, workers: list[str]) -> None:
    # Given a server that answers getProfileValidation without a token (AUTH-401-MISSING fails, AUTH-401-INVALID
    # passes) and a team's known-failures file listing both, and a target without FCM tokens
    (tmp_path / "known.toml").write_text(_KNOWN, encoding="utf-8")
    with running_server(faults=("auth_ignored",)) as base_url:
        token = httpx.post(f"{base_url}/_test/users", json={}, timeout=10).json()["token"]
        # When the team runs the suite from its pytest, the file from a flag, the group from KESK_NOT_IMPLEMENTED
        done = _adoption_run(
            tmp_path,
            base_url,
            token,
            "--kesk-known-failures",
            "known.toml",
            *workers,
            env={"KESK_NOT_IMPLEMENTED": "fcm"},
        )

    # Then the listed failure is an expected failure, the listed pass fails as stale, FCM is not applicable
    out = done.stdout
    assert done.returncode == 1, out[-3000:] + done.stderr[-2000:]
    assert re.search(r"XFAIL .*test_requirement\[AUTH-401-MISSING\].*KESK-1", out), out[-3000:]
    assert re.search(r"FAILED .*test_requirement\[AUTH-401-INVALID\]", out), out[-3000:]
    assert "stale known failure (AUTH-401-INVALID): it passes now; remove it from known.toml" in out
    assert re.search(r"SKIPPED .*not applicable: the target does not implement fcm", out), out[-3000:]
    # and the reports say so as `run`'s do, merged from the workers under xdist
    outcomes = _outcomes(tmp_path)
    assert outcomes["AUTH-401-MISSING"] == ("known", False)
    assert outcomes["AUTH-401-INVALID"] == ("passed", True)
    fcm = {rid: outcome for rid, outcome in outcomes.items() if rid.startswith("FCM-")}
    assert fcm and set(fcm.values()) == {("not_applicable", False)}
    assert token not in out


def test_a_mistyped_known_failure_is_a_usage_error_before_any_request(tmp_path: Path) -> None:
    (tmp_path / "known.toml").write_text('[[known]]\nrequirement = "AUTH-401-MISING"\n', encoding="utf-8")
    done = _adoption_run(tmp_path, "http://127.0.0.1:9/v1", "t", "--kesk-known-failures", "known.toml")
    assert done.returncode == 4  # pytest's usage-error status
    assert "'AUTH-401-MISING' is not a requirement of the catalogue" in done.stderr
    assert "Traceback" not in done.stdout + done.stderr
