"""The exact steps of each failure, kept so it can be replayed, exported and kept as a regression test.

A :class:`RunRecorder` attached to a run's session sees every exchange (with the requirement it was sent
for) and knows which bearer token is whose. After the run, :meth:`RunRecorder.steps` turns each failed
requirement into a :class:`FailureSteps`:

- a plain check: the requests that requirement sent, in order, up to its last failing one;
- a lifecycle: the requests of the final example its state machine ran, which is the shrunk failing one
  (Hypothesis replays the smallest failing example last), from the machine's first request to the failure;
- a failure found in another requirement's traffic (an observer, a Schemathesis-found violation): the one
  failing request.

Every step says which user's token it carried as a symbol (``user_a``, ``user_b``, ``none``, ``unknown``,
``user:disposable-1``, ``malformed:Basic``), never the token. Secret body fields (OTPs, passwords,
verification tokens) are kept as placeholders (``${otp}``); everything else passes through the redactor.
A failing step carries the recorded expectation (:class:`Expectation`) that replay judges again.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from conformance.failures import FailureDetail
from conformance.redact import SECRET_FIELDS, Redactor
from conformance.target import Exchange

if TYPE_CHECKING:
    from conformance.context import CheckContext
    from conformance.users import User

__all__ = [
    "AUTH_NONE",
    "AUTH_UNKNOWN",
    "AUTH_USER_A",
    "AUTH_USER_B",
    "Expectation",
    "FailureSteps",
    "RunRecorder",
    "Step",
    "note_lifecycle_example",
    "parse_expectation",
    "placeholder",
]

AUTH_NONE = "none"  # no Authorization header
AUTH_USER_A = "user_a"
AUTH_USER_B = "user_b"
AUTH_UNKNOWN = "unknown"  # a bearer token no user of the run holds (a forged one)
MAX_STEPS = 50  # requests kept before a failure; older ones are counted as omitted
_LIFECYCLE_KEY = "steps:lifecycle-final-example"  # in ctx.memo: requirement id -> [(first, last, sent), ...]
_KEPT_HEADERS_SKIPPED = frozenset(
    {"authorization", "host", "content-length", "accept-encoding", "connection", "user-agent", "cookie"}
)
# The two ways a check states a status expectation (ctx.expect_status, Lifecycle.expect); pinned by a test.
_EXPECTED_STATUS = re.compile(r"(?:^|: )(?:status )?(?P<statuses>\d{3}(?: or \d{3})*)(?: (?P<code>[a-z][a-z0-9_]*))?$")


# --- the step semantics, standalone: export_pytest copies these functions' source into every exported test ---
def authorization(symbol: str, tokens: dict[str, str]) -> str | None:
    """The Authorization header a step's user symbol stands for; KeyError(symbol) when no token is given for it.

    ``none``: no header; ``unknown``: a fresh random bearer token no user holds; ``malformed:Basic:credential``
    and ``malformed:Bearer``: the same scheme with a made-up credential (or none); other symbols (``user_a``,
    ``user_b``, ``user:disposable-1``) are looked up in `tokens`.
    """
    import secrets as _secrets

    if symbol == "none":
        return None
    if symbol == "unknown":
        return "Bearer kesk_unknown_" + _secrets.token_hex(16)
    if symbol.startswith("malformed:"):
        scheme = symbol.split(":")[1]
        made_up = "a2VzazprZXNr" if scheme.lower() == "basic" else "kesk"  # base64("kesk:kesk")
        return f"{scheme} {made_up}" if symbol.endswith(":credential") else scheme
    return "Bearer " + tokens[symbol]


def fill(value: object, known: dict[str, str]) -> object:
    """`value` with each placeholder (``${password}``) or recorded id replaced by what `known` maps it to."""
    if isinstance(value, dict):
        return {key: fill(item, known) for key, item in value.items()}
    if isinstance(value, list):
        return [fill(item, known) for item in value]
    if isinstance(value, str):
        if value in known:
            return known[value]
        if "/" in value:
            return "/".join(known.get(part, part) for part in value.split("/"))
    return value


def still_fails(expect: dict[str, object], status: int, body: object) -> bool:
    """Whether an answer still breaks a recorded expectation (see Expectation)."""
    got_code = body.get("code") if isinstance(body, dict) else None
    statuses = expect.get("statuses")
    if isinstance(statuses, list) and statuses:
        return status not in statuses or (expect.get("code") is not None and got_code != expect.get("code"))
    return status == expect.get("recorded_status") and got_code == expect.get("recorded_code")


def learn_ids(recorded: dict[str, object], body: object, known: dict[str, str]) -> None:
    """Map the ids the run got (`recorded`) to those this answer holds, so later steps use the new ones."""
    if isinstance(body, dict):
        for key, old in recorded.items():
            new = body.get(key)
            if new is not None and str(new) != str(old):
                known[str(old)] = str(new)


def placeholder(name: str) -> str:
    """How a secret body value the results do not keep is written: ``${otp}``."""
    return "${" + name + "}"


def _curl_of(by_sequence: Mapping[int, Exchange], sequence: int) -> str | None:
    exchange = by_sequence.get(sequence)
    return exchange.curl if exchange is not None else None


def note_lifecycle_example(
    memo: MutableMapping[str, Any], requirement_id: str, first: int, last: int, sent: tuple[int, ...] = ()
) -> None:
    """Remember the sequence numbers of a lifecycle's final (shrunk) failing example, first to last request, and
    those it sent itself when known (a machine's paths run at the same time: their requests interleave)."""
    # Every failing example is kept: a machine's paths fail at the same time, and the report shows a few of them.
    memo.setdefault(_LIFECYCLE_KEY, {}).setdefault(requirement_id, []).append((first, last, sent))


@dataclass(slots=True, frozen=True)
class Expectation:
    """What a failing step's answer should have been, as far as a machine can judge it again.

    With `statuses`, an answer passes when its status is one of them (and, with `code`, its ErrorResponse
    code is that code). Without them (the check judged a header, a body field, a model), the recorded
    failing answer is what replay compares with: the same status and code is still the failure.
    """

    text: str  # the Expected: line, as the report shows it
    actual: str  # the Actual: line
    recorded_status: int
    recorded_code: str | None = None
    statuses: tuple[int, ...] = ()
    code: str | None = None

    def violated_by(self, status: int, body: Any) -> bool:
        return still_fails(self.as_json(), status, body)

    def describe(self) -> str:
        if self.statuses:
            return " or ".join(map(str, self.statuses)) + (f" {self.code}" if self.code else "")
        code = f" {self.recorded_code}" if self.recorded_code else ""
        return f"not the recorded answer {self.recorded_status}{code}"

    def as_json(self) -> dict[str, object]:
        return {
            "text": self.text,
            "actual": self.actual,
            "statuses": list(self.statuses),
            "code": self.code,
            "recorded_status": self.recorded_status,
            "recorded_code": self.recorded_code,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Expectation:
        return cls(
            text=str(data.get("text", "")),
            actual=str(data.get("actual", "")),
            recorded_status=int(data["recorded_status"]),
            recorded_code=data.get("recorded_code"),
            statuses=tuple(int(s) for s in data.get("statuses", ())),
            code=data.get("code"),
        )


def parse_expectation(expected: str, actual: str, status: int, body: Any) -> Expectation:
    """The machine-checkable part of an Expected: line, when the recorded answer breaks it.

    "what: status 401" (ctx.expect_status) and "what: 404 or 409 not_found" (Lifecycle.expect) give
    statuses and a code. Any other line, or one the recorded answer does not break (the failure was
    about something else), falls back to the recorded answer itself.
    """
    code = body.get("code") if isinstance(body, dict) else None
    recorded = Expectation(
        text=expected, actual=actual, recorded_status=status, recorded_code=code if isinstance(code, str) else None
    )
    match = _EXPECTED_STATUS.search(expected.strip())
    if match is None:
        return recorded
    parsed = Expectation(
        text=expected,
        actual=actual,
        recorded_status=status,
        recorded_code=recorded.recorded_code,
        statuses=tuple(int(s) for s in match.group("statuses").split(" or ")),
        code=match.group("code"),
    )
    return parsed if parsed.violated_by(status, body) else recorded


@dataclass(slots=True, frozen=True)
class Step:
    """One request as replay re-sends it: no secret in it, the user as a symbol."""

    operation: str | None
    method: str
    path: str  # relative to the base URL, without the query
    query: tuple[tuple[str, str], ...]
    auth: str  # AUTH_* or "user:<label>" or "malformed:<scheme>"
    headers: dict[str, str]  # other request headers the check set (Content-Type, Accept...)
    json_body: Any = None
    content: str | None = None  # a body that is not JSON, as text
    secrets: tuple[str, ...] = ()  # body fields whose values were replaced by placeholders
    status: int = 0  # the answer the run got
    ids: dict[str, str] = field(default_factory=dict)  # id fields of the answer the run got ("id": "17")
    expect: Expectation | None = None  # set on a failing step

    def as_json(self) -> dict[str, object]:
        data: dict[str, object] = {
            "operation": self.operation,
            "method": self.method,
            "path": self.path,
            "query": [list(pair) for pair in self.query],
            "auth": self.auth,
            "headers": self.headers,
        }
        if self.content is not None:
            data["content"] = self.content
        else:
            data["json"] = self.json_body
        if self.secrets:
            data["secrets"] = list(self.secrets)
        data["status"] = self.status
        if self.ids:
            data["ids"] = self.ids
        if self.expect is not None:
            data["expect"] = self.expect.as_json()
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Step:
        expect = data.get("expect")
        return cls(
            operation=data.get("operation"),
            method=str(data["method"]),
            path=str(data["path"]),
            query=tuple((str(k), str(v)) for k, v in data.get("query", ())),
            auth=str(data.get("auth", AUTH_NONE)),
            headers={str(k): str(v) for k, v in dict(data.get("headers", {})).items()},
            json_body=data.get("json"),
            content=data.get("content"),
            secrets=tuple(data.get("secrets", ())),
            status=int(data.get("status", 0)),
            ids={str(k): str(v) for k, v in dict(data.get("ids", {})).items()},
            expect=Expectation.from_json(expect) if isinstance(expect, dict) else None,
        )


@dataclass(slots=True, frozen=True)
class FailureSteps:
    """A failed requirement's steps: what replay re-sends and export-pytest writes down."""

    requirement_id: str
    kind: str  # "check", "lifecycle" or "observed" (the failing request was another requirement's)
    steps: tuple[Step, ...]
    omitted: int = 0  # earlier requests of the same requirement not kept (MAX_STEPS)
    note: str = ""

    def as_json(self) -> dict[str, object]:
        data: dict[str, object] = {
            "kind": self.kind,
            "requests": [step.as_json() for step in self.steps],
        }
        if self.omitted:
            data["omitted"] = self.omitted
        if self.note:
            data["note"] = self.note
        return data

    @classmethod
    def from_json(cls, requirement_id: str, data: Mapping[str, Any]) -> FailureSteps:
        return cls(
            requirement_id=requirement_id,
            kind=str(data.get("kind", "check")),
            steps=tuple(Step.from_json(item) for item in data.get("requests", ())),
            omitted=int(data.get("omitted", 0)),
            note=str(data.get("note", "")),
        )


class RunRecorder:
    """Every exchange of a run, and whose token each one carried; attach() it before the run starts."""

    def __init__(self) -> None:
        self.exchanges: list[Exchange] = []
        self.received_at: dict[int, float] = {}  # sequence -> wall-clock time the answer was recorded (HAR)
        self.redactor = Redactor()
        self._labels: dict[str, str] = {}  # token -> symbol
        self._memo: MutableMapping[str, Any] = {}
        self._lock = threading.Lock()

    def attach(self, ctx: CheckContext) -> None:
        """Record what `ctx`'s client sends from now on, and learn the run's users (those made later too)."""
        self.redactor = ctx.redactor
        self._memo = ctx.memo
        self._labels[ctx.user_a.token] = AUTH_USER_A
        if ctx.user_b is not None:
            self._labels[ctx.user_b.token] = AUTH_USER_B
        ctx.client.observers.append(self._observe)
        factory = ctx.factory
        if factory is not None:
            # Label the disposable users the factory makes during the run; the factory stays the same
            # object, only its creating method learns to tell the recorder.
            factory.create = self._labelling(factory.create)  # type: ignore[method-assign]

    def _observe(self, exchange: Exchange) -> None:
        # Observers are called one exchange at a time, in sequence order (TargetClient.record).
        self.exchanges.append(exchange)
        self.received_at[exchange.sequence] = time.time()

    def _labelling(self, create: Callable[..., User]) -> Callable[..., User]:
        def labelled(label: str, *args: Any, **kwargs: Any) -> User:
            user = create(label, *args, **kwargs)
            with self._lock:
                self._labels.setdefault(user.token, f"user:{label}")
            return user

        return labelled

    # --- one exchange as a step -------------------------------------------------------------------
    def auth_of(self, headers: Mapping[str, str]) -> str:
        value = next((v for k, v in headers.items() if k.lower() == "authorization"), None)
        if value is None:
            return AUTH_NONE
        scheme, _, credential = value.strip().partition(" ")
        if scheme.lower() != "bearer" or not credential.strip():
            return f"malformed:{scheme}" + (":credential" if credential.strip() else "")
        with self._lock:
            return self._labels.get(credential.strip(), AUTH_UNKNOWN)

    def step(self, exchange: Exchange, expect: Expectation | None = None) -> Step:
        url = httpx.URL(exchange.url)
        query = tuple((k, self.redactor.text(v)) for k, v in url.params.multi_items())
        headers = {
            name: value
            for name, value in self.redactor.headers(exchange.request_headers).items()
            if name.lower() not in _KEPT_HEADERS_SKIPPED
            and not (name.lower() == "accept" and value == "application/json")
        }
        json_body: Any = None
        content: str | None = None
        secrets: list[str] = []
        if exchange.request_body:
            try:
                parsed = json.loads(exchange.request_body)
            except ValueError:
                content = self.redactor.body(exchange.request_body)
            else:
                json_body = self._without_secrets(parsed, secrets)
        return Step(
            operation=exchange.operation_id,
            method=exchange.method,
            path=self.redactor.text(exchange.path.split("?", 1)[0]),
            query=query,
            auth=self.auth_of(exchange.request_headers),
            headers=headers,
            json_body=json_body,
            content=content,
            secrets=tuple(dict.fromkeys(secrets)),
            status=exchange.status,
            ids=self._ids(exchange),
            expect=expect,
        )

    def _ids(self, exchange: Exchange) -> dict[str, str]:
        """The answer's top-level id fields: replay maps them to the ids a new run of the steps gets."""
        body = exchange.json() if 200 <= exchange.status < 300 else None
        if not isinstance(body, dict):
            return {}
        return {
            key: self.redactor.text(str(value))
            for key, value in body.items()
            if (key == "id" or key.endswith("_id")) and isinstance(value, str | int) and not isinstance(value, bool)
        }

    def _without_secrets(self, value: Any, secrets: list[str]) -> Any:
        if isinstance(value, dict):
            kept = {}
            for key, item in value.items():
                if key.lower() in SECRET_FIELDS and item is not None:
                    secrets.append(key)
                    kept[key] = placeholder(key)
                else:
                    kept[key] = self._without_secrets(item, secrets)
            return kept
        if isinstance(value, list):
            return [self._without_secrets(item, secrets) for item in value]
        if isinstance(value, str):
            return self.redactor.text(value)
        return value

    # --- a failed requirement's steps -------------------------------------------------------------
    def steps(self, requirement_id: str, failures: Iterable[FailureDetail]) -> FailureSteps | None:
        """The steps of one failed requirement, or None when none of its failures names a request."""
        failures = list(failures)
        by_sequence = {exchange.sequence: exchange for exchange in self.exchanges}
        failing: dict[int, FailureDetail] = {}
        for failure in failures:
            exchange = by_sequence.get(failure.request_number or 0)
            if exchange is not None and failure.curl and exchange.curl == failure.curl:
                failing.setdefault(exchange.sequence, failure)
        examples = self._memo.get(_LIFECYCLE_KEY, {}).get(requirement_id)
        if examples:
            # The example of the first failure reported (the one whose failing request it shows), else the last
            shown = failures[0].curl if failures else None
            ending = [bounds for bounds in examples if _curl_of(by_sequence, bounds[1]) == shown]
            return self._lifecycle(requirement_id, (ending or examples)[-1], failures, by_sequence)
        if not failing:
            return None
        last = max(failing)
        if any(by_sequence[number].sent_for != requirement_id for number in failing):
            chosen = [by_sequence[number] for number in sorted(failing)]
            kind = "observed"
        else:
            chosen = [e for e in self.exchanges if e.sent_for == requirement_id and e.sequence <= last]
            kind = "check"
        return self._build(requirement_id, kind, chosen, failing)

    def _lifecycle(
        self,
        requirement_id: str,
        bounds: tuple[int, int, tuple[int, ...]],
        failures: list[FailureDetail],
        by_sequence: Mapping[int, Exchange],
    ) -> FailureSteps:
        first, last, sent = bounds
        in_range = [e for e in self.exchanges if first <= e.sequence <= last]
        end = by_sequence.get(last)
        owner = end.sent_for if end is not None else None
        if owner is None and in_range:
            owner = Counter(e.sent_for for e in in_range).most_common(1)[0][0]
        mine = set(sent)
        chosen = [e for e in in_range if e.sequence in mine] if mine else [e for e in in_range if e.sent_for == owner]
        failing: dict[int, FailureDetail] = {}
        # The failure this example ended on: with a machine's examples in parts, each part may report one.
        ending = [failure for failure in failures if end is not None and failure.curl == end.curl]
        if end is not None and ending:
            failing[end.sequence] = ending[-1]
        return self._build(
            requirement_id,
            "lifecycle",
            chosen,
            failing,
            note="the requests of the shrunk failing example; out-of-band codes (inbox) and test-clock moves "
            "between them are not requests to the API and are not replayed",
        )

    def _build(
        self,
        requirement_id: str,
        kind: str,
        chosen: list[Exchange],
        failing: Mapping[int, FailureDetail],
        *,
        note: str = "",
    ) -> FailureSteps:
        omitted = 0
        if len(chosen) > MAX_STEPS:
            kept = [e for e in chosen[-MAX_STEPS:]]
            kept_set = {e.sequence for e in kept}
            early_failing = [e for e in chosen[:-MAX_STEPS] if e.sequence in failing and e.sequence not in kept_set]
            omitted = len(chosen) - len(kept) - len(early_failing)
            chosen = sorted([*early_failing, *kept], key=lambda e: e.sequence)
        steps = []
        for exchange in chosen:
            failure = failing.get(exchange.sequence)
            expect = (
                parse_expectation(failure.expected, failure.actual, exchange.status, exchange.json())
                if failure is not None
                else None
            )
            steps.append(self.step(exchange, expect))
        return FailureSteps(requirement_id, kind, tuple(steps), omitted=omitted, note=note)
