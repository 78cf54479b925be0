"""`kesk-conformance soak`: its plan is checked before any request, and a soak of the reference server
finds nothing on the clean server and reports a race fault (and an observer's fault) with curl lines.

The soaks run Locust in its own process, as the command always does; nothing here imports Locust (it would
patch this process's threads for gevent).
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from conformance.checks.races.walks import LIFECYCLES
from conformance.checks.responses import RULES
from conformance.cli import main as kesk_conformance
from conformance.config import ConfigError
from conformance.soak.cli import locust_command
from conformance.soak.plan import is_loopback, parse_duration, parse_plan
from reference_server.launcher import serve_in_process

_UNREDACTED_BEARER = re.compile(r"Bearer (?!\[REDACTED\])")
WALKS = [lifecycle.requirement_id for lifecycle in LIFECYCLES]


# --- the plan: checked before any request ---------------------------------------------------------------


def _refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    code = kesk_conformance(["soak", *argv])
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    return err


def test_a_target_off_the_loopback_is_refused_unless_remote_load_is_allowed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a target on another machine (TEST-NET-3: nothing answers there, and nothing is sent)
    argv = ["--base-url", "http://203.0.113.7/v1", "--test-support", "http://203.0.113.7/v1"]
    # When a soak is asked for without --allow-remote-load, then it is refused in one line, exit 2
    err = _refused([*argv, "--report-dir", str(tmp_path)], capsys)
    assert "--allow-remote-load" in err and "203.0.113.7" in err
    # and with it, the plan is accepted
    plan = parse_plan([*argv, "--allow-remote-load"], environ={})
    assert plan.base_url == "http://203.0.113.7/v1"


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--test-support", "http://127.0.0.1:9/v1"], "--base-url"),
        (["--base-url", "http://127.0.0.1:9/v1"], "disposable users"),
        (["--base-url", "http://127.0.0.1:9/v1", "--user-factory", "x", "--master", "--worker"], "exclude"),
        (["--base-url", "http://127.0.0.1:9/v1", "--user-factory", "x", "--expect-workers", "2"], "--master only"),
        (["--base-url", "http://127.0.0.1:9/v1", "--user-factory", "x", "--master-host", "h"], "--worker only"),
        (["--base-url", "http://127.0.0.1:9/v1", "--user-factory", "x", "--duration", "ten minutes"], "duration"),
        (["--base-url", "http://127.0.0.1:9/v1", "--user-factory", "x", "--users", "0"], "--users"),
    ],
)
def test_a_mistake_in_the_plan_is_one_line_and_exit_2(
    argv: list[str], said: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no kesk-conformance.toml of the repository's
    assert said in _refused([*argv, "--report-dir", str(tmp_path)], capsys)


def test_durations_read_as_locust_writes_them() -> None:
    assert [parse_duration(text) for text in ("90", "30s", "10m", "1h30m", "2m5s")] == [90, 30, 600, 5400, 125]
    for bad in ("", "0s", "ten", "5d"):
        with pytest.raises(ConfigError):
            parse_duration(bad)


def test_only_loopback_addresses_count_as_this_machine() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("127.8.9.1") and is_loopback("::1") and is_loopback("[::1]")
    assert is_loopback("localhost")
    assert not is_loopback("203.0.113.7") and not is_loopback("10.0.0.1")


def test_master_and_worker_options_pass_through_to_locust(tmp_path: Path) -> None:
    base = ["--base-url", "http://127.0.0.1:9/v1", "--user-factory", "x", "--report-dir", str(tmp_path)]
    master = parse_plan([*base, "--master", "--master-bind-host", "0.0.0.0", "--master-bind-port", "6000"], {})
    master.expect_workers = 3
    command = locust_command(master, ["favourites", "fcm"])
    assert command[command.index("--master-bind-host") + 1] == "0.0.0.0"
    assert command[command.index("--master-bind-port") + 1] == "6000"
    assert command[command.index("--expect-workers") + 1] == "3"
    assert "--master" in command and "--headless" in command and command[-2:] == ["FavouritesUser", "FcmUser"]
    worker = parse_plan([*base, "--worker", "--master-host", "10.1.2.3", "--master-port", "6000"], {})
    command = locust_command(worker, ["emails"])
    assert command[command.index("--master-host") + 1] == "10.1.2.3" and "--worker" in command
    assert "--headless" not in command and "--csv" not in command


# --- soaks of the reference server -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with serve_in_process() as process:
        yield process.base_url


def _switch(url: str, faults: list[str]) -> None:
    assert httpx.post(url + "/_test/reset", timeout=10).status_code == 200
    assert httpx.put(url + "/_test/faults", json={"faults": faults}, timeout=10).status_code == 200


def _soak(url: str, folder: Path, *extra: str) -> tuple[int, dict[str, object], str]:
    argv = ["soak", "--base-url", url, "--test-support", url, "--report-dir", str(folder), "--seed", "7", *extra]
    done = subprocess.run(
        [sys.executable, "-m", "conformance.cli", *argv], capture_output=True, text=True, timeout=300, check=False
    )
    results = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    return done.returncode, results, done.stdout + done.stderr


_FACTORY = """
import json, sys, httpx
user = httpx.post(sys.argv[1] + "/_test/users", json={}, timeout=30).json()
with open(sys.argv[2], "a", encoding="utf-8") as noted:
    noted.write(json.dumps(user) + "\\n")
print(json.dumps(user))
"""


def _holdings(url: str, token: str) -> dict[str, object]:
    """What an account holds: its emails, phones and favourites, and its deletion's status if one is open."""
    headers = {"Authorization": f"Bearer {token}"}

    def total(path: str) -> int:
        answer = httpx.get(url + path, headers=headers, params={"per_page": 100}, timeout=10)
        assert answer.status_code == 200, answer.text
        return int(answer.json()["total"])

    status = httpx.get(url + "/user/gdpr-status", headers=headers, timeout=10).json()
    deletion = status.get("pending_deletion")
    shown = deletion.get("status") if isinstance(deletion, dict) else None
    return {
        "emails": total("/user/emails"),
        "phones": total("/user/phones"),
        "favourites": total("/favourites"),
        "deletion": None if shown in (None, "cancelled") else shown,
    }


def _outcomes(results: dict[str, object]) -> dict[str, str]:
    return {item["id"]: item["outcome"] for item in results["requirements"]}  # type: ignore[attr-defined]


@pytest.mark.slow
def test_a_30_second_soak_of_the_clean_server_with_10_users_finds_no_violation(server: str, tmp_path: Path) -> None:
    # Given the clean reference server
    _switch(server, [])
    # When it is soaked for 30 s by 10 users on loopback, the users made by a factory that notes their tokens
    factory = f"{sys.executable} {tmp_path / 'factory.py'} {server} {tmp_path / 'users.jsonl'}"
    (tmp_path / "factory.py").write_text(_FACTORY, encoding="utf-8")
    argv = ["--users", "10", "--spawn-rate", "10", "--duration", "30s", "--user-factory", factory]
    code, results, output = _soak(server, tmp_path, *argv)
    # Then every walk and every observer passed, and the run exits 0
    assert code == 0, output
    assert _outcomes(results) == {rid: "passed" for rid in [*WALKS, *RULES]}
    soak = results["soak"]
    assert isinstance(soak, dict) and soak["violations"] == 0 and soak["undecided"] == 0
    # and the report holds the throughput and, per operation, the latency percentiles
    assert soak["requests"] > 100 and soak["throughput_rps"] > 0
    assert {"p50", "p90", "p95", "p99"} <= set(soak["operations"]["addFavouriteProduct"]["latency_ms"])
    # and Locust's CSV and HTML sit next to results.json
    for name in ("locust_stats.csv", "locust_failures.csv", "locust.html", "junit.xml", "report.html"):
        assert (tmp_path / name).is_file(), name
    # and what the soak created on its users' accounts it removed: they hold what they held before
    tokens = [json.loads(line)["token"] for line in (tmp_path / "users.jsonl").read_text().splitlines()]
    assert len(tokens) >= 10
    for token in tokens:
        assert _holdings(server, token) == {"emails": 1, "phones": 0, "favourites": 0, "deletion": None}


@pytest.mark.slow
def test_a_soak_reports_a_race_fault_and_an_observers_fault_with_curl_lines(server: str, tmp_path: Path) -> None:
    # Given a reference server that adds a favourite in two steps (a race) and answers the GDPR status as text
    _switch(server, ["favourite_add_race", "wrong_content_type"])
    try:
        # When it is soaked
        code, results, output = _soak(server, tmp_path, "--users", "6", "--duration", "8s")
    finally:
        _switch(server, [])
    # Then the favourites walk and the content-type observer failed, each with a curl line, and the run exits 1
    outcomes = _outcomes(results)
    assert outcomes["RACE-WALK-FAVOURITES"] == "failed" and outcomes["SCHEMA-CONTENT-TYPE"] == "failed", outcomes
    assert code == 1
    by_id = {item["id"]: item for item in results["requirements"]}  # type: ignore[attr-defined]
    race = by_id["RACE-WALK-FAVOURITES"]["failures"][0]
    assert race["curl"].startswith("curl -X POST") and "/favourites" in race["curl"]
    assert "no order" in race["actual"] and race["steps"]
    assert by_id["SCHEMA-CONTENT-TYPE"]["failures"][0]["curl"].startswith("curl -X GET")
    # and every violation is in violations.jsonl, with the terminal showing the first
    lines = (tmp_path / "violations.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == results["soak"]["violations"] >= 2  # type: ignore[index]
    assert "Reproduce with: curl -X" in output
    # and no bearer token appears unredacted in any report
    for path in tmp_path.iterdir():
        if path.suffix in (".json", ".jsonl", ".csv", ".html", ".xml", ".log"):
            assert not _UNREDACTED_BEARER.search(path.read_text(encoding="utf-8", errors="replace")), path.name


@pytest.mark.slow
def test_a_master_and_a_worker_soak_together(server: str, tmp_path: Path) -> None:
    # Given the clean reference server, a master waiting for one worker on a loopback port
    _switch(server, [])
    port = str(_free_port())
    master_argv = ["--master", "--master-bind-host", "127.0.0.1", "--master-bind-port", port, "--expect-workers", "1"]
    argv = [sys.executable, "-m", "conformance.cli", "soak", "--base-url", server, "--test-support", server]
    master = subprocess.Popen(
        [
            *argv,
            *master_argv,
            "--users",
            "3",
            "--duration",
            "8s",
            "--report-dir",
            str(tmp_path / "master"),
            "--lifecycle",
            "favourites",
            "--lifecycle",
            "fcm",
            "--lifecycle",
            "emails",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    # When a worker joins it
    worker = subprocess.run(
        [
            *argv,
            "--worker",
            "--master-host",
            "127.0.0.1",
            "--master-port",
            port,
            "--report-dir",
            str(tmp_path / "w"),
            "--lifecycle",
            "favourites",
            "--lifecycle",
            "fcm",
            "--lifecycle",
            "emails",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output, _ = master.communicate(timeout=120)
    # Then both end well, and the master's report holds the worker's verdicts and load
    assert worker.returncode == 0, worker.stdout + worker.stderr
    assert master.returncode == 0, output
    results = json.loads((tmp_path / "master" / "results.json").read_text(encoding="utf-8"))
    assert results["soak"]["workers"] == 1 and results["soak"]["requests"] > 0
    walks = {rid: outcome for rid, outcome in _outcomes(results).items() if rid.startswith("RACE-WALK")}
    assert walks == {"RACE-WALK-EMAILS": "passed", "RACE-WALK-FAVOURITES": "passed", "RACE-WALK-FCM": "passed"}


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.mark.slow
def test_an_interrupted_soak_still_cleans_up_and_writes_its_reports(server: str, tmp_path: Path) -> None:
    # Given a soak of the clean server meant to last ten minutes
    _switch(server, [])
    argv = [sys.executable, "-m", "conformance.cli", "soak", "--base-url", server, "--test-support", server]
    soak = subprocess.Popen(
        [*argv, "--users", "4", "--duration", "10m", "--report-dir", str(tmp_path), "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    # When it is interrupted once its load has started (Locust's statistics history has a row of it)
    history = tmp_path / "locust_stats_history.csv"
    deadline = time.monotonic() + 120
    while not (history.is_file() and len(history.read_text(encoding="utf-8").splitlines()) > 2):
        assert soak.poll() is None and time.monotonic() < deadline
        time.sleep(0.5)
    soak.send_signal(signal.SIGINT)
    output, _ = soak.communicate(timeout=120)
    # Then it exits 130 with every report written, results.json saying it was interrupted
    assert soak.returncode == 130, output
    results = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    assert results["summary"]["interrupted"] is True and results["summary"]["exit_code"] == 130
    for name in ("junit.xml", "report.html", "violations.jsonl", "locust.html", "locust_stats.csv"):
        assert (tmp_path / name).is_file(), name
