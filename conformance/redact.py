"""Secrets (bearer tokens, OTPs, verification tokens, passwords) never leave the suite.

Every text the suite prints or writes passes through a Redactor: it blanks every secret
value it was told about, every Authorization header, and JSON fields whose names hold secrets.
"""

from __future__ import annotations

import json
import re
import shlex
import threading
from collections.abc import Mapping
from typing import Any

MASK = "[REDACTED]"
SECRET_FIELDS = frozenset(
    {"password", "otp", "token", "client_secret", "ephemeral_key_secret", "access_token", "refresh_token"}
)
_AUTH_HEADER = re.compile(r"(?i)(authorization:\s*)(\S+)(\s+)[^'\"\s]+")
_MIN_SECRET_LENGTH = 4  # shorter values would blank ordinary words and numbers


class Redactor:
    def __init__(self) -> None:
        self._secrets: set[str] = set()
        self._lock = threading.Lock()

    def add(self, *values: str | None) -> None:
        with self._lock:
            self._secrets.update(v for v in values if v and len(v) >= _MIN_SECRET_LENGTH)

    def text(self, value: str) -> str:
        with self._lock:
            secrets = sorted(self._secrets, key=len, reverse=True)
        for secret in secrets:
            value = value.replace(secret, MASK)
        return _AUTH_HEADER.sub(lambda m: f"{m.group(1)}{m.group(2)}{m.group(3)}{MASK}", value)

    def data(self, value: Any) -> Any:
        """A copy of a JSON value with secret fields masked."""
        if isinstance(value, dict):
            return {
                key: MASK if key.lower() in SECRET_FIELDS and item is not None else self.data(item)
                for key, item in value.items()
            }
        if isinstance(value, list):
            return [self.data(item) for item in value]
        if isinstance(value, str):
            return self.text(value)
        return value

    def headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        return {
            name: (
                f"{value.split(' ', 1)[0]} {MASK}"
                if name.lower() == "authorization" and " " in value
                else MASK
                if name.lower() in ("authorization", "cookie")
                else self.text(value)
            )
            for name, value in headers.items()
        }

    def body(self, content: bytes | None) -> str:
        if not content:
            return ""
        text = content.decode("utf-8", errors="replace")
        try:
            return json.dumps(self.data(json.loads(text)), ensure_ascii=False)
        except ValueError:
            return self.text(text)

    def curl(self, method: str, url: str, headers: Mapping[str, str], content: bytes | None) -> str:
        parts = ["curl", "-X", method, shlex.quote(self.text(url))]
        for name, value in self.headers(headers).items():
            if name.lower() in ("host", "content-length", "accept-encoding", "connection", "user-agent"):
                continue
            parts += ["-H", shlex.quote(f"{name}: {value}")]
        if content:
            parts += ["-d", shlex.quote(self.body(content))]
        return " ".join(parts)
