"""HTTP plumbing shared by every handler: JSON responses, body and parameter parsing."""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from . import hooks
from .errors import ApiError, FieldProblem, SeededServerError
from .hooks import Refusal

if TYPE_CHECKING:
    from .contract import Limits
    from .state import ServerState

__all__ = [
    "JSON_MEDIA_TYPE",
    "Page",
    "endpoint",
    "error_response",
    "json_response",
    "page_params",
    "path_id",
    "read_json_object",
    "refused",
]

JSON_MEDIA_TYPE = "application/json; charset=utf-8"
INT64_MAX = 2**63 - 1
INT32_MAX = 2**31 - 1  # `page` is an int32 in the contract
_log = logging.getLogger("reference_server")
_DIGITS = re.compile(r"^[0-9]+$")
_SIGNED_INT = re.compile(r"^[+-]?[0-9]+$")
_CONVERTER = re.compile(r"{(\w+):\w+}")  # Starlette's "{filename:path}" is the contract's "{filename}"

Handler = Callable[[Request], Awaitable[Response]]


def json_response(
    payload: Any,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    media_type: str = JSON_MEDIA_TYPE,
) -> Response:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(body, status_code=status, headers=dict(headers or {}), media_type=media_type)


def error_response(error: ApiError) -> Response:
    payload: dict[str, Any] = {"code": error.code, "message": error.message}
    if error.details:
        payload["details"] = [{"field": p.field, "message": p.message} for p in error.details]
    return json_response(payload, error.status, error.headers)


def endpoint(handler: Handler) -> Handler:
    """Turn refusals into ErrorResponses and make sure no bug ever leaks as a 500."""

    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except ApiError as error:
            return error_response(refused(request, error))
        except SeededServerError:
            return json_response({"code": "internal_error", "message": "Internal server error."}, 500)
        except Exception:
            # Log the handler only: bodies, headers and even paths (FCM tokens) may carry secrets.
            _log.exception("unhandled error in %s", handler.__qualname__)
            return error_response(ApiError.malformed("The request could not be processed."))

    wrapped.__name__ = handler.__name__
    return wrapped


def refused(request: Request, error: ApiError) -> ApiError:
    """The answer a refused request gets: `error` as raised, unless a behaviour answers its route otherwise."""
    state: ServerState | None = getattr(request.app.state, "server", None)
    path = getattr(request.scope.get("route"), "path", None)
    if state is None or not isinstance(path, str):
        return error
    refusal = Refusal(request.method, _CONVERTER.sub(r"{\1}", path))
    return state.at(hooks.WEB_REFUSED_ANSWER, error, refusal)


async def read_json_object(request: Request) -> dict[str, Any]:
    """The request body as a JSON object: 415 for another media type, 400 when unparseable."""
    content_type = request.headers.get("content-type", "")
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type != "application/json" and not (
        media_type.startswith("application/") and media_type.endswith("+json")
    ):
        raise ApiError(415, "unsupported_media_type", "Send the body as application/json; charset=utf-8.")
    raw = await request.body()
    try:
        parsed = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ApiError.malformed("The body is not valid JSON.") from exc
    if not isinstance(parsed, dict):
        raise ApiError.malformed("The body must be a JSON object.")
    return parsed


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def path_id(request: Request, name: str) -> int:
    """An int64 id path parameter: 400 when not an integer, 404 when below 1 (no such resource)."""
    raw = str(request.path_params[name])
    if not _SIGNED_INT.match(raw):
        raise ApiError.malformed(f"Path parameter {name} must be an integer.")
    value = int(raw)
    if value > INT64_MAX or value < -INT64_MAX - 1:
        raise ApiError.malformed(f"Path parameter {name} must be a 64-bit integer.")
    if value < 1:
        raise ApiError.not_found()
    return value


@dataclass(slots=True, frozen=True)
class Page:
    number: int
    size: int

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    def envelope(self, items: Sequence[Any], total: int) -> dict[str, Any]:
        return {
            "items": list(items),
            "page": self.number,
            "per_page": self.size,
            "total": total,
            "total_pages": math.ceil(total / self.size),
        }


def page_params(
    request: Request, limits: Limits, *, out_of_range_status: int = 422, defaults: tuple[int, int] | None = None
) -> Page:
    """`page` (>= 1, default 1) and `per_page` (1..per_page_max, default per_page_default).

    400 when they are not integers, `out_of_range_status` (the contract's 422) when out of range.
    `defaults` replaces (1, per_page_default) for absent parameters (a hook of the caller decides it).
    """
    default_page, default_size = defaults if defaults is not None else (1, limits.per_page_default)
    number = _int_query(request, "page", default_page)
    size = _int_query(request, "per_page", default_size)
    problems = []
    if not 1 <= number <= INT32_MAX:
        problems.append(FieldProblem("page", f"must be between 1 and {INT32_MAX}"))
    if not 1 <= size <= limits.per_page_max:
        problems.append(FieldProblem("per_page", f"must be between 1 and {limits.per_page_max}"))
    if problems:
        code = "validation_failed" if out_of_range_status == 422 else "malformed_request"
        raise ApiError(out_of_range_status, code, "Pagination parameters are out of range.", tuple(problems))
    return Page(number, size)


def _int_query(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not _SIGNED_INT.match(raw):
        raise ApiError.malformed(f"Query parameter {name} must be an integer.")
    return int(raw)


def is_digits(text: str) -> bool:
    return bool(_DIGITS.match(text))
