"""Documented answers, and which of them some check required.

Spec coverage (conformance.coverage) counts a status as covered when some request happened to get it:
that proves nothing about a server that stops giving it. An *expectation* is stronger: a check sent a
request built so that the contract requires exactly one status (and, for an error, one `code`), and it
fails when the server answers otherwise. Checks record what they required here (:meth:`ExpectationLog.
required`); ``coverage.expectations`` compares that with every answer the contract documents
(:func:`documented_answers`: each operation's status keys, and each error `code` a status can carry).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["EXEMPT_CODES", "Answer", "ExpectationLog", "documented_answers", "expectation_coverage"]

# A documented answer a server gives at will: no request can be built so that the contract requires it.
EXEMPT_CODES = frozenset({"rate_limited"})


@dataclass(slots=True, frozen=True, order=True)
class Answer:
    """One documented answer: an operation, a documented status key and the error code (None for success)."""

    operation: str
    status: str  # the documented key: "201", "409"
    code: str | None = None

    def label(self) -> str:
        return f"{self.operation} {self.status}" + (f" {self.code}" if self.code else "")

    def as_json(self) -> dict[str, object]:
        return {"operation": self.operation, "status": self.status, "code": self.code}


def _resolve(document: Mapping[str, Any], node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = document
        for part in str(node["$ref"]).lstrip("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def response_codes(document: Mapping[str, Any], response: Any) -> list[str]:
    """The error codes a documented response names in its example(s), in their written order."""
    found: list[str] = []
    for media in _resolve(document, response).get("content", {}).values():
        examples = [media.get("example"), *(item.get("value") for item in media.get("examples", {}).values())]
        for example in examples:
            if isinstance(example, dict) and isinstance(example.get("code"), str):
                found.append(example["code"])
    return list(dict.fromkeys(found))


def documented_answers(document: Mapping[str, Any], *, exempt: Iterable[str] = EXEMPT_CODES) -> list[Answer]:
    """Every answer the contract documents, in the order of its paths and responses (exempt codes left out).

    A status with codes in its examples is one answer per code; a status without (a success) is one answer.
    """
    skipped = frozenset(exempt)
    answers: list[Answer] = []
    for item in document.get("paths", {}).values():
        for operation in item.values():
            if not isinstance(operation, dict) or "operationId" not in operation:
                continue
            for status, response in operation.get("responses", {}).items():
                codes = response_codes(document, response)
                if not codes:
                    answers.append(Answer(str(operation["operationId"]), str(status)))
                answers += [
                    Answer(str(operation["operationId"]), str(status), code) for code in codes if code not in skipped
                ]
    return answers


class ExpectationLog:
    """The answers checks required in this run, each with the requirements that required it (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_answer: dict[Answer, set[str]] = {}

    def required(self, requirement_id: str, operation: str | None, status: int | str, code: str | None) -> None:
        """`requirement_id` sent `operation` built so that the contract requires exactly `status` (and `code`)."""
        if not operation or not requirement_id:
            return
        with self._lock:
            self._by_answer.setdefault(Answer(operation, str(status), code), set()).add(requirement_id)

    def snapshot(self) -> dict[Answer, tuple[str, ...]]:
        with self._lock:
            return {answer: tuple(sorted(ids)) for answer, ids in self._by_answer.items()}


@dataclass(slots=True, frozen=True)
class ExpectationCoverage:
    """Documented answers against those some check that reached a verdict required."""

    required: dict[Answer, tuple[str, ...]]  # documented answer -> the requirements that required it
    documented: tuple[Answer, ...]

    @property
    def covered(self) -> int:
        return sum(1 for answer in self.documented if self.required.get(answer))

    @property
    def percent(self) -> float:
        return round(100.0 * self.covered / len(self.documented), 1) if self.documented else 100.0

    @property
    def missing(self) -> list[Answer]:
        return [answer for answer in self.documented if not self.required.get(answer)]

    def line(self) -> str:
        return (
            f"expectation coverage {self.percent:.1f}% ({self.covered}/{len(self.documented)} documented answers "
            "required by a check)"
        )

    def as_json(self) -> dict[str, object]:
        return {
            "definition": "documented answers (operation, status, error code; 429 rate_limited aside) that some "
            "check sent a request for that the contract answers with exactly that status and code",
            "required": self.covered,
            "documented": len(self.documented),
            "percent": self.percent,
            "missing": [answer.label() for answer in self.missing],
            "by": {
                answer.label(): list(self.required[answer]) for answer in self.documented if self.required.get(answer)
            },
        }


def expectation_coverage(
    document: Mapping[str, Any], log: Mapping[Answer, tuple[str, ...]], decided: Iterable[str]
) -> ExpectationCoverage:
    """Coverage of `document`'s answers by what `log` recorded, counting only requirements in `decided`
    (those that reached a verdict: a requirement that was skipped or erred proves nothing)."""
    verdicts = frozenset(decided)
    documented = tuple(documented_answers(document))
    required = {answer: tuple(rid for rid in log.get(answer, ()) if rid in verdicts) for answer in documented}
    return ExpectationCoverage({answer: ids for answer, ids in required.items() if ids}, documented)
