"""Inboxes: where the suite reads out-of-band values (verification tokens, OTPs), one per channel.

``test-support`` (the outbox of spec/test-support.yaml), ``mailpit:URL`` (the Mailpit HTTP API),
``maildev:URL`` (MailDev's REST API), ``command:CMD`` (prints the code) and ``fixed:CODE`` (a staging
magic code). ``--inbox CHANNEL=SPEC`` names each channel's (``email``, ``sms``); a bare SPEC is the
inbox of every channel not named, except that a mail catcher holds e-mail only. The test-support
outbox serves a channel no SPEC names only when the run has test support (``--test-support URL``, or
the embedded server): nothing is looked up at the base URL that the user did not name.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import httpx

from conformance.redact import Redactor

DEFAULT_CODE_PATTERN = r"\b(\d{6})\b"
CHANNELS = ("email", "sms")  # where the contract's codes go: email verification and OTPs, phone verification


class InboxError(Exception):
    """The inbox could not be read; the message says why, without the code."""


class Inbox(Protocol):
    description: str  # for messages: "MailDev at http://..."
    source: str  # its --inbox form without secrets (no code, no credentials, no command arguments)

    def latest_code(self, *, channel: str, address: str, purpose: str) -> str | None:
        """The newest code sent to ``address`` for ``purpose``, or None when none arrived."""
        ...


class TestSupportInbox:
    __test__ = False  # not a pytest class

    def __init__(self, base_url: str, redactor: Redactor, *, timeout_s: float = 10.0) -> None:
        self.url = base_url.rstrip("/") + "/_test/outbox"
        self.description = f"test-support outbox at {self.url}"
        self.source = f"test-support:{_without_userinfo(base_url.rstrip('/'))}"
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
    E-mail only: other channels answer None (``ChannelInboxes`` gives each channel its own inbox).
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
        self.source = f"{self.catcher.casefold()}:{_without_userinfo(self.url)}"
        self.pattern = re.compile(pattern)
        self._redactor = redactor
        self._wait_s = wait_s
        self._poll_s = poll_s
        self._http = httpx.Client(timeout=timeout_s, transport=transport)
        self._used: dict[tuple[str, str], set[str]] = {}
        self._history: dict[str, set[str]] = {}  # address -> the mail it had when the run got its user
        self._lock = threading.Lock()

    def _get(self, path: str, **params: str) -> Any:
        try:
            response = self._http.get(self.url + path, params=params)
            response.raise_for_status()
            return response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise InboxError(f"cannot read {self.description}{path}: {type(exc).__name__}") from None

    @abstractmethod
    def mails_to(self, address: str, *, thorough: bool = False) -> Iterator[CaughtMail]:
        """The catcher's mail to ``address``, newest first; `thorough`: a catcher that filters by recipient on its
        side (exactly as written) also looks through every mail (an address whose case the server changed)."""

    def ids_to(self, address: str) -> Iterator[str]:
        """The ids of the catcher's mail to ``address``."""
        return (mail.id for mail in self.mails_to(address))

    def _newest(self, address: str, purpose: str, *, thorough: bool = False) -> tuple[str, str] | None:
        """(message id, code) of the newest mail to ``address`` that names ``purpose`` and holds a code, history
        left out."""
        with self._lock:
            history = set(self._history.get(address.casefold(), ()))
        for mail in self.mails_to(address, thorough=thorough):
            if mail.id in history:
                continue
            text = f"{mail.subject}\n{mail.text}"
            match = self.pattern.search(text) if mentions_purpose(text, purpose) else None
            if match:
                return mail.id, match.group(1) if match.groups() else match.group(0)
        return None

    def note_history(self, address: str) -> None:
        """The mail `address` already has is history: a user handed over with past exports or added addresses
        (a factory may have just made them) has codes in the catcher that no request of this run asked for."""
        history = set(self.ids_to(address))
        with self._lock:
            self._history.setdefault(address.casefold(), set()).update(history)

    def latest_code(self, *, channel: str, address: str, purpose: str) -> str | None:
        if channel != "email":
            return None  # a mail catcher only receives e-mail
        key = (address.casefold(), purpose)
        deadline = time.monotonic() + self._wait_s
        pause = self._poll_s
        while True:
            found = self._newest(address, purpose, thorough=time.monotonic() >= deadline)
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

    def mails_to(self, address: str, *, thorough: bool = False) -> Iterator[CaughtMail]:
        found = self._get("/api/v1/search", query=f'to:"{address}"')
        for summary in found.get("messages") or []:  # Mailpit lists the newest first
            message = self._get(f"/api/v1/message/{summary['ID']}")
            text = str(message.get("Text") or "") or _strip_tags(str(message.get("HTML") or ""))
            yield CaughtMail(str(summary["ID"]), str(message.get("Subject") or ""), text)

    def ids_to(self, address: str) -> Iterator[str]:
        found = self._get("/api/v1/search", query=f'to:"{address}"')
        return (str(summary["ID"]) for summary in found.get("messages") or [])


class MailDevInbox(MailCatcherInbox):
    """MailDev's REST API: ``GET /api/email`` lists every caught mail with ``to``, ``subject``, ``text``."""

    catcher = "MailDev"

    def mails_to(self, address: str, *, thorough: bool = False) -> Iterator[CaughtMail]:
        # MailDev filters on its side by a field's exact value (`to.address`): a few messages, not every one the
        # catcher holds, each time a code is read. The thorough look lists them all.
        listed = self._get("/api/email") if thorough else self._get("/api/email", **{"to.address": address})
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


class CommandInbox:
    """A command that prints the code; it gets channel, address and purpose as arguments and env."""

    def __init__(self, command: str, redactor: Redactor, *, timeout_s: float = 60.0) -> None:
        self.command = command
        self.description = f"inbox command {command!r}"
        words = shlex.split(command)
        self.source = "command:" + " ".join(words[:1]) + (" ..." if len(words) > 1 else "")  # arguments may be keys
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
        self.source = "fixed"
        self._code = code
        redactor.add(code)

    def latest_code(self, *, channel: str, address: str, purpose: str) -> str | None:
        return self._code


def parse_inbox(spec: str, *, base_url: str, redactor: Redactor, pattern: str = DEFAULT_CODE_PATTERN) -> Inbox:
    """Build one inbox from its command-line form (``test-support`` reads the outbox at `base_url`); ValueError
    names the accepted forms."""
    kind, _, rest = spec.partition(":")
    if kind == "test-support":
        return TestSupportInbox(rest or base_url, redactor)
    if kind in ("mailpit", "maildev") and rest and rest.startswith(("http://", "https://")):
        catcher = MailpitInbox if kind == "mailpit" else MailDevInbox
        return catcher(rest, redactor, pattern=pattern)
    if kind == "command" and rest:
        return CommandInbox(rest, redactor)
    if kind == "fixed" and rest:
        return FixedInbox(rest, redactor)
    raise ValueError(
        f"--inbox {kind!r} is not an inbox; use test-support, mailpit:URL, maildev:URL, command:CMD or fixed:CODE"
    )


def split_channels(entries: Sequence[str]) -> tuple[dict[str, str], str | None]:
    """The --inbox entries as ({channel: SPEC}, the bare SPEC or None); ValueError for an unknown channel, a
    channel given twice or two bare SPECs."""
    named: dict[str, str] = {}
    bare: str | None = None
    for entry in entries:
        match = re.fullmatch(r"([A-Za-z]+)=(.*)", entry.strip(), flags=re.DOTALL)
        if match is None:
            if bare is not None:
                raise ValueError(
                    f"--inbox {bare!r} and {entry!r}: give one SPEC per channel, as CHANNEL=SPEC "
                    f"(channels: {', '.join(CHANNELS)})"
                )
            bare = entry.strip()
            continue
        channel, spec = match.group(1).lower(), match.group(2).strip()
        if channel not in CHANNELS:
            raise ValueError(f"--inbox {entry!r}: {channel!r} is not a channel; use {' or '.join(CHANNELS)}")
        if channel in named:
            raise ValueError(f"--inbox {channel}= is given twice ({named[channel]!r}, {spec!r}); give it once")
        named[channel] = spec
    return named, bare


def _catcher(spec: str) -> bool:
    return spec.startswith(("maildev:", "mailpit:"))


class ChannelInboxes:
    """Each channel's inbox: a code sent by e-mail is read from the e-mail inbox, one sent by SMS from the SMS one.

    A channel without an inbox is not served: ``ctx.code`` then skips the requirement, naming the flag to pass.
    """

    def __init__(self, by_channel: Mapping[str, Inbox]) -> None:
        self.by_channel = dict(by_channel)
        self.description = ", ".join(f"{inbox.description} ({channel})" for channel, inbox in self.by_channel.items())
        self.source = ", ".join(f"{channel}={inbox.source}" for channel, inbox in self.by_channel.items())

    def serves(self, channel: str) -> bool:
        return channel in self.by_channel

    @property
    def catches_mail(self) -> bool:
        """Whether e-mail codes come from a mail catcher, which holds the mail users had before the run."""
        return isinstance(self.by_channel.get("email"), MailCatcherInbox)

    def note_history(self, address: str) -> None:
        """The mail `address` already has is history (a mail catcher's): see MailCatcherInbox.note_history."""
        inbox = self.by_channel.get("email")
        if isinstance(inbox, MailCatcherInbox):
            inbox.note_history(address)

    def sources(self) -> dict[str, str]:
        """Each channel's inbox in its --inbox form, secrets left out (results.json `target.inbox`)."""
        return {channel: inbox.source for channel, inbox in self.by_channel.items()}

    def latest_code(self, *, channel: str, address: str, purpose: str) -> str | None:
        inbox = self.by_channel.get(channel)
        if inbox is None:
            raise InboxError(f"no inbox reads {channel} codes: pass --inbox {channel}=SPEC")
        return inbox.latest_code(channel=channel, address=address, purpose=purpose)


def channel_inboxes(
    entries: Sequence[str],
    *,
    test_support: str | None,
    base_url: str,
    redactor: Redactor,
    pattern: str = DEFAULT_CODE_PATTERN,
) -> ChannelInboxes | None:
    """The run's inboxes from its --inbox entries (``CHANNEL=SPEC`` or a bare SPEC); None when no channel has one.

    A channel gets its own SPEC; else the bare SPEC (a mail catcher's for e-mail only); else, when the run has
    test support (`test_support`), that outbox. ``test-support`` without a URL reads the outbox at
    `test_support` when given, else at the base URL (the user named it). ValueError for a bad entry.
    """
    named, bare = split_channels(entries)
    outbox_at = test_support or base_url
    by_channel: dict[str, Inbox] = {}
    for channel in CHANNELS:
        spec = named.get(channel)
        if spec is None and bare is not None and (channel == "email" or not _catcher(bare)):
            spec = bare
        if spec is not None:
            by_channel[channel] = parse_inbox(spec, base_url=outbox_at, redactor=redactor, pattern=pattern)
        elif test_support:
            by_channel[channel] = TestSupportInbox(test_support, redactor)
    return ChannelInboxes(by_channel) if by_channel else None
