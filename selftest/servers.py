"""A fresh reference server that counts the requests it answers, in a thread or in its own process.

The count is taken at the server, so the suite, bare `st run` and a raw httpx loop are all
measured the same way. Requests to the test-support contract (`/v1/_test/...`: disposable users,
the outbox, the clock) are counted apart from the API's own. Both kinds of server are started by
`reference_server.launcher`.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from reference_server.app import BASE_PATH
from reference_server.embedded import running_server
from reference_server.launcher import READY_PREFIX, ServerProcess, serve_in_process

__all__ = ["COUNTS_PATH", "CountingServer", "counting_process", "counting_server", "counts_of", "main"]

_TEST_SUPPORT_PREFIX = BASE_PATH + "/_test/"
COUNTS_PATH = "/_selftest/counts"  # GET: the counters; POST: reset them (outside /v1, never counted)
_REPO = Path(__file__).resolve().parents[1]

Scope = dict[str, Any]
Receive = Any
Send = Any


@dataclass(slots=True)
class CountingServer:
    """What `counting_server` yields: the base URL (with /v1) and live request counters."""

    base_url: str = ""
    api_requests: int = 0
    test_support_requests: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        with self._lock:
            self.api_requests = 0
            self.test_support_requests = 0

    def count(self, path: str) -> None:
        with self._lock:
            if path.startswith(_TEST_SUPPORT_PREFIX):
                self.test_support_requests += 1
            else:
                self.api_requests += 1


class _Counting:
    """ASGI wrapper: one count per HTTP request, before the app sees it."""

    def __init__(self, app: Any, counter: CountingServer) -> None:
        self.app = app
        self.counter = counter
        self.state = app.state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = str(scope.get("path", ""))
            if path == COUNTS_PATH:  # the counters themselves, for a server in another process
                if scope.get("method") == "POST":
                    self.counter.reset()
                body = json.dumps(
                    {"api": self.counter.api_requests, "test_support": self.counter.test_support_requests}
                ).encode()
                headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
                await send({"type": "http.response.start", "status": 200, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
            self.counter.count(path)
        await self.app(scope, receive, send)


@contextmanager
def counting_server(faults: Sequence[str] = ()) -> Iterator[CountingServer]:
    """A fresh in-memory reference server (test mode, the given faults) on a free loopback port, in a thread."""
    counter = CountingServer()
    with running_server(faults=faults, wrap=lambda app: _Counting(app, counter)) as url:
        counter.base_url = url
        yield counter


@contextmanager
def counting_process(faults: Sequence[str] = ()) -> Iterator[ServerProcess]:
    """The same counting server in its own process (`python -m selftest.servers`); read it with `counts_of`."""
    command = [sys.executable, "-m", "selftest.servers", *(arg for fault in faults for arg in ("--fault", fault))]
    with serve_in_process(command, cwd=_REPO) as server:
        yield server


def counts_of(server: ServerProcess, *, reset: bool = False) -> dict[str, int]:
    """The counters of a `counting_process` ("api", "test_support"); with reset, zeroed after reading."""
    answer = (httpx.post if reset else httpx.get)(server.origin + COUNTS_PATH, timeout=10)
    answer.raise_for_status()
    return {key: int(value) for key, value in answer.json().items()}


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m selftest.servers [--fault NAME]...`: serve until SIGTERM; prints "base URL: ..." when ready."""
    parser = argparse.ArgumentParser(prog="python -m selftest.servers", description=main.__doc__)
    parser.add_argument("--fault", action="append", default=[])
    args = parser.parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with counting_server(args.fault) as server:
        print(f"{READY_PREFIX}{server.base_url}", flush=True)
        with suppress(KeyboardInterrupt):
            stop.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
