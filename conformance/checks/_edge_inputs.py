"""Edge input: the longest and the non-ASCII value of every string field an operation accepts.

Such values are where servers fail (column sizes, encodings); any answer but a 5xx is fine,
so the answers are judged by SCHEMA-NO-SERVER-ERROR with the rest of the run's traffic.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from conformance.checks._samples import sample_path_parameters
from conformance.context import CheckContext

NON_ASCII_TEXT = "Zoë Ünïcødé 東京 🙂"
NON_ASCII_EMAIL = "zoë.ünïcødé@exämple.com"


def _longest(prop: dict[str, Any]) -> str:
    length = int(prop.get("maxLength", 256))
    if prop.get("format") == "email":
        local = "a" * 64
        labels = []
        remaining = length - len(local) - 1 - 4  # "@" and ".com"
        while remaining > 1:
            label = "b" * min(63, remaining - 1)
            labels.append(label)
            remaining -= len(label) + 1
        return f"{local}@{'.'.join(labels)}.com"[:length]
    return "A" * length


def edge_bodies(ctx: CheckContext, operation_id: str) -> Iterator[tuple[str, Any]]:
    """(description, body) pairs: the spec's sample body with one string field pushed to an edge."""
    base = ctx.operations.sample_body(operation_id)
    if not isinstance(base, dict):
        return
    op = ctx.operations[operation_id]
    content = ctx.operations.resolve_ref(op.definition["requestBody"])["content"]
    schema = ctx.operations.resolve_ref(next(iter(content.values())).get("schema", {}))
    for name, prop in schema.get("properties", {}).items():
        prop = ctx.operations.resolve_ref(prop)
        if prop.get("type") != "string" or "enum" in prop:
            continue
        yield f"{name} at its maximum length", {**base, name: _longest(prop)}
        text = NON_ASCII_EMAIL if prop.get("format") == "email" else NON_ASCII_TEXT
        yield f"{name} with non-ASCII characters", {**base, name: text}


def send_edge_inputs(ctx: CheckContext) -> None:
    """Send every edge body once as user A (answers are recorded for the observers)."""
    ctx.once("edge-inputs", lambda: _send(ctx))


def _send(ctx: CheckContext) -> bool:
    for op in ctx.operations:
        if not op.has_body or op.operation_id == "deleteAccount" or op.operation_id in ctx.left_out:
            continue  # a password is never guessed at, even at an edge; a left-out operation is never sent
        for _, body in edge_bodies(ctx, op.operation_id):
            ctx.call(
                op.operation_id, user=ctx.user_a, path_params=sample_path_parameters(op.path_parameters), json_body=body
            )
    return True
