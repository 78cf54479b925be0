"""Real e-mail for the outbox: the email codes the server writes to its outbox also go out through SMTP.

The outbox table is the queue (the transactional-outbox pattern). Handlers keep writing codes inside
their own transaction (`state.send_message`); an `OutboxMailer` thread reads the email rows committed
since its last look and sends each one with smtplib, outside any transaction. So a slow or dead SMTP
server never holds the database, a request that rolled back mails nothing, and the API answer neither
waits for nor depends on the mail. SMS rows stay in the outbox only: there is no SMS gateway to speak to.

A failed send is logged (purpose, address and the error's type, never the code) and not retried.
"""

from __future__ import annotations

import logging
import smtplib
import sqlite3
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from .db import Database

__all__ = ["SENDER", "OutboxMailer", "SmtpAddressError", "compose", "parse_smtp_address"]

SENDER = "Kesk <no-reply@kesk.example>"

_log = logging.getLogger("reference_server.mailer")


class SmtpAddressError(ValueError):
    """`--smtp` is not HOST:PORT; the message is the one line the user sees."""


def parse_smtp_address(value: str) -> tuple[str, int]:
    """`HOST:PORT` (`[::1]:25` for IPv6) as (host, port)."""
    host, sep, port = value.strip().rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise SmtpAddressError(f"--smtp {value!r} is not HOST:PORT; pass e.g. --smtp 127.0.0.1:1025")
    return host, int(port)


@dataclass(slots=True, frozen=True)
class _Mail:
    row_id: int
    address: str
    purpose: str
    code: str


def compose(*, address: str, purpose: str, code: str) -> EmailMessage:
    """The message for one code: the subject names the purpose, the text body holds the 6-digit code.

    Nothing else in the body or subject is a run of digits, so a catcher's `\\b(\\d{6})\\b` finds the code.
    """
    words = purpose.replace("_", " ")
    message = EmailMessage()
    message["From"] = SENDER
    message["To"] = address
    message["Subject"] = f"Your Kesk {words} code"
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="kesk.example")
    message["X-Kesk-Purpose"] = purpose
    message.set_content(
        f"Your Kesk {words} code is {code}.\n\n"
        f"It was requested for {address}. If you did not ask for it, ignore this message.\n"
    )
    return message


class OutboxMailer:
    """Sends the email rows of the outbox through one SMTP server, from a background thread.

    Rows already in the outbox when the mailer is built are not sent (a restarted server does not
    mail old codes again). `deliver_pending()` does one pass; the thread calls it every `poll_s`.
    """

    def __init__(self, db: Database, host: str, port: int, *, poll_s: float = 0.02, timeout_s: float = 10.0) -> None:
        self.host = host
        self.port = port
        self._db = db
        self._poll_s = poll_s
        self._timeout_s = timeout_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pass_lock = threading.Lock()  # one pass at a time: a row is never sent twice
        with db.transaction() as conn:
            self._last_id = int(conn.execute("SELECT coalesce(max(id), 0) FROM outbox").fetchone()[0])

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="kesk-mailer", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop the thread after a last pass, so codes committed before shutdown still go out."""
        if self._thread is not None:
            self._stop.set()
            self._thread.join(timeout=self._timeout_s + 5)
            self._thread = None

    def _loop(self) -> None:
        while True:
            stopping = self._stop.wait(self._poll_s)
            try:
                self.deliver_pending()
            except sqlite3.ProgrammingError:
                return  # the database was closed under us: the server is gone
            except Exception:
                _log.exception("the outbox mailer failed a pass")
            if stopping:
                return

    def deliver_pending(self) -> int:
        """Send every email row committed since the last pass; returns how many were sent."""
        with self._pass_lock:
            with self._db.transaction() as conn:  # only between transactions: committed rows only
                rows = conn.execute(
                    "SELECT id, address, purpose, code FROM outbox WHERE id > ? AND channel = 'email' ORDER BY id",
                    (self._last_id,),
                ).fetchall()
            if not rows:
                return 0
            mails = [_Mail(int(r["id"]), str(r["address"]), str(r["purpose"]), str(r["code"])) for r in rows]
            self._last_id = mails[-1].row_id  # a failed send is not retried: the outbox still has the code
            return self._send(mails)

    def _send(self, mails: list[_Mail]) -> int:
        sent = 0
        done = 0  # mails tried so far, sent or refused
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self._timeout_s) as smtp:
                for mail in mails:
                    try:
                        smtp.send_message(compose(address=mail.address, purpose=mail.purpose, code=mail.code))
                        sent += 1
                    except (smtplib.SMTPRecipientsRefused, smtplib.SMTPResponseException) as exc:
                        self._failed(mail, exc)  # this message was refused; the connection goes on
                    done += 1
        except (OSError, smtplib.SMTPException) as exc:
            for mail in mails[done:]:
                self._failed(mail, exc)
        return sent

    def _failed(self, mail: _Mail, exc: BaseException) -> None:
        # The error's type and SMTP status only: a server's reply text may quote what it was sent.
        status = getattr(exc, "smtp_code", None)
        why = f"{type(exc).__name__}{f' {status}' if status else ''}"
        _log.warning(
            "could not mail the %s code to %s through SMTP %s:%d: %s",
            mail.purpose,
            mail.address,
            self.host,
            self.port,
            why,
        )
