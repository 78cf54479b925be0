"""Judge one answer against the spec: documented status, content type, headers, body schema."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from openapi_schema_validator import OAS30ReadValidator

from conformance.operations import Operation, OperationIndex

JSON_MEDIA_SUFFIXES = ("/json", "+json")


def _media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


@dataclass(slots=True, frozen=True)
class Verdict:
    documented: bool
    documented_statuses: tuple[str, ...]
    content_type_problem: str = ""
    header_problems: tuple[str, ...] = ()
    body_problem: str = ""
    invariant_problems: tuple[str, ...] = ()  # x-kesk-invariants broken by an object of the body (invariants.py)


class ResponseValidator:
    def __init__(self, operations: OperationIndex) -> None:
        self.operations = operations

    def _inline(self, node: Any, depth: int = 0) -> Any:
        """The schema with every $ref replaced by its target (the contract has no recursive models)."""
        if depth > 40:
            return node
        node = self.operations.resolve_ref(node)
        if isinstance(node, dict):
            return {key: self._inline(value, depth + 1) for key, value in node.items()}
        if isinstance(node, list):
            return [self._inline(item, depth + 1) for item in node]
        return node

    @cached_property
    def _validators(self) -> dict[int, OAS30ReadValidator]:
        return {}

    def _validator(self, schema: dict[str, Any]) -> OAS30ReadValidator:
        key = id(schema)
        if key not in self._validators:
            self._validators[key] = OAS30ReadValidator(copy.deepcopy(self._inline(schema)))
        return self._validators[key]

    @staticmethod
    def response_for(op: Operation, status: int) -> tuple[str | None, Any]:
        responses = op.responses()
        for key in (str(status), f"{str(status)[0]}XX", f"{str(status)[0]}xx", "default"):
            if key in responses:
                return key, responses[key]
        return None, None

    def judge(self, op: Operation, status: int, headers: dict[str, str], body: bytes) -> Verdict:
        documented = tuple(op.responses())
        _, response = self.response_for(op, status)
        if response is None:
            return Verdict(False, documented)
        response = self.operations.resolve_ref(response)
        header_problems = []
        for name, header in response.get("headers", {}).items():
            header = self.operations.resolve_ref(header)
            if header.get("required") and name.lower() not in headers:
                header_problems.append(f"the required header {name} is missing")
        content = response.get("content") or {}
        received = headers.get("content-type", "")
        if not content:
            return Verdict(True, documented, header_problems=tuple(header_problems))
        media_types = {_media_type(media): spec for media, spec in content.items()}
        if _media_type(received) not in media_types:
            problem = f"Content-Type {received or '(none)'!r}, documented: {', '.join(content)}"
            return Verdict(True, documented, problem, tuple(header_problems))
        schema = media_types[_media_type(received)].get("schema")
        body_problem = ""
        if schema is not None and _media_type(received).endswith(JSON_MEDIA_SUFFIXES):
            try:
                value = json.loads(body)
            except ValueError:
                body_problem = "the body is not valid JSON"
            else:
                error = next(iter(self._validator(schema).iter_errors(value)), None)
                if error is not None:
                    where = "/".join(str(part) for part in error.absolute_path) or "(root)"
                    body_problem = f"at {where}: {error.message[:240]}"
        return Verdict(True, documented, "", tuple(header_problems), body_problem)
