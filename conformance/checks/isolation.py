"""BOLA (OWASP API1): user B never reads, changes or removes user A's resources.

For every operation that takes an owner-scoped id, B gets exactly the answer a non-existent id
gets, and that answer is the documented 404 not_found (status and code); A's resource is unchanged
afterwards. Fresh unverified contacts are probed, and verified and primary ones (BOLA-CONTACT-VERIFIED).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from conformance.checks._flows import MISSING_ID, add_email, add_favourite, add_phone, ready_export
from conformance.checks.lifecycles._support import read_all
from conformance.context import CheckContext
from conformance.failures import UndecidedRequirement
from conformance.requirements import CheckFunction, Level, Need, Requirement, requirement
from conformance.target import Exchange
from conformance.users import User

_CITES = ("rule:OWNER-SCOPE", "spec:/components/responses/NotFound")
_HINT = "Scope every lookup by the authenticated user, and answer a foreign id like a missing one"


def _same_as_missing(ctx: CheckContext, foreign: Exchange, missing: Exchange) -> None:
    """OWNER-SCOPE: another user's id is "answered exactly like a missing one (404 not_found)": both are required."""
    ctx.require_answer(foreign, 404, code="not_found", what="user B sends user A's id", hint=_HINT)
    ctx.require_answer(missing, 404, code="not_found", what="user B sends an id that never existed", hint=_HINT)


def _unchanged(
    ctx: CheckContext, operation_id: str, owner: User, read: str, params: dict[str, Any], before: dict[str, Any]
) -> None:
    after = ctx.call(read, user=owner, path_params=params)
    now = after.json() if isinstance(after.json(), dict) else {}
    # Only fields both answers carry: a field missing altogether is a schema failure, judged elsewhere. A primary
    # that is no longer primary is not B's doing (B's make-default would promote, its removal gives 404): on a
    # shared user A another check may have made another contact primary meanwhile.
    changed = [
        key
        for key in before
        if key in now and now[key] != before[key] and not (key == "is_primary" and before[key] is True)
    ]
    if after.status != 200 or changed:
        ctx.fail(
            operation=operation_id,
            expected="user A's resource unchanged after user B's attempt",
            actual=f"user A now reads {ctx.actual(after)}",
            hint=_HINT,
            exchange=after,
        )


def _page_holding(ctx: CheckContext, operation_id: str, user: User, key: str, value: object) -> Exchange | None:
    """The page of `user`'s list that holds an item whose `key` is `value` (every page is read), or None."""
    most = ctx.limits.per_page_max
    for page in range(1, 1000):
        exchange = ctx.call(operation_id, user=user, params={"page": page, "per_page": most})
        body = exchange.json()
        items = body.get("items") if isinstance(body, dict) and exchange.status == 200 else None
        if not isinstance(items, list):
            raise UndecidedRequirement(f"cannot read every page of {operation_id}: {ctx.actual(exchange)}")
        if any(isinstance(item, dict) and item.get(key) == value for item in items):
            return exchange
        if len(items) < most:
            return None
    return None


def _contact_probe(ctx: CheckContext, kind: str, operations: tuple[str, ...]) -> None:
    owner, intruder = ctx.user_a, ctx.second_user()
    resource = add_email(ctx, owner) if kind == "email" else add_phone(ctx, owner)
    param, read = f"{kind}_id", f"getUser{kind.capitalize()}"
    for operation_id in operations:
        body = {"token": "000000"} if operation_id.startswith("verify") else None
        foreign = ctx.call(operation_id, user=intruder, path_params={param: resource["id"]}, json_body=body)
        missing = ctx.call(operation_id, user=intruder, path_params={param: MISSING_ID}, json_body=body)
        _same_as_missing(ctx, foreign, missing)
        _unchanged(ctx, operation_id, owner, read, {param: resource["id"]}, resource)


def _contact_requirement(
    id: str, *, noun: str, verb: str, operations: tuple[str, ...]
) -> Callable[[CheckFunction], Requirement]:
    return requirement(
        id,
        level=Level.MUST,
        area="isolation",
        title=f"Another user cannot {verb} a user's {noun}",
        cites=_CITES,
        operations=operations,
        needs=(Need.SECOND_USER,),
    )


@_contact_requirement("BOLA-EMAIL-READ", noun="email address", verb="read", operations=("getUserEmail",))
def email_read_is_scoped(ctx: CheckContext) -> None:
    """User A adds an email address; user B reads its id and a missing id."""
    _contact_probe(ctx, "email", ("getUserEmail",))


@_contact_requirement(
    "BOLA-EMAIL-CHANGE", noun="email address", verb="change", operations=("verifyUserEmail", "setPrimaryUserEmail")
)
def email_change_is_scoped(ctx: CheckContext) -> None:
    """User A adds an email address; user B verifies it and makes it primary, and the same on a missing id."""
    _contact_probe(ctx, "email", ("verifyUserEmail", "setPrimaryUserEmail"))


@_contact_requirement("BOLA-EMAIL-REMOVE", noun="email address", verb="remove", operations=("removeUserEmail",))
def email_removal_is_scoped(ctx: CheckContext) -> None:
    """User A adds an email address; user B removes its id and a missing id."""
    _contact_probe(ctx, "email", ("removeUserEmail",))


@_contact_requirement("BOLA-PHONE-READ", noun="phone number", verb="read", operations=("getUserPhone",))
def phone_read_is_scoped(ctx: CheckContext) -> None:
    """User A adds a phone number; user B reads its id and a missing id."""
    _contact_probe(ctx, "phone", ("getUserPhone",))


@_contact_requirement(
    "BOLA-PHONE-CHANGE", noun="phone number", verb="change", operations=("verifyUserPhone", "setPrimaryUserPhone")
)
def phone_change_is_scoped(ctx: CheckContext) -> None:
    """User A adds a phone number; user B verifies it and makes it primary, and the same on a missing id."""
    _contact_probe(ctx, "phone", ("verifyUserPhone", "setPrimaryUserPhone"))


@_contact_requirement("BOLA-PHONE-REMOVE", noun="phone number", verb="remove", operations=("removeUserPhone",))
def phone_removal_is_scoped(ctx: CheckContext) -> None:
    """User A adds a phone number; user B removes its id and a missing id."""
    _contact_probe(ctx, "phone", ("removeUserPhone",))


@requirement(
    "BOLA-LIST-SCOPE",
    level=Level.MUST,
    area="isolation",
    title="Lists show only the caller's own resources",
    cites=("rule:OWNER-SCOPE", "seed:listUserEmails", "seed:listUserPhones", "seed:listFavouriteProducts"),
    operations=("listUserEmails", "listUserPhones", "listFavouriteProducts"),
    needs=(Need.SECOND_USER,),
)
def lists_are_scoped(ctx: CheckContext) -> None:
    """User A adds an email, a phone and a favourite; none of them appears in user B's lists."""
    intruder = ctx.second_user()
    email, phone = add_email(ctx, ctx.user_a), add_phone(ctx, ctx.user_a)
    product = add_favourite(ctx, ctx.user_a)
    for operation_id, key, value in (
        ("listUserEmails", "id", email["id"]),
        ("listUserPhones", "id", phone["id"]),
        ("listFavouriteProducts", "product_id", product),
    ):
        page = _page_holding(ctx, operation_id, intruder, key, value)
        if page is not None:
            ctx.fail(
                operation=operation_id,
                expected="user A's item absent from every page of user B's list",
                actual=f"user B's list holds user A's {key} {value}",
                hint=_HINT,
                exchange=page,
            )


@requirement(
    "BOLA-FAVOURITE-REMOVE",
    level=Level.MUST,
    area="isolation",
    title="Another user cannot remove a user's favourite",
    cites=_CITES,
    operations=("removeFavouriteProduct",),
    needs=(Need.SECOND_USER,),
)
def favourite_removal_is_scoped(ctx: CheckContext) -> None:
    """User A favourites a product; user B removes that product id and a missing one; A still has it."""
    owner, intruder = ctx.user_a, ctx.second_user()
    product = add_favourite(ctx, owner)
    foreign = ctx.call("removeFavouriteProduct", user=intruder, path_params={"id": product})
    missing = ctx.call("removeFavouriteProduct", user=intruder, path_params={"id": MISSING_ID})
    _same_as_missing(ctx, foreign, missing)
    if _page_holding(ctx, "listFavouriteProducts", owner, "product_id", product) is None:
        ctx.fail(
            operation="removeFavouriteProduct",
            expected="user A's favourite still listed",
            actual="it is gone from every page of user A's list",
            hint=_HINT,
            exchange=foreign,
        )


@requirement(
    "BOLA-FCM-UNREGISTER",
    level=Level.MUST,
    area="isolation",
    title="Another user cannot unregister a user's FCM token",
    cites=_CITES,
    operations=("unregisterFcmToken", "registerFcmToken"),
    needs=(Need.SECOND_USER,),
)
def fcm_unregister_is_scoped(ctx: CheckContext) -> None:
    """User A registers a token; user B unregisters it and a missing one; A can still unregister it."""
    owner, intruder = ctx.user_a, ctx.second_user()
    token = ctx.unique("fcm_") + "A" * 40
    ctx.expect_status(
        ctx.call("registerFcmToken", user=owner, json_body={"fcm_token": token, "platform": "android"}),
        {200, 201},
        what="user A registers an FCM token",
    )
    foreign = ctx.call("unregisterFcmToken", user=intruder, path_params={"fcm_token": token})
    missing = ctx.call("unregisterFcmToken", user=intruder, path_params={"fcm_token": ctx.unique("fcm_missing_")})
    _same_as_missing(ctx, foreign, missing)
    ctx.expect_status(
        ctx.call("unregisterFcmToken", user=owner, path_params={"fcm_token": token}),
        200,
        what="user A can still unregister its own token",
        hint=_HINT,
    )


@requirement(
    "BOLA-EXPORT-DOWNLOAD",
    level=Level.MUST,
    area="isolation",
    title="Another user cannot download a user's data export",
    cites=("rule:EXPORT-OWNER-ONLY", "seed:downloadExport"),
    operations=("downloadExport", "requestDataExport", "confirmDataExport", "getGdprStatus"),
    needs=(Need.SECOND_USER, Need.INBOX),
)
def export_download_is_scoped(ctx: CheckContext) -> None:
    """User A completes an export; user B downloads its filename and a missing one; A still can."""
    owner, intruder = ctx.user_a, ctx.second_user()
    filename = ready_export(ctx, owner)
    foreign = ctx.call("downloadExport", user=intruder, path_params={"filename": filename})
    missing_name = "kesk-export-" + ctx.unique("x").ljust(43, "x")[:43] + ".json"
    missing = ctx.call("downloadExport", user=intruder, path_params={"filename": missing_name})
    _same_as_missing(ctx, foreign, missing)
    ctx.expect_status(
        ctx.call("downloadExport", user=owner, path_params={"filename": filename}),
        200,
        what="user A downloads its own export",
    )


def _verified_contacts(ctx: CheckContext, owner: User) -> list[tuple[str, dict[str, Any]]]:
    """The owner's verified primary email, and (with an SMS inbox) a phone number it verified: (kind, resource)."""
    emails = [item for item in read_all(ctx, "listUserEmails", owner) if item.get("is_primary") is True]
    if not emails or emails[0].get("is_verified") is not True:
        raise UndecidedRequirement("user A has no verified primary email to probe")
    chosen: list[tuple[str, dict[str, Any]]] = [("email", emails[0])]
    if ctx.reads("sms"):
        phone = add_phone(ctx, owner)
        token = ctx.code(channel="sms", address=str(phone["phone_number"]), purpose="phone_verification")
        verified = ctx.call(
            "verifyUserPhone", user=owner, path_params={"phone_id": phone["id"]}, json_body={"token": token}
        )
        if verified.status != 200 or not isinstance(verified.json(), dict):
            raise UndecidedRequirement(f"could not verify a phone number to probe: {ctx.actual(verified)}")
        chosen.append(("phone", verified.json()))
    return chosen


@requirement(
    "BOLA-CONTACT-VERIFIED",
    level=Level.MUST,
    area="isolation",
    title="Another user cannot read, change or remove a user's verified or primary contacts",
    cites=_CITES,
    operations=(
        "getUserEmail",
        "verifyUserEmail",
        "setPrimaryUserEmail",
        "removeUserEmail",
        "getUserPhone",
        "verifyUserPhone",
        "setPrimaryUserPhone",
        "removeUserPhone",
    ),
    needs=(Need.SECOND_USER,),
)
def verified_contacts_are_scoped(ctx: CheckContext) -> None:
    """User A's verified primary email (and, with an SMS inbox, a phone number A verified): user B reads, verifies,
    makes primary and removes each, and a missing id: 404 not_found each time, and A's contact is unchanged."""
    owner = ctx.disposable_user() if ctx.factory is not None else ctx.user_a
    intruder = ctx.second_user()
    for kind, resource in _verified_contacts(ctx, owner):
        noun = kind.capitalize()
        param = f"{kind}_id"
        for operation_id in (f"getUser{noun}", f"verifyUser{noun}", f"setPrimaryUser{noun}", f"removeUser{noun}"):
            body = {"token": "000000"} if operation_id.startswith("verify") else None
            foreign = ctx.call(operation_id, user=intruder, path_params={param: resource["id"]}, json_body=body)
            missing = ctx.call(operation_id, user=intruder, path_params={param: MISSING_ID}, json_body=body)
            _same_as_missing(ctx, foreign, missing)
            _unchanged(ctx, operation_id, owner, f"getUser{noun}", {param: resource["id"]}, resource)


REQUIREMENTS = (
    email_read_is_scoped,
    email_change_is_scoped,
    email_removal_is_scoped,
    phone_read_is_scoped,
    phone_change_is_scoped,
    phone_removal_is_scoped,
    verified_contacts_are_scoped,
    lists_are_scoped,
    favourite_removal_is_scoped,
    fcm_unregister_is_scoped,
    export_download_is_scoped,
)
