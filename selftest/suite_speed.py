"""Speed of the suite: `python -m selftest.suite_speed [--out reports/bench.json]` (run by `tox -e bench`).

Measured in one run, on one machine, one after the other:

- the full default run: `kesk-conformance run` (fixed --seed, default budget) as a subprocess, wall time
  from launch to exit (Python start, embedded reference server, reports included);
- requests/s against the same kind of target, a fresh reference server in its own process that counts
  the requests it answers (`python -m selftest.servers`), started before the clock runs:
  the suite (the full default catalogue, in this process), bare `st run` (all checks, all phases,
  conformance/schemathesis.toml, the same --max-examples and --seed) and a raw sequential httpx loop
  of `GET /users/me`;
- requests until a fault is caught (median, max) from reports/detection.json (the detection run is
  made first when that file is missing or was made with another profile).

Writes the figures under the key "suite" of the output JSON, keeping every other key (bench_server.py
writes its own there). A missed target is a measurement, not a failure: the exit status is 0 unless
the benchmark itself could not run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from selftest.bare import REPO, new_token, run_bare_st
from selftest.detection import PROFILES, run_detection
from selftest.servers import counting_process, counts_of

__all__ = ["main"]

TARGET_WALL_S = 60.0
TARGET_MEDIAN_REQUESTS = 200


def _rate(requests: int, seconds: float) -> float:
    return round(requests / seconds, 1) if seconds > 0 else 0.0


# ---- the measurements --------------------------------------------------------------------------


def full_default_run(seed: int) -> dict[str, Any]:
    """`kesk-conformance run --seed S --quiet` as a user runs it: embedded server, default budget."""
    with tempfile.TemporaryDirectory(prefix="selftest-run-") as reports:
        command = [sys.executable, "-m", "conformance.cli", "run", "--seed", str(seed), "--quiet"]
        started = time.perf_counter()
        done = subprocess.run([*command, "--report-dir", reports], cwd=REPO, capture_output=True, text=True)
        wall = time.perf_counter() - started
        summary = json.loads((Path(reports) / "results.json").read_text(encoding="utf-8"))["summary"]
    return {
        "command": f"kesk-conformance run --seed {seed} --quiet --report-dir <tmp>",
        "exit_code": done.returncode,
        "wall_time_s": round(wall, 1),
        "requirements": summary["passed"] + summary["failed"] + summary["skipped"] + summary["error"],
        "outcomes": {key: summary[key] for key in ("passed", "failed", "skipped", "error")},
        "requests": summary["requests"],
        "run_duration_s": summary["duration_s"],
        "requests_per_s_embedded": _rate(summary["requests"], summary["duration_s"]),
    }


def suite_rate(seed: int, max_examples: int) -> dict[str, Any]:
    """The suite's full default catalogue, in this process, against a counting server in another."""
    from conformance.config import Settings
    from conformance.runner import execute

    with counting_process() as server:
        counts_of(server, reset=True)
        started = time.perf_counter()
        result = execute(
            Settings(
                base_url=server.base_url,
                test_support=server.base_url,
                seed=seed,
                max_examples=max_examples,
                quiet=True,
            )
        )
        wall = time.perf_counter() - started
        counts = counts_of(server)
    return {
        "wall_time_s": round(wall, 1),
        "exit_code": result.exit_code,
        "requests_api": counts["api"],
        "requests_test_support": counts["test_support"],
        "requests_counted_by_suite": result.requests,
        "requests_per_s": _rate(counts["api"], wall),
        "requests_per_s_incl_test_support": _rate(counts["api"] + counts["test_support"], wall),
    }


def bare_rate(seed: int, max_examples: int) -> dict[str, Any]:
    """Bare `st run` (subprocess) against a counting server in another process."""
    with counting_process() as server:
        counts_of(server, reset=True)
        bare = run_bare_st(server.base_url, max_examples=max_examples, seed=seed, timeout_s=900.0)
        counts = counts_of(server)
    api = counts["api"]
    reported = re.search(r"in ([0-9.]+)s =+\s*$", bare.output_tail)
    own_s = float(reported.group(1)) if reported else None
    return {
        "wall_time_s": round(bare.duration_s, 1),
        "exit_code": bare.exit_code,
        "requests_api": api,
        "requests_test_support": counts["test_support"],  # the one disposable user
        "requests_per_s": _rate(api, bare.duration_s),
        "st_reported_duration_s": own_s,
        "requests_per_s_st_reported_duration": _rate(api, own_s) if own_s else None,
    }


def httpx_rate(requests: int) -> dict[str, Any]:
    """A raw sequential loop: one keep-alive httpx.Client, `GET /users/me` n times."""
    with counting_process() as server:
        token = new_token(server.base_url)
        counts_of(server, reset=True)
        with httpx.Client(base_url=server.base_url, headers={"Authorization": f"Bearer {token}"}) as client:
            client.get("/users/me").raise_for_status()  # connect outside the clock
            started = time.perf_counter()
            statuses = [client.get("/users/me").status_code for _ in range(requests)]
            wall = time.perf_counter() - started
        counts = counts_of(server)
    return {
        "requests": requests,
        "requests_api": counts["api"],
        "non_200": sum(1 for status in statuses if status != 200),
        "wall_time_s": round(wall, 2),
        "requests_per_s": _rate(requests, wall),
    }


def detection_figures(path: Path, profile: str) -> dict[str, Any]:
    report: dict[str, Any] | None = None
    if path.exists():
        report = json.loads(path.read_text(encoding="utf-8"))
        if report.get("profile") != profile:
            report = None
    if report is None:
        report = run_detection(PROFILES[profile])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    summary = report["summary"]
    per_fault = {
        fault["name"]: {
            "requests_until_caught": fault["suite"]["requests_until_caught"],
            "requests_in_requirement": fault["suite"]["requests_in_requirement"],
        }
        for fault in report["faults"]
    }
    return {
        "source": str(path),
        "profile": report["profile"],
        "seed": report["seed"],
        "max_examples": report["max_examples"],
        "caught": f"{summary['suite_caught']}/{summary['faults']}",
        "median_requests_until_caught": summary["median_requests_until_caught"],
        "max_requests_until_caught": summary["max_requests_until_caught"],
        "median_requests_in_requirement": summary["median_requests_in_requirement"],
        "max_requests_in_requirement": summary["max_requests_in_requirement"],
        "per_fault": per_fault,
    }


def evaluate(figures: dict[str, Any]) -> dict[str, Any]:
    wall = figures["full_default_run"]["wall_time_s"]
    suite_rps = figures["requests_per_s"]["suite"]
    st_rps = figures["requests_per_s"]["bare_st_run"]
    median = figures["detection"]["median_requests_until_caught"]
    return {
        "full_default_run_under_60_s": {"met": wall < TARGET_WALL_S, "value_s": wall, "target_s": TARGET_WALL_S},
        "suite_requests_per_s_at_least_bare_st": {
            "met": suite_rps >= st_rps,
            "suite": suite_rps,
            "bare_st_run": st_rps,
            "ratio": round(suite_rps / st_rps, 2) if st_rps else None,
        },
        "median_fault_caught_within_200_requests": {
            "met": median is not None and median <= TARGET_MEDIAN_REQUESTS,
            "value": median,
            "target": TARGET_MEDIAN_REQUESTS,
        },
    }


def measure(args: argparse.Namespace) -> dict[str, Any]:
    started = time.time()
    figures: dict[str, Any] = {
        "machine": {
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
        },
        "seed": args.seed,
        "max_examples": args.max_examples,
    }
    print("full default run ...", flush=True)
    figures["full_default_run"] = full_default_run(args.seed)
    print("suite against a counting server ...", flush=True)
    suite = suite_rate(args.seed, args.max_examples)
    print("bare st run against a counting server ...", flush=True)
    bare = bare_rate(args.seed, args.max_examples)
    print("raw httpx loop ...", flush=True)
    raw = httpx_rate(args.httpx_requests)
    figures["suite_run"] = suite
    figures["bare_st_run"] = bare
    figures["httpx_loop"] = raw
    figures["requests_per_s"] = {
        "suite": suite["requests_per_s"],
        "bare_st_run": bare["requests_per_s"],
        "httpx_loop": raw["requests_per_s"],
        "how": "API requests counted by the server (test-support calls apart) / the tool's wall time; "
        "the server runs in its own process, started before the clock",
    }
    print("requests until caught ...", flush=True)
    figures["detection"] = detection_figures(Path(args.detection), args.detection_profile)
    figures["targets"] = evaluate(figures)
    figures["machine"]["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    figures["wall_time_s"] = round(time.time() - started, 1)
    return figures


def merge_into(out: Path, figures: dict[str, Any]) -> None:
    """Read-modify-write: only the "suite" key changes."""
    report: dict[str, Any] = {}
    if out.exists():
        report = json.loads(out.read_text(encoding="utf-8"))
    report["suite"] = figures
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


def summary(figures: dict[str, Any]) -> str:
    rps = figures["requests_per_s"]
    run = figures["full_default_run"]
    det = figures["detection"]
    lines = [
        f"full default run: {run['wall_time_s']} s, {run['requests']} requests, exit {run['exit_code']}",
        f"requests/s: suite {rps['suite']}, bare st run {rps['bare_st_run']}, raw httpx loop {rps['httpx_loop']}",
        f"requests until caught ({det['profile']}, {det['caught']} caught): median "
        f"{det['median_requests_until_caught']}, max {det['max_requests_until_caught']}",
    ]
    for name, target in figures["targets"].items():
        lines.append(f"  target {name}: {'MET' if target['met'] else 'MISSED'}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m selftest.suite_speed", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(REPO / "reports" / "bench.json"))
    parser.add_argument("--detection", default=str(REPO / "reports" / "detection.json"))
    parser.add_argument("--detection-profile", choices=sorted(PROFILES), default="full")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-examples", type=int, default=PROFILES["full"].max_examples)
    parser.add_argument("--httpx-requests", type=int, default=2000)
    args = parser.parse_args(argv)
    figures = measure(args)
    out = Path(args.out)
    merge_into(out, figures)
    print(summary(figures))
    print(f"written: {out} (key 'suite')")
    return 0


if __name__ == "__main__":
    sys.exit(main())
