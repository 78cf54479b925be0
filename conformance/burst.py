"""Synchronised bursts: N requests that reach the server within about a millisecond of each other.

Network jitter of tens of milliseconds hides race windows under a millisecond wide, so a burst is
lined up before it is released (the "single-packet attack" of web race research):

- HTTP/1.1, last-byte synchronisation: each request gets a connection of its own, every byte but the
  last is written, then the last bytes are written one right after the other (:func:`burst_http1`);
- HTTP/2, when the server offers it (ALPN over TLS): one connection, every request a stream, all the
  frames written with one send (:func:`burst_http2`).

Only the transport lives here. :meth:`conformance.target.TargetClient.burst` sends through it and records
every exchange like any other (observers, redaction, counts, cleanup tracking); checks never call this
module themselves.
"""

from __future__ import annotations

import contextlib
import gzip
import selectors
import socket
import ssl
import time
import zlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import h11

__all__ = [
    "HTTP1",
    "HTTP2",
    "RawAnswer",
    "RawFailure",
    "RawRequest",
    "burst_http1",
    "burst_http2",
    "offers_http2",
]

HTTP1 = "HTTP/1.1 last-byte synchronisation"
HTTP2 = "HTTP/2 single packet"
_SETTLE_S = 0.01  # between the lined-up bytes and the release: the server has read what it can before the burst
_READ = 65536


@dataclass(slots=True, frozen=True)
class RawRequest:
    method: str
    url: str  # absolute
    headers: tuple[tuple[str, str], ...]
    body: bytes = b""


@dataclass(slots=True)
class RawAnswer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    sent_s: float  # time.perf_counter() when its last byte left (HTTP/1.1) or its frames did (HTTP/2)
    answered_s: float  # when the whole answer had arrived


@dataclass(slots=True)
class RawFailure:
    """No usable answer: a connection refused or reset, a malformed answer, the deadline."""

    error: str
    sent_s: float


RawOutcome = RawAnswer | RawFailure


@dataclass(slots=True, frozen=True)
class _Origin:
    scheme: str
    host: str
    port: int
    target: str  # path and query

    @classmethod
    def of(cls, url: str) -> _Origin:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        port = parts.port or (443 if scheme == "https" else 80)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return cls(scheme, parts.hostname or "", port, target)

    @property
    def authority(self) -> str:
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"


def _connect(
    origin: _Origin, timeout_s: float, alpn: Sequence[str], context: ssl.SSLContext | None = None
) -> socket.socket:
    sock = socket.create_connection((origin.host, origin.port), timeout=timeout_s)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if origin.scheme != "https":
        return sock
    context = context or ssl.create_default_context()
    context.set_alpn_protocols(list(alpn))
    try:
        return context.wrap_socket(sock, server_hostname=origin.host)
    except BaseException:
        sock.close()
        raise


def offers_http2(base_url: str, *, timeout_s: float, context: ssl.SSLContext | None = None) -> bool:
    """Whether the server at `base_url` chooses HTTP/2 when offered it over TLS (ALPN); never over plain http."""
    origin = _Origin.of(base_url)
    if origin.scheme != "https":
        return False
    try:
        sock = socket.create_connection((origin.host, origin.port), timeout=timeout_s)
    except OSError:
        return False
    context = context or ssl.create_default_context()
    context.set_alpn_protocols(["h2", "http/1.1"])
    try:
        with context.wrap_socket(sock, server_hostname=origin.host) as tls:
            return tls.selected_alpn_protocol() == "h2"
    except (OSError, ssl.SSLError):
        return False
    finally:
        sock.close()


def _decoded(headers: Sequence[tuple[str, str]], body: bytes) -> bytes:
    """The body without its content coding (the burst asks for none, but a server may send one anyway)."""
    coding = next((value.strip().lower() for name, value in headers if name.lower() == "content-encoding"), "")
    try:
        if coding == "gzip":
            return gzip.decompress(body)
        if coding == "deflate":
            return zlib.decompress(body)
    except (OSError, zlib.error):
        return body
    return body


# --- HTTP/1.1: a connection per request, the last bytes released together ---------------------------------


@dataclass(slots=True)
class _Line:
    """One request lined up on its own connection, and its answer as it arrives."""

    request: RawRequest
    sock: socket.socket | None = None
    last: bytes = b""
    conn: h11.Connection = field(default_factory=lambda: h11.Connection(h11.CLIENT))
    status: int = 0
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytearray = field(default_factory=bytearray)
    sent_s: float = 0.0
    outcome: RawOutcome | None = None

    def fail(self, error: str) -> None:
        if self.outcome is None:
            self.outcome = RawFailure(error, self.sent_s)


def _serialise(request: RawRequest, origin: _Origin) -> bytes:
    writer = h11.Connection(h11.CLIENT)
    names = {name.lower() for name, _ in request.headers}
    headers = [("Host", origin.authority), *request.headers, ("Connection", "close")]
    if "content-length" not in names and (request.body or request.method in ("POST", "PUT", "PATCH")):
        headers.append(("Content-Length", str(len(request.body))))
    data = writer.send(h11.Request(method=request.method, target=origin.target, headers=headers)) or b""
    if request.body:
        data += writer.send(h11.Data(data=request.body)) or b""
    return data + (writer.send(h11.EndOfMessage()) or b"")


def _line_up(line: _Line, timeout_s: float, context: ssl.SSLContext | None) -> None:
    """Open the line's connection and write all of its request but the last byte."""
    origin = _Origin.of(line.request.url)
    try:
        data = _serialise(line.request, origin)
        line.sock = _connect(origin, timeout_s, ["http/1.1"], context)
        line.sock.sendall(data[:-1])
        line.last = data[-1:]
    except (OSError, h11.LocalProtocolError, ValueError) as exc:
        line.fail(f"{type(exc).__name__}: {exc}")


def _take(line: _Line, data: bytes) -> None:
    """Feed what arrived on the line's connection to its parser; the outcome once the answer is whole."""
    try:
        line.conn.receive_data(data)
        while True:
            event = line.conn.next_event()
            if event is h11.NEED_DATA or event is h11.PAUSED:
                if not data and line.outcome is None:
                    line.fail("the connection closed before the whole answer arrived")
                return
            if isinstance(event, h11.InformationalResponse):
                continue
            if isinstance(event, h11.Response):
                line.status = event.status_code
                line.headers = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in event.headers]
            elif isinstance(event, h11.Data):
                line.body += event.data
            elif isinstance(event, h11.EndOfMessage):
                line.outcome = RawAnswer(
                    line.status,
                    line.headers,
                    _decoded(line.headers, bytes(line.body)),
                    line.sent_s,
                    time.perf_counter(),
                )
                return
            elif isinstance(event, h11.ConnectionClosed):
                line.fail("the connection closed before the whole answer arrived")
                return
    except h11.RemoteProtocolError as exc:
        line.fail(f"a malformed answer: {exc}")


def _receive(sock: socket.socket) -> bytes | None:
    """What the socket has now (b"" at its end); None when a TLS record is still incomplete."""
    try:
        data = sock.recv(_READ)
    except (ssl.SSLWantReadError, BlockingIOError):
        return None
    if isinstance(sock, ssl.SSLSocket):
        while sock.pending():
            data += sock.recv(_READ)
    return data


def burst_http1(
    requests: Sequence[RawRequest], *, timeout_s: float, context: ssl.SSLContext | None = None
) -> list[RawOutcome]:
    """Send `requests` with last-byte synchronisation; their outcomes, in the order given."""
    lines = [_Line(request) for request in requests]
    deadline = time.perf_counter() + timeout_s
    with ThreadPoolExecutor(max_workers=min(32, max(1, len(lines))), thread_name_prefix="kesk-burst") as pool:
        list(
            pool.map(lambda line: _line_up(line, timeout_s, context), lines)
        )  # connections open at once, not one by one
    ready = [line for line in lines if line.sock is not None and line.outcome is None]
    try:
        time.sleep(_SETTLE_S)
        for line in ready:  # the release: one last byte after the other, microseconds apart
            assert line.sock is not None
            line.sent_s = time.perf_counter()
            try:
                line.sock.send(line.last)
            except OSError as exc:
                line.fail(f"{type(exc).__name__}: {exc}")
        _read_all(ready, deadline)
    finally:
        for line in lines:
            if line.sock is not None:
                line.sock.close()
    for line in lines:
        line.fail(f"no complete answer within {timeout_s:g} s")
    return [line.outcome for line in lines if line.outcome is not None]


def _read_all(lines: list[_Line], deadline: float) -> None:
    with selectors.DefaultSelector() as selector:
        for line in lines:
            if line.outcome is None and line.sock is not None:
                line.sock.setblocking(False)
                selector.register(line.sock, selectors.EVENT_READ, line)
        while selector.get_map() and (left := deadline - time.perf_counter()) > 0:
            for key, _ in selector.select(timeout=left):
                line = key.data
                try:
                    data = _receive(line.sock)
                except OSError as exc:
                    line.fail(f"{type(exc).__name__}: {exc}")
                    data = b""
                if data is None:
                    continue
                if line.outcome is None:
                    _take(line, data)
                if line.outcome is not None or not data:
                    selector.unregister(line.sock)


# --- HTTP/2: one connection, every request a stream, one send ------------------------------------------


def burst_http2(
    requests: Sequence[RawRequest], *, timeout_s: float, context: ssl.SSLContext | None = None
) -> list[RawOutcome]:
    """Send `requests` as streams of one HTTP/2 connection, all frames in one write; outcomes in order given."""
    import h2.config
    import h2.connection
    import h2.events

    if not requests:
        return []
    origin = _Origin.of(requests[0].url)
    deadline = time.perf_counter() + timeout_s
    sock = socket.create_connection((origin.host, origin.port), timeout=timeout_s)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    context = context or ssl.create_default_context()
    context.set_alpn_protocols(["h2"])
    outcomes: dict[int, RawOutcome] = {}
    try:
        tls = context.wrap_socket(sock, server_hostname=origin.host)
        conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
        conn.initiate_connection()
        tls.sendall(conn.data_to_send())
        streams: dict[int, int] = {}  # stream id -> index of its request
        for index, request in enumerate(requests):
            target = _Origin.of(request.url)
            stream = conn.get_next_available_stream_id()
            streams[stream] = index
            headers = [(":method", request.method), (":path", target.target), (":scheme", "https")]
            headers.append((":authority", target.authority))
            headers += [(name.lower(), value) for name, value in request.headers if name.lower() != "host"]
            if request.body:
                headers.append(("content-length", str(len(request.body))))
            conn.send_headers(stream, headers, end_stream=not request.body)
            if request.body:
                conn.send_data(stream, request.body, end_stream=True)
        sent = time.perf_counter()
        tls.sendall(conn.data_to_send())  # every stream in one write
        answers: dict[int, RawAnswer] = {}
        while len(outcomes) < len(requests) and time.perf_counter() < deadline:
            tls.settimeout(max(0.01, deadline - time.perf_counter()))
            try:
                data = tls.recv(_READ)
            except TimeoutError:
                break
            if not data:
                break
            for event in conn.receive_data(data):
                index = streams.get(getattr(event, "stream_id", 0) or 0, -1)
                if isinstance(event, h2.events.ResponseReceived) and index >= 0:
                    headers_in = [(str(name), str(value)) for name, value in event.headers or []]
                    status = int(next(value for name, value in headers_in if name == ":status"))
                    plain = [(name, value) for name, value in headers_in if not name.startswith(":")]
                    answers[index] = RawAnswer(status, plain, b"", sent, 0.0)
                elif isinstance(event, h2.events.DataReceived) and index in answers:
                    answers[index].body += event.data or b""
                    conn.acknowledge_received_data(event.flow_controlled_length or 0, event.stream_id or 0)
                elif isinstance(event, h2.events.StreamEnded) and index in answers:
                    answer = answers[index]
                    answer.body = _decoded(answer.headers, answer.body)
                    answer.answered_s = time.perf_counter()
                    outcomes[index] = answer
                elif isinstance(event, h2.events.StreamReset) and index >= 0:
                    outcomes[index] = RawFailure(f"the server reset the stream (error {event.error_code})", sent)
                elif isinstance(event, h2.events.ConnectionTerminated):
                    break
            tls.sendall(conn.data_to_send())
        with contextlib.suppress(OSError):
            conn.close_connection()
            tls.sendall(conn.data_to_send())
        tls.close()
    except (OSError, ssl.SSLError, ValueError) as exc:
        failure = f"{type(exc).__name__}: {exc}"
        return [outcomes.get(index, RawFailure(failure, 0.0)) for index in range(len(requests))]
    finally:
        sock.close()
    return [
        outcomes.get(index, RawFailure(f"no complete answer within {timeout_s:g} s", 0.0))
        for index in range(len(requests))
    ]
