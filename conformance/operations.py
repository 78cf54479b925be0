"""The spec's operations: resolve a request to its operationId and build sample requests."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

HTTP_METHODS = ("get", "put", "post", "delete", "patch")


@dataclass(slots=True, frozen=True)
class Operation:
    operation_id: str
    method: str  # upper case
    path: str  # template, relative to the base URL, e.g. /user/emails/{email_id}
    definition: dict[str, Any]

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def path_parameters(self) -> tuple[str, ...]:
        return tuple(re.findall(r"{(\w+)}", self.path))

    @property
    def has_body(self) -> bool:
        return "requestBody" in self.definition

    def responses(self) -> dict[str, Any]:
        return dict(self.definition.get("responses", {}))

    def url_path(self, **params: object) -> str:
        def fill(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in params:
                raise KeyError(f"{self.operation_id} needs the path parameter {name!r}")
            return quote(str(params[name]), safe="")

        return re.sub(r"{(\w+)}", fill, self.path)


class OperationIndex:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self._by_id: dict[str, Operation] = {}
        self._routes: list[tuple[str, re.Pattern[str], Operation]] = []
        for path, item in spec["paths"].items():
            for method in HTTP_METHODS:
                if method in item:
                    op = Operation(item[method]["operationId"], method.upper(), path, item[method])
                    self._by_id[op.operation_id] = op
                    pattern = re.compile("^" + re.sub(r"\\{\w+\\}", "[^/]+", re.escape(path)) + "$")
                    self._routes.append((op.method, pattern, op))
        # literal segments beat parameters: /user/emails/x/verify before /user/emails/{id}
        self._routes.sort(key=lambda route: route[2].path.count("{"))

    def __getitem__(self, operation_id: str) -> Operation:
        return self._by_id[operation_id]

    def __iter__(self) -> Any:
        return iter(sorted(self._by_id.values(), key=lambda op: op.operation_id))

    def ids(self) -> list[str]:
        return sorted(self._by_id)

    def resolve(self, method: str, path: str) -> Operation | None:
        for route_method, pattern, op in self._routes:
            if route_method == method.upper() and pattern.match(path):
                return op
        return None

    def resolve_ref(self, node: Any) -> Any:
        while isinstance(node, dict) and "$ref" in node:
            target: Any = self.spec
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part]
            node = target
        return node

    def schema(self, name: str) -> dict[str, Any]:
        return dict(self.spec["components"]["schemas"][name])

    def sample(self, schema: Any) -> Any:
        """A value for a schema built from the spec's own examples (documented, valid data)."""
        schema = self.resolve_ref(schema)
        if "example" in schema:
            return copy.deepcopy(schema["example"])
        if schema.get("type") == "object" or "properties" in schema:
            return {
                name: self.sample(prop)
                for name, prop in schema.get("properties", {}).items()
                if not self.resolve_ref(prop).get("readOnly")
            }
        if "enum" in schema:
            return schema["enum"][0]
        if schema.get("type") == "array":
            return [self.sample(schema.get("items", {}))]
        return {"integer": 1, "number": 1, "boolean": True, "string": "x"}.get(schema.get("type", "string"))

    def sample_body(self, operation_id: str) -> Any:
        op = self[operation_id]
        if not op.has_body:
            return None
        content = self.resolve_ref(op.definition["requestBody"])["content"]
        media = next(iter(content.values()))
        if "example" in media:
            return copy.deepcopy(media["example"])
        return self.sample(media.get("schema", {}))
