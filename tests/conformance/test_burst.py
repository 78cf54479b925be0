"""The HTTP/2 burst path, against a real HTTP/2 server over TLS (hypercorn, certificates from trustme).

A burst to a server that offers HTTP/2 goes out as streams of one connection, every stream's HEADERS in one
write, and the result says it was HTTP/2; a race requirement over it passes on the clean reference server,
names HTTP/2 in its result, and catches its race fault.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

import pytest
import trustme
from hypercorn.asyncio import serve
from hypercorn.config import Config
from hyperframe.frame import Frame, HeadersFrame

from conformance import burst
from conformance.cli import main as kesk_conformance
from conformance.contract import bundled_contract
from conformance.operations import OperationIndex
from conformance.redact import Redactor
from conformance.target import TargetClient
from reference_server.app import create_app
from reference_server.launcher import bind_loopback

ASGIApp = Callable[..., Any]


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@contextmanager
def https_server(app: ASGIApp, ca: trustme.CA, folder: Path) -> Iterator[str]:
    """`app` served by hypercorn over TLS (ALPN offers h2) on a loopback port; yields its https origin."""
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert.private_key_and_cert_chain_pem.write_to_path(str(folder / "server.pem"))
    sock = bind_loopback()
    config = Config()
    config.bind = [f"fd://{sock.fileno()}"]
    config.certfile = config.keyfile = str(folder / "server.pem")
    config.alpn_protocols = ["h2", "http/1.1"]
    config.accesslog = config.errorlog = None
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    thread = threading.Thread(
        target=loop.run_until_complete, args=(serve(app, config, shutdown_trigger=stop.wait),), daemon=True
    )
    thread.start()
    try:
        yield f"https://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=10)
        with contextlib.suppress(OSError):  # hypercorn closes the socket it was handed
            sock.close()


class Recorder:
    """An ASGI app answering every request 200 with JSON, noting its HTTP version, connection and arrival."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, tuple[str, int], float]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        self.seen.append((scope["http_version"], tuple(scope["client"]), time.perf_counter()))
        body = json.dumps({"email": "someone@example.com"}).encode()
        headers = [(b"content-type", b"application/json; charset=utf-8"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


class CountingSocket(ssl.SSLSocket):
    """A TLS socket that keeps every block the client writes, to count the frames each write carried."""

    writes: ClassVar[list[bytes]] = []

    def sendall(self, data: Any, flags: int = 0) -> None:
        CountingSocket.writes.append(bytes(data))
        super().sendall(data, flags)


def headers_frames(block: bytes) -> int:
    """How many HEADERS frames one written block of HTTP/2 holds (the connection preface skipped)."""
    block = block.removeprefix(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
    count = 0
    while len(block) >= 9:
        frame, length = Frame.parse_frame_header(memoryview(block[:9]))
        count += isinstance(frame, HeadersFrame)
        block = block[9 + length :]
    return count


def test_a_burst_to_an_http2_server_is_streams_of_one_connection_written_at_once(
    ca: trustme.CA, tmp_path: Path
) -> None:
    # Given an HTTP/2 server over TLS that notes what reaches it, and a client trusting its certificate
    recorder = Recorder()
    context = ssl.create_default_context()
    ca.configure_trust(context)
    context.sslsocket_class = CountingSocket
    CountingSocket.writes = []
    with https_server(recorder, ca, tmp_path) as origin:
        client = TargetClient(
            origin + "/v1", OperationIndex(bundled_contract().document), Redactor(), tls_context=context
        )
        # When a burst of 12 requests is sent
        sent = client.burst([client.prepare("getMyProfile", token="t") for _ in range(12)])
        client.close()
    # Then the client chose HTTP/2 and says so
    assert sent.protocol == burst.HTTP2 == "HTTP/2 single packet"
    # and every request was answered
    assert [item.exchange.status if item.exchange else item.error for item in sent.requests] == [200] * 12
    # and the server saw 12 HTTP/2 requests on one connection
    assert {version for version, _, _ in recorder.seen} == {"2"}
    assert len({client_address for _, client_address, _ in recorder.seen}) == 1 and len(recorder.seen) == 12
    # and the 12 streams' HEADERS left in one write
    assert max(headers_frames(block) for block in CountingSocket.writes) == 12


@contextmanager
def reference_over_https(ca: trustme.CA, folder: Path, faults: tuple[str, ...] = ()) -> Iterator[str]:
    app = create_app(db=":memory:", faults=faults, test_mode=True)
    try:
        with https_server(app, ca, folder) as origin:
            yield origin + "/v1"
    finally:
        app.state.server.db.close()


@pytest.mark.slow
def test_a_race_requirement_over_http2_passes_the_clean_server_and_catches_its_fault(
    ca: trustme.CA, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the reference server over HTTP/2 and TLS, its certificate trusted through SSL_CERT_FILE (as a user
    # would trust a staging server's private CA)
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))
    select = ["--select", "RACE-FAVOURITE-ADD-ONCE", "--select", "RACE-DELETION-OTP-ONCE"]

    def run(url: str, folder: Path) -> dict[str, dict[str, Any]]:
        argv = ["run", "--base-url", url, "--test-support", url, "--seed", "3", "--report-dir", str(folder)]
        kesk_conformance([*argv, *select, "--quiet"])
        capsys.readouterr()
        results = json.loads((folder / "results.json").read_text(encoding="utf-8"))
        return {item["id"]: item for item in results["requirements"]}

    # When the race requirements run against the clean server
    with reference_over_https(ca, tmp_path) as url:
        clean = run(url, tmp_path / "clean")
    # Then they pass, and their results say the bursts went over HTTP/2
    assert {rid: item["outcome"] for rid, item in clean.items()} == dict.fromkeys(clean, "passed")
    assert all("HTTP/2 single packet" in item["reason"] for item in clean.values()), clean
    # and against a server whose favourite add is check-then-act, the favourite's requirement fails
    with reference_over_https(ca, tmp_path, ("favourite_add_race",)) as url:
        faulty = run(url, tmp_path / "faulty")
    assert faulty["RACE-FAVOURITE-ADD-ONCE"]["outcome"] == "failed"
    assert "HTTP/2" in faulty["RACE-FAVOURITE-ADD-ONCE"]["failures"][0]["actual"]
