"""A small HTTP/1.1 server on loopback that misbehaves on purpose, one switchable behaviour at a time.

A raw asyncio socket server (not an ASGI app) so it can do what a framework would not: never answer,
reset the connection, drip a body byte by byte, stream 50 MB. It runs in a thread of the test process;
the suite under test talks to it over loopback like to any target.

The first ``healthy_first`` requests (the suite's preflight, GET /v1/users/me) get a healthy answer,
so the suite gets past its preflight and then meets the bad behaviour everywhere. POST /v1/_test/users
always answers, so a run can have disposable users.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import socket
import struct
import threading
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import Future
from types import TracebackType
from typing import Any

BEHAVIOURS = (
    "healthy",
    "timeout",  # reads the request, never answers
    "reset",  # reads the request, resets the connection (RST)
    "invalid_json",  # 200 application/json with a broken body
    "wrong_content_type",  # valid JSON served as text/html
    "huge_body",  # 200 with a 50 MB body, streamed
    "redirect_loop",  # 302 to the same URL
    "slow_drip",  # 200, then the body one byte per drip interval
    "burst_5xx",  # 500/503 for three requests in four
    "storm_429",  # 429 with Retry-After: 1 (retry_after) on everything
    "storm_429_huge",  # 429 with Retry-After: 86400 on everything
)

PROFILE = {
    "id": 1,
    "display_name": None,
    "first_name": None,
    "last_name": None,
    "email": "robust@example.com",
    "email_verified": True,
    "phone": None,
    "phone_verified": False,
    "identity_verified": False,
    "avatar_url": None,
    "created_at": "2026-01-01T00:00:00.000Z",
}
JSON_TYPE = "application/json; charset=utf-8"
_REASONS = {
    200: "OK",
    201: "Created",
    302: "Found",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class _Request:
    __slots__ = ("body", "headers", "method", "target")

    def __init__(self, method: str, target: str, headers: dict[str, str], body: bytes) -> None:
        self.method, self.target, self.headers, self.body = method, target, headers, body

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]


class MisbehavingServer:
    """``with MisbehavingServer("slow_drip") as server: server.base_url`` -> 'http://127.0.0.1:PORT/v1'."""

    def __init__(
        self,
        behaviour: str = "healthy",
        *,
        healthy_first: int = 1,
        huge_bytes: int = 50 * 1024 * 1024,
        drip_interval_s: float = 1.0,
        drip_bytes: int = 10_000,
        retry_after: str = "1",
    ) -> None:
        if behaviour not in BEHAVIOURS:
            raise ValueError(f"unknown behaviour {behaviour!r}; choose one of {', '.join(BEHAVIOURS)}")
        self.behaviour = behaviour
        self.healthy_first = healthy_first
        self.huge_bytes = huge_bytes
        self.drip_interval_s = drip_interval_s
        self.drip_bytes = drip_bytes
        self.retry_after = retry_after  # storm_429's Retry-After
        self.requests = 0  # requests read so far
        self.huge_bytes_sent = 0  # what huge_body managed to write before the client stopped reading
        self._counter = itertools.count(1)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="misbehaving-server", daemon=True)
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    # --- lifecycle ------------------------------------------------------------------------------
    def __enter__(self) -> MisbehavingServer:
        self._thread.start()
        self._call(self._start()).result(timeout=10)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        with contextlib.suppress(Exception):
            self._call(self._stop()).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return self.origin + "/v1"

    def _call(self, coroutine: Coroutine[Any, Any, None]) -> Future[None]:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop)

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._connection, "127.0.0.1", 0, limit=1024 * 1024)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # --- one connection ---------------------------------------------------------------------------
    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)  # type: ignore[arg-type]
        try:
            while True:
                request = await _read_request(reader)
                if request is None:
                    break
                if not await self._answer(request, writer):
                    break
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            pass
        except asyncio.CancelledError:  # the server is stopping; end quietly
            pass
        finally:
            self._tasks.discard(task)  # type: ignore[arg-type]
            with contextlib.suppress(Exception):
                writer.close()

    async def _answer(self, request: _Request, writer: asyncio.StreamWriter) -> bool:
        """Answer one request; False closes the connection."""
        number = next(self._counter)
        self.requests = number
        if request.method == "POST" and request.path == "/v1/_test/users":
            user = {
                "user_id": number,
                "token": f"token-{number}",
                "password": "pw-robust-1",
                "email": f"user{number}@example.com",
            }
            await _send(writer, 201, JSON_TYPE, json.dumps(user).encode())
            return True
        behaviour = "healthy" if number <= self.healthy_first else self.behaviour
        handler: Callable[[_Request, asyncio.StreamWriter, int], Awaitable[bool]] = getattr(self, f"_{behaviour}")
        return await handler(request, writer, number)

    async def _healthy(self, request: _Request, writer: asyncio.StreamWriter, number: int) -> bool:
        if request.method == "GET" and request.path == "/v1/users/me":
            await _send(writer, 200, JSON_TYPE, json.dumps(PROFILE).encode())
        else:
            await _send(writer, 404, JSON_TYPE, b'{"code":"not_found","message":"Not found."}')
        return True

    async def _timeout(self, request: _Request, writer: asyncio.StreamWriter, number: int) -> bool:
        await asyncio.sleep(3600)  # cancelled when the server stops
        return False

    async def _reset(self, request: _Request, writer: asyncio.StreamWriter, number: int) -> bool:
        sock = writer.get_extra_info("socket")
        if sock is not None:  # SO_LINGER 0: close() sends RST instead of FIN
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()
        return False

    async def _invalid_json(self, request: _Request, writer: asyncio.StreamWriter, number: int) -> bool:
        await _send(writer, 200, JSON_TYPE, b'{"id": 1, "email": "robust@example.com", "email_verified": tr')
        return True

    async def _wrong_content_type(self, request: _Request, writer: asyncio.StreamWriter, number: int) -> bool:
        await _send(writer, 200, "text/html; charset=utf-8", json.dumps(PROFILE).encode())
        return True

    async def _huge_body(self, request: _Request, writer: asyncio.StreamWriter, number: int) -> bool:
        head, tail = b'{"padding": "', b'"}'
        await _send_head(writer, 200, JSON_TYPE, len(head) + self.huge_bytes + len(tail))
        writer.write(head)
        chunk = b"x" * 65536
        left = self.huge_bytes
        while left > 0:
            piece = chunk[: min(left, len(chunk))]
            writer.write(piece)
            await writer.drain()  # raises once the client stops reading and closes
            left -= len(piece)
            self.huge_bytes_sent += len(piece)
        writer.write(tail)
        await writer.drain()
        return True

    async def _redirect_loop(self, request: _Request, writer: asyncio.StreamWriter, number: int) -> bool:
        await _send(writer, 302, JSON_TYPE, b"{}", extra={"Location": self.origin + request.target})
        return True

    async def _slow_drip(self, request: _Request, writer: asyncio.StreamWriter, number: int) -> bool:
        body = b'{"padding": "' + b"x" * self.drip_bytes + b'"}'
        await _send_head(writer, 200, JSON_TYPE, len(body))
        for byte in body:
            writer.write(bytes((byte,)))
            await writer.drain()
            await asyncio.sleep(self.drip_interval_s)
        return True

    async def _burst_5xx(self, request: _Request, writer: asyncio.StreamWriter, number: int) -> bool:
        if number % 4 == 0:
            return await self._healthy(request, writer, number)
        status = 500 if number % 2 else 503
        await _send(writer, status, JSON_TYPE, b'{"code":"internal","message":"Something broke."}')
        return True

    async def _storm_429(self, request: _Request, writer: asyncio.StreamWriter, number: int) -> bool:
        await _send(
            writer,
            429,
            JSON_TYPE,
            b'{"code":"too_many_requests","message":"Slow down."}',
            extra={"Retry-After": self.retry_after},
        )
        return True

    async def _storm_429_huge(self, request: _Request, writer: asyncio.StreamWriter, number: int) -> bool:
        await _send(
            writer,
            429,
            JSON_TYPE,
            b'{"code":"too_many_requests","message":"Slow down."}',
            extra={"Retry-After": "86400"},
        )
        return True


# --- HTTP/1.1 framing ---------------------------------------------------------------------------
async def _read_request(reader: asyncio.StreamReader) -> _Request | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                break
            body += chunk[:-2]
    else:
        body = await reader.readexactly(int(headers.get("content-length", "0") or 0))
    return _Request(method, target, headers, body)


async def _send_head(
    writer: asyncio.StreamWriter, status: int, content_type: str, length: int, extra: dict[str, str] | None = None
) -> None:
    lines = [
        f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}",
        f"Content-Type: {content_type}",
        f"Content-Length: {length}",
    ]
    lines += [f"{name}: {value}" for name, value in (extra or {}).items()]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
    await writer.drain()


async def _send(
    writer: asyncio.StreamWriter, status: int, content_type: str, body: bytes, extra: dict[str, str] | None = None
) -> None:
    await _send_head(writer, status, content_type, len(body), extra)
    writer.write(body)
    await writer.drain()
