"""The suite against a target that misbehaves: it reports the right requirements, never crashes, never hangs.

Each run is `kesk-conformance run` in a subprocess (a crash shows as a traceback on stderr) against
tests/robustness/misbehaving.py, which answers the preflight and then misbehaves on every request.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from misbehaving import MisbehavingServer

from conformance._spec import load_spec
from conformance.failures import UndecidedRequirement
from conformance.operations import OperationIndex
from conformance.redact import Redactor
from conformance.target import BREAKER_THRESHOLD, MAX_429_RETRIES, MAX_BODY_BYTES, STORM_AFTER, TargetClient

RUN_BOUND_S = 90.0  # whole-run wall time against any behaviour with --timeout 2
# The Schemathesis requirements; an observer (SCHEMA-*) runs the engine anyway, these add nothing for a bad server.
WITHOUT_ENGINE_ONLY = [
    "--exclude",
    "INPUT-*",
    "--exclude",
    "AUTH-HEADER-REQUIRED",
    "--exclude",
    "AUTH-IGNORED",
    "--exclude",
    "HTTP-METHOD-NOT-ALLOWED",
    "--exclude",
    "STATEFUL-*",
]


@dataclass
class Run:
    done: subprocess.CompletedProcess[str]
    elapsed_s: float
    report_dir: Path

    @property
    def results(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.report_dir / "results.json").read_text())
        return data

    def outcome(self, requirement_id: str) -> tuple[str, str]:
        for item in self.results["requirements"]:
            if item["id"] == requirement_id:
                return item["outcome"], item["reason"]
        raise AssertionError(f"{requirement_id} is not in results.json")

    def failures(self, requirement_id: str) -> list[dict[str, Any]]:
        return next(item["failures"] for item in self.results["requirements"] if item["id"] == requirement_id)


def kesk_run(base_url: str, report_dir: Path, *args: str, timeout: str = "2") -> Run:
    started = time.monotonic()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "conformance.cli",
            "run",
            "--base-url",
            base_url,
            "--token",
            "t0ken-a",
            "--token-b",
            "t0ken-b",
            "--report-dir",
            str(report_dir),
            "--timeout",
            timeout,
            "--max-examples",
            "1",
            "--seed",
            "1",
            "--quiet",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return Run(done, time.monotonic() - started, report_dir)


def assert_clean(run: Run, *, exit_codes: tuple[int, ...]) -> None:
    """No traceback, the expected exit code, every report written, within the bound."""
    output = run.done.stdout + run.done.stderr
    assert "Traceback" not in output, output[-3000:]
    assert "t0ken-a" not in output
    assert run.done.returncode in exit_codes, output[-3000:]
    for name in ("results.json", "junit.xml", "report.html"):
        assert (run.report_dir / name).is_file(), name
    assert run.elapsed_s < RUN_BOUND_S, f"the run took {run.elapsed_s:.0f} s"


# --- answers the suite can judge: the right requirement fails ------------------------------------
@pytest.mark.parametrize(
    ("behaviour", "requirement_id", "actual"),
    [
        ("invalid_json", "SCHEMA-RESPONSE-BODY", "JSON"),
        ("wrong_content_type", "SCHEMA-CONTENT-TYPE", "text/html"),
        ("redirect_loop", "SCHEMA-STATUS-DOCUMENTED", "status 302"),
        ("burst_5xx", "SCHEMA-NO-SERVER-ERROR", "50"),
    ],
)
def test_a_bad_answer_fails_the_requirement_that_judges_it(
    behaviour: str, requirement_id: str, actual: str, tmp_path: Path
) -> None:
    with MisbehavingServer(behaviour) as server:
        run = kesk_run(server.base_url, tmp_path, *WITHOUT_ENGINE_ONLY)
        if behaviour == "redirect_loop":  # never followed: about one request per request recorded, no 30-hop chains
            assert server.requests <= run.results["summary"]["requests"] + 5
    assert_clean(run, exit_codes=(1,))
    outcome, reason = run.outcome(requirement_id)
    assert outcome == "failed", reason
    failures = run.failures(requirement_id)
    assert any(actual in failure["actual"] for failure in failures), failures[:2]


# --- no usable answer: requirements are errors naming the problem, the breaker bounds the run -----------
@pytest.mark.parametrize(
    ("behaviour", "first_reason"),
    [
        ("timeout", "ReadTimeout"),
        ("reset", "Connection reset"),
        ("slow_drip", "no complete answer within --timeout 2 s"),
        ("huge_body", f"larger than {MAX_BODY_BYTES // 1024} KiB"),
    ],
)
def test_a_target_that_stops_answering_is_reported_as_errors_within_bounds(
    behaviour: str, first_reason: str, tmp_path: Path
) -> None:
    # The whole catalogue, Schemathesis included: its traffic goes through the same breaker.
    with MisbehavingServer(behaviour, drip_interval_s=0.5) as server:
        run = kesk_run(server.base_url, tmp_path)
        sent = server.requests
    assert_clean(run, exit_codes=(0, 1))
    outcomes = {item["id"]: (item["outcome"], item["reason"]) for item in run.results["requirements"]}
    # The first requirement to send meets the problem itself; once the breaker opens, everything fails fast.
    assert outcomes["AUTH-401-MISSING"][0] == "error"
    assert first_reason in outcomes["AUTH-401-MISSING"][1]
    stopped = [rid for rid, (outcome, reason) in outcomes.items() if "the target stopped answering" in reason]
    assert {"MASS-ASSIGNMENT", "INPUT-NEGATIVE-REJECTED", "STATEFUL-USE-AFTER-FREE"} <= set(stopped)
    assert all(outcomes[rid][0] == "error" for rid in stopped)
    assert not [rid for rid, (outcome, _) in outcomes.items() if outcome == "failed"]
    # The preflight, BREAKER_THRESHOLD failures, and little more (Schemathesis' probes and reset re-sends).
    assert sent <= 1 + 3 * BREAKER_THRESHOLD, sent


@pytest.mark.parametrize(("behaviour", "retry_after"), [("storm_429", "Retry-After: 1"), ("storm_429_huge", "86400")])
def test_a_429_storm_is_waited_out_within_bounds_then_reported(
    behaviour: str, retry_after: str, tmp_path: Path
) -> None:
    with MisbehavingServer(behaviour) as server:
        run = kesk_run(server.base_url, tmp_path, *WITHOUT_ENGINE_ONLY)
    assert_clean(run, exit_codes=(0, 1))
    for requirement_id in ("AUTH-401-MISSING", "BOLA-EMAIL-READ", "MASS-ASSIGNMENT", "SCHEMA-NO-SERVER-ERROR"):
        outcome, reason = run.outcome(requirement_id)
        assert outcome == "error" and "kept answering 429" in reason and retry_after in reason, (requirement_id, reason)


# --- the target never answers the preflight: exit 2 with one line -------------------------------------
@pytest.mark.parametrize("behaviour", ["timeout", "slow_drip", "reset"])
def test_a_preflight_without_an_answer_exits_2_with_one_line(behaviour: str, tmp_path: Path) -> None:
    with MisbehavingServer(behaviour, healthy_first=0, drip_interval_s=0.5) as server:
        run = kesk_run(server.base_url, tmp_path, timeout="1")
    assert run.done.returncode == 2, run.done.stderr
    assert len(run.done.stderr.strip().splitlines()) == 1, run.done.stderr
    assert "cannot reach the target" in run.done.stderr
    assert "Traceback" not in run.done.stdout + run.done.stderr
    assert run.elapsed_s < 30


def test_an_unreachable_target_exits_2_with_one_line(tmp_path: Path) -> None:
    with MisbehavingServer() as server:
        base_url = server.base_url  # the port is free again once the server stops
    run = kesk_run(base_url, tmp_path)
    assert run.done.returncode == 2, run.done.stderr
    assert len(run.done.stderr.strip().splitlines()) == 1, run.done.stderr
    assert "cannot reach the target" in run.done.stderr and "Traceback" not in run.done.stderr
    assert run.elapsed_s < 30


# --- TargetClient against the server directly -------------------------------------------------------
@pytest.fixture(scope="module")
def operations() -> OperationIndex:
    return OperationIndex(load_spec())


@pytest.fixture
def client_for(operations: OperationIndex) -> Iterator[Any]:
    clients: list[TargetClient] = []

    def make(server: MisbehavingServer, timeout_s: float = 1.0, **kwargs: Any) -> TargetClient:
        client = TargetClient(server.base_url, operations, Redactor(), timeout_s=timeout_s, **kwargs)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def test_a_dripping_body_is_cut_off_at_the_deadline(client_for: Any) -> None:
    with MisbehavingServer("slow_drip", healthy_first=0, drip_interval_s=0.2) as server:
        client = client_for(server, timeout_s=1.0)
        started = time.monotonic()
        with pytest.raises(UndecidedRequirement, match="no complete answer within --timeout 1 s"):
            client.call("getMyProfile", token="t")
        elapsed = time.monotonic() - started
    assert 1.0 <= elapsed < 2.0, elapsed  # the deadline plus at most one drip interval


def test_a_huge_body_is_not_read_to_its_end(client_for: Any) -> None:
    with MisbehavingServer("huge_body", healthy_first=0) as server:
        client = client_for(server, timeout_s=5.0)
        with pytest.raises(UndecidedRequirement, match=f"larger than {MAX_BODY_BYTES // 1024} KiB"):
            client.call("getMyProfile", token="t")
        time.sleep(0.2)
        sent = server.huge_bytes_sent
    assert sent < 10 * MAX_BODY_BYTES, sent  # the client stopped reading; only socket buffers filled beyond the cap
    assert client.sent == 1 and client.stats["getMyProfile"].statuses[200] == 1


def test_a_redirect_is_an_answer_not_followed(client_for: Any) -> None:
    with MisbehavingServer("redirect_loop", healthy_first=0) as server:
        exchange = client_for(server).call("getMyProfile", token="t")
        assert exchange.status == 302 and server.requests == 1


def test_the_breaker_opens_after_consecutive_failures_and_then_fails_fast(client_for: Any) -> None:
    with MisbehavingServer("timeout", healthy_first=0) as server:
        client = client_for(server, timeout_s=0.3)
        for _ in range(BREAKER_THRESHOLD):
            with pytest.raises(UndecidedRequirement, match="ReadTimeout"):
                client.call("getMyProfile", token="t")
        started = time.monotonic()
        for _ in range(50):
            with pytest.raises(UndecidedRequirement, match="the target stopped answering: 5 requests in a row"):
                client.call("listUserEmails", token="t")
        assert time.monotonic() - started < 0.5
        assert server.requests == BREAKER_THRESHOLD


def test_an_answer_resets_the_breaker(client_for: Any) -> None:
    with MisbehavingServer("timeout", healthy_first=0) as server:
        client = client_for(server, timeout_s=0.3)
        for _round in range(2):
            for _ in range(BREAKER_THRESHOLD - 1):
                with pytest.raises(UndecidedRequirement, match="ReadTimeout"):
                    client.call("getMyProfile", token="t")
            server.behaviour = "healthy"
            assert client.call("getMyProfile", token="t").status == 200
            server.behaviour = "timeout"
        assert client.stopped is None


def test_a_429_storm_stops_being_waited_out(client_for: Any) -> None:
    with MisbehavingServer("storm_429", healthy_first=0, retry_after="0") as server:
        client = client_for(server)
        for _ in range(STORM_AFTER):
            with pytest.raises(UndecidedRequirement, match="kept answering 429"):
                client.call("getMyProfile", token="t")
        assert server.requests == STORM_AFTER * (1 + MAX_429_RETRIES)
        with pytest.raises(UndecidedRequirement, match="kept answering 429"):
            client.call("getMyProfile", token="t")
        assert server.requests == STORM_AFTER * (1 + MAX_429_RETRIES) + 1  # no retry during the storm


def test_retry_waits_stay_within_max_retry_after(client_for: Any) -> None:
    with MisbehavingServer("storm_429", healthy_first=0, retry_after="1") as server:
        client = client_for(server, max_retry_after_s=1.5)
        started = time.monotonic()
        with pytest.raises(UndecidedRequirement, match="waited 1 s"):
            client.call("getMyProfile", token="t")
        assert time.monotonic() - started < 1.5 and server.requests == 2
