"""Shared helpers for the strategies tests (imported by basename, like rs_helpers)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import yaml
from hypothesis import HealthCheck, Phase, find, settings
from hypothesis.strategies import SearchStrategy
from openapi_schema_validator import OAS30ReadValidator, OAS30Validator, OAS30WriteValidator, oas30_format_checker

T = TypeVar("T")

# A moderate budget keeps the whole strategies run well under a minute. No deadline: the first
# draw for a phone region compiles that region's patterns, and the schema validations of
# 100-item pages are slow enough to trip Hypothesis' 200 ms default now and then.
checked = settings(max_examples=40, deadline=None, database=None)
few = settings(max_examples=15, deadline=None, database=None)


def find_any(strategy: SearchStrategy[T], condition: Callable[[T], Any], *, max_examples: int = 1000) -> T:
    """The first example satisfying ``condition``, without shrinking (as Hypothesis' own
    ``tests.common.debug.find_any``). Fails the test with NoSuchExample when none turns up."""
    return find(
        strategy,
        condition,
        settings=settings(
            max_examples=max_examples,
            database=None,
            phases=(Phase.explicit, Phase.generate),
            # Conditions that are rare on purpose would otherwise trip the filter health check.
            suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
        ),
    )


# ---- The contract, for validating what the strategies draw -----------------------------------
ROOT = Path(__file__).resolve().parents[2]
SPEC: dict[str, Any] = yaml.safe_load((ROOT / "spec" / "openapi.yaml").read_text(encoding="utf-8"))
SCHEMAS: dict[str, Any] = SPEC["components"]["schemas"]


def inline(node: Any) -> Any:
    """The schema with every local $ref replaced by its target (the contract has no cycles)."""
    if isinstance(node, dict):
        if "$ref" in node:
            return inline(SCHEMAS[node["$ref"].rsplit("/", 1)[1]])
        return {key: inline(value) for key, value in node.items()}
    if isinstance(node, list):
        return [inline(item) for item in node]
    return node


def validator(schema: dict[str, Any], *, direction: str) -> Any:
    """An OpenAPI 3.0 validator for ``schema`` ($refs inlined) that checks formats too. ``direction``
    is "request" (readOnly members may be left out, writeOnly ones are required) or "response"."""
    kind = {"request": OAS30WriteValidator, "response": OAS30ReadValidator, "any": OAS30Validator}[direction]
    return kind(inline(schema), format_checker=oas30_format_checker)


def operations() -> list[dict[str, Any]]:
    return [op for item in SPEC["paths"].values() for op in item.values() if isinstance(op, dict)]


def model_name(schema: dict[str, Any], operation: dict[str, Any]) -> str:
    """How the strategies name a body: its components/schemas name, or the operationId when inline."""
    return schema["$ref"].rsplit("/", 1)[1] if "$ref" in schema else operation["operationId"]
