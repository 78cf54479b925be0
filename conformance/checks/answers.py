"""ANSWER: every documented refusal a request provokes without state, required of every operation that documents it.

The reach comes from the contract, never from a list: for each operation that documents 400 malformed_request,
415 unsupported_media_type, 422 validation_failed or 404 not_found (the codes in its responses' examples), a
request is built so that the contract answers exactly that, from what the operation takes (its body's media
type and model, its parameters' schemas) and what it acts on (the OpenAPI links: `_contract_requests.Stages`).
Each answer is required (`ctx.require_answer`: coverage.expectations), and every operation is probed, so one
run shows every operation that answers otherwise.

Bodies go to a user of their own where the factory gives one (a refused body changes nothing; one a server
wrongly accepts must not change user A); parameters and ids that never existed go to user A.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator
from functools import cache
from typing import Any
from urllib.parse import urlencode

from hypothesis.errors import InvalidArgument

from conformance.checks._contract_requests import (
    Stages,
    body_media_type,
    documents,
    never_existed,
    offered,
    parameters,
    request_model,
)
from conformance.checks._drawn import draw_each
from conformance.checks._samples import sample_path_parameters
from conformance.context import CheckContext
from conformance.contract import bundled_contract
from conformance.operations import Operation, OperationIndex
from conformance.requirements import Level, requirement
from conformance.target import Exchange
from conformance.users import User
from strategies import Invalid, invalid_request_bodies

__all__ = ["REQUIREMENTS", "schema_refusals"]

_NOT_OBJECTS = (b"null", b"true", b"1", b'"kesk"')  # every kind of JSON value but an object (and an array, below)
_WRONG_TYPES = ("kesk", "1.5")  # path and query values an integer parameter cannot be read as
_OTHER_MEDIA_TYPES = ("text/plain; charset=utf-8", "application/x-www-form-urlencoded")


def _reach(status: int, code: str) -> tuple[str, ...]:
    """The operations of the bundled contract that document this answer: the requirement's declared reach."""
    operations = OperationIndex(bundled_contract().document)
    return tuple(op.operation_id for op in operations if documents(operations, op, status, code))


def _body_user(ctx: CheckContext) -> User:
    return ctx.disposable_user() if ctx.factory is not None else ctx.user_a


def _stages(ctx: CheckContext, user: User) -> Stages:
    # Fewer refused requests per staged code than the contract's attempt limits allow wrong codes.
    budget = min(ctx.limits.verification_token_max_attempts, ctx.limits.otp_max_attempts) - 1
    return Stages(ctx, user, max(1, budget))


def _send_body(
    ctx: CheckContext, op: Operation, user: User, stages: Stages, content: bytes, media_type: str
) -> Exchange:
    path_params = sample_path_parameters(op.path_parameters, **stages.params(op))
    return ctx.call(
        op.operation_id, user=user, path_params=path_params, content=content, headers={"Content-Type": media_type}
    )


# --- 400 malformed_request -------------------------------------------------------------------------------------

_HINT_400 = "Answer 400 malformed_request to a request that cannot be read, before judging what it asks"


def _unreadable_bodies(sample: Any) -> Iterator[tuple[str, bytes]]:
    """(what, body): JSON that cannot be parsed, then JSON of every kind but an object."""
    text = json.dumps(sample)
    yield "a body cut short (unparseable JSON)", text[:-1].encode()
    fields = sample if isinstance(sample, dict) and sample else {"value": 1}
    with_nan = {**fields, next(iter(fields)): float("nan")}
    yield "a body holding NaN, which is not JSON", json.dumps(with_nan).encode()
    for body in (*_NOT_OBJECTS, f"[{text}]".encode()):
        yield f"a JSON body that is not an object: {body.decode()[:16]}", body


@requirement(
    "ANSWER-400-MALFORMED",
    level=Level.MUST,
    area="answers",
    title="A request that cannot be read is refused with 400 malformed_request",
    cites=("spec:/info/description", "spec:/components/responses/BadRequest"),
    operations=_reach(400, "malformed_request"),
)
def unreadable_requests_are_refused(ctx: CheckContext) -> None:
    """To every operation that documents 400 malformed_request: a body cut short, one holding NaN, and JSON of
    every kind but an object (each where a well-formed body would be judged: staged through the contract's
    links); every integer path or query parameter as a word and as a fraction (with the example body)."""
    user = _body_user(ctx)
    stages = _stages(ctx, user)
    probed: set[str] = set()
    for op in offered(ctx, 400, "malformed_request"):
        if op.has_body:
            probed.add(op.operation_id)
            media_type = body_media_type(ctx.operations, op)
            for what, body in _unreadable_bodies(ctx.operations.sample_body(op.operation_id)):
                exchange = _send_body(ctx, op, user, stages, body, media_type)
                ctx.require_answer(exchange, 400, code="malformed_request", what=what, hint=_HINT_400)
        for parameter in parameters(ctx.operations, op):
            if parameter.schema.get("type") != "integer":
                continue
            for value in _WRONG_TYPES:
                path_params = sample_path_parameters(op.path_parameters)
                query: dict[str, object] = {}
                (path_params if parameter.location == "path" else query)[parameter.name] = value
                exchange = ctx.call(
                    op.operation_id,
                    user=ctx.user_a,
                    path_params=path_params,
                    params=query or None,
                    json_body=ctx.operations.sample_body(op.operation_id),
                )
                what = f"the {parameter.location} parameter {parameter.name}={value}, not {parameter.schema['type']}"
                ctx.require_answer(exchange, 400, code="malformed_request", what=what, hint=_HINT_400)
    stages.withdraw(probed)


# --- 415 unsupported_media_type --------------------------------------------------------------------------------

_HINT_415 = "Answer 415 unsupported_media_type to a body whose Content-Type is not application/json"


def _as_form(sample: Any) -> bytes:
    fields = sample if isinstance(sample, dict) else {"value": sample}
    return urlencode({k: v if isinstance(v, str) else json.dumps(v) for k, v in fields.items()}).encode()


@requirement(
    "ANSWER-415-MEDIA-TYPE",
    level=Level.MUST,
    area="answers",
    title="A body not sent as application/json is refused with 415 unsupported_media_type",
    cites=("spec:/components/responses/UnsupportedMediaType",),
    operations=_reach(415, "unsupported_media_type"),
)
def other_media_types_are_refused(ctx: CheckContext) -> None:
    """To every operation that documents 415 unsupported_media_type: its example body as text/plain (the JSON
    text) and as a form (application/x-www-form-urlencoded), where a JSON body would be judged."""
    user = _body_user(ctx)
    stages = _stages(ctx, user)
    probed: set[str] = set()
    for op in offered(ctx, 415, "unsupported_media_type"):
        probed.add(op.operation_id)
        sample = ctx.operations.sample_body(op.operation_id)
        for media_type in _OTHER_MEDIA_TYPES:
            body = _as_form(sample) if media_type.endswith("urlencoded") else json.dumps(sample).encode()
            exchange = _send_body(ctx, op, user, stages, body, media_type)
            what = f"the example body sent as {media_type.split(';')[0]}"
            ctx.require_answer(exchange, 415, code="unsupported_media_type", what=what, hint=_HINT_415)
    stages.withdraw(probed)


# --- 422 validation_failed -------------------------------------------------------------------------------------

_HINT_422 = "Answer 422 validation_failed to well-formed JSON that breaks the schema, naming the fields in details"


@cache
def _drawn(model: str, seed_value: int) -> tuple[Invalid, ...]:
    return tuple(draw_each(invalid_request_bodies(model), seed_value=seed_value))


def schema_refusals(model: str, seed_value: int) -> list[Invalid]:
    """`strategies`' invalid bodies of `model` that the contract answers 422 validation_failed: JSON objects
    refused by the schema or by a constraint a description of the contract states (`spec:` rules), one or two
    per kind of defect. Left out: bodies that are no object (400), and those refused by a named rule with codes
    of its own (NFC-VALIDATION) or by an external standard validators check to different depths (RFC 5322)."""
    try:
        drawn = _drawn(model, seed_value)
    except InvalidArgument:
        return []  # a model strategies does not know: no body is sent, and the gap shows in coverage
    chosen: dict[str, Invalid] = {}
    for item in drawn:
        if isinstance(item.body, dict) and (item.rule is None or item.rule.startswith("spec:")):
            chosen.setdefault(json.dumps(item.body, sort_keys=True), item)
    return list(chosen.values())


@requirement(
    "ANSWER-422-VALIDATION",
    level=Level.MUST,
    area="answers",
    title="Well-formed JSON that breaks the schema, or a page out of range, is refused with 422 validation_failed",
    cites=("spec:/info/description", "spec:/components/responses/ValidationFailed", "rule:PAGINATION"),
    operations=_reach(422, "validation_failed"),
)
def schema_violations_are_refused(ctx: CheckContext) -> None:
    """To every operation that documents 422 validation_failed: `strategies`' invalid bodies of its model that
    the schema refuses, one or two per kind of defect (where a valid body would be judged), and every integer
    query parameter one below its minimum and one above its maximum."""
    user = _body_user(ctx)
    stages = _stages(ctx, user)
    probed: set[str] = set()
    for op in offered(ctx, 422, "validation_failed"):
        if op.has_body:
            probed.add(op.operation_id)
            media_type = body_media_type(ctx.operations, op)
            model = request_model(ctx.operations, op)
            for invalid in schema_refusals(model, zlib.crc32(f"{ctx.seed}:{model}".encode())):
                exchange = _send_body(ctx, op, user, stages, json.dumps(invalid.body).encode(), media_type)
                ctx.require_answer(exchange, 422, code="validation_failed", what=invalid.reason, hint=_HINT_422)
        for parameter in parameters(ctx.operations, op):
            if parameter.location != "query" or parameter.schema.get("type") != "integer":
                continue
            bounds = (("minimum", -1), ("maximum", 1))
            for key, step in bounds:
                if key in parameter.schema:
                    value = int(parameter.schema[key]) + step
                    exchange = ctx.call(op.operation_id, user=ctx.user_a, params={parameter.name: value})
                    what = f"the query parameter {parameter.name}={value}, out of range"
                    ctx.require_answer(exchange, 422, code="validation_failed", what=what, hint=_HINT_422)
    stages.withdraw(probed)


# --- 404 not_found ---------------------------------------------------------------------------------------------

_HINT_404 = "Answer 404 not_found to an id or filename the user does not have, exactly as to another user's"


@requirement(
    "ANSWER-404-NOT-FOUND",
    level=Level.MUST,
    area="answers",
    title="An id or filename that never existed is answered 404 not_found",
    cites=("spec:/components/responses/NotFound", "rule:OWNER-SCOPE"),
    operations=_reach(404, "not_found"),
)
def missing_resources_are_not_found(ctx: CheckContext) -> None:
    """To every operation that documents 404 not_found: each path parameter a value of its schema no server
    handed out (an integer from the top of its range; the example's random part drawn again), with the
    example body where the operation takes one."""
    for op in offered(ctx, 404, "not_found"):
        path_parameters = [item for item in parameters(ctx.operations, op) if item.location == "path"]
        if not path_parameters:
            continue
        values = {item.name: never_existed(item.schema, ctx.rng) for item in path_parameters}
        exchange = ctx.call(
            op.operation_id, user=ctx.user_a, path_params=values, json_body=ctx.operations.sample_body(op.operation_id)
        )
        what = ", ".join(f"{name} {value} that never existed" for name, value in values.items())
        ctx.require_answer(exchange, 404, code="not_found", what=what, hint=_HINT_404)


REQUIREMENTS = (
    unreadable_requests_are_refused,
    other_media_types_are_refused,
    schema_violations_are_refused,
    missing_resources_are_not_found,
)
