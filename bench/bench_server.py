"""Speed benchmark of the reference server: `python -m bench.bench_server [--out reports/bench.json]`.

Starts `python -m reference_server serve` as a subprocess (through `reference_server.launcher`) and loads
it from other processes on loopback only:

- max rate (closed loop): wrk when it is on PATH, else bench_load.py's closed-loop generator;
- fixed rate (open loop, 200 requests/s by default): bench_load.py's pacer, latency measured from
  each request's scheduled send time.

for `GET /users/me` and for adding an email (`POST /user/emails`, a unique address per request).
Writes the figures as JSON and prints a summary. A missed target is a measurement, not a failure:
the exit status is 0 unless the benchmark itself could not run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx

from bench.bench_load import TOKEN_ENV
from bench.bench_wrk import run_wrk, wrk_path
from reference_server.launcher import ServerProcess, serve_command, serve_in_process

REPO = Path(__file__).resolve().parents[1]
OPS = ("get_users_me", "add_email")
TARGET_RPS = 1000.0
TARGET_P99_MS = 20.0
PACER_LATE_MS = 5.0
BUSY_LOADAVG = 0.5


# ---- the server under test -------------------------------------------------------------------


def cpu_seconds(server: ServerProcess) -> float:
    """User + system CPU time of the server process so far (Linux /proc)."""
    fields = Path(f"/proc/{server.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_facts(db: str) -> dict[str, Any]:
    """What the server runs on: uvicorn's `auto` loop/http pick uvloop/httptools when importable."""
    probe = (
        "import importlib.util as u, json;"
        "print(json.dumps({m: u.find_spec(m) is not None for m in ('uvloop', 'httptools')}))"
    )
    found = json.loads(
        subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=REPO).stdout
    )
    versions: dict[str, str | None] = {}
    for dist in ("uvicorn", "starlette", "h11", "uvloop", "httptools"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    return {
        "command": "python -m reference_server serve --port 0 --db " + db,
        "db": db,
        "event_loop": "uvloop" if found["uvloop"] else "asyncio",
        "http_parser": "httptools" if found["httptools"] else "h11",
        "versions": versions,
    }


def create_user(base_url: str) -> str:
    response = httpx.post(f"{base_url}/_test/users", timeout=10.0)
    response.raise_for_status()
    return str(response.json()["token"])


def email_count(base_url: str, token: str) -> int:
    response = httpx.get(
        f"{base_url}/user/emails",
        params={"per_page": 1},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10.0,
    )
    response.raise_for_status()
    return int(response.json()["total"])


def warm_up(base_url: str, token: str, count: int = 200) -> None:
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=10.0) as client:
        for _ in range(count):
            client.get(f"{base_url}/users/me").raise_for_status()


# ---- load from other processes ---------------------------------------------------------------


def run_python_load(mode: str, op: str, base_url: str, token: str, **options: Any) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench.bench_load", mode, "--url", base_url, "--op", op]
    for name, value in options.items():
        command += [f"--{name}", str(value)]
    env = {**os.environ, TOKEN_ENV: token}
    timeout = float(options.get("duration", 10)) + 60
    proc = subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"bench_load.py {mode} exited {proc.returncode}: {proc.stderr.strip()[-1000:]}")
    result: dict[str, Any] = json.loads(proc.stdout)
    result["tool"] = "bench_load.py (asyncio, raw HTTP/1.1 keep-alive)"
    return result


def measured(server: ServerProcess, run: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run a measurement and add the server's CPU time per request during it."""
    before = cpu_seconds(server)
    result = run()
    used = cpu_seconds(server) - before
    result["server_cpu_s"] = round(used, 2)
    if result.get("requests"):
        result["server_cpu_ms_per_request"] = round(used * 1000 / result["requests"], 3)
    return result


def bench_operation(server: ServerProcess, op: str, token: str, args: argparse.Namespace, tool: str) -> dict[str, Any]:
    run_id = secrets.token_hex(3)
    fixed = measured(
        server,
        lambda: run_python_load(
            "open",
            op,
            server.base_url,
            token,
            rate=args.rate,
            duration=args.fixed_duration,
            connections=args.fixed_connections,
            prefix=f"fx{run_id}",
        ),
    )

    def max_rate() -> dict[str, Any]:
        duration, connections = args.duration, args.connections
        if tool == "wrk":
            return run_wrk(
                op,
                server.base_url,
                token,
                duration=duration,
                connections=connections,
                threads=args.threads,
                prefix=f"wk{run_id}",
            )
        return run_python_load(
            "closed", op, server.base_url, token, duration=duration, connections=connections, prefix=f"cl{run_id}"
        )

    loaded = measured(server, max_rate)
    return {
        "max_rps": loaded["rps"],
        "p50_ms": loaded["p50_ms"],
        "p99_ms": loaded["p99_ms"],
        "errors": loaded["errors"],
        "max_rate_run": loaded,
        "fixed_rate": {
            "rps_target": args.rate,
            "rps_achieved": fixed["rps"],
            "p50_ms": fixed["p50_ms"],
            "p99_ms": fixed["p99_ms"],
            "errors": fixed["errors"],
            # How late the pacer itself sent (p99): counted in the latencies above; when large, the
            # load generator was starved of CPU and the p99 overstates the server's.
            "pacer_lateness_p99_ms": fixed["pacer_lateness_p99_ms"],
            "run": fixed,
        },
    }


# ---- report ----------------------------------------------------------------------------------


def machine_facts() -> dict[str, Any]:
    cpu = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def evaluate_targets(report: dict[str, Any]) -> dict[str, Any]:
    """Targets hold only on runs without errors: a rate made of refusals proves nothing."""
    me = report["get_users_me"]
    add = report["add_email"]
    return {
        "get_users_me_rps>=1000": me["errors"] == 0 and me["max_rps"] >= TARGET_RPS,
        "p99_at_200rps<20ms": me["fixed_rate"]["errors"] == 0 and me["fixed_rate"]["p99_ms"] < TARGET_P99_MS,
        # Informational: the issue states the latency target for GET /users/me.
        "add_email_p99_at_200rps<20ms": (
            add["fixed_rate"]["errors"] == 0 and add["fixed_rate"]["p99_ms"] < TARGET_P99_MS
        ),
    }


def summary(report: dict[str, Any]) -> str:
    lines = [
        f"Reference server benchmark ({report['machine']['cores']} cores, "
        f"Python {report['machine']['python']}, {report['server']['event_loop']}/"
        f"{report['server']['http_parser']}, db {report['server']['db']})"
    ]
    busy = report["machine"]["loadavg_at_start"][0]
    if busy > BUSY_LOADAVG:
        lines.append(
            f"  !!! the machine was busy before the run (1-min load average {busy:.2f} on"
            f" {report['machine']['cores']} cores): other processes compete with the server; rerun on a quiet machine"
        )
    for op in OPS:
        r = report[op]
        f = r["fixed_rate"]
        lines.append(
            f"  {op:<13} max {r['max_rps']:8.1f} req/s  p50 {r['p50_ms']:7.2f} ms  p99 {r['p99_ms']:7.2f} ms"
            f"  errors {r['errors']}   |  at {f['rps_target']:.0f}/s: achieved {f['rps_achieved']:.1f},"
            f" p50 {f['p50_ms']:.2f} ms, p99 {f['p99_ms']:.2f} ms, errors {f['errors']}"
        )
        if f["pacer_lateness_p99_ms"] > PACER_LATE_MS:
            lines.append(
                f"    note: the pacer itself sent {f['pacer_lateness_p99_ms']:.1f} ms late at p99 (client starved of"
                " CPU); that delay is inside the fixed-rate latencies: rerun before blaming the server"
            )
    lines.append(f"  max-rate tool: {report['tool']['max_rate']}; fixed-rate tool: {report['tool']['fixed_rate']}")
    missed = [name for name, met in report["targets"].items() if not met]
    for name, met in report["targets"].items():
        lines.append(f"  target {name}: {'MET' if met else 'MISSED'}")
    errors = sum(report[op]["errors"] + report[op]["fixed_rate"]["errors"] for op in OPS)
    if errors:
        lines.append(f"  !!! {errors} REQUESTS FAILED (non-2xx or transport errors): see {report['out']}")
    if missed:
        lines.append("  !!! TARGET MISSED: " + ", ".join(missed))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark the reference server from a second process.")
    parser.add_argument("--out", default="reports/bench.json")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of each max-rate run")
    parser.add_argument("--fixed-duration", type=float, default=10.0, help="seconds of each fixed-rate run")
    parser.add_argument("--rate", type=float, default=200.0, help="fixed-rate requests/s")
    parser.add_argument("--connections", type=int, default=8, help="max-rate connections")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--fixed-connections", type=int, default=8, help="fixed-rate keep-alive connections")
    parser.add_argument(
        "--db", default=":memory:", help='":memory:" (the serve default) or "file" (a temporary SQLite file)'
    )
    parser.add_argument("--tool", choices=["auto", "wrk", "python"], default="auto", help="max-rate load tool")
    args = parser.parse_args(argv)

    tool = args.tool
    if tool == "auto":
        tool = "wrk" if wrk_path() else "python"
    elif tool == "wrk" and not wrk_path():
        print("error: --tool wrk but wrk is not on PATH", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory(prefix="kesk-bench-") as tmp:
        db = str(Path(tmp) / "bench.sqlite3") if args.db == "file" else args.db
        with serve_in_process(serve_command(db=db), cwd=REPO) as server:
            token = create_user(server.base_url)
            warm_up(server.base_url, token)
            report: dict[str, Any] = {"machine": machine_facts(), "server": server_facts(db)}
            started = time.time()
            report["get_users_me"] = bench_operation(server, "get_users_me", token, args, tool)
            emails_before = email_count(server.base_url, token)
            report["add_email"] = bench_operation(server, "add_email", token, args, tool)
            report["add_email"]["emails_of_user_before"] = emails_before
            report["add_email"]["emails_of_user_after"] = email_count(server.base_url, token)
            report["wall_time_s"] = round(time.time() - started, 1)
            report["machine"]["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
        if server.proc.returncode not in (0, -15):
            print(f"warning: server exited {server.proc.returncode}: {server.output_tail()}", file=sys.stderr)
        report["server"]["output_tail"] = server.output_tail()

    report["tool"] = {
        "max_rate": ("wrk (closed loop)" if tool == "wrk" else "bench_load.py closed loop (asyncio, raw HTTP/1.1)"),
        "fixed_rate": "bench_load.py open-loop pacer (latency from scheduled send time)",
        "fixed_rate_connections": args.fixed_connections,
        "max_rate_connections": args.connections,
    }
    report["targets"] = evaluate_targets(report)
    out = Path(args.out)
    report["out"] = str(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(summary(report))
    print(f"written: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
