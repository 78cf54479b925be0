"""Favourite products and FCM device tokens: two small tables over one subject each.

Favourites: a product is not a favourite, a favourite, or removed; in each state it is added, added again
and removed, and after every step the list (at its largest page) must equal the model. Devices: a token
is unknown, registered, unregistered, or registered by another user; in each it is registered (again, on
another platform) and unregistered. Tokens have no list operation: the model is judged through the
answers (and the export, in the data-export machine). Each path acts as a fresh disposable user where a
user factory exists, else as user A (removing what it added at the end).
"""

from __future__ import annotations

import contextlib

from conformance.checks.lifecycles._base import Lifecycle, MachineSpec, owned
from conformance.checks.lifecycles._support import read_all, unique_fcm_token, unique_product
from conformance.checks.lifecycles._table import Row, Table, row
from conformance.checks.lifecycles.contacts import (
    PAGINATION_BOUNDS,
    PAGINATION_DEFAULTS,
    judge_page_defaults,
    one_page_bound,
)
from conformance.context import CheckContext
from conformance.failures import UndecidedRequirement
from conformance.requirements import Need, Sharing
from conformance.target import Exchange
from conformance.users import User

__all__ = ["DEVICES", "DEVICES_TABLE", "FAVOURITES", "FAVOURITES_TABLE", "DevicesLifecycle", "FavouritesLifecycle"]

_FAVOURITE_LIST_MODEL = owned(
    "FAVOURITE-LIST-MODEL",
    cites=("seed:listFavouriteProducts", "rule:PAGINATION"),
    title="The favourites list equals what the user favourited",
    operations=("addFavouriteProduct", "listFavouriteProducts", "removeFavouriteProduct"),
    doc="Adds, removes and adds again a favourite; after every step the list equals the model, ordered by id.",
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
    needs=[Need.SECOND_USER],
    title="Registering an FCM token succeeds and is idempotent",
    operations=("registerFcmToken", "unregisterFcmToken"),
    doc="Registers new tokens and registers them again (other platforms): 200 success each time; unregisters "
    "them (200). Registers another user's token (given a second user): it moves here, so that user's unregister "
    "answers 404.",
)
_FCM_UNREGISTER_UNKNOWN = owned(
    "FCM-UNREGISTER-UNKNOWN",
    cites=("rule:FCM-IDEMPOTENT",),
    needs=[Need.SECOND_USER],
    title="Unregistering an unknown or foreign FCM token answers 404",
    operations=("unregisterFcmToken",),
    doc="Unregisters a token never registered, one a second time and another user's: 404 not_found.",
)
_LIST, _DUPLICATE, _MISSING = _FAVOURITE_LIST_MODEL.id, _FAVOURITE_DUPLICATE.id, _FAVOURITE_REMOVE_MISSING.id
_REGISTER, _UNKNOWN = _FCM_REGISTER.id, _FCM_UNREGISTER_UNKNOWN.id
_NOT_FOUND = (404, "not_found")

FAVOURITES_TABLE = Table(
    "favourites",
    "absent",
    [
        row("absent", "add", 201, "favourite", _LIST),
        row("absent", "remove", _NOT_FOUND, "absent", _MISSING),
        row("favourite", "add_again", (409, "already_exists"), "favourite", _DUPLICATE),
        row("favourite", "remove", 200, "removed", _LIST),
        row("removed", "remove", _NOT_FOUND, "removed", _MISSING),
        row("removed", "add", 201, "favourite", _LIST),
    ],
)
DEVICES_TABLE = Table(
    "devices",
    "unknown",
    [
        row("unknown", "register", 200, "registered", _REGISTER),
        row("unknown", "unregister", _NOT_FOUND, "unknown", _UNKNOWN),
        row("unknown", "register_elsewhere", 200, "elsewhere", _REGISTER, Need.SECOND_USER),
        row("registered", "register_again", 200, "registered", _REGISTER),
        row("registered", "unregister", 200, "unregistered", _REGISTER),
        row("unregistered", "unregister", _NOT_FOUND, "unregistered", _UNKNOWN),
        row("unregistered", "register", 200, "registered", _REGISTER),
        row("elsewhere", "unregister", _NOT_FOUND, "elsewhere", _UNKNOWN),
        row("elsewhere", "register", 200, "registered", _REGISTER),
    ],
)


class FavouritesLifecycle(Lifecycle):
    table = FAVOURITES_TABLE

    def __init__(self, ctx: CheckContext) -> None:
        super().__init__(ctx)
        # A user of its own where a factory exists: its list model holds only while nobody else writes to it.
        self.user = ctx.disposable_user() if ctx.factory is not None else ctx.user_a
        self.products = {int(item["product_id"]) for item in read_all(ctx, "listFavouriteProducts", self.user)}
        self.companion = unique_product(ctx)  # a favourite beside the subject, so that every list has an order
        exchange = self.send("addFavouriteProduct", user=self.user, json_body={"product_id": self.companion})
        self.expect(_LIST, exchange, 201, what="a favourite beside the one the table follows")
        self.products.add(self.companion)
        self.subject = unique_product(ctx)
        self.removed = False
        self.once_per_run()

    def once_per_run(self) -> None:
        """GET /favourites with page 0 and 1 and per_page 0, 1, the maximum and one past it, and without page
        and per_page: every bound and the defaults once per run, never drawn."""
        most = self.ctx.limits.per_page_max

        def every_bound() -> bool:
            for page in (0, 1):
                for per_page in (0, 1, most, most + 1):
                    one_page_bound(self, "listFavouriteProducts", self.user, page, per_page)
            return True

        self.ctx.once("pagination-bounds:favourites", every_bound)
        self.ctx.once(
            "pagination-defaults:favourites", lambda: judge_page_defaults(self, "listFavouriteProducts", self.user)
        )

    def state(self) -> str:
        if self.subject in self.products:
            return "favourite"
        return "removed" if self.removed else "absent"

    def teardown(self) -> None:
        """Removes the favourites this machine added (best effort)."""
        with contextlib.suppress(UndecidedRequirement):
            for product in (self.subject, self.companion):
                if product in self.products:
                    self.send("removeFavouriteProduct", user=self.user, path_params={"id": product})

    def act_add(self, row: Row) -> None:
        """POST /favourites with the product: 201 (again after a removal)."""
        self.answer(self.send("addFavouriteProduct", user=self.user, json_body={"product_id": self.subject}))
        self.products.add(self.subject)

    def act_add_again(self, row: Row) -> None:
        """POST /favourites again with the product already favourited: 409 already_exists."""
        self.answer(self.send("addFavouriteProduct", user=self.user, json_body={"product_id": self.subject}))

    def act_remove(self, row: Row) -> None:
        """DELETE /favourites/{product}: 200 for a favourite; 404 not_found for one never added or removed."""
        exchange = self.send("removeFavouriteProduct", user=self.user, path_params={"id": self.subject})
        self.answer(exchange)
        if exchange.status == 200:
            self.products.discard(self.subject)
            self.removed = True

    def views(self, row: Row) -> None:
        """GET /favourites (per_page at its maximum): exactly the model's products, each once, ordered by id,
        each the product id sent."""
        most = self.ctx.limits.per_page_max
        if len(self.products) > most:
            return
        exchange = self.send("listFavouriteProducts", user=self.user, params={"per_page": most})
        body = self.expect(_LIST, exchange, 200, what="the favourites list")
        listed = [item.get("product_id") for item in body.get("items", []) if isinstance(item, dict)]
        rid = _DUPLICATE if len(listed) != len(set(listed)) else _LIST
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
            _LIST,
            numbers == ids and numbers == sorted(numbers),
            expected="items ordered by id ascending (PAGINATION)",
            actual=f"the ids in the order listed: {ids}",
            exchange=exchange,
        )


class DevicesLifecycle(Lifecycle):
    table = DEVICES_TABLE

    def __init__(self, ctx: CheckContext) -> None:
        super().__init__(ctx)
        self.user = ctx.disposable_user() if ctx.factory is not None else ctx.user_a
        self.token = unique_fcm_token(ctx)
        self.platform: str | None = None  # registered by this user, on this platform
        self.holder: User | None = None  # another user who registered it
        self.was_registered = False

    def state(self) -> str:
        if self.platform is not None:
            return "registered"
        if self.holder is not None:
            return "elsewhere"
        return "unregistered" if self.was_registered else "unknown"

    def teardown(self) -> None:
        """Unregisters the token (best effort), as whoever holds it."""
        holder = self.user if self.platform is not None else self.holder
        if holder is not None:
            with contextlib.suppress(UndecidedRequirement):
                self.send("unregisterFcmToken", user=holder, path_params={"fcm_token": self.token})

    def register_as(self, user: User, platform: str) -> Exchange:
        return self.send("registerFcmToken", user=user, json_body={"fcm_token": self.token, "platform": platform})

    def success(self, exchange: Exchange) -> None:
        body = self.answer(exchange)
        self.check(
            _REGISTER,
            body.get("success") is True,
            expected="GenericSuccess with success true",
            actual=self.ctx.actual(exchange),
            exchange=exchange,
        )

    def act_register(self, row: Row) -> None:
        """POST /account/fcm-tokens with the token: 200 success. Held by another user, it moves here: that
        user's unregister then answers 404 (a token foreign to them now)."""
        platform = self.ctx.rng.choice(["ios", "android", "web"])
        self.success(self.register_as(self.user, platform))
        if self.holder is not None:
            theirs = self.send("unregisterFcmToken", user=self.holder, path_params={"fcm_token": self.token})
            self.expect(
                _REGISTER, theirs, 404, code="not_found", what="the former owner unregisters a token that moved"
            )
        self.platform, self.holder, self.was_registered = platform, None, True

    def act_register_again(self, row: Row) -> None:
        """POST the registered token again on another platform: 200, idempotent."""
        platform = "web" if self.platform != "web" else "ios"
        self.success(self.register_as(self.user, platform))
        self.platform = platform

    def act_register_elsewhere(self, row: Row) -> None:
        """Another user registers the token: 200 (this user does not hold it)."""
        other = self.ctx.disposable_user() if self.ctx.factory is not None else self.ctx.second_user()
        self.success(self.register_as(other, "web"))
        self.holder = other

    def act_unregister(self, row: Row) -> None:
        """DELETE /account/fcm-tokens/{token}: 200 for a token this user holds; 404 not_found for one unknown,
        unregistered already, or another user's."""
        exchange = self.send("unregisterFcmToken", user=self.user, path_params={"fcm_token": self.token})
        self.answer(exchange)
        if exchange.status == 200:
            self.platform = None


FAVOURITES = MachineSpec(
    "favourites",
    FavouritesLifecycle,
    requirements=(
        _FAVOURITE_LIST_MODEL,
        _FAVOURITE_DUPLICATE,
        _FAVOURITE_REMOVE_MISSING,
        PAGINATION_BOUNDS,
        PAGINATION_DEFAULTS,
    ),
    table=FAVOURITES_TABLE,
    steps=8,
    sharing=Sharing.ALONE_ON_SHARED_USERS,
)
DEVICES = MachineSpec(
    "devices",
    DevicesLifecycle,
    requirements=(_FCM_REGISTER, _FCM_UNREGISTER_UNKNOWN),
    table=DEVICES_TABLE,
    steps=8,
)
