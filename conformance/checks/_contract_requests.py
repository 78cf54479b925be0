"""Requests built from the contract's structure, for checks that require exactly one documented answer.

A request gets exactly one answer from the contract only when everything but its one defect is as a
success needs. What that takes is read from the contract: which answers an operation documents (the codes
in its responses' examples), its parameters' schemas, its body's media type and model, and the OpenAPI
links that say which operation's answer another one acts on (`addUserEmail` 201 -> `verifyUserEmail`
with `email_id` from the answer; `requestAccountDeletion` 202 -> `confirmAccountDeletion`). An operation
with a body that such a link targets is sent only once that operation succeeded: a body is judged on
its content only for a resource that exists, or a request that awaits it (`Stages`).
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from random import Random
from typing import Any

from conformance.checks._flows import unique_phone
from conformance.context import CheckContext
from conformance.expectations import response_codes
from conformance.failures import UndecidedRequirement
from conformance.operations import Operation, OperationIndex
from conformance.target import Exchange
from conformance.users import User

__all__ = [
    "Parameter",
    "Stages",
    "body_media_type",
    "documents",
    "needs_stage",
    "never_existed",
    "offered",
    "parameters",
    "request_model",
]

_INT_TOPS = {"int32": 2**31 - 1, "int64": 2**63 - 1}
_ALPHANUMERIC = re.compile(r"[A-Za-z0-9]+")


def offered(ctx: CheckContext, status: int, code: str | None) -> Iterator[Operation]:
    """The operations of the run's contract that document `status` with `code`, and the target offers."""
    for op in ctx.operations:
        if op.operation_id not in ctx.left_out and documents(ctx.operations, op, status, code):
            yield op


def documents(operations: OperationIndex, op: Operation, status: int, code: str | None) -> bool:
    """Whether `op` documents the answer `status` with `code` (the codes its response's examples name)."""
    response = op.responses().get(str(status))
    if response is None:
        return False
    return code is None or code in response_codes(operations.spec, response)


@dataclass(slots=True, frozen=True)
class Parameter:
    name: str
    location: str  # "path" or "query"
    schema: dict[str, Any]


def parameters(operations: OperationIndex, op: Operation) -> list[Parameter]:
    """The operation's parameters (its path item's too), their schemas resolved."""
    item = operations.spec["paths"][op.path]
    found = []
    for raw in [*item.get("parameters", []), *op.definition.get("parameters", [])]:
        parameter = operations.resolve_ref(raw)
        schema = operations.resolve_ref(parameter.get("schema", {}))
        found.append(Parameter(str(parameter["name"]), str(parameter["in"]), dict(schema)))
    return found


def _content(operations: OperationIndex, op: Operation) -> tuple[str, dict[str, Any]]:
    content = operations.resolve_ref(op.definition["requestBody"])["content"]
    media_type, media = next(iter(content.items()))
    return str(media_type), dict(media)


def body_media_type(operations: OperationIndex, op: Operation) -> str:
    """The media type the contract sends the body as ("application/json; charset=utf-8")."""
    return _content(operations, op)[0]


def request_model(operations: OperationIndex, op: Operation) -> str:
    """The body's model as `strategies` names it: its components/schemas name, or the operationId if inline."""
    schema = _content(operations, op)[1].get("schema", {})
    ref = schema.get("$ref") if isinstance(schema, dict) else None
    return str(ref).rsplit("/", 1)[-1] if ref else op.operation_id


def never_existed(schema: dict[str, Any], rng: Random) -> object:
    """A value of the parameter's schema that no server handed out: an integer from the top half of its
    range, or the schema's example with its longest letters-and-digits run drawn again (32 or more
    characters in this contract), still matching the schema's pattern."""
    if schema.get("type") == "integer":
        top = int(schema.get("maximum", _INT_TOPS.get(str(schema.get("format")), 2**31 - 1)))
        return rng.randrange(max(int(schema.get("minimum", 1)), top // 2), top)
    example = schema.get("example")
    if schema.get("type") == "string" and isinstance(example, str) and _ALPHANUMERIC.search(example):
        run = max(_ALPHANUMERIC.finditer(example), key=lambda match: len(match[0]))
        drawn = "".join(_same_class(char, rng) for char in run[0])
        value = example[: run.start()] + drawn + example[run.end() :]
        pattern = schema.get("pattern")
        if (pattern is None or re.search(str(pattern), value)) and len(value) <= int(schema.get("maxLength", 10**6)):
            return value
    raise UndecidedRequirement(f"cannot build a value that never existed for the parameter schema {schema}")


def _same_class(char: str, rng: Random) -> str:
    for alphabet in (string.ascii_lowercase, string.ascii_uppercase, string.digits):
        if char in alphabet:
            return rng.choice(alphabet)
    return char


# --- stages: what a body needs before it is judged on its content ---------------------------------------
# A request that creates something the contract allows only once (an address on one account) gets a value
# no run used; any other staging request is the contract's own example.
_UNIQUE_BODIES: dict[str, Callable[[CheckContext], dict[str, Any]]] = {
    "addUserEmail": lambda ctx: {"email": ctx.unique_email()},
    "addUserPhone": lambda ctx: dict(zip(("phone_number", "country_code"), unique_phone(ctx), strict=True)),
}


@dataclass(slots=True, frozen=True)
class _Link:
    source: str  # the operation whose success answer the link starts from
    parameters: dict[str, str]  # the target's path parameter -> a runtime expression


def _links_to(operations: OperationIndex, target: str) -> list[_Link]:
    """Links to `target` from the success answer of an operation that changes something (not a read)."""
    found = []
    for op in operations:
        if op.method == "GET":
            continue
        for status, response in op.responses().items():
            if not str(status).startswith("2"):
                continue
            for link in operations.resolve_ref(response).get("links", {}).values():
                if link.get("operationId") == target:
                    found.append(_Link(op.operation_id, dict(link.get("parameters") or {})))
    return found


def needs_stage(operations: OperationIndex, op: Operation) -> bool:
    """Whether `op` takes a body and acts on another operation's answer (a link targets it): it is judged on its
    content only once that operation succeeded."""
    return op.has_body and bool(_links_to(operations, op.operation_id))


def _evaluate(expression: str, exchange: Exchange) -> object:
    """An OpenAPI runtime expression of the two forms the contract's links use: $response.body#/pointer
    and $request.body#/pointer."""
    source, _, pointer = expression.partition("#")
    node: Any = exchange.json() if source == "$response.body" else json.loads(exchange.request_body or b"null")
    for part in pointer.strip("/").split("/") if pointer.strip("/") else []:
        key = part.replace("~1", "/").replace("~0", "~")
        node = node[int(key)] if isinstance(node, list) else node[key]
    return node


@dataclass(slots=True)
class Stages:
    """For each operation, the path parameters of a state in which `user`'s well-formed request is judged on
    its content; the linked operation is sent again once a stage has taken `budget` refused requests (a
    server may count refused bodies as attempts at a code; the contract allows fewer than its limits)."""

    ctx: CheckContext
    user: User
    budget: int
    _current: dict[str, tuple[dict[str, object], int]] = field(default_factory=dict)
    sent: set[str] = field(default_factory=set)  # every operation a stage sent

    def params(self, op: Operation) -> dict[str, object]:
        """Path parameters for one more refused request to `op` (staging it first when it needs to be)."""
        if not needs_stage(self.ctx.operations, op):
            return {}
        params, used = self._current.get(op.operation_id, ({}, self.budget))
        if used >= self.budget:
            params, used = self._stage(op), 0
        self._current[op.operation_id] = (params, used + 1)
        return params

    def _stage(self, op: Operation) -> dict[str, object]:
        ctx = self.ctx
        for link in _links_to(ctx.operations, op.operation_id):
            if link.source in ctx.left_out:
                continue
            make = _UNIQUE_BODIES.get(link.source)
            body = make(ctx) if make else ctx.operations.sample_body(link.source)
            answer = ctx.call(link.source, user=self.user, json_body=body)
            self.sent.add(link.source)
            if not 200 <= answer.status < 300:
                raise UndecidedRequirement(
                    f"could not stage {op.operation_id}: {link.source} answered {ctx.actual(answer)}"
                )
            try:
                return {name: _evaluate(expression, answer) for name, expression in link.parameters.items()}
            except (KeyError, IndexError, TypeError, ValueError):
                raise UndecidedRequirement(
                    f"could not stage {op.operation_id}: {link.source}'s answer lacks what its link names"
                ) from None
        raise UndecidedRequirement(f"could not stage {op.operation_id}: the target offers no operation linked to it")

    def withdraw(self, probed: set[str]) -> None:
        """On a user that is not disposable: send the follow-ups that take nothing (no body, no parameter) which
        the contract links from the success of what was staged or probed (cancelAccountDeletion after a
        deletion request), so that nothing is left awaiting confirmation."""
        if self.user.disposable:
            return
        ops = self.ctx.operations
        follow_ups: dict[str, None] = {}
        for name in sorted(self.sent | probed):
            for status, response in ops[name].responses().items():
                if not str(status).startswith("2"):
                    continue
                for link in ops.resolve_ref(response).get("links", {}).values():
                    target = ops[str(link.get("operationId"))]
                    if not target.has_body and not parameters(ops, target) and target.method != "GET":
                        follow_ups[target.operation_id] = None
        for name in follow_ups:
            if name not in self.ctx.left_out:
                self.ctx.call(name, user=self.user)
