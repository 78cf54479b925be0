"""The one HTTP client every check uses: records each exchange, paces, redacts.

Checks never open their own connections. The client resolves each request to its
operationId (for per-operation counts), honours 429 + Retry-After within a bound,
keeps to ``--rate-limit``, and turns network failures into UndecidedRequirement.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from conformance.failures import UndecidedRequirement
from conformance.operations import OperationIndex
from conformance.redact import Redactor
from conformance.results import OperationStats

_MAX_KEPT_BODY = 256 * 1024  # bodies kept for checks and reports; a larger one is cut
_NO_JSON = object()


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
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.operations = operations
        self.redactor = redactor
        self.max_retry_after_s = max_retry_after_s
        self._interval = 1.0 / rate_limit if rate_limit else 0.0
        self._last_sent = 0.0
        self._lock = threading.Lock()
        self._http = httpx.Client(
            timeout=httpx.Timeout(timeout_s),
            follow_redirects=False,
            transport=transport,
            headers={"User-Agent": "kesk-conformance"},
        )
        self.stats: dict[str, OperationStats] = {}
        self.observers: list[Callable[[Exchange], None]] = []
        self.sent = 0

    def close(self) -> None:
        self._http.close()

    def _pace(self) -> None:
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
        retry_429: bool = True,
    ) -> Exchange:
        all_headers = {"Accept": "application/json"}
        if token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        if json_body is not None:
            content = json.dumps(json_body).encode()
            all_headers["Content-Type"] = "application/json; charset=utf-8"
        all_headers.update(headers or {})
        url = self.base_url + path
        for _ in range(4):
            exchange = self._send(method, url, path, all_headers, content, params)
            delay = self._retry_delay(exchange) if retry_429 else None
            if delay is None:
                return exchange
            time.sleep(delay)
        return exchange

    def _retry_delay(self, exchange: Exchange) -> float | None:
        if exchange.status != 429:
            return None
        try:
            delay = float(exchange.headers.get("retry-after", ""))
        except ValueError:
            return None
        return delay if 0 <= delay <= self.max_retry_after_s else None

    def _send(
        self,
        method: str,
        url: str,
        path: str,
        headers: dict[str, str],
        content: bytes | None,
        params: Mapping[str, Any] | None,
    ) -> Exchange:
        op = self.operations.resolve(method, path.split("?", 1)[0])
        self._pace()
        started = time.perf_counter()
        try:
            response = self._http.request(method, url, headers=headers, content=content, params=params)
            body = response.read()[:_MAX_KEPT_BODY]
        except httpx.HTTPError as exc:
            where = f"{method} {self.redactor.text(url)}"
            raise UndecidedRequirement(f"{where}: {type(exc).__name__}: {self.redactor.text(str(exc))}") from None
        full_url = str(response.request.url)
        exchange = Exchange(
            operation_id=op.operation_id if op else None,
            method=method,
            url=full_url,
            path=path,
            request_headers=dict(headers),
            request_body=content,
            status=response.status_code,
            headers=response.headers,
            body=body,
            elapsed_s=time.perf_counter() - started,
            curl=self.redactor.curl(method, full_url, headers, content),
        )
        with self._lock:
            self.sent += 1
            exchange.sequence = self.sent
            if op is not None:
                stats = self.stats.setdefault(op.operation_id, OperationStats())
                stats.requests += 1
                stats.statuses[exchange.status] += 1
        for observe in self.observers:
            observe(exchange)
        return exchange

    def call(
        self,
        operation_id: str,
        *,
        token: str | None,
        path_params: Mapping[str, object] | None = None,
        json_body: Any = None,
        params: Mapping[str, Any] | None = None,
        retry_429: bool = True,
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
            retry_429=retry_429,
            headers=headers,
            content=content,
        )
