"""Small typed body validation: collect every problem, then refuse once with 422.

Unknown keys are ignored on purpose (MASS-ASSIGNMENT): handlers only ever read
the fields they declare here.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from typing import Any

from .errors import ApiError, FieldProblem

__all__ = ["Fields"]


class Fields:
    """Typed accessors over a JSON object; call `finish()` before using the values."""

    def __init__(self, body: Mapping[str, Any], prefix: str = "") -> None:
        self._body = body
        self._prefix = prefix
        self._problems: list[FieldProblem] = []

    def problem(self, name: str, message: str) -> None:
        self._problems.append(FieldProblem(self._prefix + name, message))

    def _present(self, name: str, required: bool) -> bool:
        if name in self._body and self._body[name] is not None:
            return True
        if required:
            self.problem(name, "is required")
        return False

    def string(
        self,
        name: str,
        *,
        min_length: int = 0,
        max_length: int | None = None,
        pattern: re.Pattern[str] | None = None,
        choices: tuple[str, ...] | None = None,
        required: bool = True,
    ) -> str:
        if not self._present(name, required):
            return ""
        value = self._body[name]
        if not isinstance(value, str):
            self.problem(name, "must be a string")
            return ""
        if len(value) < min_length:
            self.problem(name, f"must have at least {min_length} characters")
        elif max_length is not None and len(value) > max_length:
            self.problem(name, f"must have at most {max_length} characters")
        elif choices is not None and value not in choices:
            self.problem(name, f"must be one of {', '.join(choices)}")
        elif pattern is not None and not pattern.fullmatch(value):
            self.problem(name, f"must match {pattern.pattern}")
        return value

    def integer(self, name: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
        if not self._present(name, True):
            return 0
        value = self._body[name]
        # JSON true/false are bools in Python, and bool is an int subclass: refuse them.
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(name, "must be an integer")
            return 0
        if minimum is not None and value < minimum:
            self.problem(name, f"must be >= {minimum}")
        elif maximum is not None and value > maximum:
            self.problem(name, f"must be <= {maximum}")
        return value

    def object(self, name: str) -> Fields:
        """A nested object's fields; problems are reported as `name.child`."""
        if not self._present(name, True):
            return _Nested({}, self, name)
        value = self._body[name]
        if not isinstance(value, dict):
            self.problem(name, "must be an object")
            return _Nested({}, self, name)
        return _Nested(value, self, name)

    def base64(self, name: str, *, required: bool = True) -> bytes:
        text = self.string(name, min_length=1, required=required)
        if not text:
            return b""
        try:
            return base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            self.problem(name, "must be base64")
            return b""

    def names(self) -> list[str]:
        return list(self._body)

    def raw(self, name: str) -> Any:
        return self._body.get(name)

    def finish(self) -> None:
        if self._problems:
            raise ApiError.validation(tuple(self._problems))


class _Nested(Fields):
    """Reports problems into the parent so one 422 lists everything."""

    def __init__(self, body: Mapping[str, Any], parent: Fields, name: str) -> None:
        super().__init__(body, prefix=f"{parent._prefix}{name}.")
        self._problems = parent._problems
