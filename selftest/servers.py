"""A fresh reference server in a background thread that counts the requests it answers.

The count is taken at the server, so the suite, bare `st run` and a raw httpx loop are all
measured the same way. Requests to the test-support contract (`/v1/_test/...`: disposable users,
the outbox, the clock) are counted apart from the API's own.
"""

from __future__ import annotations

import argparse
import json
import signal
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

import uvicorn

from reference_server.app import BASE_PATH, create_app
from reference_server.embedded import base_url, bind_loopback, uvicorn_config

__all__ = ["COUNTS_PATH", "CountingServer", "counting_server", "main"]

_START_TIMEOUT_S = 10.0
_TEST_SUPPORT_PREFIX = BASE_PATH + "/_test/"
COUNTS_PATH = "/_selftest/counts"  # GET: the counters; POST: reset them (outside /v1, never counted)

Scope = dict[str, Any]
Receive = Any
Send = Any


@dataclass(slots=True)
class CountingServer:
    """What `counting_server` yields: the base URL (with /v1) and live request counters."""

    base_url: str
    api_requests: int = 0
    test_support_requests: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        with self._lock:
            self.api_requests = 0
            self.test_support_requests = 0

    def _count(self, path: str) -> None:
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
            self.counter._count(path)
        await self.app(scope, receive, send)


@contextmanager
def counting_server(faults: Sequence[str] = ()) -> Iterator[CountingServer]:
    """A fresh in-memory reference server (test mode, the given faults) on a free loopback port."""
    app = create_app(faults=faults, test_mode=True)
    sock = bind_loopback()
    counter = CountingServer(base_url(sock))
    server = uvicorn.Server(uvicorn_config(_Counting(app, counter)))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="selftest-reference", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + _START_TIMEOUT_S
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the reference server did not start")
            time.sleep(0.005)
        yield counter
    finally:
        server.should_exit = True
        thread.join(timeout=_START_TIMEOUT_S)
        sock.close()
        app.state.server.db.close()


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m selftest.servers [--fault NAME]...`: serve until SIGTERM; prints "base URL: ..." when ready."""
    parser = argparse.ArgumentParser(prog="python -m selftest.servers", description=main.__doc__)
    parser.add_argument("--fault", action="append", default=[])
    args = parser.parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with counting_server(args.fault) as server:
        print(f"base URL: {server.base_url}", flush=True)
        with suppress(KeyboardInterrupt):
            stop.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
