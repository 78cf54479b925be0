"""Lifetimes waited out on the wall clock (--real-time-expiry) judge what the test clock judges: each expiry fault
fails its requirement, and a conformant server passes. The contract's lifetimes are 20 seconds here, the server
runs by the same contract (`--spec` reaches the embedded server too)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.staging import short_lifetimes
from conformance.catalogue import catalogue
from conformance.cli import main as kesk_conformance
from conformance.requirements import Need

pytestmark = pytest.mark.slow

SPEC = Path(__file__).parents[2] / "spec" / "openapi.yaml"
TIMED = sorted(item.id for item in catalogue() if Need.CLOCK in item.needs)


_EVERY_LIFETIME_LIVES_ON = (  # each at a hook of its own: the four lifetimes broken in one run
    "expired_otp_accepted",
    "export_expired_otp_accepted",
    "expired_export_downloads",
    "verify_token_lives_a_day_longer",
)


@pytest.mark.parametrize(
    ("faults", "failing"),
    [((), set()), (_EVERY_LIFETIME_LIVES_ON, set(TIMED))],
    ids=["conformant", "every-lifetime-lives-on"],
)
def test_the_wall_clock_catches_what_the_test_clock_catches(
    tmp_path: Path, faults: tuple[str, ...], failing: set[str]
) -> None:
    # Given a contract (and a server) whose codes and files live 20 seconds
    spec = short_lifetimes(SPEC, tmp_path / "openapi-20s.yaml", 20)
    # When the expiry requirements run on the wall clock
    argv = ["run", "--spec", str(spec), "--real-time-expiry", "--seed", "4", "--max-examples", "2", "--quiet"]
    argv += ["--report-dir", str(tmp_path / "reports")]
    for name in faults:
        argv += ["--fault", name]
    for rid in TIMED:
        argv += ["--select", rid]
    code = kesk_conformance(argv)
    results = json.loads((tmp_path / "reports" / "results.json").read_text(encoding="utf-8"))
    verdicts = {item["id"]: (item["outcome"], item["reason"]) for item in results["requirements"]}

    # Then exactly the requirements whose lifetime the faults break fail, the others pass
    assert {rid for rid, (outcome, _) in verdicts.items() if outcome == "failed"} == failing, verdicts
    assert {rid for rid, (outcome, _) in verdicts.items() if outcome == "passed"} == set(TIMED) - failing, verdicts
    assert code == (1 if failing else 0)
    assert "wall clock" in results["target"]["clock"]


def test_a_lifetime_whose_set_up_breaks_the_contract_is_not_judged(tmp_path: Path) -> None:
    # Given a server whose export files are gone at once (a day short of 20 seconds)
    spec = short_lifetimes(SPEC, tmp_path / "openapi-20s.yaml", 20)
    argv = ["run", "--spec", str(spec), "--real-time-expiry", "--seed", "4", "--max-examples", "2", "--quiet"]
    argv += ["--report-dir", str(tmp_path / "reports"), "--fault", "export_expires_a_day_early"]
    argv += ["--select", "GDPR-EXPORT-EXPIRY", "--select", "GDPR-EXPORT-FLOW"]
    code = kesk_conformance(argv)
    results = json.loads((tmp_path / "reports" / "results.json").read_text(encoding="utf-8"))
    verdicts = {item["id"]: (item["outcome"], item["reason"]) for item in results["requirements"]}
    # Then the flow fails, and the file's lifetime, never reached, is skipped saying why: not passed
    assert code == 1 and verdicts["GDPR-EXPORT-FLOW"][0] == "failed"
    assert verdicts["GDPR-EXPORT-EXPIRY"][0] == "skipped"
    assert "making what was to expire broke GDPR-EXPORT-FLOW" in verdicts["GDPR-EXPORT-EXPIRY"][1]
