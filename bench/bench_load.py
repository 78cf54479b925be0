"""Python load generators for the benchmark, run in their own process.

Two modes, both over a minimal keep-alive HTTP/1.1 client on asyncio streams (an HTTP library's
per-request cost would compete with the server for the machine's two cores):

- `open`: an open-loop pacer. Request i is *scheduled* at t0 + i/rate and its latency is measured
  from that scheduled time, not from when a connection became free, so a slow server cannot hide
  its stalls by slowing the client down (no coordinated omission).
- `closed`: N connections each sending the next request as soon as the previous answer arrives;
  the fallback for the max-rate measurement when wrk is not installed.

Usage: python -m bench.bench_load {open,closed} --url URL --op {get_users_me,add_email} [...]
The bearer token is read from $KESK_BENCH_TOKEN (kept out of argv). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "build_request",
    "parse_response_head",
    "percentile",
    "schedule_offsets",
    "summarise",
]

TOKEN_ENV = "KESK_BENCH_TOKEN"
_MAX_HEAD = 64 * 1024


# ---- pure parts (unit-tested) ----------------------------------------------------------------


def schedule_offsets(rate: float, duration: float) -> list[float]:
    """Send times, in seconds after the start, for `rate` requests/s over `duration` seconds."""
    if rate <= 0 or duration <= 0:
        raise ValueError("rate and duration must be positive")
    count = math.floor(rate * duration + 1e-9)
    return [i / rate for i in range(count)]


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (0..100) by linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return math.nan
    if not 0 <= p <= 100:
        raise ValueError("p must be within 0..100")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def build_request(method: str, path: str, host: str, headers: dict[str, str] | None = None, body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


@dataclass(slots=True, frozen=True)
class ResponseHead:
    status: int
    content_length: int
    keep_alive: bool


def parse_response_head(head: bytes) -> ResponseHead:
    """Status, Content-Length and keep-alive from a response head (up to and including CRLFCRLF)."""
    text = head.decode("latin-1")
    status_line, _, rest = text.partition("\r\n")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        raise ValueError(f"not an HTTP/1.x status line: {status_line!r}")
    status = int(parts[1])
    length: int | None = None
    keep_alive = parts[0] == "HTTP/1.1"
    for line in rest.split("\r\n"):
        name, sep, value = line.partition(":")
        if not sep:
            continue
        name = name.strip().lower()
        value = value.strip()
        if name == "content-length":
            length = int(value)
        elif name == "transfer-encoding" and value.lower() != "identity":
            raise ValueError("chunked responses are not supported by this client")
        elif name == "connection":
            keep_alive = value.lower() != "close" if keep_alive else value.lower() == "keep-alive"
    if length is None:
        if status in (204, 304) or 100 <= status < 200:
            length = 0
        else:
            raise ValueError("response without Content-Length")
    return ResponseHead(status, length, keep_alive)


def summarise(latencies_s: Sequence[float]) -> dict[str, float]:
    """p50/p90/p99/max in milliseconds, rounded to microseconds."""
    if not latencies_s:
        return {"p50_ms": math.nan, "p90_ms": math.nan, "p99_ms": math.nan, "max_ms": math.nan}
    ms = [x * 1000 for x in latencies_s]
    return {
        "p50_ms": round(percentile(ms, 50), 3),
        "p90_ms": round(percentile(ms, 90), 3),
        "p99_ms": round(percentile(ms, 99), 3),
        "max_ms": round(max(ms), 3),
    }


# ---- requests --------------------------------------------------------------------------------


@dataclass(slots=True)
class RequestFactory:
    """Request bytes per operation; add_email gets a unique address per request."""

    op: str
    host: str
    base_path: str
    token: str
    prefix: str
    _counter: int = 0
    _static: bytes = field(default=b"")

    def __post_init__(self) -> None:
        if self.op == "get_users_me":
            self._static = build_request(
                "GET", f"{self.base_path}/users/me", self.host, {"Authorization": f"Bearer {self.token}"}
            )
        elif self.op != "add_email":
            raise ValueError(f"unknown operation {self.op!r}")

    def next(self) -> bytes:
        if self._static:
            return self._static
        self._counter += 1
        body = json.dumps({"email": f"{self.prefix}-{self._counter}@example.com"}).encode()
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        return build_request("POST", f"{self.base_path}/user/emails", self.host, headers, body)


class Connection:
    """One keep-alive HTTP/1.1 connection; reconnects after an error or a `Connection: close`."""

    def __init__(self, hostname: str, port: int) -> None:
        self._hostname = hostname
        self._port = port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def send(self, raw: bytes) -> int:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self._hostname, self._port, limit=_MAX_HEAD)
        assert self._reader is not None
        try:
            self._writer.write(raw)
            head = parse_response_head(await self._reader.readuntil(b"\r\n\r\n"))
            if head.content_length:
                await self._reader.readexactly(head.content_length)
        except BaseException:
            self.close()
            raise
        if not head.keep_alive:
            self.close()
        return head.status

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None


@dataclass(slots=True)
class Tally:
    latencies_s: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)  # transport errors, by exception type

    def result(self, elapsed_s: float) -> dict[str, Any]:
        ok = sum(n for status, n in self.statuses.items() if 200 <= status < 300)
        non_2xx = sum(self.statuses.values()) - ok
        return {
            "requests": sum(self.statuses.values()) + sum(self.failures.values()),
            "ok_2xx": ok,
            "non_2xx": non_2xx,
            "transport_errors": sum(self.failures.values()),
            "errors": non_2xx + sum(self.failures.values()),
            "status_counts": {str(k): v for k, v in sorted(self.statuses.items())},
            "transport_error_kinds": dict(self.failures),
            "elapsed_s": round(elapsed_s, 3),
            "rps": round(sum(self.statuses.values()) / elapsed_s, 1) if elapsed_s > 0 else 0.0,
            **summarise(self.latencies_s),
        }


async def _send(conn: Connection, raw: bytes, tally: Tally, started: float) -> None:
    try:
        status = await conn.send(raw)
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
        tally.failures[type(exc).__name__] += 1
        return
    tally.latencies_s.append(time.perf_counter() - started)
    tally.statuses[status] += 1


async def run_open_loop(
    make: Callable[[], bytes],
    hostname: str,
    port: int,
    *,
    rate: float,
    duration: float,
    connections: int,
    drain_timeout: float = 10.0,
) -> dict[str, Any]:
    """Send at fixed times over a pool of keep-alive connections; latency counts from the scheduled time."""
    idle: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(connections):
        idle.put_nowait(Connection(hostname, port))
    tally = Tally()
    lateness: list[float] = []  # how late the pacer itself dispatched each request (its own health)

    async def one(raw: bytes, scheduled: float) -> None:
        conn = await idle.get()
        try:
            await _send(conn, raw, tally, scheduled)
        finally:
            idle.put_nowait(conn)

    tasks: list[asyncio.Task[None]] = []
    t0 = time.perf_counter() + 0.05
    for offset in schedule_offsets(rate, duration):
        scheduled = t0 + offset
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        lateness.append(time.perf_counter() - scheduled)
        tasks.append(asyncio.create_task(one(make(), scheduled)))
    _done, pending = await asyncio.wait(tasks, timeout=drain_timeout) if tasks else (set(), set())
    for task in pending:
        task.cancel()
    tally.failures.update({"unanswered_after_drain": len(pending)} if pending else {})
    elapsed = time.perf_counter() - t0
    result = tally.result(elapsed)
    result.update(
        mode="open-loop",
        rps_target=rate,
        scheduled=len(tasks),
        connections=connections,
        pacer_lateness_p99_ms=round(percentile(lateness, 99) * 1000, 3) if lateness else math.nan,
    )
    return result


async def run_closed_loop(
    make: Callable[[], bytes], hostname: str, port: int, *, duration: float, connections: int
) -> dict[str, Any]:
    """Each connection sends its next request as soon as the previous one is answered."""
    tally = Tally()
    deadline = time.perf_counter() + duration

    async def worker() -> None:
        conn = Connection(hostname, port)
        while time.perf_counter() < deadline:
            await _send(conn, make(), tally, time.perf_counter())
        conn.close()

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    result = tally.result(time.perf_counter() - start)
    result.update(mode="closed-loop", connections=connections)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("mode", choices=["open", "closed"])
    parser.add_argument("--url", required=True, help="the API base URL, e.g. http://127.0.0.1:8000/v1")
    parser.add_argument("--op", required=True, choices=["get_users_me", "add_email"])
    parser.add_argument("--rate", type=float, default=200.0, help="open loop: requests/s")
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--prefix", default="py", help="add_email: local-part prefix, unique per run")
    args = parser.parse_args(argv)
    token = os.environ.get(TOKEN_ENV)
    if not token:
        print(f"error: set {TOKEN_ENV}", file=sys.stderr)
        return 2
    url = urlsplit(args.url)
    if url.scheme != "http" or url.hostname is None or url.port is None:
        print("error: --url must be http://HOST:PORT/...", file=sys.stderr)
        return 2
    factory = RequestFactory(args.op, url.netloc, url.path.rstrip("/"), token, args.prefix)
    if args.mode == "open":
        coro = run_open_loop(
            factory.next,
            url.hostname,
            url.port,
            rate=args.rate,
            duration=args.duration,
            connections=args.connections,
        )
    else:
        coro = run_closed_loop(
            factory.next, url.hostname, url.port, duration=args.duration, connections=args.connections
        )
    print(json.dumps(asyncio.run(coro)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
