"""Failure steps in results.json and `kesk-conformance replay`: still failing on the faulty server, passing on a
clean one."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from conformance.steps import parse_expectation
from reference_server.embedded import running_server

FAULT = "auth_ignored"  # getProfileValidation answers without a token: AUTH-401-MISSING, a plain check
REQUIREMENT = "AUTH-401-MISSING"


def kesk(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "conformance.cli", *args], capture_output=True, text=True, timeout=600, check=False
    )


def new_user(base_url: str) -> dict[str, str]:
    answer = httpx.post(f"{base_url}/_test/users", json={}, timeout=10)
    assert answer.status_code == 201
    user: dict[str, str] = answer.json()
    return user


@pytest.fixture(scope="module")
def faulty_server() -> Iterator[tuple[str, dict[str, str], dict[str, str]]]:
    with running_server(faults=[FAULT]) as url:
        yield url, new_user(url), new_user(url)


@pytest.fixture(scope="module")
def failed_run(
    faulty_server: tuple[str, dict[str, str], dict[str, str]], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, Any], list[str]]:
    """A run against the faulty server with known tokens: its report folder, results.json and the secrets."""
    url, user_a, user_b = faulty_server
    folder = tmp_path_factory.mktemp("replay")
    done = kesk(
        "run",
        *("--base-url", url, "--token", user_a["token"], "--token-b", user_b["token"]),
        *("--password", user_a["password"], "--select", REQUIREMENT, "--select", "AUTH-401-INVALID"),
        *("--report-dir", str(folder), "--quiet"),
    )
    assert done.returncode == 1, done.stderr + done.stdout
    results = json.loads((folder / "results.json").read_text())
    return folder, results, [user_a["token"], user_b["token"], user_a["password"]]


def _requirement(results: dict[str, Any], requirement_id: str) -> dict[str, Any]:
    found: dict[str, Any] = next(item for item in results["requirements"] if item["id"] == requirement_id)
    return found


def test_a_failure_records_the_requests_of_its_requirement_up_to_the_failing_one(
    failed_run: tuple[Path, dict[str, Any], list[str]],
) -> None:
    # Given
    folder, results, secrets = failed_run
    item = _requirement(results, REQUIREMENT)
    # Then: the check's own requests, in order, the failing one last with its expectation
    steps = item["steps"]
    assert steps["kind"] == "check"
    requests = steps["requests"]
    assert [step["auth"] for step in requests] == ["none"] * len(requests)
    assert requests[-1]["operation"] == "getProfileValidation"
    assert requests[-1]["method"] == "GET"
    assert requests[-1]["status"] == 200
    assert requests[-1]["expect"]["statuses"] == [401]
    assert all("expect" not in step for step in requests[:-1])
    assert len(requests) == [step["operation"] for step in requests].index("getProfileValidation") + 1
    # Then: secret body fields are placeholders, and no secret is anywhere in the results
    deletion = next(step for step in requests if step["operation"] == "deleteAccount")
    assert deletion["json"] == {"password": "${password}"}
    assert deletion["secrets"] == ["password"]
    text = (folder / "results.json").read_text()
    assert not any(secret in text for secret in secrets)
    # Then: a requirement that passed has no steps
    assert "steps" not in _requirement(results, "AUTH-401-INVALID")


def test_replay_still_fails_against_the_faulty_server(failed_run: tuple[Path, dict[str, Any], list[str]]) -> None:
    # When: the default target, the embedded reference server, with the fault on
    folder, _, _ = failed_run
    done = kesk("replay", str(folder / "results.json"), REQUIREMENT, "--fault", FAULT)
    # Then
    assert done.returncode == 1, done.stderr + done.stdout
    assert f"{REQUIREMENT} still fails" in done.stdout
    assert "GET /user/profile-validation as none -> 200  STILL FAILS (expected 401 unauthorized)" in done.stdout


def test_replay_passes_against_the_clean_server(failed_run: tuple[Path, dict[str, Any], list[str]]) -> None:
    # When
    folder, _, _ = failed_run
    done = kesk("replay", str(folder / "results.json"), REQUIREMENT)
    # Then
    assert done.returncode == 0, done.stderr + done.stdout
    assert f"{REQUIREMENT} passes now" in done.stdout


def test_replay_against_a_given_target_uses_its_tokens(
    failed_run: tuple[Path, dict[str, Any], list[str]], faulty_server: tuple[str, dict[str, str], dict[str, str]]
) -> None:
    # When
    folder, _, secrets = failed_run
    url, user_a, _ = faulty_server
    done = kesk("replay", str(folder / "results.json"), REQUIREMENT, "--base-url", url, "--token", user_a["token"])
    # Then
    assert done.returncode == 1, done.stderr + done.stdout
    assert not any(secret in done.stdout + done.stderr for secret in secrets)


@pytest.mark.parametrize(
    ("requirement", "message"),
    [
        ("NO-SUCH-ID", "has no requirement 'NO-SUCH-ID'"),
        ("AUTH-401-INVALID", "AUTH-401-INVALID has no recorded steps"),
    ],
)
def test_replay_mistakes_exit_2_with_one_line(
    requirement: str, message: str, failed_run: tuple[Path, dict[str, Any], list[str]]
) -> None:
    # When
    folder, _, _ = failed_run
    done = kesk("replay", str(folder / "results.json"), requirement)
    # Then
    assert done.returncode == 2
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr


def test_replay_of_an_unreadable_file_exits_2(tmp_path: Path) -> None:
    # Given
    (tmp_path / "results.json").write_text("not json")
    # When
    done = kesk("replay", str(tmp_path / "results.json"), REQUIREMENT)
    # Then
    assert done.returncode == 2
    assert (
        done.stderr.strip()
        == f"kesk-conformance: {tmp_path / 'results.json'} is not JSON; pass the results.json of a run"
    )


def test_a_lifecycle_failure_keeps_the_shrunk_example_and_replays(tmp_path: Path) -> None:
    # Given: the favourites machine finds a second add of the same product accepted
    done = kesk(
        "run",
        "--fault",
        "favourite_duplicate",
        "--select",
        "FAVOURITE-DUPLICATE",
        "--report-dir",
        str(tmp_path),
        "--quiet",
    )
    assert done.returncode == 1, done.stderr + done.stdout
    item = _requirement(json.loads((tmp_path / "results.json").read_text()), "FAVOURITE-DUPLICATE")
    # Then: the steps are the requests of the shrunk example, as the transcript lists them, the failure last
    steps = item["steps"]
    assert steps["kind"] == "lifecycle"
    transcript = item["failures"][0]["steps"]
    # (the transcript also names each step, "[state] action", between its requests)
    sent = [line for line in transcript[transcript.index("requests of the failing example:") + 1 :] if " -> " in line]
    recorded = [
        f"{step['operation']}: {step['method']} {step['path']} -> {step['status']}" for step in steps["requests"]
    ]
    assert recorded[-len(sent) :] == sent
    assert steps["requests"][-1]["expect"]["statuses"] == [409]
    assert steps["requests"][-1]["auth"].startswith("user:")
    # When / Then: still failing with the fault, passing without it
    faulty = kesk("replay", str(tmp_path / "results.json"), "FAVOURITE-DUPLICATE", "--fault", "favourite_duplicate")
    assert faulty.returncode == 1, faulty.stdout + faulty.stderr
    clean = kesk("replay", str(tmp_path / "results.json"), "FAVOURITE-DUPLICATE")
    assert clean.returncode == 0, clean.stdout + clean.stderr


@pytest.mark.parametrize(
    ("expected", "status", "body", "statuses", "code"),
    [
        # CheckContext.expect_status's wording
        ("no Authorization header: status 401", 200, {}, (401,), None),
        ("a foreign email id: status 404 or 409", 200, {}, (404, 409), None),
        # Lifecycle.expect's wording, with the ErrorResponse code
        ("a second add of the same product: 409 already_exists", 201, {"id": 1}, (409,), "already_exists"),
        # not a status expectation: the recorded answer is what replay compares with
        ("401 with 'WWW-Authenticate: Bearer ...' and an ErrorResponse body", 401, {"code": "unauthorized"}, (), None),
        # a status expectation the recorded answer meets: the failure was about something else
        ("the profile: status 200", 200, {}, (), None),
    ],
)
def test_recorded_expectations_are_read_from_the_checks_wording(
    expected: str, status: int, body: dict[str, Any], statuses: tuple[int, ...], code: str | None
) -> None:
    # When
    expectation = parse_expectation(expected, "actual", status, body)
    # Then
    assert (expectation.statuses, expectation.code) == (statuses, code)
    assert expectation.violated_by(status, body)  # the recorded answer is a failure of what was recorded


def test_the_wording_of_the_checks_is_what_the_parser_reads() -> None:
    # Given: the two helpers that state status expectations
    from conformance.checks.lifecycles._base import Lifecycle
    from conformance.context import CheckContext

    context_source = inspect.getsource(CheckContext.expect_status)
    lifecycle_source = inspect.getsource(Lifecycle.expect)
    # Then: they still word them as parse_expectation reads them
    assert "expected=f\"{what}: status {' or '.join(map(str, sorted(allowed)))}\"" in context_source
    assert '" or ".join(str(s) for s in sorted(allowed)) + (f" {code}" if code else "")' in lifecycle_source
    assert 'expected=f"{what}: {shown}"' in lifecycle_source
