"""The detection tool's pure parts: judging a run, the summary and the markdown table."""

from __future__ import annotations

from typing import Any

import pytest

from selftest.detection import render_table, suite_verdict, summarise


def _requirement(rid: str, outcome: str, requests: int, *numbers: int, level: str = "MUST") -> dict[str, Any]:
    failures = [
        {"operation": "setPrimaryUserEmail", "curl": f"curl -X PUT 'http://x/v1/user/emails/{n}'", "request_number": n}
        for n in numbers
    ]
    return {"id": rid, "level": level, "outcome": outcome, "reason": "", "requests": requests, "failures": failures}


def _run(*requirements: dict[str, Any]) -> dict[str, Any]:
    failed = any(item["outcome"] == "failed" for item in requirements)
    return {
        "requirements": list(requirements),
        "summary": {"requests": 1 + sum(r["requests"] for r in requirements), "exit_code": int(failed)},
    }


def test_a_fault_is_caught_when_its_named_requirement_failed() -> None:
    # Given a run where the named requirement failed at requests 18 and 15 (the third of its own)
    run = _run(
        _requirement("AUTH-401-MISSING", "passed", 12),
        _requirement("EMAIL-PRIMARY-UNIQUE", "failed", 10, 18, 15),
        _requirement("PAGINATION-WALK", "failed", 4, 25),
    )
    # When
    verdict = suite_verdict(run, ["EMAIL-PRIMARY-UNIQUE"])
    # Then the earliest offending request counts, in the run and inside the requirement (1 preflight + 12 before)
    assert verdict["caught"] is True
    assert verdict["requests_until_caught"] == 15
    assert verdict["sent_by"] == "EMAIL-PRIMARY-UNIQUE"
    assert verdict["requests_in_requirement"] == 2
    assert verdict["curl"] is True
    # and a failure the fault does not name is reported, not hidden
    assert verdict["extra_failures"] == ["PAGINATION-WALK"]


def test_a_request_an_observer_judged_counts_in_the_check_that_sent_it() -> None:
    # Given an observer (no requests of its own) that failed on request 5, sent by the first check
    run = _run(_requirement("AUTH-401-MISSING", "passed", 12), _requirement("SCHEMA-RESPONSE-BODY", "failed", 0, 5))
    verdict = suite_verdict(run, ["SCHEMA-RESPONSE-BODY"])
    assert (verdict["requests_until_caught"], verdict["sent_by"], verdict["requests_in_requirement"]) == (
        5,
        "AUTH-401-MISSING",
        4,
    )


def test_a_fault_is_missed_unless_every_named_requirement_failed() -> None:
    run = _run(_requirement("GDPR-OTP-BOUND", "failed", 3, 2), _requirement("GDPR-OTP-EXPIRY", "passed", 5))
    verdict = suite_verdict(run, ["GDPR-OTP-BOUND", "GDPR-OTP-EXPIRY"])
    assert verdict["caught"] is False
    assert verdict["requests_until_caught"] is None


def _report() -> dict[str, Any]:
    def fault(name: str, rid: str, caught: bool, until: int | None, st: bool, extra: list[str]) -> dict[str, Any]:
        return {
            "name": name,
            "requirements": [rid],
            "suite": {
                "caught": caught,
                "requests_until_caught": until,
                "requests_in_requirement": until,
                "curl": caught,
                "extra_failures": extra,
                "exit_code": 1 if caught else 0,
            },
            "schemathesis": {"caught": st, "exit_code": 1 if st else 0, "timed_out": False},
        }

    faults = [
        fault("wrong_content_type", "SCHEMA-CONTENT-TYPE", True, 40, True, []),
        fault("two_primaries", "EMAIL-PRIMARY-UNIQUE", True, 160, False, ["PROFILE-PRIMARY-EMAIL"]),
        fault("nfc_expired_accepted", "IDV-NFC-EXPIRY", False, None, False, []),
    ]
    return {
        "profile": "ci",
        "seed": 1,
        "max_examples": 5,
        "wall_time_s": 600.0,
        "clean": {
            "suite": {"passed": 67, "requirements": 67, "exit_code": 0},
            "schemathesis": {"caught": False, "exit_code": 0},
        },
        "faults": faults,
        "summary": summarise(faults),
    }


def test_the_summary_counts_both_tools_and_the_requests_until_caught() -> None:
    summary = _report()["summary"]
    assert summary["suite_caught"] == 2
    assert summary["schemathesis_caught"] == 1
    assert summary["suite_detection_rate"] == pytest.approx(0.667)
    assert summary["median_requests_until_caught"] == 100
    assert summary["max_requests_until_caught"] == 160
    assert summary["suite_missed"] == ["nfc_expired_accepted"]
    assert summary["suite_extra_failures"] == {"two_primaries": ["PROFILE-PRIMARY-EMAIL"]}


def test_the_table_has_one_row_per_fault_with_both_columns() -> None:
    table = render_table(_report())
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    assert rows == [
        "| `wrong_content_type` | `SCHEMA-CONTENT-TYPE` | yes | 40 | yes |",
        "| `two_primaries` | `EMAIL-PRIMARY-UNIQUE` | yes (also failed: `PROFILE-PRIMARY-EMAIL`) | 160 | **no** |",
        "| `nfc_expired_accepted` | `IDV-NFC-EXPIRY` | **no** | - | **no** |",
    ]
    assert "| fault | requirement | suite: caught | requests until caught | bare Schemathesis: caught |" in table
    assert "the suite 2/3, bare Schemathesis 1/3" in table
    assert "Missed by the suite: `nfc_expired_accepted`." in table
