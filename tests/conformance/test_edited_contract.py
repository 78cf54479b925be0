"""--spec PATH: a server team's edited contract (other limits) drives the suite and the reference server alike."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.cli import main as kesk_conformance
from reference_server.embedded import running_server

pytestmark = pytest.mark.slow

SPEC = Path(__file__).resolve().parents[2] / "spec" / "openapi.yaml"
# Requirements whose verdict depends on a limit, and some whose verdict must not.
_SELECTION = ("PAGINATION-*", "GDPR-*", "OTP-BRUTE-FORCE", "BOLA-*", "FAVOURITE-*", "ANSWER-422-VALIDATION")
_EDITS = {
    "  otp_max_attempts: 5\n": "  otp_max_attempts: 3\n",
    "  otp_ttl_s: 600\n": "  otp_ttl_s: 300\n",
    "  deletion_grace_period_days: 30\n": "  deletion_grace_period_days: 14\n",
    "  per_page_max: 100\n": "  per_page_max: 50\n",
    "      maximum: 100\n": "      maximum: 50\n",  # PerPage and PerPageField restate per_page_max
}


@pytest.fixture(scope="module")
def edited(tmp_path_factory: pytest.TempPathFactory) -> Path:
    text = SPEC.read_text(encoding="utf-8")
    for old, new in _EDITS.items():
        assert old in text
        text = text.replace(old, new)
    path = tmp_path_factory.mktemp("contract") / "openapi.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _run(report_dir: Path, *args: str) -> tuple[int, dict[str, str]]:
    argv = ["run", "--seed", "2", "--max-examples", "3", "--quiet", "--report-dir", str(report_dir), *args]
    for glob in _SELECTION:
        argv += ["--select", glob]
    code = kesk_conformance(argv)
    results = json.loads((report_dir / "results.json").read_text(encoding="utf-8"))
    return code, {item["id"]: item["outcome"] for item in results["requirements"]}


def test_the_suite_and_the_reference_server_follow_an_edited_contract(edited: Path, tmp_path: Path) -> None:
    # When the suite runs by the edited contract against the reference server started by the same contract
    code, verdicts = _run(tmp_path, "--spec", str(edited))
    # Then every requirement passes
    assert [rid for rid, outcome in verdicts.items() if outcome != "passed"] == []
    assert code == 0


def test_the_edited_contract_against_the_default_server_fails_the_right_requirements(
    edited: Path, tmp_path: Path
) -> None:
    # Given the reference server with the bundled contract's limits
    with running_server() as base_url:
        # When the suite judges it by the edited contract
        code, verdicts = _run(tmp_path, "--base-url", base_url, "--test-support", base_url, "--spec", str(edited))
    # Then only requirements whose limit differs fail: 5 attempts allowed where 3 are, per_page 51 accepted
    # where 50 is the maximum (by the pagination machine and by the required 422 above the edited maximum); and
    # in the deletion machine (which stops at its first violation) an OTP still
    # good after the 5 minutes the edited contract gives it, or a deletion scheduled 30 days ahead, not 14;
    # and the export OTP still good after 5 minutes
    failed = {rid for rid, outcome in verdicts.items() if outcome == "failed"}
    deletion = {"GDPR-OTP-EXPIRY", "GDPR-DELETION-FLOW"}
    limits = {"OTP-BRUTE-FORCE", "PAGINATION-BOUNDS", "GDPR-EXPORT-OTP-EXPIRY", "ANSWER-422-VALIDATION"}
    assert limits <= failed <= limits | deletion
    assert failed & deletion
    assert code == 1


def test_a_contract_edited_halfway_is_refused_before_the_run(tmp_path: Path) -> None:
    # Given a contract whose x-kesk-limits changed but whose PerPage schema still says 100
    text = SPEC.read_text(encoding="utf-8").replace("  per_page_max: 100\n", "  per_page_max: 50\n")
    halfway = tmp_path / "openapi.yaml"
    halfway.write_text(text, encoding="utf-8")
    # Then the run stops with a usage error naming both places
    assert kesk_conformance(["run", "--spec", str(halfway), "--report-dir", str(tmp_path / "r")]) == 2
