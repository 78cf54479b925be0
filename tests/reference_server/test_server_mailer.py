"""The outbox mailer (reference_server/mailer.py) against a small in-process SMTP sink.

The sink speaks just enough SMTP (RFC 5321: greeting, EHLO/HELO, MAIL, RCPT, DATA, RSET, QUIT) for
smtplib, keeps what it received, and can refuse recipients or answer slowly.
"""

from __future__ import annotations

import email
import email.policy
import logging
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from rs_helpers import User, new_user, outbox_code

from reference_server.db import Database
from reference_server.embedded import running_server
from reference_server.mailer import SENDER, OutboxMailer, SmtpAddressError, parse_smtp_address

REPO = Path(__file__).parents[2]


@dataclass
class SmtpSink:
    """What the sink received, and how it behaves."""

    host: str = "127.0.0.1"
    port: int = 0
    received: list[EmailMessage] = field(default_factory=list)
    envelopes: list[list[str]] = field(default_factory=list)
    refuse_rcpt: bool = False
    greeting_delay_s: float = 0.0

    def wait_for(self, count: int, *, timeout_s: float = 5.0) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout_s
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.received


class _SmtpHandler(socketserver.StreamRequestHandler):
    server: _SmtpServer

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode("ascii") + b"\r\n")

    def handle(self) -> None:
        sink = self.server.sink
        time.sleep(sink.greeting_delay_s)
        self.reply("220 sink ESMTP")
        recipients: list[str] = []
        while raw := self.rfile.readline():
            verb = raw.decode("ascii", "replace").strip().split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                self.reply("250 sink")
            elif verb == "MAIL":
                recipients = []
                self.reply("250 OK")
            elif verb == "RCPT":
                if sink.refuse_rcpt:
                    self.reply("550 no such mailbox here")
                else:
                    recipients.append(raw.decode().split(":", 1)[1].strip().strip("<>"))
                    self.reply("250 OK")
            elif verb == "DATA":
                self.reply("354 go on")
                lines = []
                while (line := self.rfile.readline()) not in (b".\r\n", b""):
                    lines.append(line[1:] if line.startswith(b"..") else line)
                message = email.message_from_bytes(b"".join(lines), policy=email.policy.default)
                assert isinstance(message, EmailMessage)
                sink.envelopes.append(recipients)
                sink.received.append(message)
                self.reply("250 queued")
            elif verb == "RSET":
                recipients = []
                self.reply("250 OK")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("502 not here")


class _SmtpServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, sink: SmtpSink) -> None:
        super().__init__((sink.host, 0), _SmtpHandler)
        self.sink = sink
        sink.port = self.server_address[1]


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    smtp_sink = SmtpSink()
    server = _SmtpServer(smtp_sink)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield smtp_sink
    server.shutdown()
    server.server_close()


def _closed_port() -> int:
    server = socketserver.TCPServer(("127.0.0.1", 0), socketserver.BaseRequestHandler)
    port = server.server_address[1]
    server.server_close()
    return port


def _add_outbox_row(db: Database, *, channel: str, address: str, purpose: str, code: str) -> None:
    with db.transaction() as conn:
        conn.execute(
            "INSERT INTO outbox (channel, address, purpose, code, created_at) VALUES (?, ?, ?, ?, 0)",
            (channel, address, purpose, code),
        )


def test_an_email_code_is_mailed_with_purpose_subject_and_code_body(sink: SmtpSink) -> None:
    # Given a server whose outbox is mailed to the sink
    with running_server(smtp=f"127.0.0.1:{sink.port}") as url, httpx.Client(base_url=url + "/") as http:
        alice: User = new_user(http)
        # When an account deletion OTP is sent
        assert alice.post("user/request-account-deletion", json={}).status_code == 202
        code = outbox_code(http, alice.email, "account_deletion")
        received = sink.wait_for(1)
    # Then the sink got exactly that mail
    assert len(received) == 1
    mail = received[0]
    assert sink.envelopes == [[alice.email]]
    assert mail["To"] == alice.email and mail["From"] == SENDER
    assert "account deletion" in mail["Subject"] and mail["X-Kesk-Purpose"] == "account_deletion"
    body = mail.get_content()
    assert f"code is {code}." in body
    assert code not in mail["Subject"]


def test_sms_rows_and_rows_older_than_the_mailer_are_not_mailed(sink: SmtpSink) -> None:
    # Given an outbox with a row written before the mailer existed
    db = Database(":memory:")
    _add_outbox_row(db, channel="email", address="old@example.com", purpose="email_verification", code="111111")
    mailer = OutboxMailer(db, sink.host, sink.port)
    # When an SMS code and an email code are written after it
    _add_outbox_row(db, channel="sms", address="+358401234567", purpose="phone_verification", code="222222")
    _add_outbox_row(db, channel="email", address="new@example.com", purpose="data_export", code="333333")
    sent = mailer.deliver_pending()
    # Then only the new email went out, once
    assert sent == 1 and mailer.deliver_pending() == 0
    assert [m["To"] for m in sink.received] == ["new@example.com"]
    assert "333333" in sink.received[0].get_content()


def test_a_dead_smtp_server_leaves_the_api_answer_alone_and_logs_no_code(caplog: pytest.LogCaptureFixture) -> None:
    # Given a server whose SMTP server is not listening
    caplog.set_level(logging.WARNING, logger="reference_server.mailer")
    with running_server(smtp=f"127.0.0.1:{_closed_port()}") as url, httpx.Client(base_url=url + "/") as http:
        alice = new_user(http)
        # When
        requested = alice.post("user/request-account-deletion", json={})
        code = outbox_code(http, alice.email, "account_deletion")
        deadline = time.monotonic() + 5
        while not caplog.records and time.monotonic() < deadline:
            time.sleep(0.02)
    # Then the request succeeded, the failure is logged and the code is not in the log
    assert requested.status_code == 202
    assert len(caplog.records) == 1
    assert "account_deletion" in caplog.text and "ConnectionRefusedError" in caplog.text
    assert code not in caplog.text


def test_a_refused_recipient_is_logged_without_the_code(sink: SmtpSink, caplog: pytest.LogCaptureFixture) -> None:
    # Given a sink that refuses every recipient
    sink.refuse_rcpt = True
    caplog.set_level(logging.WARNING, logger="reference_server.mailer")
    db = Database(":memory:")
    mailer = OutboxMailer(db, sink.host, sink.port)
    _add_outbox_row(db, channel="email", address="a@example.com", purpose="email_verification", code="424242")
    _add_outbox_row(db, channel="email", address="b@example.com", purpose="email_verification", code="434343")
    # When
    sent = mailer.deliver_pending()
    # Then both failures are logged, each once, without their codes
    assert sent == 0 and sink.received == []
    assert len(caplog.records) == 2
    assert "SMTPRecipientsRefused" in caplog.text and "b@example.com" in caplog.text
    assert "424242" not in caplog.text and "434343" not in caplog.text


def test_a_slow_smtp_server_holds_no_database_transaction(sink: SmtpSink) -> None:
    # Given a sink that takes a second to greet, and a mail to send
    sink.greeting_delay_s = 1.0
    db = Database(":memory:")
    mailer = OutboxMailer(db, sink.host, sink.port)
    _add_outbox_row(db, channel="email", address="a@example.com", purpose="data_export", code="515151")
    sending = threading.Thread(target=mailer.deliver_pending)
    sending.start()
    time.sleep(0.2)  # the mailer is now waiting for the greeting
    # When another request writes while the mail is on its way
    started = time.monotonic()
    _add_outbox_row(db, channel="sms", address="+358401234567", purpose="phone_verification", code="525252")
    waited = time.monotonic() - started
    sending.join(timeout=10)
    # Then it did not wait for SMTP
    assert waited < 0.5
    assert len(sink.received) == 1


def test_the_mailer_thread_sends_what_was_committed_before_shutdown(sink: SmtpSink) -> None:
    db = Database(":memory:")
    mailer = OutboxMailer(db, sink.host, sink.port, poll_s=10.0)  # only the last pass can send it
    mailer.start()
    _add_outbox_row(db, channel="email", address="late@example.com", purpose="data_export", code="616161")
    mailer.stop()
    assert [m["To"] for m in sink.received] == ["late@example.com"]


@pytest.mark.parametrize("value", ["localhost", "localhost:", ":25", "host:port", "host:70000", "host:0"])
def test_an_smtp_address_that_is_not_host_port_is_refused(value: str) -> None:
    with pytest.raises(SmtpAddressError, match=r"is not HOST:PORT; pass e\.g\. --smtp 127\.0\.0\.1:1025"):
        parse_smtp_address(value)


def test_smtp_addresses_parse_with_ipv6_brackets() -> None:
    assert parse_smtp_address("mail.internal:2525") == ("mail.internal", 2525)
    assert parse_smtp_address("[::1]:1025") == ("::1", 1025)


def test_serve_refuses_a_bad_smtp_address_in_one_line() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "reference_server", "--smtp", "mailcatcher"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "--smtp 'mailcatcher' is not HOST:PORT" in lines[0]
