"""Validate the contract and summarise it: what `kesk-conformance spec` prints."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance._spec import SpecError, load_spec

HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


@dataclass(slots=True, frozen=True)
class OperationSummary:
    operation_id: str
    method: str
    path: str
    statuses: tuple[str, ...]


@dataclass(slots=True, frozen=True)
class SpecSummary:
    title: str
    version: str
    servers: tuple[str, ...]
    operations: tuple[OperationSummary, ...]
    schemas: int
    assumptions: int
    rules: int


def _count_assumptions(node: Any) -> int:
    """Elements the spec proposes beyond the upstream reference (x-kesk-source: assumption)."""
    if isinstance(node, dict):
        own = 1 if node.get("x-kesk-source") == "assumption" else 0
        return own + sum(_count_assumptions(value) for value in node.values())
    if isinstance(node, list):
        return sum(_count_assumptions(item) for item in node)
    return 0


def summarise(path: Path | None = None) -> SpecSummary:
    """Validate the document with openapi-spec-validator and collect its outline."""
    document = load_spec(path)
    try:
        from openapi_spec_validator import validate
    except ImportError:  # the validator is a test extra; the outline is still useful without it
        pass
    else:
        try:
            validate(document)
        except Exception as exc:  # the validator raises several unrelated types
            first = str(exc).splitlines()[0]
            raise SpecError(f"the spec is not valid OpenAPI: {first}") from None
    operations = []
    for route, item in document["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                op = item[method]
                operations.append(
                    OperationSummary(op.get("operationId", "?"), method.upper(), route, tuple(op.get("responses", {})))
                )
    info = document.get("info", {})
    return SpecSummary(
        title=str(info.get("title", "")),
        version=str(info.get("version", "")),
        servers=tuple(str(server.get("url", "")) for server in document.get("servers", [])),
        operations=tuple(sorted(operations, key=lambda op: op.operation_id)),
        schemas=len(document.get("components", {}).get("schemas", {})),
        assumptions=_count_assumptions(document),
        rules=len(document.get("x-kesk-rules", [])),
    )


def status_histogram(summary: SpecSummary) -> Counter[str]:
    return Counter(status for op in summary.operations for status in op.statuses)
