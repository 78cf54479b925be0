"""`run --har FILE`: every exchange of the run as HAR 1.2 (http://www.softwareishard.com/blog/har-12-spec/).

A HAR file opens in a browser's network panel, in Postman and in mitmproxy, so a server team can look
at exactly what the suite sent. It is opt-in rather than always written into the report directory: a
full run holds thousands of exchanges (tens of megabytes with their bodies), and a file of every request
is one more place a secret could leak, so it exists only when someone asks for it.

Secrets never reach the file: the URL, every header and every body go through the run's redactor
(tokens, OTPs and passwords it knows, the Authorization and Cookie headers, secret JSON fields).
Each entry's comment names the requirement that sent it.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx

from conformance.redact import MASK
from conformance.steps import RunRecorder
from conformance.target import Exchange

__all__ = ["har_document", "write_har"]

_SECRET_RESPONSE_HEADERS = frozenset({"set-cookie"})


def _version() -> str:
    try:
        return metadata.version("kesk-conformance")
    except metadata.PackageNotFoundError:
        return "0"


def _pairs(items: list[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"name": name, "value": value} for name, value in items]


def _entry(recorder: RunRecorder, exchange: Exchange) -> dict[str, Any]:
    redactor = recorder.redactor
    url = redactor.text(exchange.url)
    request_headers = list(redactor.headers(exchange.request_headers).items())
    request: dict[str, Any] = {
        "method": exchange.method,
        "url": url,
        "httpVersion": "HTTP/1.1",
        "cookies": [],
        "headers": _pairs(request_headers),
        "queryString": _pairs(list(httpx.URL(url).params.multi_items())),
        "headersSize": -1,
        "bodySize": len(exchange.request_body or b""),
    }
    if exchange.request_body:
        mime = next((v for k, v in exchange.request_headers.items() if k.lower() == "content-type"), "")
        request["postData"] = {"mimeType": mime, "params": [], "text": redactor.body(exchange.request_body)}
    response_headers = [
        (name, MASK if name.lower() in _SECRET_RESPONSE_HEADERS else redactor.text(value))
        for name, value in exchange.headers.multi_items()
    ]
    text = redactor.body(exchange.body)
    received = recorder.received_at.get(exchange.sequence)
    started = (received - exchange.elapsed_s) if received is not None else 0.0
    elapsed_ms = round(exchange.elapsed_s * 1000, 3)
    return {
        "startedDateTime": datetime.fromtimestamp(started, UTC).isoformat(timespec="milliseconds"),
        "time": elapsed_ms,
        "request": request,
        "response": {
            "status": exchange.status,
            "statusText": httpx.codes.get_reason_phrase(exchange.status),
            "httpVersion": "HTTP/1.1",
            "cookies": [],
            "headers": _pairs(response_headers),
            "content": {"size": len(exchange.body), "mimeType": exchange.content_type, "text": text},
            "redirectURL": redactor.text(exchange.headers.get("location", "")),
            "headersSize": -1,
            "bodySize": len(exchange.body),
        },
        "cache": {},
        "timings": {"send": 0, "wait": elapsed_ms, "receive": 0},
        "comment": f"#{exchange.sequence} {exchange.operation_id or '(no operation)'}"
        + (f" for {exchange.sent_for}" if exchange.sent_for else ""),
    }


def har_document(recorder: RunRecorder, *, base_url: str = "") -> dict[str, Any]:
    """The HAR 1.2 log of every exchange the recorder saw, in the order they were sent."""
    return {
        "log": {
            "version": "1.2",
            "creator": {"name": "kesk-conformance", "version": _version()},
            "comment": f"kesk-conformance run against {recorder.redactor.text(base_url)}; secrets redacted",
            "entries": [_entry(recorder, exchange) for exchange in recorder.exchanges],
        }
    }


def write_har(path: Path, recorder: RunRecorder, *, base_url: str = "") -> Path:
    """Write the HAR file (through a temporary name, so no reader sees half of it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(json.dumps(har_document(recorder, base_url=base_url), ensure_ascii=False), encoding="utf-8")
    os.replace(partial, path)
    return path
