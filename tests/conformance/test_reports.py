"""The report writers: junit.xml, results.json, report.html (checked in a real browser) and the terminal."""

from __future__ import annotations

import json
import re
import shutil
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from conformance.failures import FailureDetail, format_failure
from conformance.reporting import render_summary, write_reports
from conformance.reporting._coverage import operation_coverage
from conformance.reporting.html import render_html
from conformance.reporting.junit import render_junit
from conformance.results import RunResult
from conformance.stats import OperationStats

TIMES = "\u00d7"  # the multiplication sign the coverage chips put before a count

# ---------------------------------------------------------------- write_reports


def test_write_reports_creates_the_directory_and_three_files(
    tmp_path: Path, run_result: RunResult, documented_statuses: dict[str, list[str]]
) -> None:
    # Given a directory that does not exist yet
    directory = tmp_path / "nested" / "reports"
    # When
    paths = write_reports(run_result, directory, documented_statuses=documented_statuses)
    # Then
    assert paths == {
        "junit": directory / "junit.xml",
        "json": directory / "results.json",
        "html": directory / "report.html",
    }
    assert all(path.stat().st_size > 0 for path in paths.values())
    assert sorted(p.name for p in directory.iterdir()) == ["junit.xml", "report.html", "results.json"]


# ---------------------------------------------------------------- junit.xml


def _junit(tmp_path: Path, result: RunResult, documented: dict[str, list[str]]) -> ET.Element:
    path = write_reports(result, tmp_path, documented_statuses=documented)["junit"]
    return ET.parse(path).getroot()


def _case(root: ET.Element, requirement_id: str) -> ET.Element:
    (case,) = [c for c in root.iter("testcase") if c.get("name", "").startswith(f"{requirement_id}: ")]
    return case


def test_junit_has_a_suite_per_area_and_a_testcase_per_requirement(
    tmp_path: Path, run_result: RunResult, documented_statuses: dict[str, list[str]]
) -> None:
    # When
    root = _junit(tmp_path, run_result, documented_statuses)
    # Then
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors"), root.get("skipped")) == ("6", "2", "1", "1")
    suites = {suite.get("name"): suite for suite in root.findall("testsuite")}
    assert list(suites) == ["auth", "email", "gdpr"]
    email = suites["email"]
    assert (email.get("tests"), email.get("failures"), email.get("errors"), email.get("skipped")) == (
        "3",
        "2",
        "0",
        "0",
    )
    assert float(email.get("time", "")) == pytest.approx(1.45)
    cases = list(root.iter("testcase"))
    assert [c.get("name", "").split(":")[0] for c in cases] == [r.requirement.id for r in run_result.results]
    auth = _case(root, "AUTH-401")
    assert auth.get("classname") == "kesk.auth"
    assert auth.get("name") == "AUTH-401: Missing token is 401"
    assert list(auth) == []  # passed: no child element


def test_junit_failure_text_is_every_failure_rendered_by_format_failure(
    tmp_path: Path, run_result: RunResult, documented_statuses: dict[str, list[str]]
) -> None:
    # Given
    failed = run_result.results[1]
    # When
    case = _case(_junit(tmp_path, run_result, documented_statuses), "EMAIL-PRIMARY-UNIQUE")
    # Then
    (failure,) = list(case)
    assert failure.tag == "failure"
    assert failure.get("type") == "MUST"
    assert failure.get("message", "").startswith("MUST violated: Expected: 409 when the address is already registered")
    assert "(+1 more)" in failure.get("message", "")
    expected = "\n\n".join(
        format_failure(failed.requirement.id, failed.requirement.quote, f, seed=run_result.seed)
        for f in failed.failures
    )
    assert failure.text == expected
    assert "Reproduce with: curl -X DELETE" in expected


def test_junit_should_failure_is_a_failure_typed_should_that_says_it_does_not_fail_the_run(
    tmp_path: Path, run_result: RunResult, documented_statuses: dict[str, list[str]]
) -> None:
    # When
    failure = _case(_junit(tmp_path, run_result, documented_statuses), "EMAIL-LIST-ORDER").find("failure")
    # Then
    assert failure is not None
    assert failure.get("type") == "SHOULD"
    assert "reported only; fails the run under --strict" in failure.get("message", "")


def test_junit_skipped_and_error_carry_the_reason(
    tmp_path: Path, run_result: RunResult, documented_statuses: dict[str, list[str]]
) -> None:
    # When
    root = _junit(tmp_path, run_result, documented_statuses)
    # Then
    skipped = _case(root, "GDPR-OTP-SINGLE-USE")
    assert [(c.tag, c.get("message")) for c in skipped] == [("skipped", "needs an inbox; pass --inbox")]
    error = _case(root, "GDPR-EXPORT-OWNER")
    assert [(c.tag, c.get("message")) for c in error] == [("error", "connection reset by the target after 3 retries")]


def test_junit_stays_parseable_when_a_server_sends_control_characters(run_result: RunResult) -> None:
    # Given an actual body holding characters XML 1.0 cannot carry
    run_result.results[1].failures[0] = FailureDetail("addUserEmail", "409", "body \x00\x1b[31mred\x07")
    # When
    root = ET.fromstring(render_junit(run_result))
    # Then
    text = _case(root, "EMAIL-PRIMARY-UNIQUE").findtext("failure") or ""
    assert "Actual: body \ufffd\ufffd[31mred\ufffd" in text


# ---------------------------------------------------------------- results.json


def test_results_json_round_trips_and_has_the_design_shape(
    tmp_path: Path, run_result: RunResult, documented_statuses: dict[str, list[str]]
) -> None:
    # When
    path = write_reports(run_result, tmp_path, documented_statuses=documented_statuses)["json"]
    data = json.loads(path.read_text(encoding="utf-8"))
    # Then it is exactly the model's own JSON, and nothing else was added
    assert data == json.loads(json.dumps(run_result.as_json()))
    assert "documented_statuses" not in data
    # And it has every key DESIGN's interface contract promises
    assert {"target", "seed", "requirements", "operations", "summary"} <= set(data)
    assert data["seed"] == 4242
    assert data["target"]["base_url"] == "http://127.0.0.1:8000/v1"
    for item in data["requirements"]:
        assert {"id", "level", "outcome", "reason", "operations", "failures"} <= set(item)
        assert item["outcome"] in {"passed", "failed", "skipped", "error"}
        for failure in item["failures"]:
            assert {"operation", "expected", "actual", "curl"} <= set(failure)
    assert data["operations"]["removeUserEmail"] == {"requests": 5, "statuses": {"204": 4, "500": 1}}
    assert {"passed": 2, "failed": 2, "skipped": 1, "error": 1, "requests": 51, "duration_s": 3.25}.items() <= (
        data["summary"].items()
    )


def test_results_json_is_pretty_printed_utf8(
    tmp_path: Path, run_result: RunResult, documented_statuses: dict[str, list[str]]
) -> None:
    # Given a quote outside ASCII
    run_result.results[0].reason = "Grüße, naïve café"
    # When
    raw = write_reports(run_result, tmp_path, documented_statuses=documented_statuses)["json"].read_bytes()
    # Then
    assert "Grüße, naïve café".encode() in raw
    assert raw.startswith(b'{\n  "target"')


# ---------------------------------------------------------------- report.html (static)


def test_html_escapes_server_text(
    run_result: RunResult, documented_statuses: dict[str, list[str]], hostile: str
) -> None:
    # When
    page = render_html(run_result, documented_statuses=documented_statuses)
    # Then the hostile actual text is shown as text, and the page's only script is its own
    assert hostile not in page
    assert "&lt;script&gt;alert(&#x27;pwned&#x27;)&lt;/script&gt;" in page
    assert page.count("<script>") == 1


def test_html_is_self_contained(run_result: RunResult, documented_statuses: dict[str, list[str]]) -> None:
    # When
    page = render_html(run_result, documented_statuses=documented_statuses)
    # Then nothing is fetched: no external resource, and a CSP that forbids any
    assert "src=" not in page
    assert "<link" not in page
    assert "default-src 'none'" in page
    assert 'href="http' not in page


def test_coverage_matches_exact_codes_then_ranges_then_default() -> None:
    # Given
    operations = {"op": OperationStats(requests=6, statuses=Counter({200: 1, 404: 2, 418: 1, 500: 2}))}
    # When
    (row,) = operation_coverage(operations, {"op": ["200", "404", "4XX", "201"]})
    (with_default,) = operation_coverage(operations, {"op": ["200", "default"]})
    # Then
    assert [(s.key, s.seen) for s in row.documented] == [("200", 1), ("404", 2), ("4XX", 1), ("201", 0)]
    assert row.unobserved == ("201",)
    assert row.undocumented == ((500, 2),)
    assert [(s.key, s.seen) for s in with_default.documented] == [("200", 1), ("default", 5)]
    assert with_default.undocumented == ()


# ---------------------------------------------------------------- terminal


def test_terminal_summary_has_table_failures_and_totals(run_result: RunResult) -> None:
    # Given
    console = Console(record=True, width=200, color_system=None)
    # When
    render_summary(run_result, console)
    out = console.export_text()
    # Then
    assert "2 passed, 2 failed, 1 skipped, 1 error" in out
    assert "51 requests in 3.2s" in out
    assert "GDPR-OTP-SINGLE-USE" in out and "needs an inbox; pass --inbox" in out
    failed = run_result.results[1]
    rendered = format_failure(failed.requirement.id, failed.requirement.quote, failed.failures[0], seed=4242)
    assert rendered in out
    # Rich markup is never interpreted: "[REDACTED]" reaches the terminal as written
    assert "Bearer [REDACTED]" in out
    assert "1 SHOULD violation(s) reported without failing the run" in out


# ---------------------------------------------------------------- report.html in a real browser


def _find(*candidates: str) -> str | None:
    for name in candidates:
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    chromium = _find("chromium", "chromium-browser")
    chromedriver = _find("chromedriver")
    if chromium is None or chromedriver is None:
        pytest.skip("needs chromium and chromedriver on PATH (Debian: apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        "--window-size=1400,1000",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(chromedriver), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def test_html_report_in_a_browser(
    browser: Any, tmp_path: Path, run_result: RunResult, documented_statuses: dict[str, list[str]], hostile: str
) -> None:
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    def row(requirement_id: str) -> Any:
        return browser.find_element(By.ID, f"req-{requirement_id}")

    def visible_rows() -> list[str]:
        rows = browser.find_elements(By.CSS_SELECTOR, "details.req")
        return [r.get_attribute("id").removeprefix("req-") for r in rows if r.is_displayed()]

    # Given the report of a run whose target holds figures of every shape (numbers with units, mappings, lists)
    run_result.target.update(
        {
            "users": ["A", "B"],
            "inbox": {"email": "maildev:http://127.0.0.1:1080", "sms": "command:./read-sms ..."},
            "clock": "the wall clock (--real-time-expiry)",
            "workers": 8,
            "round_trip_ms": 52.371,
            "back_pressure": {"retries": 3, "waited_s": 1.5, "cut": 0},
        }
    )
    # opened from disk
    path = write_reports(run_result, tmp_path / "reports", documented_statuses=documented_statuses)["html"]
    browser.get(path.as_uri())

    # Then a person sees the target, the seed and the totals, and the failed requirement
    assert browser.find_element(By.ID, "base-url").text == "http://127.0.0.1:8000/v1"
    meta = browser.find_element(By.CSS_SELECTOR, ".meta").text
    assert "4242" in meta
    # and every figure as people write it, never a Python literal
    shown = {
        term.text: term.find_element(By.XPATH, "following-sibling::dd").text
        for term in browser.find_elements(By.CSS_SELECTOR, ".meta dt")
    }
    assert shown["Back pressure"] == "retries: 3, waited: 1.5 s, cut: 0"
    assert shown["Round trip"] == "52.371 ms"
    assert shown["Inbox"] == "email: maildev:http://127.0.0.1:1080, sms: command:./read-sms ..."
    assert shown["Users"] == "A, B" and shown["Embedded reference server"] == "yes" and shown["Workers"] == "8"
    page = browser.find_element(By.TAG_NAME, "body").text
    assert not re.search(r"[{\[]'|'[}\]]|\bTrue\b|\bFalse\b|\bNone\b", page), page[:2000]
    totals = browser.find_element(By.ID, "totals").text
    for expected in ("2 passed", "2 failed", "1 skipped", "1 error"):
        assert expected in totals
    assert "Run failed" in browser.find_element(By.ID, "verdict").text
    assert row("EMAIL-PRIMARY-UNIQUE").is_displayed()
    assert len(visible_rows()) == 6

    # When "Failed only" is clicked, then passed (and skipped, error) rows disappear
    browser.find_element(By.ID, "only-failed").click()
    assert not row("AUTH-401").is_displayed()
    assert visible_rows() == ["EMAIL-PRIMARY-UNIQUE", "EMAIL-LIST-ORDER"]
    assert browser.find_element(By.ID, "shown").text == "Showing 2 of 6"

    # When the filters are reset and "gdpr" is typed in the search box, then only those rows remain
    browser.find_element(By.ID, "show-all").click()
    browser.find_element(By.ID, "search").send_keys("gdpr")
    assert visible_rows() == ["GDPR-OTP-SINGLE-USE", "GDPR-EXPORT-OWNER"]
    # And a search on the title works too, case-insensitively
    search = browser.find_element(By.ID, "search")
    search.clear()
    search.send_keys("Exactly ONE primary")
    assert visible_rows() == ["EMAIL-PRIMARY-UNIQUE"]
    search.send_keys(" nothing like this")
    assert visible_rows() == []
    assert browser.find_element(By.ID, "no-match").is_displayed()

    # When the level filter is set to SHOULD, then only SHOULD requirements remain
    browser.find_element(By.ID, "show-all").click()
    Select(browser.find_element(By.ID, "level")).select_by_value("SHOULD")
    assert visible_rows() == ["EMAIL-LIST-ORDER"]
    browser.find_element(By.ID, "show-all").click()

    # When the failed row is expanded, then Expected/Actual and the curl line are shown, as text
    failed = row("EMAIL-PRIMARY-UNIQUE")
    pre = failed.find_elements(By.CSS_SELECTOR, "pre.failure")
    assert len(pre) == 2 and not pre[0].is_displayed()
    failed.find_element(By.TAG_NAME, "summary").click()
    assert pre[0].is_displayed()
    text = pre[0].text
    assert "Expected: 409 when the address is already registered" in text
    assert f'Actual: 201 with body {{"email": "{hostile}@example.com"}}' in text
    assert "Reproduce with: curl -X POST 'http://127.0.0.1:8000/v1/users/me/emails'" in text
    assert "Bearer [REDACTED]" in text
    assert "The server MUST do what EMAIL-PRIMARY-UNIQUE says." in failed.find_element(By.TAG_NAME, "blockquote").text
    with pytest.raises(NoAlertPresentException):  # the server's <script> never ran
        browser.switch_to.alert.text  # noqa: B018

    # Then the coverage table marks documented statuses never observed, and undocumented ones
    add_email = browser.find_element(By.ID, "op-addUserEmail")
    unseen = [s.text for s in add_email.find_elements(By.CSS_SELECTOR, ".status.unseen")]
    assert unseen == ["400 not observed", "409 not observed"]
    seen = [s.text for s in add_email.find_elements(By.CSS_SELECTOR, ".status.seen")]
    assert seen == [f"201 {TIMES}20", f"401 {TIMES}5"]
    remove = browser.find_element(By.ID, "op-removeUserEmail")
    assert remove.find_element(By.CSS_SELECTOR, ".status.undocumented").text == f"500 {TIMES}1"
    uncalled = browser.find_element(By.ID, "op-confirmDataExport")
    assert "uncalled" in uncalled.get_attribute("class")
    assert "never called" in uncalled.text


# ---------------------------------------------------------------- edges


def test_strict_run_says_the_should_failure_fails_it(run_result: RunResult) -> None:
    # Given a --strict run
    run_result.strict = True
    # When
    root = ET.fromstring(render_junit(run_result))
    console = Console(record=True, width=200, color_system=None)
    render_summary(run_result, console)
    # Then
    failure = _case(root, "EMAIL-LIST-ORDER").find("failure")
    assert failure is not None and failure.get("type") == "SHOULD"
    assert failure.get("message", "").startswith("SHOULD violated (fails the run under --strict)")
    assert "reported without failing the run" not in console.export_text()


def test_an_empty_run_still_writes_valid_reports(tmp_path: Path) -> None:
    # Given a run where every requirement was deselected
    empty = RunResult(
        target={"base_url": "http://x.test/v1"}, seed=1, strict=False, results=[], operations={}, duration_s=0.0
    )
    # When
    paths = write_reports(empty, tmp_path, documented_statuses={})
    # Then
    root = ET.parse(paths["junit"]).getroot()
    assert root.get("tests") == "0" and root.findall("testsuite") == []
    assert json.loads(paths["json"].read_text(encoding="utf-8"))["requirements"] == []
    assert "Showing 0 of 0" in paths["html"].read_text(encoding="utf-8")
