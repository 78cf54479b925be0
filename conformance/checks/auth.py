"""AUTH: every operation refuses a request that does not carry a valid bearer token."""

from __future__ import annotations

from conformance.checks._samples import sample_path_parameters
from conformance.context import CheckContext
from conformance.requirements import Level, requirement
from conformance.target import Exchange

ALL_OPERATIONS = (
    "addFavouriteProduct",
    "addUserEmail",
    "addUserPhone",
    "appCreateVerificationSession",
    "appGetVerificationStatus",
    "appSubmitNfcVerification",
    "cancelAccountDeletion",
    "confirmAccountDeletion",
    "confirmDataExport",
    "deleteAccount",
    "downloadExport",
    "getGdprStatus",
    "getMyProfile",
    "getProfileValidation",
    "getUserEmail",
    "getUserPhone",
    "listFavouriteProducts",
    "listUserEmails",
    "listUserPhones",
    "registerFcmToken",
    "removeFavouriteProduct",
    "removeUserEmail",
    "removeUserPhone",
    "requestAccountDeletion",
    "requestDataExport",
    "setPrimaryUserEmail",
    "setPrimaryUserPhone",
    "unregisterFcmToken",
    "verifyUserEmail",
    "verifyUserPhone",
)
_HINT = "Authenticate before validating input, and answer 401 with WWW-Authenticate: Bearer and an ErrorResponse"


def _judge(ctx: CheckContext, exchange: Exchange, what: str) -> None:
    if not ctx.require_answer(exchange, 401, code="unauthorized", what=what, hint=_HINT):
        return
    challenge = exchange.headers.get("www-authenticate", "")
    body = exchange.json()
    problems = []
    if not challenge.lower().startswith("bearer"):
        problems.append(f"WWW-Authenticate is {challenge!r}")
    if not isinstance(body, dict) or not {"code", "message"} <= body.keys():
        problems.append("the body is not an ErrorResponse")
    if problems:
        ctx.fail(
            operation=exchange.operation_id or exchange.path,
            expected=f"{what}: 401 with 'WWW-Authenticate: Bearer ...' and an ErrorResponse body",
            actual="; ".join(problems),
            hint=_HINT,
            exchange=exchange,
        )


def _each_operation(ctx: CheckContext, headers: dict[str, str], what: str) -> None:
    for operation_id in ALL_OPERATIONS:
        if operation_id in ctx.left_out:
            continue  # the target does not offer it (--not-implemented)
        op = ctx.operations[operation_id]
        exchange = ctx.client.call(
            operation_id,
            token=None,
            headers=headers,
            path_params=sample_path_parameters(op.path_parameters),
            json_body=ctx.operations.sample_body(operation_id),
        )
        _judge(ctx, exchange, what)


@requirement(
    "AUTH-401-MISSING",
    level=Level.MUST,
    area="auth",
    title="A request without a token is refused with 401",
    cites=("spec:/components/securitySchemes/bearerAuth", "spec:/components/responses/Unauthorized"),
    operations=ALL_OPERATIONS,
)
def missing_token_is_refused(ctx: CheckContext) -> None:
    """Sends every operation with no Authorization header."""
    _each_operation(ctx, {}, "no Authorization header")


@requirement(
    "AUTH-401-MALFORMED",
    level=Level.MUST,
    area="auth",
    title="A malformed Authorization header is refused with 401",
    cites=("spec:/components/securitySchemes/bearerAuth",),
    operations=ALL_OPERATIONS,
)
def malformed_header_is_refused(ctx: CheckContext) -> None:
    """Sends every operation with 'Bearer' and no token, then with a Basic credential."""
    for header in ("Bearer", "Basic a2VzazprZXNr"):
        _each_operation(ctx, {"Authorization": header}, f"Authorization: {header.split()[0]} (malformed)")


@requirement(
    "AUTH-401-INVALID",
    level=Level.MUST,
    area="auth",
    title="A well-formed but unknown token is refused with 401",
    cites=("spec:/components/securitySchemes/bearerAuth", "spec:/components/responses/Unauthorized"),
    operations=ALL_OPERATIONS,
)
def invalid_token_is_refused(ctx: CheckContext) -> None:
    """Sends every operation with a random bearer token that no user holds."""
    forged = ctx.unique("kesk_forged_") + "x" * 20
    ctx.redactor.add(forged)
    _each_operation(ctx, {"Authorization": f"Bearer {forged}"}, "an unknown bearer token")


REQUIREMENTS = (missing_token_is_refused, malformed_header_is_refused, invalid_token_is_refused)
