"""The suite against a server across a network: a loopback proxy that adds a fixed delay to every answer.

For each delay (0, 20, 50 and 100 ms by default) it measures, in one process so the figures compare:

- the full default run (`kesk-conformance run`, default workers) against the clean reference server:
  wall time, requests, requests per second;
- the time until a sample of seeded faults is first reported (`--maxfail 1`: the earliest
  `first_failure_s` in results.json, when the run printed the violation), median and max;
- bare `st run` with the same budget, one worker, and with the most workers that work here (Python 3.12+);
- the staging-shaped run (bench/staging.py: no test support, a user factory, MailDev and an SMS command, users
  with history) at 0 and 50 ms, and at 0 ms with 20-second lifetimes waited out (`--real-time-expiry`).

The reference server runs as a subprocess (its own interpreter); the proxy runs in this process.
Figures go to `--out` (reports/bench.json) under "latency". A measurement, never a test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from reference_server.launcher import serve_command, serve_in_process, serve_in_thread
from selftest.bare import run_bare_st

__all__ = ["DelayProxy", "delayed", "main"]

DEFAULT_DELAYS_MS = (0, 20, 50, 100)
# One fault per area (schema, auth, isolation, contacts, GDPR, identity, favourites, Schemathesis).
DEFAULT_FAULTS = (
    "wrong_field_type",
    "auth_ignored",
    "bola_email_read",
    "two_primaries",
    "otp_reusable",
    "nfc_expired_accepted",
    "favourite_duplicate",
    "server_error_max_length",
)
ROOT = Path(__file__).resolve().parents[1]
_HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding"}

Scope = dict[str, Any]


class DelayProxy:
    """ASGI app: forwards each request to `upstream` and holds the answer `delay_s` before sending it.

    A path under one of `hidden` is answered 404 without forwarding, as a staging server hides test support.
    """

    def __init__(self, upstream: str, delay_s: float, *, hidden: tuple[str, ...] = ()) -> None:
        self.upstream = upstream.rstrip("/")
        self.delay_s = delay_s
        self.hidden = hidden
        self.forwarded = 0  # requests answered: a tool's request count, whatever its own output says
        self.refused = 0  # requests to a hidden path, answered 404
        self._client: httpx.AsyncClient | None = None

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (message := await receive())["type"] != "lifespan.shutdown":
                if message["type"] == "lifespan.startup":
                    # idle connections expire before the server's keep-alive (5 s) closes them under us
                    limits = httpx.Limits(keepalive_expiry=2.0)
                    self._client = httpx.AsyncClient(follow_redirects=False, timeout=60, limits=limits)
                    await send({"type": "lifespan.startup.complete"})
            if self._client is not None:
                await self._client.aclose()
            await send({"type": "lifespan.shutdown.complete"})
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        assert self._client is not None
        if self.hidden and scope["path"].startswith(self.hidden):
            self.refused += 1
            await asyncio.sleep(self.delay_s)
            headers = [(b"content-type", b"application/json")]
            await send({"type": "http.response.start", "status": 404, "headers": headers})
            await send({"type": "http.response.body", "body": b'{"code": "not_found", "message": "Not Found"}'})
            return
        query = scope.get("query_string", b"").decode()
        url = self.upstream + scope["raw_path"].decode() + (f"?{query}" if query else "")
        headers = [(k.decode(), v.decode()) for k, v in scope["headers"] if k.decode().lower() != "host"]
        answer = await self._client.request(scope["method"], url, headers=headers, content=body)
        self.forwarded += 1
        await asyncio.sleep(self.delay_s)
        out = [(k.encode(), v.encode()) for k, v in answer.headers.items() if k.lower() not in _HOP_HEADERS]
        await send({"type": "http.response.start", "status": answer.status_code, "headers": out})
        await send({"type": "http.response.body", "body": answer.content})


@contextmanager
def delayed(delay_ms: int, faults: Sequence[str] = ()) -> Iterator[str]:
    """A fresh reference server (subprocess) behind a proxy adding `delay_ms`; yields the proxy's base URL."""
    with delayed_proxy(delay_ms, faults) as (base_url, _):
        yield base_url


@contextmanager
def delayed_proxy(delay_ms: int, faults: Sequence[str] = ()) -> Iterator[tuple[str, DelayProxy]]:
    """`delayed`, with the proxy itself (its `forwarded` count)."""
    with serve_in_process(serve_command(faults=faults)) as server:
        origin = server.base_url.removesuffix("/v1")
        proxy = DelayProxy(origin, delay_ms / 1000)
        with serve_in_thread(proxy, name="kesk-delay-proxy") as proxied:
            yield proxied, proxy


def _suite(base_url: str, *args: str, timeout_s: float, target: Sequence[str] | None = None) -> dict[str, Any]:
    """One `kesk-conformance run` against `base_url` with test support (or the given `target` arguments)."""
    with tempfile.TemporaryDirectory() as folder:
        command = [sys.executable, "-m", "conformance.cli", "run"]
        command += list(target) if target is not None else ["--base-url", base_url, "--test-support", base_url]
        command += ["--report-dir", folder, "--quiet", *args]
        started = time.perf_counter()
        try:
            subprocess.run(command, capture_output=True, timeout=timeout_s, check=False, cwd=folder)
        except subprocess.TimeoutExpired:
            return {"timed_out": True, "wall_s": timeout_s}
        wall = time.perf_counter() - started
        results: dict[str, Any] = json.loads((Path(folder) / "results.json").read_text(encoding="utf-8"))
    results["wall_s"] = wall
    return results


def _full_run(delay_ms: int, seed: int, timeout_s: float, *args: str) -> dict[str, Any]:
    with delayed(delay_ms) as base_url:
        results = _suite(base_url, "--seed", str(seed), *args, timeout_s=timeout_s)
    return _figures(results)


def _figures(results: dict[str, Any]) -> dict[str, Any]:
    if results.get("timed_out"):
        return {"timed_out": True}
    requests = int(results["summary"]["requests"])
    # a conformant server: any verdict but passed or skipped is a false alarm, named so that it can be followed up
    alarms = {
        item["id"]: item.get("reason", "") for item in results["requirements"] if item["outcome"] in ("failed", "error")
    }
    return {
        "wall_s": round(results["wall_s"], 2),
        "requests": requests,
        "requests_per_s": round(requests / results["wall_s"], 1),
        "exit_code": results["summary"]["exit_code"],
        # what --workers auto chose, from the round trip it measured (the proxy's own adds a few ms at 0 ms)
        "workers": results["target"]["workers"],
        "round_trip_ms": results["target"]["round_trip_ms"],
        "false_alarms": alarms,
        "skipped": sorted(item["id"] for item in results["requirements"] if item["outcome"] == "skipped"),
        # every pair of every lifecycle's transition table must run at any latency: what did not, per machine
        "transitions_missing": {
            name: machine["missing"] for name, machine in results.get("transitions", {}).items() if machine["missing"]
        },
    }


def _staging(delays: Sequence[int], seed: int, timeout_s: float) -> dict[str, Any]:
    """The staging-shaped run (bench/staging.py: no test support behind the proxy, the example user factory,
    MailDev for e-mail, a command for SMS, users with history) at each delay, then at 0 ms with 20-second
    lifetimes waited out on the wall clock. Its target: at 50 ms, at most 1.6x its own 0 ms time."""
    from bench.staging import MailDevUnavailable, running_maildev, short_lifetimes, staging

    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as folder:
        try:
            with running_maildev(Path(folder)) as maildev:
                for delay in delays:
                    print(f"latency bench: staging-shaped run, {delay} ms per answer", file=sys.stderr)
                    with staging(maildev, delay_ms=delay) as target:
                        ran = _suite(
                            target.base_url, "--seed", str(seed), timeout_s=timeout_s, target=target.run_args()
                        )
                        figures[str(delay)] = {**_figures(ran), "test_support_requests": target.proxy.refused}
                print(
                    "latency bench: staging-shaped run, 0 ms, 20-second lifetimes (--real-time-expiry)", file=sys.stderr
                )
                spec = short_lifetimes(ROOT / "spec" / "openapi.yaml", Path(folder) / "openapi-20s.yaml", 20)
                with staging(maildev, spec=spec) as target:
                    args = ("--seed", str(seed), "--spec", str(spec), "--real-time-expiry")
                    ran = _suite(target.base_url, *args, timeout_s=timeout_s, target=target.run_args())
                    figures["real_time_expiry_20s_0ms"] = _figures(ran)
        except MailDevUnavailable as exc:
            return {"not_measured": str(exc)}
    zero, fifty = figures.get("0", {}), figures.get("50", {})
    if "wall_s" in zero and "wall_s" in fifty:
        figures["ratio_50ms_to_0ms"] = round(fifty["wall_s"] / zero["wall_s"], 2)
    return figures


def _time_to_report(delay_ms: int, faults: Sequence[str], seed: int, timeout_s: float) -> dict[str, Any]:
    seen: dict[str, float | None] = {}
    for fault in faults:
        with delayed(delay_ms, faults=(fault,)) as base_url:
            results = _suite(base_url, "--seed", str(seed), "--maxfail", "1", timeout_s=timeout_s)
        failed = [item["first_failure_s"] for item in results.get("requirements", []) if item["outcome"] == "failed"]
        seen[fault] = round(min(failed), 2) if failed else None
    found = [value for value in seen.values() if value is not None]
    return {
        "per_fault_s": seen,
        "median_s": round(statistics.median(found), 2) if found else None,
        "max_s": max(found) if found else None,
        "missed": sorted(name for name, value in seen.items() if value is None),
    }


def _bare(delay_ms: int, workers: int, max_examples: int, seed: int, timeout_s: float) -> dict[str, Any]:
    with delayed_proxy(delay_ms) as (base_url, proxy):
        done = run_bare_st(base_url, max_examples=max_examples, seed=seed, timeout_s=timeout_s, workers=workers)
        requests = proxy.forwarded - 1  # all but the request that created its user
    if done.exit_code is None:
        return {"workers": workers, "timed_out": True}
    return {
        "workers": workers,
        "wall_s": round(done.duration_s, 2),
        "requests": requests,
        "requests_per_s": round(requests / done.duration_s, 1) if requests else None,
        "exit_code": done.exit_code,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.latency", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("reports/bench.json"))
    parser.add_argument("--delays", default=",".join(map(str, DEFAULT_DELAYS_MS)), help="milliseconds, comma-separated")
    parser.add_argument("--faults", default=",".join(DEFAULT_FAULTS), help="faults timed until first reported")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-examples", type=int, default=10, help="the budget of the suite and of bare st")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds, per run")
    parser.add_argument("--staging-delays", default="0,50", help="milliseconds of the staging-shaped runs ('' skips)")
    parser.add_argument("--only-staging", action="store_true", help="measure the staging-shaped runs only")
    args = parser.parse_args(argv)
    delays = [int(value) for value in args.delays.split(",") if value]
    faults = [name for name in args.faults.split(",") if name]
    st_workers = [1] + ([4] if sys.version_info >= (3, 12) else [])  # threaded st crashes on 3.11
    figures: dict[str, Any] = {"python": sys.version.split()[0], "delays_ms": delays, "faults": faults, "runs": {}}
    staging_delays = [int(value) for value in args.staging_delays.split(",") if value]
    if args.only_staging:
        delays = []
    if staging_delays:
        figures["staging"] = _staging(staging_delays, args.seed, args.timeout)
    if 0 in delays:  # the baseline the concurrent run must not be slower than: one requirement at a time
        print("latency bench: 0 ms, --workers 1", file=sys.stderr)
        figures["sequential_0ms"] = _full_run(0, args.seed, args.timeout, "--workers", "1")
    for delay in delays:
        print(f"latency bench: {delay} ms per answer", file=sys.stderr)
        figures["runs"][str(delay)] = {
            "suite": _full_run(delay, args.seed, args.timeout),
            "time_to_first_report": _time_to_report(delay, faults, args.seed, args.timeout),
            "bare_st": [_bare(delay, n, args.max_examples, args.seed, args.timeout) for n in st_workers],
        }
    zero, fifty = figures["runs"].get("0"), figures["runs"].get("50")
    if zero and fifty and "wall_s" in zero["suite"] and "wall_s" in fifty["suite"]:
        figures["ratio_50ms_to_0ms"] = round(fifty["suite"]["wall_s"] / zero["suite"]["wall_s"], 2)
    existing = json.loads(args.out.read_text(encoding="utf-8")) if args.out.is_file() else {}
    if args.only_staging:  # the other latency figures stay as they were measured
        figures = {**existing.get("latency", {}), "staging": figures["staging"]}
    existing["latency"] = figures
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(existing, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
