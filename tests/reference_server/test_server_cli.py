"""CLI entry points and persistence across restarts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from rs_helpers import new_user

from reference_server.cli import faults_main, new_user_main
from reference_server.embedded import running_server
from reference_server.faults import CATALOGUE

REPO = Path(__file__).parents[2]


def test_serve_prints_the_base_url_and_serves(tmp_path: Path) -> None:
    # Given
    command = [sys.executable, "-m", "reference_server", "--port", "0", "--db", str(tmp_path / "s.sqlite3")]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # When
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        # Then
        assert line.startswith("base URL: http://127.0.0.1:") and line.endswith("/v1")
        url = line.removeprefix("base URL: ")
        assert httpx.post(url + "/_test/users").status_code == 201
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=10)
    assert "Bearer" not in stderr and "token" not in stderr.lower()


def test_serve_refuses_an_unknown_fault() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "reference_server", "--fault", "nope"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "nope" in lines[0] and "kesk-conformance faults" in lines[0]


def test_faults_json_lists_the_catalogue(capsys: pytest.CaptureFixture[str]) -> None:
    assert faults_main(["--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == len(CATALOGUE)
    assert all(set(row) == {"name", "description", "requirements", "breaks"} for row in rows)
    assert {
        "name": "two_primaries",
        "description": rows[9]["description"],
        "requirements": ["EMAIL-PRIMARY-UNIQUE"],
        "breaks": rows[9]["breaks"],
    } in rows


def test_faults_text_lists_one_line_per_fault(capsys: pytest.CaptureFixture[str]) -> None:
    assert faults_main([]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(CATALOGUE) and lines[0].startswith("missing_required_field")


def test_new_user_prints_credentials(base_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert new_user_main(["--base-url", base_url]) == 0
    user = json.loads(capsys.readouterr().out)
    assert set(user) == {"token", "password", "email"}
    me = httpx.get(base_url + "/users/me", headers={"Authorization": f"Bearer {user['token']}"})
    assert me.json()["email"] == user["email"]


def test_new_user_with_an_unreachable_url_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert new_user_main(["--base-url", "http://127.0.0.1:9/v1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: cannot reach")


def test_state_survives_a_restart_with_a_file_database(tmp_path: Path) -> None:
    # Given a user with an extra email, a favourite, an advanced clock and an export
    db = str(tmp_path / "kesk.sqlite3")
    with running_server(db=db) as url, httpx.Client(base_url=url + "/") as http:
        user = new_user(http)
        user.add_email("kept@example.com")
        user.post("favourites", json={"product_id": 3})
        filename = user.finished_export()
        http.post("_test/clock/advance", json={"seconds": 3600})
        clock_before = http.get("_test/clock").json()["now"]
    # When the server restarts on the same file
    with running_server(db=db) as url, httpx.Client(base_url=url + "/") as http:
        headers = {"Authorization": f"Bearer {user.token}"}
        emails = http.get("user/emails", headers=headers).json()
        favourites = http.get("favourites", headers=headers).json()
        download = http.get(f"user/download-export/{filename}", headers=headers)
        clock_after = http.get("_test/clock").json()["now"]
    # Then
    assert [e["email"] for e in emails["items"]] == [user.email, "kept@example.com"]
    assert favourites["total"] == 1 and download.status_code == 200
    assert clock_after >= clock_before


def test_tokens_are_stored_hashed(tmp_path: Path) -> None:
    db = tmp_path / "hashed.sqlite3"
    with running_server(db=str(db)) as url, httpx.Client(base_url=url + "/") as http:
        user = new_user(http)
    assert user.token.encode() not in db.read_bytes()
    assert user.password.encode() not in db.read_bytes()


EXAMPLE_FIXTURE = REPO / "spec" / "examples" / "fixture.json"


def test_serve_loads_a_fixture_at_start() -> None:
    # Given the server started with the example fixture
    command = [sys.executable, "-m", "reference_server", "--port", "0", "--fixture", str(EXAMPLE_FIXTURE)]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        assert line.startswith("base URL: "), line
        url = line.removeprefix("base URL: ")
        # When Anna's token from the fixture is used
        headers = {"Authorization": "Bearer kt-anna-3f0e2a4c8b1d4e6f9a7b2c5d8e1f4a6b"}
        emails = httpx.get(url + "/user/emails", headers=headers)
        favourites = httpx.get(url + "/favourites", headers=headers)
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=10)
    # Then her data is there, and no secret of the fixture reached the log
    assert emails.status_code == 200 and emails.json()["items"][0]["email"] == "anna@example.com"
    assert favourites.json()["total"] == 3
    assert "kt-anna" not in stderr and "pw-anna" not in stderr


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (None, "cannot read"),
        ("{", "is not JSON"),
        ('{"users": [{"emails": [{"email": "not-an-address"}]}, {"emial": []}]}', "users[0].emails[0].email: "),
    ],
    ids=["missing", "not-json", "bad-shape"],
)
def test_serve_refuses_a_bad_fixture_file_in_one_line(tmp_path: Path, content: str | None, reason: str) -> None:
    # Given a fixture file that is missing, not JSON, or breaks the Fixture schema
    path = tmp_path / "fixture.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    # When the server is started with it
    result = subprocess.run(
        [sys.executable, "-m", "reference_server", "--fixture", str(path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
    )
    # Then it exits 2 with one line naming the file and the reason
    assert result.returncode == 2 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and str(path) in lines[0] and reason in lines[0]
    if content is not None and content.startswith('{"users"'):
        assert lines[0].endswith("(and 1 more problems)")


def test_serve_refuses_a_fixture_that_clashes_with_its_database(tmp_path: Path) -> None:
    # Given a database file that already holds the example fixture
    db = str(tmp_path / "kesk.sqlite3")
    with running_server(db=db) as url:
        assert httpx.post(url + "/_test/fixtures", json=json.loads(EXAMPLE_FIXTURE.read_text())).status_code == 201
    # When the server is started on it with the same fixture
    result = subprocess.run(
        [sys.executable, "-m", "reference_server", "--db", db, "--fixture", str(EXAMPLE_FIXTURE)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
    )
    # Then it exits 2 with one line naming the first clash
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "already registered" in lines[0] and "kt-anna" not in lines[0]
