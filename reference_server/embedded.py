"""Run the reference server in a background thread: the suite's embedded default target."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import uvicorn

from .app import BASE_PATH, create_app

__all__ = ["bind_loopback", "running_server", "uvicorn_config"]

_START_TIMEOUT_S = 10.0


def bind_loopback(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A listening socket; port 0 picks a free port, so no race between choosing and binding."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on accepted sockets whose proto says TCP,
    # and without it every keep-alive response stalls 40 ms on delayed ACKs.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    return sock


def uvicorn_config(app: object) -> uvicorn.Config:
    # No access log: request lines could carry secrets (export filenames, FCM tokens).
    return uvicorn.Config(app, log_level="error", access_log=False, lifespan="on")  # type: ignore[arg-type]


def base_url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}{BASE_PATH}"


@contextmanager
def running_server(*, faults: Sequence[str] = (), db: str = ":memory:") -> Iterator[str]:
    """Serve a fresh reference server on a free loopback port; yields its base URL (with /v1)."""
    app = create_app(db=db, faults=faults, test_mode=True)
    sock = bind_loopback()
    server = uvicorn.Server(uvicorn_config(app))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="kesk-reference", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + _START_TIMEOUT_S
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the reference server did not start")
            time.sleep(0.005)
        yield base_url(sock)
    finally:
        server.should_exit = True
        thread.join(timeout=_START_TIMEOUT_S)
        sock.close()
        app.state.server.db.close()
