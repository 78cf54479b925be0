"""Favourite products and FCM device tokens: add/register, list, remove/unregister, duplicates, missing ones.

The machine acts as user A; the list of favourites must equal its model after every step.
FCM tokens have no list operation, so the model is judged through unregistering (200 for a
registered token, 404 for an unknown or already unregistered one).
"""

from __future__ import annotations

import contextlib

from hypothesis import strategies as st
from hypothesis.stateful import Bundle, consumes, initialize, invariant, rule

from conformance.checks.lifecycles._base import Lifecycle, MachineSpec, owned
from conformance.checks.lifecycles._support import read_all, unique_fcm_token, unique_product
from conformance.checks.lifecycles.contacts import PAGINATION_BOUNDS, PAGINATION_DEFAULTS, judge_page_defaults
from conformance.context import CheckContext
from conformance.failures import UndecidedRequirement
from conformance.requirements import Sharing
from conformance.target import Exchange

__all__ = ["FAVOURITES_AND_DEVICES", "FavouritesAndDevicesLifecycle"]

_PLATFORMS = st.sampled_from(["ios", "android", "web"])


class FavouritesAndDevicesLifecycle(Lifecycle):
    favourites = Bundle("favourites")
    fcm_tokens = Bundle("fcm_tokens")

    def __init__(self, ctx: CheckContext) -> None:
        super().__init__(ctx)
        # A user of its own where a factory exists: its list model holds only while nobody else writes to it.
        self.user = ctx.disposable_user() if ctx.factory is not None else ctx.user_a
        self.products = {int(item["product_id"]) for item in read_all(ctx, "listFavouriteProducts", self.user)}
        self.mine: set[int] = set()
        self.devices: dict[str, str] = {}  # token -> platform

    def teardown(self) -> None:
        """Removes the favourites and tokens this machine added (best effort)."""
        with contextlib.suppress(UndecidedRequirement):
            for product in sorted(self.mine & self.products):
                self.send("removeFavouriteProduct", user=self.user, path_params={"id": product})
            for token in self.devices:
                self.send("unregisterFcmToken", user=self.user, path_params={"fcm_token": token})

    @initialize()
    def every_clause_once(self) -> None:
        """Each stated clause once per example, whatever steps Hypothesis draws later: add, add again (409),
        remove, remove again and a never-favourited product (404), two more that stay (an order to judge);
        register, register again (another platform), unregister, unregister again and an unknown token (404)."""
        product = self.add_favourite()
        self.add_duplicate(product)
        self.remove_favourite(product)
        self.remove_missing_favourite()
        for _ in range(2):  # two favourites stay: every list after this has an order to judge
            self.add_favourite()
        token = self.register("android")
        self.register_again(token, "ios")
        self.unregister(token)
        self.unregister_unknown()

    @initialize()
    def page_bounds(self) -> None:
        """GET /favourites with page 0 and 1 and per_page 0, 1, the maximum and one past it: out of range is
        422 validation_failed, in range a page that echoes per_page. Every bound once per run, never drawn."""
        most = self.ctx.limits.per_page_max

        def every_bound() -> bool:
            for page in (0, 1):
                for per_page in (0, 1, most, most + 1):
                    self.one_page_bound(page, per_page)
            return True

        self.ctx.once("pagination-bounds:favourites", every_bound)

    @initialize()
    def page_defaults(self) -> None:
        """GET /favourites without page and per_page, once per run: page 1 with the contract's per_page_default."""
        self.ctx.once(
            "pagination-defaults:favourites", lambda: judge_page_defaults(self, "listFavouriteProducts", self.user)
        )

    @initialize()
    def token_moves_here(self) -> None:
        """Once per run (it needs a second user): another user registers a token, then this user registers it.
        FCM-IDEMPOTENT: the token moves to this user, so the other user's unregister answers 404 (a foreign
        token) and this user's 200."""
        self.ctx.once("fcm-moves-owner", self.move_a_token_here)

    def move_a_token_here(self) -> bool:
        other = self.ctx.disposable_user() if self.ctx.factory is not None else self.ctx.user_b
        if other is None:
            self.note("(no second user: a token moving between users is not tried)")
            return True
        token = unique_fcm_token(self.ctx)
        body = {"fcm_token": token, "platform": "web"}
        self.expect_success(self.send("registerFcmToken", user=other, json_body=body), "another user's new token")
        moved = self.send("registerFcmToken", user=self.user, json_body={**body, "platform": "android"})
        self.expect_success(moved, "another user's token registered by this user (it moves here)")
        self.devices[token] = "android"
        theirs = self.send("unregisterFcmToken", user=other, path_params={"fcm_token": token})
        self.expect(
            "FCM-REGISTER",
            theirs,
            404,
            code="not_found",
            what="the former owner unregisters a token that moved to another user (foreign now)",
        )
        self.unregister(token)
        return True

    def one_page_bound(self, page: int, per_page: int) -> None:
        most = self.ctx.limits.per_page_max
        exchange = self.send("listFavouriteProducts", user=self.user, params={"page": page, "per_page": per_page})
        if page < 1 or not 1 <= per_page <= most:
            self.expect(
                PAGINATION_BOUNDS,
                exchange,
                422,
                code="validation_failed",
                what=f"page={page}, per_page={per_page} is out of range (page >= 1, per_page 1..{most})",
            )
            return
        body = self.expect(PAGINATION_BOUNDS, exchange, 200, what=f"per_page={per_page} is in range")
        items = body.get("items")
        self.check(
            PAGINATION_BOUNDS,
            isinstance(items, list) and body.get("per_page") == per_page and len(items) <= per_page,
            expected=f"a page of at most {per_page} items that echoes per_page={per_page}",
            actual=self.ctx.actual(exchange),
            exchange=exchange,
        )

    # --- favourites --------------------------------------------------------------------------------
    @rule(target=favourites)
    def add_favourite(self) -> int:
        """POST /favourites with a never-used product id: 201."""
        product = unique_product(self.ctx)
        exchange = self.send("addFavouriteProduct", user=self.user, json_body={"product_id": product})
        self.expect("FAVOURITE-LIST-MODEL", exchange, 201, what="a new favourite is added")
        self.products.add(product)
        self.mine.add(product)
        return product

    @rule(product=favourites)
    def add_duplicate(self, product: int) -> None:
        """POST /favourites again with a product already favourited: 409 already_exists."""
        exchange = self.send("addFavouriteProduct", user=self.user, json_body={"product_id": product})
        self.expect(
            "FAVOURITE-DUPLICATE",
            exchange,
            409,
            code="already_exists",
            what="a product already in the favourites is refused",
        )

    @rule(product=consumes(favourites))
    def remove_favourite(self, product: int) -> None:
        """DELETE /favourites/{product}: 200; a second DELETE of the same product: 404."""
        exchange = self.send("removeFavouriteProduct", user=self.user, path_params={"id": product})
        self.expect("FAVOURITE-LIST-MODEL", exchange, 200, what="a favourite is removed")
        self.products.discard(product)
        self.mine.discard(product)
        again = self.send("removeFavouriteProduct", user=self.user, path_params={"id": product})
        self.expect("FAVOURITE-REMOVE-MISSING", again, 404, code="not_found", what="a removed favourite is missing")

    @rule()
    def remove_missing_favourite(self) -> None:
        """DELETE /favourites/{product} for a product never favourited: 404 not_found."""
        product = unique_product(self.ctx)
        exchange = self.send("removeFavouriteProduct", user=self.user, path_params={"id": product})
        self.expect("FAVOURITE-REMOVE-MISSING", exchange, 404, code="not_found", what="a missing favourite")

    @invariant()
    def favourites_equal_model(self) -> None:
        """GET /favourites (per_page at its maximum): exactly the model's products, each once, ordered by id."""
        most = self.ctx.limits.per_page_max
        if len(self.products) > most:
            return
        exchange = self.send("listFavouriteProducts", user=self.user, params={"per_page": most})
        body = self.expect("FAVOURITE-LIST-MODEL", exchange, 200, what="the favourites list")
        listed = [item.get("product_id") for item in body.get("items", []) if isinstance(item, dict)]
        rid = "FAVOURITE-DUPLICATE" if len(listed) != len(set(listed)) else "FAVOURITE-LIST-MODEL"
        self.check(
            rid,
            sorted(map(str, listed)) == sorted(map(str, self.products)) and body.get("total") == len(self.products),
            expected=f"each favourited product exactly once: {sorted(self.products)}",
            actual=f"{sorted(map(str, listed))} (total {body.get('total')})",
            exchange=exchange,
        )
        ids = [item.get("id") for item in body.get("items", []) if isinstance(item, dict)]
        numbers = [i for i in ids if isinstance(i, int)]
        self.check(
            "FAVOURITE-LIST-MODEL",
            numbers == ids and numbers == sorted(numbers),
            expected="items ordered by id ascending (PAGINATION)",
            actual=f"the ids in the order listed: {ids}",
            exchange=exchange,
        )

    # --- FCM tokens --------------------------------------------------------------------------------
    @rule(target=fcm_tokens, platform=_PLATFORMS)
    def register(self, platform: str) -> str:
        """POST /account/fcm-tokens with a new token: 200 success."""
        token = unique_fcm_token(self.ctx)
        exchange = self.send("registerFcmToken", user=self.user, json_body={"fcm_token": token, "platform": platform})
        self.expect_success(exchange, "a new token is registered")
        self.devices[token] = platform
        return token

    @rule(token=fcm_tokens, platform=_PLATFORMS)
    def register_again(self, token: str, platform: str) -> None:
        """POST the same token again (maybe another platform): 200, idempotent."""
        exchange = self.send("registerFcmToken", user=self.user, json_body={"fcm_token": token, "platform": platform})
        self.expect_success(exchange, "registering a known token again is idempotent")
        self.devices[token] = platform

    @rule(token=consumes(fcm_tokens))
    def unregister(self, token: str) -> None:
        """DELETE /account/fcm-tokens/{token}: 200; a second DELETE: 404."""
        exchange = self.send("unregisterFcmToken", user=self.user, path_params={"fcm_token": token})
        self.expect_success(exchange, "a registered token is unregistered")
        del self.devices[token]
        again = self.send("unregisterFcmToken", user=self.user, path_params={"fcm_token": token})
        self.expect("FCM-UNREGISTER-UNKNOWN", again, 404, code="not_found", what="an unregistered token is unknown")

    @rule()
    def unregister_unknown(self) -> None:
        """DELETE /account/fcm-tokens/{token} for a token never registered: 404."""
        token = unique_fcm_token(self.ctx)
        exchange = self.send("unregisterFcmToken", user=self.user, path_params={"fcm_token": token})
        self.expect("FCM-UNREGISTER-UNKNOWN", exchange, 404, code="not_found", what="an unknown token")

    def expect_success(self, exchange: Exchange, what: str) -> None:
        body = self.expect("FCM-REGISTER", exchange, 200, what=what)
        self.check(
            "FCM-REGISTER",
            isinstance(body, dict) and body.get("success") is True,
            expected=f"{what}: GenericSuccess with success true",
            actual=self.ctx.actual(exchange),
            exchange=exchange,
        )


_FAVOURITE_LIST_MODEL = owned(
    "FAVOURITE-LIST-MODEL",
    cites=("seed:listFavouriteProducts", "rule:PAGINATION"),
    title="The favourites list equals what the user favourited",
    operations=("addFavouriteProduct", "listFavouriteProducts", "removeFavouriteProduct"),
    doc="Adds and removes favourites; after every step the list equals the model.",
)
_FAVOURITE_DUPLICATE = owned(
    "FAVOURITE-DUPLICATE",
    cites=("rule:FAVOURITE-DUPLICATE",),
    title="A product is a favourite at most once",
    operations=("addFavouriteProduct", "listFavouriteProducts"),
    doc="Adds a product already favourited: 409 already_exists, and the list shows it once.",
)
_FAVOURITE_REMOVE_MISSING = owned(
    "FAVOURITE-REMOVE-MISSING",
    cites=("seed:removeFavouriteProduct", "spec:/components/responses/NotFound"),
    title="Removing a product that is not a favourite answers 404",
    operations=("removeFavouriteProduct",),
    doc="Removes a product never favourited, and one a second time: 404 not_found.",
)
_FCM_REGISTER = owned(
    "FCM-REGISTER",
    cites=("rule:FCM-IDEMPOTENT", "seed:registerFcmToken"),
    title="Registering an FCM token succeeds and is idempotent",
    operations=("registerFcmToken", "unregisterFcmToken"),
    doc="Registers new tokens and registers them again (other platforms): 200 success each time. Registers "
    "another user's token (given a second user): it moves here, so that user's unregister answers 404.",
)
_FCM_UNREGISTER_UNKNOWN = owned(
    "FCM-UNREGISTER-UNKNOWN",
    cites=("rule:FCM-IDEMPOTENT",),
    title="Unregistering an unknown FCM token answers 404",
    operations=("unregisterFcmToken",),
    doc="Unregisters a token never registered, and one a second time: 404.",
)

FAVOURITES_AND_DEVICES = MachineSpec(
    "favourites-and-devices",
    FavouritesAndDevicesLifecycle,
    requirements=(
        _FAVOURITE_LIST_MODEL,
        _FAVOURITE_DUPLICATE,
        _FAVOURITE_REMOVE_MISSING,
        _FCM_REGISTER,
        _FCM_UNREGISTER_UNKNOWN,
        PAGINATION_BOUNDS,
        PAGINATION_DEFAULTS,
    ),
    steps=14,
    sharing=Sharing.ALONE_ON_SHARED_USERS,
)
