"""Faults that rewrite whole answers, proven on the answers of a recorded run.

An invariant fault (`reference_server/invariant_faults.py`) is a pure function of one answer: it edits
the objects of one schema so that one `x-kesk-invariants` rule no longer holds. Whether the suite
catches it depends on two things: the run must carry an answer on which the rule can be broken, and the
invariant observer must judge that answer. A run of the full catalogue per fault would prove both at
the cost of a run each (dozens of them); instead this applies each fault, exactly as the server would,
to every answer of one recorded clean run (`kesk-conformance run --har`), and judges the edited answers
with the suite's own invariant judge. A handful of faults are also proven in real runs (the self-test).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from conformance.contract import bundled_contract
from conformance.invariants import InvariantSet, RequestView
from reference_server import hooks
from reference_server.breaking import BodySite
from reference_server.faults import CATALOGUE, Fault
from reference_server.rewriting import load_contract

__all__ = ["RecordedAnswer", "answer_faults", "caught_on_recorded_run", "recorded_answers"]

_BASE_PATH = "/v1"


@dataclass(slots=True, frozen=True)
class RecordedAnswer:
    site: BodySite  # the answer as the server's breaking layer sees it
    view: RequestView  # the same answer as the suite's invariant judge sees it
    value: Any  # its parsed JSON body


def answer_faults() -> list[Fault[Any, Any]]:
    """The catalogue's faults that rewrite whole answers (those at hooks.BREAKING_BODY)."""
    return [fault for fault in CATALOGUE if fault.hook is hooks.BREAKING_BODY]


def recorded_answers(har: Path) -> Iterator[RecordedAnswer]:
    """The JSON answers of the UserApi operations in a HAR file written by `kesk-conformance run --har`."""
    contract = load_contract()
    for entry in json.loads(har.read_text(encoding="utf-8"))["log"]["entries"]:
        request, response = entry["request"], entry["response"]
        parts = urlsplit(request["url"])
        path = parts.path[parts.path.index(_BASE_PATH) :] if _BASE_PATH in parts.path else parts.path
        operation = contract.match(request["method"], path)
        text = response.get("content", {}).get("text") or ""
        if operation is None or not text:
            continue
        try:
            value = json.loads(text)
        except ValueError:
            continue
        posted = (request.get("postData") or {}).get("text")
        try:
            request_body = json.loads(posted) if posted else None
        except ValueError:
            request_body = None
        headers = {item["name"].lower(): item["value"] for item in response.get("headers", [])}
        status = int(response["status"])
        yield RecordedAnswer(
            BodySite(
                contract,
                operation,
                status,
                request["method"],
                path,
                dict(parse_qsl(parts.query, keep_blank_values=True)),
                request_body,
                headers,
            ),
            RequestView(
                operation.operation_id,
                request["method"],
                request["url"],
                posted.encode("utf-8") if posted else None,
                status,
                headers,
            ),
            value,
        )


def caught_on_recorded_run(faults: Iterable[Fault[Any, Any]], answers: list[RecordedAnswer]) -> dict[str, str]:
    """For each fault: the first recorded answer (operation and status) on which the suite's judge reports the
    invariant the fault breaks, or "" when none is."""
    judge = InvariantSet(bundled_contract())
    caught: dict[str, str] = {}
    for fault in faults:
        # the invariant it breaks: spec:/components/schemas/S/x-kesk-invariants/N
        invariant = next(item for item in judge.invariants if f"spec:{item.pointer}" in fault.breaks)
        caught[fault.name] = ""
        for answer in answers:
            if invariant.schema not in _components(answer.site):
                continue
            edited = fault.apply(answer.value, answer.site)
            if edited != answer.value and any(
                found.invariant.id == invariant.id for found in judge.judge(answer.view, edited)
            ):
                caught[fault.name] = f"{answer.view.operation} {answer.view.status}"
                break
    return caught


_REACHABLE: dict[tuple[str, int], frozenset[str]] = {}


def _components(site: BodySite) -> frozenset[str]:
    """The components/schemas names an answer's body (and a document it carries) can hold."""
    key = (site.operation.operation_id, site.status)
    if key not in _REACHABLE:
        found: set[str] = set()
        for schema in site.response_schema():
            if schema is not None:
                _collect(site, schema, found)
        _REACHABLE[key] = frozenset(found)
    return _REACHABLE[key]


def _collect(site: BodySite, node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            name = ref.rsplit("/", 1)[1]
            if name in found:
                return
            found.add(name)
            node, _ = site.contract.resolve(node)
        for value in node.values():
            _collect(site, value, found)
    elif isinstance(node, list):
        for value in node:
            _collect(site, value, found)
