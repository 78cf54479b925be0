"""Favourite products (FAVOURITE-DUPLICATE, PAGINATION, OWNER-SCOPE)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import hooks
from .auth import Authenticator
from .clock import format_timestamp
from .errors import ApiError
from .state import ServerState
from .validation import Fields
from .web import INT64_MAX, endpoint, json_response, page_params, path_id, read_json_object

__all__ = ["Favourites"]


class Favourites:
    def __init__(self, state: ServerState, auth: Authenticator) -> None:
        self._state = state
        self._auth = auth

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
        with self._state.db.transaction() as conn:
            exists = conn.execute(
                "SELECT 1 FROM favourites WHERE user_id = ? AND product_id = ?", (user_id, product_id)
            ).fetchone()
            if exists and not allow_duplicate:
                raise ApiError(409, "already_exists", "The product is already a favourite.")
            conn.execute(
                "INSERT INTO favourites (user_id, product_id, created_at) VALUES (?, ?, ?)",
                (user_id, product_id, self._state.clock.now()),
            )
        return json_response(
            {"message": "Product added to favourites."}, self._state.at(hooks.FAVOURITE_ADD_STATUS, 201)
        )

    async def list(self, request: Request) -> Response:
        user_id = self._auth.require_user(request)
        page = page_params(request, self._state.limits)
        with self._state.db.transaction() as conn:
            total = int(conn.execute("SELECT COUNT(*) FROM favourites WHERE user_id = ?", (user_id,)).fetchone()[0])
            rows = (
                []
                if page.offset >= total
                else conn.execute(
                    "SELECT * FROM favourites WHERE user_id = ? ORDER BY id LIMIT ? OFFSET ?",
                    (user_id, page.size, page.offset),
                ).fetchall()
            )
        items = [
            {"id": r["id"], "product_id": r["product_id"], "created_at": format_timestamp(r["created_at"])}
            for r in rows
        ]
        return json_response(page.envelope(items, total))

    async def remove(self, request: Request) -> Response:
        """`id` is the product id: adding a favourite returns no favourite id."""
        user_id = self._auth.require_user(request)
        product_id = path_id(request, "id")
        with self._state.db.transaction() as conn:
            cursor = conn.execute("DELETE FROM favourites WHERE user_id = ? AND product_id = ?", (user_id, product_id))
            if cursor.rowcount == 0:
                raise ApiError.not_found("Favourite")
        return json_response({"message": "Product removed from favourites."})
