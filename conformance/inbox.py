"""Inboxes: where the suite reads out-of-band values (verification tokens, OTPs).

``test-support`` (the outbox of spec/test-support.yaml), ``mailpit:URL`` (the Mailpit HTTP API),
``maildev:URL`` (MailDev's REST API), ``command:CMD`` (prints the code) and ``fixed:CODE`` (a staging
magic code). A mail catcher holds e-mail only: ``mailpit:`` and ``maildev:`` read SMS codes from the
test-support outbox (``--test-support URL``, or the embedded server's), so phone lifecycles still run.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import httpx

from conformance.redact import Redactor

DEFAULT_CODE_PATTERN = r"\b(\d{6})\b"


class InboxError(Exception):
    """The inbox could not be read; the message says why, without the code."""


class Inbox(Protocol):
    description: str

    def latest_code(self, *, channel: str, address: str, purpose: str) -> str | None:
        """The newest code sent to ``address`` for ``purpose``, or None when none arrived."""
        ...


class TestSupportInbox:
    __test__ = False  # not a pytest class

    def __init__(self, base_url: str, redactor: Redactor, *, timeout_s: float = 10.0) -> None:
        self.url = base_url.rstrip("/") + "/_test/outbox"
        self.description = f"test-support outbox at {self.url}"
        self._redactor = redactor
        self._timeout_s = timeout_s

    def latest_code(self, *, channel: str, address: str, purpose: str) -> str | None:
        params = {"address": address, "purpose": purpose, "channel": channel}
        try:
            response = httpx.get(self.url, params=params, timeout=self._timeout_s)
            messages = response.json()["messages"]
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            raise InboxError(f"cannot read the {self.description}: {type(exc).__name__}") from None
        matching = [m for m in messages if m.get("address") == address and m.get("purpose") == purpose]
        if not matching:
            return None
        code = str(matching[-1]["code"])
        self._redactor.add(code)
        return code


def mentions_purpose(text: str, purpose: str) -> bool:
    """Whether a message names its purpose: every word of it (``account_deletion``: account, deletion),
    cut to its first five letters, occurs in the text, case-insensitively. "Confirm your account deletion"
    and "Delete your account" both name ``account_deletion``; "Verify your email" names ``email_verification``.
    """
    folded = text.casefold()
    return all(word[:5].casefold() in folded for word in purpose.split("_") if word)


def _without_userinfo(url: str) -> str:
    """The URL as shown in messages: a ``user:password@`` in it stays out of output."""
    parsed = httpx.URL(url)
    return str(parsed.copy_with(username=None, password=None)) if parsed.userinfo else url


@dataclass(slots=True, frozen=True)
class CaughtMail:
    """One message as a mail catcher holds it."""

    id: str
    subject: str
    text: str


class MailCatcherInbox(ABC):
    """What Mailpit and MailDev share: the newest mail to the address naming the purpose, its code by a pattern.

    A catcher receives mail a moment after the server sent it, so the inbox remembers which messages it
    has answered from: when there is none, or the newest matching one was already used, it polls for a
    newer one for up to ``wait_s`` seconds, and only then answers the newest it has. The pauses start at
    ``poll_s`` and double up to half a second: a local catcher answers at once, a remote one is not flooded.
    E-mail only: other channels answer None (``ByChannelInbox`` pairs it with the test-support outbox for SMS).
    """

    catcher = "a mail catcher"  # its name, in the inbox's description

    def __init__(
        self,
        url: str,
        redactor: Redactor,
        *,
        pattern: str = DEFAULT_CODE_PATTERN,
        timeout_s: float = 10.0,
        wait_s: float = 5.0,
        poll_s: float = 0.05,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.description = f"{self.catcher} at {_without_userinfo(self.url)}"
        self.pattern = re.compile(pattern)
        self._redactor = redactor
        self._wait_s = wait_s
        self._poll_s = poll_s
        self._http = httpx.Client(timeout=timeout_s, transport=transport)
        self._used: dict[tuple[str, str], set[str]] = {}
        self._lock = threading.Lock()

    def _get(self, path: str, **params: str) -> Any:
        try:
            response = self._http.get(self.url + path, params=params)
            response.raise_for_status()
            return response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise InboxError(f"cannot read {self.description}{path}: {type(exc).__name__}") from None

    @abstractmethod
    def mails_to(self, address: str) -> Iterator[CaughtMail]:
        """The catcher's mail to ``address``, newest first."""

    def _newest(self, address: str, purpose: str) -> tuple[str, str] | None:
        """(message id, code) of the newest mail to ``address`` that names ``purpose`` and holds a code."""
        for mail in self.mails_to(address):
            text = f"{mail.subject}\n{mail.text}"
            match = self.pattern.search(text) if mentions_purpose(text, purpose) else None
            if match:
                return mail.id, match.group(1) if match.groups() else match.group(0)
        return None

    def latest_code(self, *, channel: str, address: str, purpose: str) -> str | None:
        if channel != "email":
            return None  # a mail catcher only receives e-mail
        key = (address.casefold(), purpose)
        deadline = time.monotonic() + self._wait_s
        pause = self._poll_s
        while True:
            found = self._newest(address, purpose)
            with self._lock:
                used = self._used.setdefault(key, set())
                fresh = found is not None and found[0] not in used
                if found is not None:
                    used.add(found[0])
            if found is not None and (fresh or time.monotonic() >= deadline):
                self._redactor.add(found[1])
                return found[1]
            if time.monotonic() >= deadline:
                return None
            time.sleep(min(pause, max(deadline - time.monotonic(), 0.0)))
            pause = min(pause * 2, 0.5)


class MailpitInbox(MailCatcherInbox):
    """Mailpit's HTTP API: ``/api/v1/search`` by recipient (newest first), then ``/api/v1/message/{ID}``."""

    catcher = "Mailpit"

    def mails_to(self, address: str) -> Iterator[CaughtMail]:
        found = self._get("/api/v1/search", query=f'to:"{address}"')
        for summary in found.get("messages") or []:  # Mailpit lists the newest first
            message = self._get(f"/api/v1/message/{summary['ID']}")
            text = str(message.get("Text") or "") or _strip_tags(str(message.get("HTML") or ""))
            yield CaughtMail(str(summary["ID"]), str(message.get("Subject") or ""), text)


class MailDevInbox(MailCatcherInbox):
    """MailDev's REST API: ``GET /api/email`` lists every caught mail with ``to``, ``subject``, ``text``."""

    catcher = "MailDev"

    def mails_to(self, address: str) -> Iterator[CaughtMail]:
        listed = self._get("/api/email")
        if not isinstance(listed, list):
            raise InboxError(f"cannot read {self.description}/api/email: not a list of messages")
        wanted = address.casefold()
        mine = [(i, m) for i, m in enumerate(listed) if isinstance(m, dict) and wanted in _maildev_recipients(m)]
        mine.sort(key=lambda item: (_maildev_received(item[1]), item[0]), reverse=True)  # newest first
        for _, mail in mine:
            text = str(mail.get("text") or "") or _strip_tags(str(mail.get("html") or ""))
            yield CaughtMail(str(mail.get("id")), str(mail.get("subject") or ""), text)


def _maildev_recipients(mail: dict[str, Any]) -> set[str]:
    """The addresses a MailDev message went to: its To header and its SMTP envelope (Bcc included)."""
    envelope = mail.get("envelope")
    listed = [*(mail.get("to") or []), *((envelope.get("to") or []) if isinstance(envelope, dict) else [])]
    return {str(entry.get("address", "")).casefold() for entry in listed if isinstance(entry, dict)}


def _maildev_received(mail: dict[str, Any]) -> float:
    """When MailDev received the message (``time``), else its Date header (``date``); 0 when neither parses."""
    for key in ("time", "date"):
        try:
            return datetime.fromisoformat(str(mail[key]).replace("Z", "+00:00")).timestamp()
        except (KeyError, ValueError, OverflowError):
            continue
    return 0.0


def _strip_tags(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", html)


class ByChannelInbox:
    """E-mail codes from a mail catcher, every other channel's (SMS) from a second inbox.

    A staging server mails its e-mail codes but has no SMS catcher; its test-support outbox still holds
    the SMS codes, so the phone lifecycles run too.
    """

    def __init__(self, email: Inbox, other: Inbox) -> None:
        self.email = email
        self.other = other
        self.description = f"{email.description} (e-mail), {other.description} (other channels)"

    def latest_code(self, *, channel: str, address: str, purpose: str) -> str | None:
        if channel == "email":
            return self.email.latest_code(channel=channel, address=address, purpose=purpose)
        try:
            return self.other.latest_code(channel=channel, address=address, purpose=purpose)
        except InboxError as exc:
            raise InboxError(
                f"{exc} (the mail catcher holds e-mail only; {channel} codes come from the test-support outbox)"
            ) from None


class CommandInbox:
    """A command that prints the code; it gets channel, address and purpose as arguments and env."""

    def __init__(self, command: str, redactor: Redactor, *, timeout_s: float = 60.0) -> None:
        self.command = command
        self.description = f"inbox command {command!r}"
        self._redactor = redactor
        self._timeout_s = timeout_s

    def latest_code(self, *, channel: str, address: str, purpose: str) -> str | None:
        env = dict(os.environ, KESK_CHANNEL=channel, KESK_ADDRESS=address, KESK_PURPOSE=purpose)
        try:
            done = subprocess.run(
                [*shlex.split(self.command), channel, address, purpose],
                env=env,
                capture_output=True,
                text=True,
                timeout=self._timeout_s,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise InboxError(f"{self.description} could not run: {type(exc).__name__}") from None
        if done.returncode != 0:
            raise InboxError(f"{self.description} exited {done.returncode}")
        code = done.stdout.strip()
        self._redactor.add(code)
        return code or None


class FixedInbox:
    """A staging server's magic code: every out-of-band value is this one."""

    def __init__(self, code: str, redactor: Redactor) -> None:
        self.description = "a fixed code"
        self._code = code
        redactor.add(code)

    def latest_code(self, *, channel: str, address: str, purpose: str) -> str | None:
        return self._code


def parse_inbox(spec: str, *, base_url: str, redactor: Redactor, pattern: str = DEFAULT_CODE_PATTERN) -> Inbox:
    """Build an inbox from its command-line form; ValueError names the accepted forms."""
    kind, _, rest = spec.partition(":")
    if kind == "test-support" and not rest:
        return TestSupportInbox(base_url, redactor)
    if kind == "test-support":
        return TestSupportInbox(rest, redactor)
    if kind in ("mailpit", "maildev") and rest and rest.startswith(("http://", "https://")):
        catcher = MailpitInbox if kind == "mailpit" else MailDevInbox
        return ByChannelInbox(catcher(rest, redactor, pattern=pattern), TestSupportInbox(base_url, redactor))
    if kind == "command" and rest:
        return CommandInbox(rest, redactor)
    if kind == "fixed" and rest:
        return FixedInbox(rest, redactor)
    raise ValueError(
        f"--inbox {kind!r} is not an inbox; use test-support, mailpit:URL, maildev:URL, command:CMD or fixed:CODE"
    )
