"""Inboxes: where the suite reads out-of-band values (verification tokens, OTPs).

``test-support`` (the outbox of spec/test-support.yaml), ``mailpit:URL`` (the Mailpit
HTTP API), ``command:CMD`` (prints the code) and ``fixed:CODE`` (a staging magic code).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
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


class MailpitInbox:
    """Mailpit's HTTP API: search by recipient, newest first, code taken by a pattern."""

    def __init__(
        self,
        url: str,
        redactor: Redactor,
        *,
        pattern: str = DEFAULT_CODE_PATTERN,
        timeout_s: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.description = f"Mailpit at {self.url}"
        self.pattern = re.compile(pattern)
        self._redactor = redactor
        self._http = httpx.Client(timeout=timeout_s, transport=transport)

    def _get(self, path: str, **params: str) -> Any:
        try:
            response = self._http.get(self.url + path, params=params)
            response.raise_for_status()
            return response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise InboxError(f"cannot read {self.description}{path}: {type(exc).__name__}") from None

    def latest_code(self, *, channel: str, address: str, purpose: str) -> str | None:
        if channel != "email":
            return None  # Mailpit only receives e-mail
        found = self._get("/api/v1/search", query=f'to:"{address}"')
        for summary in found.get("messages", []):  # Mailpit lists the newest first
            message = self._get(f"/api/v1/message/{summary['ID']}")
            text = " ".join(str(message.get(part) or "") for part in ("Subject", "Text"))
            match = self.pattern.search(text)
            if match:
                code = match.group(1) if match.groups() else match.group(0)
                self._redactor.add(code)
                return code
        return None


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
    if kind == "mailpit" and rest:
        return MailpitInbox(rest, redactor, pattern=pattern)
    if kind == "command" and rest:
        return CommandInbox(rest, redactor)
    if kind == "fixed" and rest:
        return FixedInbox(rest, redactor)
    raise ValueError(f"--inbox {kind!r} is not an inbox; use test-support, mailpit:URL, command:CMD or fixed:CODE")
