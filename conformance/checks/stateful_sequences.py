"""Create-then-use and delete-then-use, for every resource the API creates and deletes, in every run.

Schemathesis' stateful phase follows the contract's links at random: whether a walk reaches a successful
DELETE and then uses the deleted item depends on the seed and the ids the server hands out. These
sequences do it on purpose, once per run, for each resource (email addresses, phone numbers, favourites,
FCM tokens): create it, use it through every operation that takes its id (STATEFUL-RESOURCE-AVAILABLE:
none may answer 404), delete it, then use it again through each of them, the delete included
(STATEFUL-USE-AFTER-FREE: 404 not_found each). Schemathesis' random walks add to what they judge.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from conformance.checks.lifecycles._support import unique_fcm_token, unique_phone, unique_product
from conformance.context import CheckContext
from conformance.failures import FailureDetail
from conformance.target import Exchange
from conformance.users import User

__all__ = ["RESOURCES", "RESOURCE_AVAILABLE", "USE_AFTER_FREE", "Resource", "run_sequences"]

USE_AFTER_FREE = "STATEFUL-USE-AFTER-FREE"
RESOURCE_AVAILABLE = "STATEFUL-RESOURCE-AVAILABLE"
_WRONG_TOKEN = {"token": "000000"}  # any well-formed token: the answer judged is whether the item exists


@dataclass(slots=True, frozen=True)
class Resource:
    """One deletable resource: how it is created, the path parameter that names it, what uses it."""

    name: str
    create: str
    body: Callable[[CheckContext], dict[str, Any]]
    param: str
    key: Callable[[dict[str, Any], dict[str, Any]], Any]  # (request body, answer) -> the path parameter's value
    uses: tuple[tuple[str, dict[str, Any] | None], ...]  # operations that take the id, with their body
    delete: str


def _email(ctx: CheckContext) -> dict[str, Any]:
    return {"email": ctx.unique_email()}


def _phone(ctx: CheckContext) -> dict[str, Any]:
    number, region = unique_phone(ctx)
    return {"phone_number": number, "country_code": region}


def _product(ctx: CheckContext) -> dict[str, Any]:
    return {"product_id": unique_product(ctx)}


def _token(ctx: CheckContext) -> dict[str, Any]:
    return {"fcm_token": unique_fcm_token(ctx), "platform": "android"}


RESOURCES: tuple[Resource, ...] = (
    Resource(
        "email address",
        "addUserEmail",
        _email,
        "email_id",
        lambda sent, got: got.get("id"),
        (("getUserEmail", None), ("verifyUserEmail", _WRONG_TOKEN), ("setPrimaryUserEmail", None)),
        "removeUserEmail",
    ),
    Resource(
        "phone number",
        "addUserPhone",
        _phone,
        "phone_id",
        lambda sent, got: got.get("id"),
        (("getUserPhone", None), ("verifyUserPhone", _WRONG_TOKEN), ("setPrimaryUserPhone", None)),
        "removeUserPhone",
    ),
    Resource(
        "favourite",
        "addFavouriteProduct",
        _product,
        "id",
        lambda sent, got: sent["product_id"],
        (),
        "removeFavouriteProduct",
    ),
    Resource(
        "FCM token",
        "registerFcmToken",
        _token,
        "fcm_token",
        lambda sent, got: sent["fcm_token"],
        (),
        "unregisterFcmToken",
    ),
)


@dataclass(slots=True)
class SequenceFindings:
    """What the sequences found, per requirement (read by both requirements from one run)."""

    failures: dict[str, list[FailureDetail]] = field(default_factory=dict)
    judged: dict[str, int] = field(default_factory=dict)  # answers each requirement judged
    requests: int = 0  # what the sequences sent (user set-up aside)


def run_sequences(ctx: CheckContext) -> SequenceFindings:
    """Every resource's sequence, once per run (the first requirement to ask runs them)."""
    return ctx.once("stateful-sequences", lambda: _run(ctx.for_requirement("stateful-sequences")))


def _run(ctx: CheckContext) -> SequenceFindings:
    findings = SequenceFindings()
    user = ctx.disposable_user() if ctx.factory is not None else ctx.user_a
    before = ctx.client.sent
    for resource in RESOURCES:
        if resource.create in ctx.left_out:
            continue  # a group the target leaves out (--not-implemented)
        _one(ctx, findings, user, resource)
    findings.requests = ctx.client.sent - before
    return findings


def _one(ctx: CheckContext, findings: SequenceFindings, user: User, resource: Resource) -> None:
    sent = resource.body(ctx)
    created = ctx.call(resource.create, user=user, json_body=sent)
    if not 200 <= created.status < 300:
        return  # no item to judge: the create's own answer is judged by the lifecycle and schema checks
    body = created.json()
    value = resource.key(sent, body if isinstance(body, dict) else {})
    if value is None:
        return
    params = {resource.param: value}

    def use(operation: str, json_body: dict[str, Any] | None) -> Exchange:
        return ctx.call(operation, user=user, path_params=params, **({"json_body": json_body} if json_body else {}))

    for operation, json_body in resource.uses:
        answer = use(operation, json_body)
        _judge(ctx, findings, RESOURCE_AVAILABLE, answer, available=True, what=f"a {resource.name} just created")
    removed = use(resource.delete, None)
    if not 200 <= removed.status < 300:
        return  # not deleted (a protected primary, or a server that refuses): nothing to use after free
    for operation, json_body in (*resource.uses, (resource.delete, None)):
        answer = use(operation, json_body)
        _judge(ctx, findings, USE_AFTER_FREE, answer, available=False, what=f"a {resource.name} deleted")


def _judge(
    ctx: CheckContext, findings: SequenceFindings, requirement_id: str, answer: Exchange, *, available: bool, what: str
) -> None:
    findings.judged[requirement_id] = findings.judged.get(requirement_id, 0) + 1
    body = answer.json()
    code = body.get("code") if isinstance(body, dict) else None
    if available:
        ok = answer.status != 404
        expected = f"{what} is there: any answer but 404"
    else:
        ctx.expectations.required(requirement_id, answer.operation_id, 404, "not_found")
        ok = answer.status == 404 and code == "not_found"
        expected = f"{what}: 404 not_found"
    if ok:
        return
    failure = FailureDetail(
        operation=answer.operation_id or answer.path,
        expected=ctx.redactor.text(expected),
        actual=ctx.redactor.text(ctx.actual(answer)),
        hint="A deleted resource must answer 404 afterwards" if not available else "A created resource must be usable",
        curl=answer.curl,
        request_number=answer.sequence,
    )
    findings.failures.setdefault(requirement_id, []).append(failure)
    ctx.sightings.saw(requirement_id, request_number=answer.sequence, expected=failure.expected, actual=failure.actual)
