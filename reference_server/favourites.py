"""Favourite products (FAVOURITE-DUPLICATE, PAGINATION, OWNER-SCOPE)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import hooks
from .auth import Authenticator
from .clock import format_timestamp
from .errors import ApiError
from .hooks import Lookup
from .state import ServerState
from .validation import Fields
from .web import INT64_MAX, endpoint, json_response, page_params, path_id, read_json_object

__all__ = ["Favourites"]

_CACHE_TTL_S = 30.0


class Favourites:
    def __init__(self, state: ServerState, auth: Authenticator) -> None:
        self._state = state
        self._auth = auth
        # Pages answered, by (user, page, per_page): read only when a behaviour turns the cache on.
        self._cache: dict[tuple[int, int, int], tuple[float, dict[str, Any]]] = {}

    def routes(self) -> list[Route]:
        return [
            Route("/favourites", endpoint(self.add), methods=["POST"]),
            Route("/favourites", endpoint(self.list), methods=["GET"]),
            Route("/favourites/{id}", endpoint(self.remove), methods=["DELETE"]),
        ]

    async def add(self, request: Request) -> Response:
        user_id = self._auth.require_user(request)
        fields = Fields(await read_json_object(request))
        product_id = fields.integer("product_id", minimum=1, maximum=INT64_MAX)
        fields.finish()
        allow_duplicate = self._state.at(hooks.FAVOURITE_ADD_ALLOWS_DUPLICATE, False)
        async with self._state.db.stepwise() as step:
            conn = step.conn
            exists = conn.execute(
                "SELECT 1 FROM favourites WHERE user_id = ? AND product_id = ?", (user_id, product_id)
            ).fetchone()
            if exists and not allow_duplicate:
                raise ApiError(409, "already_exists", "The product is already a favourite.")
            await step.pause(self._state.at(hooks.FAVOURITE_ADD_RACE_WINDOW_S, 0.0))
            conn.execute(
                "INSERT INTO favourites (user_id, product_id, created_at) VALUES (?, ?, ?)",
                (user_id, product_id, self._state.clock.now()),
            )
        return json_response(
            {"message": "Product added to favourites."}, self._state.at(hooks.FAVOURITE_ADD_STATUS, 201)
        )

    async def list(self, request: Request) -> Response:
        user_id = self._auth.require_user(request)
        out_of_range = self._state.at(hooks.FAVOURITE_LIST_OUT_OF_RANGE_STATUS, 422)
        page = page_params(request, self._state.limits, out_of_range_status=out_of_range)
        newest_first = self._state.at(hooks.FAVOURITE_LIST_NEWEST_FIRST, False)
        lookup = self._state.at(hooks.FAVOURITE_LIST_LOOKUP, Lookup())
        cached = self._state.at(hooks.FAVOURITE_LIST_CACHED, False)
        now = self._state.clock.now()
        key = (user_id, page.number, page.size)
        if cached and key in self._cache and self._cache[key][0] > now:
            return json_response(self._cache[key][1])
        owner = "1" if lookup.any_owner else "user_id = ?"
        args: tuple[int, ...] = () if lookup.any_owner else (user_id,)
        with self._state.db.transaction() as conn:
            total = int(conn.execute(f"SELECT COUNT(*) FROM favourites WHERE {owner}", args).fetchone()[0])
            rows = (
                []
                if page.offset >= total
                else conn.execute(
                    f"SELECT * FROM favourites WHERE {owner} ORDER BY id {'DESC' if newest_first else 'ASC'}"
                    " LIMIT ? OFFSET ?",
                    (*args, page.size, page.offset),
                ).fetchall()
            )
        items = [
            {"id": r["id"], "product_id": r["product_id"], "created_at": format_timestamp(r["created_at"])}
            for r in rows
        ]
        body = page.envelope(items, total)
        if cached:
            self._cache[key] = (now + _CACHE_TTL_S, body)
        return json_response(body)

    async def remove(self, request: Request) -> Response:
        """`id` is the product id: adding a favourite returns no favourite id."""
        user_id = self._auth.require_user(request)
        product_id = path_id(request, "id")
        lookup = self._state.at(hooks.FAVOURITE_REMOVE_LOOKUP, Lookup())
        with self._state.db.transaction() as conn:
            cursor = conn.execute(
                "DELETE FROM favourites WHERE product_id = ? AND (user_id = ? OR ?)",
                (product_id, user_id, lookup.any_owner),
            )
            if cursor.rowcount == 0:
                raise self._state.at(hooks.FAVOURITE_REMOVE_MISSING, ApiError.not_found("Favourite"))
        return json_response({"message": "Product removed from favourites."})
