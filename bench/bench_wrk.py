"""Closed-loop max-rate measurements with wrk, and the parser for its `--latency` report."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

__all__ = ["parse_duration_ms", "parse_wrk_output", "run_wrk", "wrk_path"]

HERE = Path(__file__).resolve().parent
SCRIPTS = {"get_users_me": HERE / "get_users_me.lua", "add_email": HERE / "add_email.lua"}
PATHS = {"get_users_me": "/users/me", "add_email": "/user/emails"}

_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_DURATION = re.compile(r"^([0-9.]+)(us|ms|s|m|h)$")
_PERCENTILE = re.compile(r"^\s*([0-9.]+)%\s+(\S+)\s*$")
_TOTAL = re.compile(r"^\s*(\d+) requests in ([0-9.]+)(us|ms|s|m|h)")
_RPS = re.compile(r"^Requests/sec:\s+([0-9.]+)")
_SOCKET = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
_NON_2XX = re.compile(r"Non-2xx or 3xx responses: (\d+)")


def wrk_path() -> str | None:
    return shutil.which("wrk")


def parse_duration_ms(text: str) -> float:
    """wrk's duration notation (`812.00us`, `4.51ms`, `1.02s`, `1.00m`) in milliseconds."""
    match = _DURATION.match(text.strip())
    if not match:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(match.group(1)) * _UNITS_MS[match.group(2)]


def parse_wrk_output(text: str) -> dict[str, Any]:
    """Requests, rate, latency percentiles and error counts from `wrk --latency` output.

    Errors are non-2xx/3xx answers plus socket errors (connect, read, write, timeout).
    Raises ValueError when the report lacks the totals or the latency distribution.
    """
    percentiles: dict[str, float] = {}
    requests = rps = None
    elapsed_ms = None
    socket = {"connect": 0, "read": 0, "write": 0, "timeout": 0}
    non_2xx = 0
    in_distribution = False
    for line in text.splitlines():
        if "Latency Distribution" in line:
            in_distribution = True
            continue
        if in_distribution:
            match = _PERCENTILE.match(line)
            if match:
                percentiles[f"{float(match.group(1)):g}"] = parse_duration_ms(match.group(2))
                continue
            in_distribution = False
        if match := _TOTAL.match(line):
            requests = int(match.group(1))
            elapsed_ms = parse_duration_ms(match.group(2) + match.group(3))
        elif match := _RPS.match(line):
            rps = float(match.group(1))
        elif match := _SOCKET.search(line):
            socket = dict(zip(socket, (int(g) for g in match.groups()), strict=True))
        elif match := _NON_2XX.search(line):
            non_2xx = int(match.group(1))
    if requests is None or rps is None or elapsed_ms is None:
        raise ValueError("wrk output has no request totals")
    if "50" not in percentiles or "99" not in percentiles:
        raise ValueError("wrk output has no latency distribution (run it with --latency)")
    socket_errors = sum(socket.values())
    return {
        "requests": requests,
        "elapsed_s": round(elapsed_ms / 1000, 3),
        "rps": rps,
        "p50_ms": round(percentiles["50"], 3),
        "p75_ms": round(percentiles["75"], 3) if "75" in percentiles else None,
        "p90_ms": round(percentiles["90"], 3) if "90" in percentiles else None,
        "p99_ms": round(percentiles["99"], 3),
        "non_2xx": non_2xx,
        "socket_errors": socket,
        "errors": non_2xx + socket_errors,
    }


def run_wrk(
    op: str, base_url: str, token: str, *, duration: float, connections: int, threads: int, prefix: str
) -> dict[str, Any]:
    """One closed-loop run of wrk against `op`; returns the parsed report plus how it was run."""
    wrk = wrk_path()
    if wrk is None:
        raise RuntimeError("wrk is not on PATH")
    url = base_url.rstrip("/") + PATHS[op]
    command = [
        wrk,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",
        "--timeout",
        "5s",
        "--latency",
        "-s",
        str(SCRIPTS[op]),
        url,
    ]
    env = {**os.environ, "KESK_BENCH_TOKEN": token, "KESK_BENCH_PREFIX": prefix}
    proc = subprocess.run(command, env=env, capture_output=True, text=True, timeout=duration + 60, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"wrk exited {proc.returncode}: {proc.stderr.strip()[:500]}")
    result = parse_wrk_output(proc.stdout)
    result.update(
        mode="closed-loop",
        tool="wrk",
        connections=connections,
        threads=threads,
        command=" ".join([Path(wrk).name, *command[1:-1], "<url>"]),
    )
    return result
