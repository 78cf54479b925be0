"""The one HTTP client every check uses: records each exchange, paces, redacts.

Checks never open their own connections. The client resolves each request to its
operationId (for per-operation counts), honours 429 + Retry-After within a bound,
keeps to ``--rate-limit``, and turns network failures into UndecidedRequirement.

A misbehaving target cannot hold the run: each request has a total deadline of ``--timeout``
(a body that drips in slowly is cut off), a body is read streamed and abandoned past
MAX_BODY_BYTES, a 429 storm stops being waited out, and after BREAKER_THRESHOLD network
failures in a row the client stops sending: every later request fails at once.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from conformance.failures import RunInterrupted, UndecidedRequirement
from conformance.operations import OperationIndex
from conformance.redact import Redactor
from conformance.stats import OperationStats

_MAX_KEPT_BODY = 256 * 1024  # bodies kept for checks and reports; a larger one is cut
MAX_BODY_BYTES = 1024 * 1024  # a body larger than this is not read to its end: the request is undecided
BREAKER_THRESHOLD = 5  # network failures in a row after which the client stops sending
MAX_429_RETRIES = 3  # per request; their waits together stay within max_retry_after_s
_KEEPALIVE_EXPIRY_S = 2.0
STORM_AFTER = 5  # requests in a row still answered 429 after their retries: stop waiting for the storm to pass
_NO_JSON = object()
# The requirement on whose behalf the current thread sends: per-requirement request counts under concurrency.
_SENDING_FOR: contextvars.ContextVar[str | None] = contextvars.ContextVar("kesk_sending_for", default=None)


@dataclass(slots=True)
class Exchange:
    """One request and its answer, as the suite saw them."""

    operation_id: str | None
    method: str
    url: str
    path: str  # relative to the base URL
    request_headers: dict[str, str]
    request_body: bytes | None
    status: int
    headers: httpx.Headers
    body: bytes
    elapsed_s: float
    curl: str
    sequence: int = 0  # 1 for the run's first request: where in the run this exchange happened
    sent_for: str | None = None  # the requirement on whose behalf it was sent (see TargetClient.sending_for)
    _parsed: Any = field(default=None, repr=False)

    def json(self) -> Any:
        """The decoded JSON body, or None when it is not JSON."""
        if self._parsed is None:
            try:
                self._parsed = json.loads(self.body) if self.body else _NO_JSON
            except ValueError:
                self._parsed = _NO_JSON
        return None if self._parsed is _NO_JSON else self._parsed

    @property
    def content_type(self) -> str:
        return str(self.headers.get("content-type", ""))


class TargetClient:
    def __init__(
        self,
        base_url: str,
        operations: OperationIndex,
        redactor: Redactor,
        *,
        timeout_s: float = 10.0,
        rate_limit: float | None = None,
        max_retry_after_s: float = 30.0,
        max_total_wait_s: float = 300.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.operations = operations
        self.redactor = redactor
        self.max_retry_after_s = max_retry_after_s
        self.max_total_wait_s = max_total_wait_s  # back-pressure waits of the whole run together
        self.back_pressure_retries = 0
        self.back_pressure_waited_s = 0.0
        self.back_pressure_cut = 0  # 429s not waited out because the run's budget was spent
        self.timeout_s = timeout_s
        self.stopped: str | None = None  # why the client stopped sending (the circuit breaker), once it did
        self._failures_in_row = 0
        self._storm = 0  # requests in a row that ended on a 429 the client could not wait out
        self._interval = 1.0 / rate_limit if rate_limit else 0.0
        self._last_sent = 0.0
        self._lock = threading.Lock()  # the pacing clock and the circuit breaker
        self._halted = threading.Event()  # set when the run is interrupted: no check sends another request
        self.halt_reason = RunInterrupted.REASON  # why (Ctrl-C and SIGTERM, or --maxfail reached)
        self._recording = threading.RLock()  # counts and observers: one exchange at a time, in sequence order
        self._http = httpx.Client(
            timeout=httpx.Timeout(timeout_s),
            follow_redirects=False,
            transport=transport,
            headers={"User-Agent": "kesk-conformance"},
            # Servers close idle keep-alive connections (uvicorn after 5 s, httpx's own expiry): one left idle
            # that long is not reused, or a request could meet the close and be reset (a lifecycle path waits
            # seconds on a user factory between requests).
            limits=httpx.Limits(keepalive_expiry=_KEEPALIVE_EXPIRY_S),
        )
        self.stats: dict[str, OperationStats] = {}
        self.observers: list[Callable[[Exchange], None]] = []
        self.sent = 0
        self.sent_for: Counter[str] = Counter()  # requests per requirement (see sending_for)

    def close(self) -> None:
        self._http.close()

    def pace(self) -> None:
        """Wait until --rate-limit allows the next request: one clock for every request sent to the target.

        The client paces its own requests; another engine sending to the target (Schemathesis) calls this
        before each of its requests.
        """
        if self._halted.is_set():
            raise RunInterrupted(self.halt_reason)
        if not self._interval:
            return
        with self._lock:
            wait = self._last_sent + self._interval - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            self._last_sent = time.monotonic()

    def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        headers: Mapping[str, str] | None = None,
        json_body: Any = None,
        content: bytes | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> Exchange:
        """Send one request; documented back-pressure (429 rate_limited, Retry-After) is waited out and re-sent.

        A 429 that says ``too_many_attempts`` is an answer (a verdict on the request), returned as it is.
        """
        all_headers = {"Accept": "application/json"}
        if token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        if json_body is not None:
            content = json.dumps(json_body).encode()
            all_headers["Content-Type"] = "application/json; charset=utf-8"
        all_headers.update(headers or {})
        url = self.base_url + path
        waited = 0.0
        for attempt in range(MAX_429_RETRIES + 1):
            exchange = self._send(method, url, path, all_headers, content, params)
            delay = self.back_pressure(exchange.status, exchange.headers, exchange.body, waited=waited)
            if delay is None or attempt == MAX_429_RETRIES:
                break
            self.wait_out(delay)
            waited += delay
        backed_off = is_back_pressure(exchange.status, exchange.body)
        with self._lock:
            self._storm = self._storm + 1 if backed_off else 0
        if backed_off:
            # The check asked for an answer, not back-pressure: it cannot decide. The 429 itself was observed.
            raise UndecidedRequirement(
                f"{method} {self.redactor.text(url)}: the target kept answering 429 Too Many Requests "
                f"(Retry-After: {exchange.headers.get('retry-after', 'none')}; waited {waited:g} s, at most "
                f"{self.max_retry_after_s:g} s and {MAX_429_RETRIES} retries per request)"
            )
        return exchange

    # --- back-pressure: 429 with Retry-After, for every engine ------------------------------------
    def back_pressure(self, status: int, headers: Mapping[str, str], body: bytes, *, waited: float) -> float | None:
        """Seconds to wait before sending this request again, or None when the answer is to be judged.

        Only documented back-pressure is waited out (429 whose code is not too_many_attempts, with a
        Retry-After in seconds), within the per-request bound, the storm bound and the run's budget.
        """
        if not is_back_pressure(status, body):
            return None
        try:
            delay = float(headers.get("retry-after", ""))
        except ValueError:
            return None
        with self._lock:
            if self._storm >= STORM_AFTER:
                return None
            if not 0 <= delay <= self.max_retry_after_s or waited + delay > self.max_retry_after_s:
                return None
            if self.back_pressure_waited_s + delay > self.max_total_wait_s:
                self.back_pressure_cut += 1
                return None
            self.back_pressure_waited_s += delay
            self.back_pressure_retries += 1
        return delay

    def wait_out(self, delay: float) -> None:
        if self._halted.wait(delay):  # an interruption ends the wait at once
            raise RunInterrupted(self.halt_reason)

    # --- interruption (Ctrl-C, SIGTERM) -----------------------------------------------------------
    def halt(self, reason: str = RunInterrupted.REASON) -> None:
        """Refuse every further request of the checks still running, so they end quickly."""
        self.halt_reason = reason
        self._halted.set()

    @property
    def halted(self) -> bool:
        return self._halted.is_set()

    def resume(self) -> None:
        """Send again: the cleanup after an interruption."""
        self._halted.clear()

    # --- the circuit breaker ----------------------------------------------------------------------
    def ensure_answering(self) -> None:
        """Raise UndecidedRequirement at once when the breaker is open (the target stopped answering)."""
        if self._halted.is_set():
            raise RunInterrupted(self.halt_reason)
        if self.stopped is not None:
            raise UndecidedRequirement(f"the target stopped answering: {self.stopped}")

    def record_failure(self, what: str) -> None:
        """One request got no usable answer (none, too slow, too large); BREAKER_THRESHOLD in a row open the breaker."""
        with self._lock:
            self._failures_in_row += 1
            if self._failures_in_row >= BREAKER_THRESHOLD and self.stopped is None:
                self.stopped = (
                    f"{self._failures_in_row} requests in a row got no usable answer, so the suite sent no more; "
                    f"the last: {what}"
                )

    def record_answer(self) -> None:
        with self._lock:
            self._failures_in_row = 0

    def _send(
        self,
        method: str,
        url: str,
        path: str,
        headers: dict[str, str],
        content: bytes | None,
        params: Mapping[str, Any] | None,
    ) -> Exchange:
        self.ensure_answering()
        self.pace()
        started = time.perf_counter()
        where = f"{method} {self.redactor.text(url)}"
        try:
            request = self._http.build_request(method, url, headers=headers, content=content, params=params)
            response = self._http.send(request, stream=True)
            try:
                body, complete = read_bounded(response.iter_bytes(), started + self.timeout_s)
            finally:
                response.close()
        except httpx.HTTPError as exc:
            failure = f"{where}: {type(exc).__name__}: {self.redactor.text(str(exc))}"
            self.record_failure(failure)
            raise UndecidedRequirement(failure) from None
        if complete is None:
            failure = f"{where}: no complete answer within --timeout {self.timeout_s:g} s (the body was still arriving)"
            self.record_failure(failure)
            raise UndecidedRequirement(failure)
        if complete:
            self.record_answer()
        exchange = self.exchange(
            method,
            str(response.request.url),
            path,
            request_headers=headers,
            request_body=content,
            status=response.status_code,
            headers=response.headers,
            body=body,
            elapsed_s=time.perf_counter() - started,
        )
        # Counted as sent either way, but a body the suite did not read to its end cannot be judged.
        self.record(exchange, observe=bool(complete))
        if not complete:
            failure = (
                f"{where}: the answer ({exchange.status}) has a body larger than {MAX_BODY_BYTES // 1024} KiB; "
                "the suite stopped reading it"
            )
            self.record_failure(failure)
            raise UndecidedRequirement(failure)
        return exchange

    # --- the record of the run: every exchange, whichever engine sent it --------------------------
    def exchange(
        self,
        method: str,
        url: str,
        path: str,
        *,
        request_headers: Mapping[str, str],
        request_body: bytes | None,
        status: int,
        headers: httpx.Headers | Sequence[tuple[str, str]],
        body: bytes,
        elapsed_s: float,
    ) -> Exchange:
        """One request and its answer as the suite keeps them (not yet recorded: see record()).

        `url` is the full URL that was sent, `path` the part after the base URL. The operation is resolved
        from the method and the path, a body longer than the suite keeps is cut, the curl is redacted.
        """
        op = self.operations.resolve(method, path.split("?", 1)[0])
        return Exchange(
            operation_id=op.operation_id if op else None,
            method=method,
            url=url,
            path=path,
            request_headers=dict(request_headers),
            request_body=request_body,
            status=status,
            headers=headers if isinstance(headers, httpx.Headers) else httpx.Headers(list(headers)),
            body=body[:_MAX_KEPT_BODY],
            elapsed_s=elapsed_s,
            curl=self.redactor.curl(method, url, request_headers, request_body),
        )

    @contextlib.contextmanager
    def sending_for(self, requirement_id: str) -> Iterator[None]:
        """Count what this thread sends, until the block ends, as sent for `requirement_id`."""
        token = _SENDING_FOR.set(requirement_id)
        try:
            yield
        finally:
            _SENDING_FOR.reset(token)

    def record(self, exchange: Exchange, *, observe: bool = True, sent_for: str | None = None) -> None:
        """Count one exchange in the run and show it to the observers.

        The exchange gets the run's next sequence number and counts in its operation's statistics; then
        every observer sees it (observe=False: counted, not shown, for an answer the suite could not read
        to its end). Exchanges are recorded one at a time, so observers see them in sequence order even
        when another engine's worker threads record concurrently. The client records its own requests;
        another engine sending to the target (Schemathesis) records each of its exchanges here.
        """
        with self._recording:
            self.sent += 1
            exchange.sequence = self.sent
            owner = sent_for or _SENDING_FOR.get()
            exchange.sent_for = owner
            if owner:
                self.sent_for[owner] += 1
            if exchange.operation_id is not None:
                stats = self.stats.setdefault(exchange.operation_id, OperationStats())
                stats.requests += 1
                stats.statuses[exchange.status] += 1
            if observe:
                for observe_exchange in list(self.observers):
                    observe_exchange(exchange)

    def call(
        self,
        operation_id: str,
        *,
        token: str | None,
        path_params: Mapping[str, object] | None = None,
        json_body: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
    ) -> Exchange:
        """Send one operation of the spec by its operationId."""
        op = self.operations[operation_id]
        return self.request(
            op.method,
            op.url_path(**(path_params or {})),
            token=token,
            json_body=json_body,
            params=params,
            headers=headers,
            content=content,
        )


def is_back_pressure(status: int, body: bytes) -> bool:
    """A 429 that asks the client to slow down (rate_limited, or no code), not a too_many_attempts verdict."""
    if status != 429:
        return False
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = None
    return not (isinstance(parsed, dict) and parsed.get("code") == "too_many_attempts")


def read_bounded(chunks: Iterator[bytes], deadline: float) -> tuple[bytes, bool | None]:
    """Read a streamed body until its end, MAX_BODY_BYTES or the deadline (time.perf_counter()).

    Returns the bytes read and True (complete), False (larger than MAX_BODY_BYTES: the first
    MAX_BODY_BYTES are returned) or None (the deadline passed before the end).
    A chunk arrives at the latest one read timeout after the previous one, so a body that drips in
    is abandoned within --timeout past the deadline.
    """
    kept = bytearray()
    for chunk in chunks:
        kept += chunk
        if len(kept) > MAX_BODY_BYTES:
            return bytes(kept[:MAX_BODY_BYTES]), False
        if time.perf_counter() > deadline:
            return bytes(kept), None
    return bytes(kept), True
