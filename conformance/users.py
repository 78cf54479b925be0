"""Users the suite acts as, and the factories that make disposable ones.

A factory is asked for a kind of user (:class:`UserKind`): ``verified`` (the default: a verified primary
email) or ``unverified-email`` (a primary email not verified yet). One that cannot make a kind says so
(:class:`UnsupportedUser`: the test-support contract answers 400/422, a command exits 3), and the
requirements that need that kind are skipped with the reason; any other failure is an error.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

import httpx

from conformance.redact import Redactor


class UserFactoryError(Exception):
    """The user factory did not give a usable user; the message says why, with no secret in it."""


class UnsupportedUser(UserFactoryError):
    """The factory cannot make this kind of user (an optional part of the test-support contract)."""


class UserKind(StrEnum):
    """The kind of user a factory is asked for (``KESK_USER_KIND``, and the command's last argument)."""

    VERIFIED = "verified"  # a primary email that is verified: what every flow but one needs
    UNVERIFIED_EMAIL = "unverified-email"  # a primary email not verified yet (GDPR-VERIFIED-EMAIL-REQUIRED)


# A factory command's exit status for "I cannot make this kind of user": the requirements that need it are skipped.
REFUSED_EXIT = 3


@dataclass(slots=True, frozen=True)
class User:
    label: str  # "A", "B", or "disposable-3": how reports name this user
    token: str
    password: str | None = None
    email: str | None = None
    disposable: bool = False


class UserFactory(Protocol):
    description: str

    def create(self, label: str, kind: UserKind = UserKind.VERIFIED) -> User:
        """A fresh user of `kind`; UnsupportedUser when the factory cannot make that kind."""
        ...


def _user_from_json(text: str, label: str, source: str) -> User:
    try:
        data = json.loads(text)
        token = data["token"]
    except (ValueError, KeyError, TypeError):
        raise UserFactoryError(f"{source} must print a JSON object with a 'token' (and 'password', 'email')") from None
    if not isinstance(token, str) or not token:
        raise UserFactoryError(f"{source} printed an empty token")
    return User(label, token, data.get("password"), data.get("email"), disposable=True)


class TestSupportUserFactory:
    """POST {base}/_test/users of the test-support contract (spec/test-support.yaml)."""

    def __init__(self, base_url: str, redactor: Redactor, *, timeout_s: float = 10.0) -> None:
        self.url = base_url.rstrip("/") + "/_test/users"
        self.description = f"test-support contract at {self.url}"
        self._redactor = redactor
        self._timeout_s = timeout_s

    def create(self, label: str, kind: UserKind = UserKind.VERIFIED) -> User:
        # An unverified primary email is `{"email_verified": false}`, optional in the contract.
        return self._create(label, {} if kind is UserKind.VERIFIED else {"email_verified": False})

    def _create(self, label: str, body: dict[str, object]) -> User:
        try:
            response = httpx.post(self.url, json=body, timeout=self._timeout_s)
        except httpx.HTTPError as exc:
            raise UserFactoryError(
                f"cannot reach the test-support contract at {self.url}: {type(exc).__name__}"
            ) from None
        if body and response.status_code in (400, 422):
            raise UnsupportedUser(f"the test-support contract at {self.url} cannot create a user with {body}")
        if response.status_code != 201:
            raise UserFactoryError(
                f"the test-support contract at {self.url} answered {response.status_code}, not 201; "
                "does the target implement spec/test-support.yaml?"
            )
        user = _user_from_json(response.text, label, self.description)
        self._redactor.add(user.token, user.password)
        return user


class CommandUserFactory:
    """A command that prints {"token", "password", "email"} for a fresh disposable user.

    It is told the kind of user wanted as ``KESK_USER_KIND`` and as its last argument (``verified`` or
    ``unverified-email``); exit 3 means it cannot make that kind.
    """

    def __init__(self, command: str, redactor: Redactor, *, timeout_s: float = 60.0) -> None:
        self.command = command
        self.description = f"user factory command {command!r}"
        self._redactor = redactor
        self._timeout_s = timeout_s

    def create(self, label: str, kind: UserKind = UserKind.VERIFIED) -> User:
        try:
            done = subprocess.run(
                [*shlex.split(self.command), kind.value],
                env=dict(os.environ, KESK_USER_KIND=kind.value),
                capture_output=True,
                text=True,
                timeout=self._timeout_s,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise UserFactoryError(f"{self.description} could not run: {type(exc).__name__}") from None
        if done.returncode == REFUSED_EXIT:
            raise UnsupportedUser(f"{self.description} cannot make a user of kind {kind.value} (exit {REFUSED_EXIT})")
        if done.returncode != 0:
            raise UserFactoryError(f"{self.description} exited {done.returncode}")
        user = _user_from_json(done.stdout, label, self.description)
        self._redactor.add(user.token, user.password)
        return user
