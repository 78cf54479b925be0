"""The API's error vocabulary: one exception type that renders as an ErrorResponse."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["ApiError", "FieldProblem", "SeededServerError"]


@dataclass(slots=True, frozen=True)
class FieldProblem:
    """One entry of ErrorResponse.details."""

    field: str
    message: str


@dataclass(slots=True, eq=False)
class ApiError(Exception):
    """A refusal the contract documents; the app turns it into `{"code", "message", "details"?}`."""

    status: int
    code: str
    message: str
    details: tuple[FieldProblem, ...] = ()
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.message}"

    @classmethod
    def malformed(cls, message: str) -> ApiError:
        return cls(400, "malformed_request", message)

    @classmethod
    def validation(cls, problems: tuple[FieldProblem, ...]) -> ApiError:
        return cls(422, "validation_failed", "The request body breaks the schema.", problems)

    @classmethod
    def not_found(cls, what: str = "Resource") -> ApiError:
        return cls(404, "not_found", f"{what} not found.")

    @classmethod
    def too_many_attempts(cls, retry_after_s: int) -> ApiError:
        return cls(
            429,
            "too_many_attempts",
            "Too many wrong codes; request a new one.",
            headers={"Retry-After": str(max(1, retry_after_s))},
        )


class SeededServerError(Exception):
    """Raised only by a seeded fault: the one way a client may ever see a 500."""
