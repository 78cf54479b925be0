"""The lifecycle machines against the reference server: green when clean, twice on one server, without an inbox.

Each seeded fault is caught by its id in the self-test (tests/selftest/test_selftest_faults.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.checks.lifecycles import REQUIREMENT_IDS, _base
from conformance.config import Settings
from conformance.results import Outcome, RunResult
from conformance.runner import execute
from reference_server.embedded import running_server

# Operations whose rules need an out-of-band value or a refusal: a run must see both outcomes.
BOTH_OUTCOMES = (
    "verifyUserEmail",
    "setPrimaryUserEmail",
    "removeUserEmail",
    "confirmAccountDeletion",
    "cancelAccountDeletion",
    "confirmDataExport",
    "downloadExport",
    "deleteAccount",
    "appSubmitNfcVerification",
)


@pytest.fixture(autouse=True)
def short_shrinking(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Keep shrinking against the live server short, so the fault runs stay quick."""
    monkeypatch.setattr(_base, "_SHRINK_BUDGET_S", 2.0)
    yield


def _outcomes(result: RunResult) -> dict[str, Outcome]:
    return {item.requirement.id: item.outcome for item in result.results}


def _not_passed(result: RunResult) -> dict[str, str]:
    return {item.requirement.id: item.reason for item in result.results if item.outcome is not Outcome.PASSED}


def test_every_lifecycle_requirement_passes_against_the_clean_server() -> None:
    # When
    result = execute(Settings(select=list(REQUIREMENT_IDS), seed=7, max_examples=5))

    # Then every lifecycle requirement ran and passed
    assert set(_outcomes(result)) == set(REQUIREMENT_IDS)
    assert _not_passed(result) == {}
    # and the out-of-band steps really completed: each rule saw a success and a refusal
    for operation_id in BOTH_OUTCOMES:
        statuses = result.operations[operation_id].statuses
        assert any(200 <= code < 300 for code in statuses), (operation_id, dict(statuses))
        assert any(400 <= code < 500 and code != 401 for code in statuses), (operation_id, dict(statuses))


def test_two_runs_in_a_row_against_one_stateful_server_both_pass(tmp_path: Path) -> None:
    # Given one reference server that keeps its state in a file
    with running_server(db=str(tmp_path / "kesk.sqlite3")) as base_url:
        settings = Settings(
            base_url=base_url, test_support=base_url, select=list(REQUIREMENT_IDS), seed=3, max_examples=3
        )

        # When the same run is made twice
        first, second = execute(settings), execute(settings)

    # Then both pass: every run uses data no earlier run used
    assert _not_passed(first) == {}
    assert _not_passed(second) == {}


def test_a_run_without_an_inbox_or_clock_skips_with_reasons() -> None:
    # Given a target with a user but no test support (so no inbox, clock or disposable users)
    with running_server() as base_url:
        import httpx

        token = httpx.post(base_url + "/_test/users", json={}).json()["token"]
        settings = Settings(base_url=base_url, token=token, select=list(REQUIREMENT_IDS), seed=5, max_examples=2)

        # When
        result = execute(settings)

    # Then the flows that need out-of-band values or disposable users are skipped with a reason
    outcomes = _outcomes(result)
    assert outcomes["EMAIL-VERIFY-TOKEN"] is Outcome.SKIPPED
    assert outcomes["GDPR-OTP-EXPIRY"] is Outcome.SKIPPED
    assert outcomes["ACCOUNT-DELETE-PASSWORD"] is Outcome.SKIPPED
    assert all(item.reason for item in result.results if item.outcome is Outcome.SKIPPED)
    # and so are the identity requirements whose pairs start from a fresh identity: user A's can be verified
    # once only, so the states before it cannot all be reached on one user (a factory gives each path its own)
    reasons = {item.requirement.id: item.reason for item in result.results}
    assert outcomes["IDV-NFC-VALID"] is Outcome.SKIPPED
    assert "not reachable from state" in reasons["IDV-NFC-VALID"]
    # and the machines that need none of these still pass as user A, every pair of their tables executed
    assert outcomes["FAVOURITE-LIST-MODEL"] is Outcome.PASSED
    assert outcomes["EMAIL-LIST-MODEL"] is Outcome.PASSED
    assert result.transitions["favourites"]["missing"] == []


# --- needs per requirement: what needs no code runs without an inbox ------------------------------------


def _no_inbox_run(tmp_path: Path, *faults: str) -> dict[str, dict[str, object]]:
    """`kesk-conformance run --base-url URL --token A --token-b B --select EMAIL-*`: no inbox, no test support."""
    import httpx

    from conformance.cli import main as kesk_conformance

    with running_server(faults=faults) as url, httpx.Client(base_url=url + "/", timeout=10) as http:
        tokens = [http.post("_test/users").json()["token"] for _ in range(2)]
        argv = ["run", "--base-url", url, "--token", tokens[0], "--token-b", tokens[1], "--select", "EMAIL-*"]
        kesk_conformance([*argv, "--max-examples", "3", "--report-dir", str(tmp_path), "--quiet"])
    results = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    return {item["id"]: item for item in results["requirements"]}


def test_requirements_that_need_no_code_run_without_an_inbox(tmp_path: Path) -> None:
    # When the emails requirements run with two users' tokens and no inbox
    found = _no_inbox_run(tmp_path)

    # Then those that need no code pass, and those that need a token are skipped with the inbox reason
    assert found["EMAIL-LIST-MODEL"]["outcome"] == "passed"
    assert found["EMAIL-REMOVE-GONE"]["outcome"] == "passed"
    assert found["EMAIL-VERIFY-TOKEN"]["outcome"] == "skipped"
    assert "inbox" in str(found["EMAIL-VERIFY-TOKEN"]["reason"])


def test_without_an_inbox_the_list_model_still_catches_its_fault(tmp_path: Path) -> None:
    assert _no_inbox_run(tmp_path, "email_total_counts_removed")["EMAIL-LIST-MODEL"]["outcome"] == "failed"
