"""The one launcher of the reference server: in a thread of this process, or as a subprocess.

- `serve_in_thread(app)`: serve an ASGI app (the reference server, or a wrapper around it) with uvicorn
  in a daemon thread on a free loopback port; yields its base URL (with /v1) once it accepts requests.
- `serve_in_process(command)`: start a server command (by default `python -m reference_server serve`)
  and wait for the `base URL: ` line it prints when it accepts requests; yields a `ServerProcess`.

`embedded.running_server` (the suite's default target), the self-test's counting servers and the
benchmarks all start their servers through these two.
"""

from __future__ import annotations

import collections
import queue
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import uvicorn

from .app import BASE_PATH

__all__ = [
    "READY_PREFIX",
    "ServerProcess",
    "base_url",
    "bind_loopback",
    "serve_command",
    "serve_in_process",
    "serve_in_thread",
    "uvicorn_config",
]

READY_PREFIX = "base URL: "  # what `kesk-conformance serve` prints once it accepts requests
_THREAD_START_TIMEOUT_S = 10.0
_PROCESS_START_TIMEOUT_S = 30.0
_STOP_TIMEOUT_S = 10.0
_TAIL_LINES = 200


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
    """The API base URL (with /v1) of a server listening on sock."""
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}{BASE_PATH}"


# ---- in a thread ---------------------------------------------------------------------------------


@contextmanager
def serve_in_thread(
    app: object,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    name: str = "kesk-reference",
    start_timeout_s: float = _THREAD_START_TIMEOUT_S,
) -> Iterator[str]:
    """Serve `app` with uvicorn in a daemon thread; yields the base URL (with /v1) once it is started.

    On exit the server is asked to stop (its lifespan shutdown runs) and the socket is closed.
    """
    sock = bind_loopback(host, port)
    server = uvicorn.Server(uvicorn_config(app))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=name, daemon=True)
    try:
        thread.start()
        deadline = time.monotonic() + start_timeout_s
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the reference server did not start")
            time.sleep(0.005)
        yield base_url(sock)
    finally:
        server.should_exit = True
        if thread.is_alive():
            thread.join(timeout=_STOP_TIMEOUT_S)
        sock.close()


# ---- as a subprocess -----------------------------------------------------------------------------


def serve_command(
    *,
    faults: Sequence[str] = (),
    db: str = ":memory:",
    host: str = "127.0.0.1",
    port: int = 0,
    python: str = sys.executable,
) -> list[str]:
    """`python -m reference_server serve ...`: the command `kesk-conformance serve` runs."""
    command = [python, "-m", "reference_server", "serve", "--host", host, "--port", str(port), "--db", db]
    for fault in faults:
        command += ["--fault", fault]
    return command


class ServerProcess:
    """A server command in a subprocess, started once it printed its `base URL: ` line.

    Its stdout and stderr are read into one tail (`output_tail()`) by a thread, so a pipe never
    fills up; `stop()` terminates it (SIGTERM, then SIGKILL after 10 s).
    """

    def __init__(
        self,
        command: Sequence[str],
        *,
        cwd: str | Path | None = None,
        env: Mapping[str, str] | None = None,
        start_timeout_s: float = _PROCESS_START_TIMEOUT_S,
    ) -> None:
        self.command = list(command)
        self._tail: collections.deque[str] = collections.deque(maxlen=_TAIL_LINES)
        self.proc = subprocess.Popen(
            self.command,
            cwd=cwd,
            env=None if env is None else dict(env),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
        )
        lines: queue.Queue[str | None] = queue.Queue()
        assert self.proc.stdout is not None
        threading.Thread(target=self._pump, args=(self.proc.stdout, lines), daemon=True).start()
        self.base_url = self._wait_until_ready(lines, start_timeout_s)
        self.origin = self.base_url.removesuffix(BASE_PATH)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _pump(self, stream: IO[str], into: queue.Queue[str | None]) -> None:
        for line in stream:  # keep reading so the pipe can never fill up
            self._tail.append(line)
            into.put(line)
        into.put(None)

    def _wait_until_ready(self, lines: queue.Queue[str | None], timeout_s: float) -> str:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                line = None
            if line is None:  # the process ended, or the deadline passed
                self.stop()
                raise RuntimeError(f"the server did not start: {' '.join(self.command)}\n{self.output_tail()}")
            if line.startswith(READY_PREFIX):
                return line.removeprefix(READY_PREFIX).strip()

    def output_tail(self, chars: int = 2000) -> str:
        """The end of what the process printed (stdout and stderr together)."""
        return "".join(self._tail)[-chars:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@contextmanager
def serve_in_process(
    command: Sequence[str] | None = None,
    *,
    cwd: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    start_timeout_s: float = _PROCESS_START_TIMEOUT_S,
) -> Iterator[ServerProcess]:
    """Start `command` (default: `serve_command()`) as a `ServerProcess`; stopped on exit."""
    server = ServerProcess(
        serve_command() if command is None else command, cwd=cwd, env=env, start_timeout_s=start_timeout_s
    )
    try:
        yield server
    finally:
        server.stop()
