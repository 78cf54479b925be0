"""Seeded faults generated from the contract: a documented refusal answered with another status and code.

For every operation and every answer it documents that a request provokes without any state (the
codes come from the response's examples, as the suite's expectations read them): 400 malformed_request,
415 unsupported_media_type, 422 validation_failed and 404 not_found, one fault answers exactly that case
of that operation otherwise, the way servers get it wrong (a 400 and a 422 swapped, a wrong media type
called unreadable, a missing id called forbidden). It acts at `web.refused.answer`, where every refusal
is rendered, so it changes nothing else the server does. Each names the requirement of the suite that
sends requests the contract answers exactly so (conformance/checks/answers.py), and the ledger key of
the promise it breaks.

`faults.CATALOGUE` takes those whose promise no fault written by hand already breaks (by `breaks`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from . import hooks
from .errors import ApiError
from .hooks import Hook, Refusal
from .rewriting import load_contract

__all__ = ["KINDS", "MISANSWERS", "Kind", "Misanswer", "faults", "misanswers"]

F = TypeVar("F")
_METHODS = ("get", "put", "post", "delete", "patch")


@dataclass(slots=True, frozen=True)
class Kind:
    """One documented refusal (status, code): the suite's requirement that sends it, and the wrong answer."""

    requirement: str
    provoked_by: str  # what request the contract answers so, for the fault's description
    wrong_status: int
    wrong_code: str


KINDS: Mapping[tuple[int, str], Kind] = {
    (400, "malformed_request"): Kind(
        "ANSWER-400-MALFORMED",
        "an unreadable request (bad JSON, a body not an object, a mistyped parameter)",
        422,
        "validation_failed",
    ),
    (415, "unsupported_media_type"): Kind(
        "ANSWER-415-MEDIA-TYPE", "a body not sent as application/json", 400, "malformed_request"
    ),
    (422, "validation_failed"): Kind(
        "ANSWER-422-VALIDATION",
        "well-formed JSON that breaks the schema, or a page out of range",
        400,
        "malformed_request",
    ),
    (404, "not_found"): Kind("ANSWER-404-NOT-FOUND", "an id or filename that never existed", 403, "forbidden"),
}


@dataclass(slots=True, frozen=True)
class Misanswer:
    """One operation's documented refusal (status, code), answered otherwise."""

    operation: str
    method: str  # upper case
    route: str  # the contract's path template
    status: int
    code: str

    @property
    def kind(self) -> Kind:
        return KINDS[(self.status, self.code)]

    @property
    def name(self) -> str:
        """add_user_email_415_as_400: the operation in snake case, the documented status, the one answered."""
        return f"{_snake(self.operation)}_{self.status}_as_{self.kind.wrong_status}"

    @property
    def description(self) -> str:
        kind = self.kind
        return (
            f"{self.operation} answers {kind.wrong_status} {kind.wrong_code}, not the documented {self.status} "
            f"{self.code}, to {kind.provoked_by}."
        )

    @property
    def breaks(self) -> str:
        """The ledger key of the documented response: spec:<JSON pointer>#<code>."""
        path = self.route.replace("~", "~0").replace("/", "~1")
        return f"spec:/paths/{path}/{self.method.lower()}/responses/{self.status}#{self.code}"

    def apply(self, error: ApiError, refusal: Refusal) -> ApiError:
        if (refusal.method, refusal.route) != (self.method, self.route) or (error.status, error.code) != (
            self.status,
            self.code,
        ):
            return error
        kind = self.kind
        return ApiError(kind.wrong_status, kind.wrong_code, f"Refused ({kind.wrong_code}).")


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _resolve(document: Mapping[str, Any], node: Any) -> Any:
    while isinstance(node, Mapping) and "$ref" in node:
        target: Any = document
        for part in str(node["$ref"]).lstrip("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def _codes(document: Mapping[str, Any], response: Any) -> list[str]:
    """The error codes a documented response names in its example(s)."""
    found: list[str] = []
    for media in (_resolve(document, response).get("content") or {}).values():
        examples = [media.get("example"), *(item.get("value") for item in (media.get("examples") or {}).values())]
        found += [example["code"] for example in examples if isinstance(example, dict) and "code" in example]
    return found


def misanswers(document: Mapping[str, Any]) -> tuple[Misanswer, ...]:
    """Every documented answer of the `KINDS`, in the contract's order of paths and responses."""
    found: list[Misanswer] = []
    for route, item in (document.get("paths") or {}).items():
        for method, operation in item.items():
            if method not in _METHODS or not isinstance(operation, Mapping):
                continue
            for status, response in (operation.get("responses") or {}).items():
                for code in dict.fromkeys(_codes(document, response)):
                    if str(status).isdigit() and (int(status), code) in KINDS:
                        found.append(Misanswer(str(operation["operationId"]), method.upper(), route, int(status), code))
    return tuple(found)


MISANSWERS: tuple[Misanswer, ...] = misanswers(load_contract().document)
WHERE: Hook[ApiError, Refusal] = hooks.WEB_REFUSED_ANSWER


def faults(make: Callable[..., F], written: Iterable[Any]) -> tuple[F, ...]:
    """A fault (built by `make`, faults.Fault) for each of `MISANSWERS` whose promise none of `written` breaks."""
    broken = {key for fault in written for key in getattr(fault, "breaks", ())}
    return tuple(
        make(
            name=item.name,
            description=item.description,
            requirements=(item.kind.requirement,),
            hook=WHERE,
            apply=item.apply,
            breaks=(item.breaks,),
        )
        for item in MISANSWERS
        if item.breaks not in broken
    )
