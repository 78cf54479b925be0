"""What a check gets: the target client, the users, the inbox and clock, and a place to put failures."""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, TypeVar

import httpx

from conformance.contract import Contract, Limits, bundled_contract
from conformance.expectations import ExpectationLog
from conformance.failures import FailureDetail, RunInterrupted, SkipRequirement, UndecidedRequirement
from conformance.inbox import ChannelInboxes, InboxError
from conformance.operations import OperationIndex
from conformance.redact import Redactor
from conformance.sightings import Sightings
from conformance.target import Exchange, TargetClient
from conformance.users import UnsupportedUser, User, UserFactory, UserFactoryError, UserKind

T = TypeVar("T")


def missing_inbox(channel: str) -> str:
    """Why a requirement that needs `channel`'s codes is skipped, and the flag that fixes it."""
    return (
        f"needs an inbox for {channel} codes: pass --inbox {channel}=SPEC (e.g. {channel}=command:CMD; "
        f"{channel}=test-support with --test-support URL)"
    )


class Clock(Protocol):
    """What ages the codes and files a check made: the test-support clock, or the wall clock."""

    @property
    def description(self) -> str: ...

    @property
    def instant(self) -> bool:
        """advance() takes no time (a test clock): a lifetime may be tried in every example."""
        ...

    @property
    def shared(self) -> bool:
        """Moving it ages every user's codes: a check that moves it runs alone."""
        ...

    @property
    def max_wait_s(self) -> float | None:
        """The longest a check may wait on it (None: no limit; a test clock moves at once)."""
        ...

    def margin_s(self, lifetime_s: int) -> int:
        """How long before a lifetime ends a check still expects what it judges to be alive."""
        ...

    def advance(self, seconds: int, *, user: User | None = None) -> None:
        """Let `seconds` pass for what `user` made (for every user's, when the clock is shared)."""
        ...


class TestClock:
    """The test-support clock (POST {base}/_test/clock/advance): the server's, or one user's where offered.

    With a clock per user (`per_user`, found by `probe_per_user`), a check ages only its own user's OTPs,
    tokens and files, and may run beside checks that judge lifetimes; with the global one it runs alone.
    """

    __test__ = False  # not a pytest class
    instant = True
    max_wait_s = None

    def __init__(self, base_url: str, *, timeout_s: float = 10.0) -> None:
        self.url = base_url.rstrip("/") + "/_test/clock"
        self.description = f"test-support clock at {self.url}"
        self._timeout_s = timeout_s
        self.per_user = False

    @property
    def shared(self) -> bool:
        return not self.per_user

    def margin_s(self, lifetime_s: int) -> int:
        return min(60, lifetime_s // 2)  # a minute before the end, or half way for a lifetime under two minutes

    def probe_per_user(self, user: User) -> bool:
        """Whether the server moves one user's clock: an advance of 0 s for `user` must answer `scope: user`."""
        try:
            response = self._post({"seconds": 0, "user_token": user.token})
            self.per_user = response.status_code == 200 and response.json().get("scope") == "user"
        except (UndecidedRequirement, ValueError, AttributeError):
            self.per_user = False  # a global clock, or no answer worth trusting: the checks that move it run alone
        return self.per_user

    def advance(self, seconds: int, *, user: User | None = None) -> None:
        """Move the clock `user` sees (every user's, when the server has one clock) forward by `seconds`."""
        body: dict[str, object] = {"seconds": seconds}
        if user is not None and self.per_user:
            body["user_token"] = user.token
        response = self._post(body)
        if response.status_code != 200:
            raise UndecidedRequirement(f"the test clock at {self.url} answered {response.status_code}")

    def _post(self, body: dict[str, object]) -> httpx.Response:
        try:
            return httpx.post(self.url + "/advance", json=body, timeout=self._timeout_s)
        except httpx.HTTPError as exc:
            raise UndecidedRequirement(f"cannot advance the test clock at {self.url}: {type(exc).__name__}") from None


class WallClock:
    """Real time (--real-time-expiry): a lifetime is waited out, for a staging tenant whose lifetimes are short.

    Waiting moves nobody else's clock, so the checks that wait run beside the rest; a lifetime is tried once
    per run (not in every example), on a user of its own. An interruption (`halted`) ends a wait at once.
    """

    instant = False
    shared = False
    per_user = True
    # A lifetime longer than this is not waited out (its requirement is skipped, saying so): a quarter of an hour
    # covers a staging tenant's shortened lifetimes and the bundled OTPs and tokens, not a 7-day export file.
    max_wait_s = 900.0

    def __init__(self, halted: threading.Event | None = None, *, why: str = "--real-time-expiry") -> None:
        self.description = f"the wall clock ({why})"
        self._halted = halted or threading.Event()

    def margin_s(self, lifetime_s: int) -> int:
        # a quarter of the lifetime: room for the round trips between making a code and sending it back
        return max(1, lifetime_s // 4)

    def advance(self, seconds: int, *, user: User | None = None) -> None:
        if self._halted.wait(max(0, seconds)):
            raise RunInterrupted(RunInterrupted.REASON)


@dataclass(slots=True)
class Resources:
    """What the suite created, so it can remove it at the end, failures or not."""

    created: list[tuple[str, str, dict[str, object]]] = field(default_factory=list)  # (token, remove-op, params)

    def add(self, token: str, remove_operation: str, path_params: dict[str, object]) -> None:
        self.created.append((token, remove_operation, path_params))

    def forget(self, remove_operation: str, path_params: dict[str, object]) -> None:
        self.created = [item for item in self.created if (item[1], item[2]) != (remove_operation, path_params)]


@dataclass(slots=True)
class _OnceLocks:
    """One lock per memo key, so that a shared computation runs once however many workers ask for it."""

    guard: threading.Lock = field(default_factory=threading.Lock)
    by_key: dict[str, threading.Lock] = field(default_factory=dict)

    def of(self, key: str) -> threading.Lock:
        with self.guard:
            return self.by_key.setdefault(key, threading.Lock())


@dataclass(slots=True)
class CheckContext:
    client: TargetClient
    operations: OperationIndex
    redactor: Redactor
    user_a: User
    user_b: User | None
    inbox: ChannelInboxes | None
    clock: Clock | None
    factory: UserFactory | None
    allow_destructive: bool
    max_examples: int
    seed: int
    workers: int = 1
    contract: Contract = field(default_factory=bundled_contract)
    left_out: frozenset[str] = frozenset()  # operations the target does not offer (--not-implemented): never sent
    rng: random.Random = field(default_factory=random.Random)
    resources: Resources = field(default_factory=Resources)
    memo: dict[str, Any] = field(default_factory=dict)
    failures: list[FailureDetail] = field(default_factory=list)
    exchanges: list[Exchange] = field(default_factory=list)
    sightings: Sightings = field(default_factory=Sightings)  # each requirement's first violation, as it happens
    expectations: ExpectationLog = field(default_factory=ExpectationLog)  # documented answers checks required
    requirement_id: str = ""  # whose check this context serves ("" for the run's own set-up)
    race_width: int = 20  # requests per burst of the RACE-* requirements (--race-width)
    notes: list[str] = field(default_factory=list)  # what a passed check did, for its result's reason
    _once_locks: _OnceLocks = field(default_factory=_OnceLocks)
    _disposable_count: int = 0

    def for_requirement(self, requirement_id: str) -> CheckContext:
        """A context of its own for one check (its failures, its seeded random data); the rest is shared."""
        return replace(
            self,
            requirement_id=requirement_id,
            rng=random.Random(f"{self.seed}:{requirement_id}"),
            failures=[],
            notes=[],
        )

    def once(self, key: str, compute: Callable[[], T]) -> T:
        """`compute()` the first time any check asks for `key` in this run; the same value after that.

        Concurrent checks asking for the same key wait for the first one's result (a machine or the
        Schemathesis run is shared by all the requirements that report from it).
        """
        with self._once_locks.of(key):
            if key not in self.memo:
                self.memo[key] = compute()
            found: T = self.memo[key]
            return found

    @property
    def limits(self) -> Limits:
        """The contract's x-kesk-limits: the only source of every number a check judges by."""
        return self.contract.limits

    # --- outcomes -------------------------------------------------------------------------------
    def fail(
        self,
        *,
        operation: str,
        expected: str,
        actual: str,
        hint: str = "",
        exchange: Exchange | None = None,
        steps: tuple[str, ...] = (),
    ) -> None:
        """Record one violation; the check goes on so a run shows every broken operation."""
        failure = FailureDetail(
            operation=operation,
            expected=self.redactor.text(expected),
            actual=self.redactor.text(actual),
            hint=hint,
            curl=exchange.curl if exchange else "",
            steps=tuple(self.redactor.text(step) for step in steps),
            request_number=exchange.sequence if exchange else self.client.sent,
        )
        self.failures.append(failure)
        self.sightings.saw(
            self.requirement_id,
            request_number=failure.request_number or self.client.sent,
            expected=failure.expected,
            actual=failure.actual,
        )

    def require_answer(
        self, exchange: Exchange, status: int, *, code: str | None = None, what: str, hint: str = ""
    ) -> bool:
        """The request was built so that the contract answers exactly `status` (and, for an error, `code`):
        recorded as an expectation (coverage.expectations), and a violation when the answer differs."""
        self.expectations.required(self.requirement_id, exchange.operation_id, status, code)
        body = exchange.json()
        got_code = body.get("code") if isinstance(body, dict) else None
        if exchange.status == status and (code is None or got_code == code):
            return True
        self.fail(
            operation=exchange.operation_id or exchange.path,
            expected=f"{what}: status {status}" + (f" {code}" if code else ""),
            actual=self.actual(exchange),
            hint=hint,
            exchange=exchange,
        )
        return False

    def actual(self, exchange: Exchange) -> str:
        """A redacted one-line description of an answer, for Actual: lines."""
        body = self.redactor.body(exchange.body)
        if len(body) > 300:
            body = body[:300] + "..."
        return f"{exchange.status} {body}".strip()

    def expect_status(self, exchange: Exchange, expected: set[int] | int, *, what: str, hint: str = "") -> bool:
        allowed = {expected} if isinstance(expected, int) else expected
        if isinstance(expected, int) and expected < 400:  # a success answer names no code
            self.expectations.required(self.requirement_id, exchange.operation_id, expected, None)
        if exchange.status in allowed:
            return True
        self.fail(
            operation=exchange.operation_id or exchange.path,
            expected=f"{what}: status {' or '.join(map(str, sorted(allowed)))}",
            actual=self.actual(exchange),
            hint=hint,
            exchange=exchange,
        )
        return False

    # --- users, inbox, unique data --------------------------------------------------------------
    def second_user(self) -> User:
        if self.user_b is None:
            raise SkipRequirement("needs a second user: pass --token-b, --test-support URL or --user-factory CMD")
        return self.user_b

    def disposable_user(self, kind: UserKind = UserKind.VERIFIED) -> User:
        """A fresh user from the factory, for flows that destroy or lock what they touch."""
        if self.factory is None:
            raise SkipRequirement("needs disposable users: pass --test-support URL or --user-factory CMD")
        self._disposable_count += 1
        label = f"{'disposable' if kind is UserKind.VERIFIED else 'unverified'}-{self._disposable_count}"
        try:
            user = self.factory.create(label) if kind is UserKind.VERIFIED else self.factory.create(label, kind)
        except UnsupportedUser as exc:
            raise SkipRequirement(f"needs a user of kind {kind.value}: {exc}") from None
        except UserFactoryError as exc:
            raise UndecidedRequirement(str(exc)) from None
        self.note_mail_history(user)
        return user

    def note_mail_history(self, user: User) -> None:
        """A mail catcher's mail to a user handed over with history is no code of this run."""
        if self.inbox is None or not self.inbox.catches_mail:
            return
        address = user.email
        if address is None:
            profile = self.call("getMyProfile", user=user).json()
            address = profile.get("email") if isinstance(profile, dict) else None
        if isinstance(address, str) and address:
            try:
                self.inbox.note_history(address)
            except InboxError as exc:
                raise UndecidedRequirement(str(exc)) from None

    def unverified_user(self) -> User:
        """A fresh user whose primary email is not verified: the factory's kind ``unverified-email``.

        A factory that ignores the kind it is asked for (one written before kinds existed) gives a verified user:
        the profile says so, and the requirement is skipped with the reason, not judged on the wrong user.
        """
        if self.factory is None:
            raise SkipRequirement(
                "needs a user with an unverified primary email: pass --user-factory CMD (asked with "
                "KESK_USER_KIND=unverified-email) or --test-support URL"
            )
        user = self.disposable_user(UserKind.UNVERIFIED_EMAIL)
        profile = self.call("getMyProfile", user=user)
        body = profile.json() if profile.status == 200 else None
        if isinstance(body, dict) and body.get("email_verified") is True:
            raise SkipRequirement(
                f"{self.factory.description} gave a user whose primary email is verified when asked for "
                "KESK_USER_KIND=unverified-email; make it honour the kind, or exit 3 for a kind it cannot make"
            )
        return user

    def reads(self, channel: str) -> bool:
        """Whether an inbox reads the codes sent on `channel` (email, sms)."""
        return self.inbox is not None and self.inbox.serves(channel)

    def code(self, *, channel: str, address: str, purpose: str) -> str:
        if self.inbox is None or not self.inbox.serves(channel):
            raise SkipRequirement(missing_inbox(channel))
        try:
            value = self.inbox.latest_code(channel=channel, address=address, purpose=purpose)
        except InboxError as exc:
            raise UndecidedRequirement(str(exc)) from None
        if value is None:
            where = self.inbox.by_channel[channel].description
            raise UndecidedRequirement(f"no {purpose} code reached {where} for the {channel} address")
        return value

    def unique(self, prefix: str) -> str:
        """A value no earlier run used: state carries over on staging servers."""
        return f"{prefix}{uuid.UUID(int=self.rng.getrandbits(128)).hex[:12]}{uuid.uuid4().hex[:6]}"

    def unique_email(self) -> str:
        return f"{self.unique('kesk-')}@example.com"

    def call(self, operation_id: str, *, user: User | None, **kwargs: Any) -> Exchange:
        return self.client.call(operation_id, token=user.token if user else None, **kwargs)

    def remove_later(self, user: User, remove_operation: str, **path_params: object) -> None:
        self.resources.add(user.token, remove_operation, dict(path_params))

    def on_exchange(self, callback: Callable[[Exchange], None]) -> None:
        self.client.observers.append(callback)
