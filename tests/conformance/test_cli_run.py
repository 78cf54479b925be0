"""`kesk-conformance run` and `list` as a user meets them: exit codes, one-line errors, reports, redaction."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from reference_server.embedded import running_server


def kesk(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "conformance.cli", *args],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=cwd,
        check=False,
    )


def new_user(base_url: str) -> dict[str, str]:
    answer = httpx.post(f"{base_url}/_test/users", json={}, timeout=10)
    assert answer.status_code == 201
    user: dict[str, str] = answer.json()
    return user


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--base-url", "http://127.0.0.1:9/v1", "--token", "t0ken-value"], "cannot reach the target"),
        (["--base-url", "not a url", "--token", "t"], "is not an http(s) URL"),
        (["--inbox", "imap:x", "--select", "AUTH-401-MISSING"], "is not an inbox"),
        (["--select", "NOTHING-*"], "left no requirement to run"),
        (["--fault", "no_such_fault", "--select", "AUTH-401-MISSING"], "no_such_fault"),
        (["--config", "/nonexistent/kesk.toml"], "cannot read the config file"),
        (["--spec", "/nonexistent/openapi.yaml"], "cannot read the spec"),
        (
            ["--spec", str(Path(__file__).resolve().parents[2] / "spec" / "test-support.yaml")],
            "is not the Kesk UserApi",
        ),
    ],
)
def test_user_mistakes_exit_2_with_one_line(args: list[str], message: str, tmp_path: Path) -> None:
    # When
    done = kesk("run", "--report-dir", str(tmp_path), *args)
    # Then
    assert done.returncode == 2, done.stderr
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert "t0ken-value" not in done.stderr + done.stdout


def test_a_base_url_without_its_prefix_exits_2_before_the_run(tmp_path: Path) -> None:
    # Given the reference server, addressed without its /v1 prefix
    with running_server() as base_url:
        user = new_user(base_url)
        # When the suite is pointed at the bare host
        done = kesk(
            "run", "--base-url", base_url.removesuffix("/v1"), "--token", user["token"], "--report-dir", str(tmp_path)
        )
    # Then it stops at once with one line that names the likely cause, and no secret
    assert done.returncode == 2, done.stdout
    assert "is the /v1 prefix missing" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert user["token"] not in done.stderr + done.stdout
    assert not (tmp_path / "results.json").exists()


def test_an_unwritable_report_dir_exits_2_before_any_request(tmp_path: Path) -> None:
    # Given a report directory that cannot be created (a file stands where its parent should be)
    (tmp_path / "file").write_text("x")
    # When the suite runs against a target that would refuse every connection
    done = kesk(
        "run", "--base-url", "http://127.0.0.1:9/v1", "--token", "t", "--report-dir", str(tmp_path / "file" / "r")
    )
    # Then it says so in one line, before it tries to reach the target
    assert done.returncode == 2
    assert "pass a writable --report-dir" in done.stderr
    assert "cannot reach the target" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_list_names_every_requirement_and_leaves_no_operation_uncovered() -> None:
    done = kesk("list", "--json")
    assert done.returncode == 0, done.stderr
    catalogue = json.loads(done.stdout)
    ids = [item["id"] for item in catalogue]
    assert len(ids) == len(set(ids)) and {"AUTH-401-MISSING", "BOLA-EMAIL-READ", "MASS-ASSIGNMENT"} <= set(ids)
    assert all({"id", "level", "quote", "operations"} <= item.keys() for item in catalogue)
    assert len({op for item in catalogue for op in item["operations"]}) == 30


@pytest.fixture(scope="module")
def faulty_target() -> Iterator[tuple[str, dict[str, str], dict[str, str]]]:
    with running_server(faults=("bola_email_read",)) as base_url:
        yield base_url, new_user(base_url), new_user(base_url)


def test_failing_run_exits_1_writes_reports_and_leaks_no_secret(
    faulty_target: tuple[str, dict[str, str], dict[str, str]], tmp_path: Path
) -> None:
    # Given a server that lets user B read user A's emails, and both users' secrets on the command line
    base_url, user_a, user_b = faulty_target
    # When
    done = kesk(
        "run",
        "--base-url",
        base_url,
        "--token",
        user_a["token"],
        "--token-b",
        user_b["token"],
        "--password",
        user_a["password"],
        "--test-support",
        base_url,
        "--report-dir",
        str(tmp_path),
        "--select",
        "BOLA-EMAIL-*",
        "--select",
        "AUTH-401-INVALID",
        "--seed",
        "3",
    )
    # Then the run fails on the isolation requirement, and says how to reproduce it
    assert done.returncode == 1, done.stderr
    results = json.loads((tmp_path / "results.json").read_text())
    outcomes = {item["id"]: item["outcome"] for item in results["requirements"]}
    assert outcomes["BOLA-EMAIL-READ"] == "failed"
    assert "curl -X GET" in done.stdout
    # And no token or password is anywhere: terminal, JUnit, JSON, HTML
    texts = [done.stdout, done.stderr] + [path.read_text() for path in tmp_path.iterdir()]
    assert {path.name for path in tmp_path.iterdir()} >= {"junit.xml", "results.json", "report.html"}
    for secret in (user_a["token"], user_b["token"], user_a["password"]):
        assert all(secret not in text for text in texts)


def test_a_run_writes_only_to_its_report_dir(tmp_path: Path) -> None:
    # Given an empty working directory and a report directory elsewhere
    cwd, reports = tmp_path / "cwd", tmp_path / "reports"
    cwd.mkdir()
    # When a run that drives a Hypothesis state machine ends
    done = kesk("run", "--select", "FAVOURITE-LIST-MODEL", "--max-examples", "2", "--report-dir", str(reports), cwd=cwd)
    # Then the working directory is still empty, and the reports are where they were asked for
    assert done.returncode == 0, done.stdout + done.stderr
    assert list(cwd.iterdir()) == []
    assert (reports / "results.json").is_file()
