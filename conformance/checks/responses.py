"""SCHEMA: every answer the run saw, from any check, matches what the spec documents.

These requirements observe: they judge the exchanges every other check made (the
Schemathesis fuzzing included), so they run last. Schemathesis' own verdicts for the
same properties are merged in by checks/schemathesis_engine.py.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Callable

from conformance.checks._edge_inputs import send_edge_inputs
from conformance.checks.auth import ALL_OPERATIONS
from conformance.checks.schemathesis_engine import run_schemathesis
from conformance.context import CheckContext
from conformance.failures import SkipRequirement, UndecidedRequirement
from conformance.requirements import Level, requirement
from conformance.response_validation import ResponseValidator, Verdict
from conformance.target import Exchange

_PER_OPERATION = 3  # failures shown per operation; the rest are counted, not repeated


def _validator(ctx: CheckContext) -> ResponseValidator:
    return ctx.once("response-validator", lambda: ResponseValidator(ctx.operations))


def _observe(
    ctx: CheckContext, requirement_id: str, problem: Callable[[Exchange, Verdict], str | None], expected: str, hint: str
) -> None:
    # Schemathesis' traffic is judged too, even when only SCHEMA-* requirements were selected;
    # if it could not run, its own requirements say why and the rest of the traffic is still judged.
    with contextlib.suppress(UndecidedRequirement, SkipRequirement):
        run_schemathesis(ctx)
    if not any(exchange.operation_id for exchange in ctx.exchanges):
        raise UndecidedRequirement("no answer of any operation reached the suite, so there was nothing to judge")
    validator = _validator(ctx)
    shown: Counter[str] = Counter()
    for exchange in list(ctx.exchanges):
        if exchange.operation_id is None:
            continue
        op = ctx.operations[exchange.operation_id]
        headers = {name.lower(): value for name, value in exchange.headers.items()}
        verdict = validator.judge(op, exchange.status, headers, exchange.body)
        found = problem(exchange, verdict)
        if found and shown[op.operation_id] < _PER_OPERATION:
            shown[op.operation_id] += 1
            ctx.fail(operation=op.operation_id, expected=expected, actual=found, hint=hint, exchange=exchange)
    for failure in ctx.memo.get("schemathesis-failures", {}).get(requirement_id, []):
        if shown[failure.operation] < _PER_OPERATION:
            shown[failure.operation] += 1
            ctx.failures.append(failure)


@requirement(
    "SCHEMA-NO-SERVER-ERROR",
    level=Level.MUST,
    area="schema",
    title="No request makes the server fail (5xx)",
    cites=("spec:/info/description",),
    operations=ALL_OPERATIONS,
    observes=True,
)
def no_server_error(ctx: CheckContext) -> None:
    """Sends edge input (longest and non-ASCII strings), then judges every answer of the run: none is a 5xx."""
    send_edge_inputs(ctx)
    _observe(
        ctx,
        "SCHEMA-NO-SERVER-ERROR",
        lambda ex, _: f"{ex.status} {ctx.redactor.body(ex.body)[:200]}" if ex.status >= 500 else None,
        "a 2xx or a documented 4xx answer",
        "Validate input and handle edge values instead of failing",
    )


@requirement(
    "SCHEMA-STATUS-DOCUMENTED",
    level=Level.MUST,
    area="schema",
    title="Every status code is documented",
    cites=("spec:/info/description",),
    operations=ALL_OPERATIONS,
    observes=True,
)
def status_documented(ctx: CheckContext) -> None:
    """Judges every answer of the run: its status is one the operation documents."""
    _observe(
        ctx,
        "SCHEMA-STATUS-DOCUMENTED",
        lambda ex, v: (
            None
            if v.documented or ex.status >= 500
            else f"status {ex.status}; documented: {', '.join(v.documented_statuses)}"
        ),
        "a status the operation documents",
        "Answer with a documented status or document the new one",
    )


@requirement(
    "SCHEMA-CONTENT-TYPE",
    level=Level.MUST,
    area="schema",
    title="Every answer has the documented content type",
    cites=("spec:/paths/~1users~1me/get/responses/200/content",),
    operations=ALL_OPERATIONS,
    observes=True,
)
def content_type_documented(ctx: CheckContext) -> None:
    """Judges every answer of the run: its Content-Type is the documented media type."""
    _observe(
        ctx,
        "SCHEMA-CONTENT-TYPE",
        lambda _, v: v.content_type_problem or None,
        "application/json; charset=utf-8",
        "Send Content-Type: application/json; charset=utf-8",
    )


@requirement(
    "SCHEMA-RESPONSE-HEADERS",
    level=Level.MUST,
    area="schema",
    title="Documented required headers are present",
    cites=(
        "spec:/components/responses/Unauthorized/headers",
        "spec:/components/responses/TooManyRequests/headers",
        "spec:/paths/~1user~1emails/post/responses/201/headers",
    ),
    operations=ALL_OPERATIONS,
    observes=True,
)
def headers_documented(ctx: CheckContext) -> None:
    """Judges every answer of the run: each header its response declares required is present."""
    _observe(
        ctx,
        "SCHEMA-RESPONSE-HEADERS",
        lambda _, v: "; ".join(v.header_problems) or None,
        "every required response header",
        "Send the headers the response documents as required",
    )


@requirement(
    "SCHEMA-RESPONSE-BODY",
    level=Level.MUST,
    area="schema",
    title="Every body matches its documented schema",
    cites=("seed:getMyProfile", "spec:/components/schemas"),
    operations=ALL_OPERATIONS,
    observes=True,
)
def body_documented(ctx: CheckContext) -> None:
    """Judges every answer of the run: a JSON body validates against the documented schema."""
    _observe(
        ctx,
        "SCHEMA-RESPONSE-BODY",
        lambda _, v: v.body_problem or None,
        "a body that validates against the documented schema",
        "Return every required field with its documented type",
    )


REQUIREMENTS = (no_server_error, status_documented, content_type_documented, headers_documented, body_documented)
