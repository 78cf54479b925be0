"""RACE-*: the contract's rules under concurrency, each tried with one synchronised burst of --race-width requests.

Each check acts as a fresh disposable user, sets up what it needs one request at a time, sends the burst
(conformance.burst: last-byte synchronisation over HTTP/1.1, one write over HTTP/2 when the target offers it),
reads the views the rule speaks of afterwards, and judges the whole history against the lifecycle's model:
it passes when some order of the requests sent at once explains every answer (conformance.history).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from conformance.checks.lifecycles._support import body_of, profile_email, read_all, unique_fcm_token
from conformance.checks.lifecycles._support import unique_phone as _unique_phone
from conformance.checks.lifecycles._support import unique_product as _unique_product
from conformance.checks.races._judge import History, Step, send_all
from conformance.checks.races.models import (
    Contact,
    ContactsModel,
    DeletionModel,
    ExportModel,
    FavouritesModel,
    FcmModel,
    Gdpr,
    abstract,
)
from conformance.context import CheckContext
from conformance.failures import UndecidedRequirement
from conformance.requirements import Level, Need, requirement
from conformance.users import User

__all__ = [
    "EMAIL",
    "PHONE",
    "REQUIREMENTS",
    "ContactKind",
    "confirmed_exports",
    "contacts_of",
    "export_model",
    "new_contact",
    "new_key",
    "open_request",
    "wrong_codes",
]

_GDPR_NEEDS = (Need.INBOX, Need.DESTRUCTIVE)


@dataclass(slots=True, frozen=True)
class ContactKind:
    name: str  # "email" or "phone"
    add: str
    list: str
    get: str
    verify: str
    primary: str
    remove: str
    id_param: str
    channel: str
    purpose: str
    profile: str  # the answer kind of getMyProfile that shows this kind's primary

    def body(self, key: str) -> dict[str, str]:
        return {"email": key} if self.name == "email" else {"phone_number": key, "country_code": "FI"}


EMAIL = ContactKind(
    "email",
    "addUserEmail",
    "listUserEmails",
    "getUserEmail",
    "verifyUserEmail",
    "setPrimaryUserEmail",
    "removeUserEmail",
    "email_id",
    "email",
    "email_verification",
    "profile_email",
)
PHONE = ContactKind(
    "phone",
    "addUserPhone",
    "listUserPhones",
    "getUserPhone",
    "verifyUserPhone",
    "setPrimaryUserPhone",
    "removeUserPhone",
    "phone_id",
    "sms",
    "phone_verification",
    "profile_phone",
)


def new_key(ctx: CheckContext, kind: ContactKind) -> str:
    """A value no earlier run added: an email address, or a Finnish mobile number in national form."""
    return ctx.unique_email() if kind is EMAIL else _unique_phone(ctx)[0]


def contacts_of(ctx: CheckContext, user: User, kind: ContactKind) -> tuple[Contact, ...]:
    """The user's contacts of one kind as the model holds them (keys of contacts the check did not add: their value)."""
    contacts = []
    for item in read_all(ctx, kind.list, user):
        value = str(item.get("email", item.get("phone_number", ""))).lower()
        contacts.append(Contact(int(item["id"]), value, value, bool(item["is_verified"]), bool(item["is_primary"])))
    return tuple(contacts)


def new_contact(ctx: CheckContext, user: User, kind: ContactKind, key: str) -> tuple[int, str]:
    """Add one contact (alone); its id and the value the server stores (where its token goes)."""
    added = ctx.call(kind.add, user=user, json_body=kind.body(key))
    body = body_of(added)
    if added.status != 201 or not isinstance(body.get("id"), int):
        raise UndecidedRequirement(f"could not add a {kind.name} to start from: {ctx.actual(added)}")
    return int(body["id"]), str(body.get("email", body.get("phone_number")))


def verified_contacts(ctx: CheckContext, user: User, kind: ContactKind, count: int) -> list[int]:
    """`count` new verified contacts, added at once and verified at once (set-up: nothing here is judged)."""
    keys = [new_key(ctx, kind) for _ in range(count)]
    adds = send_all(ctx, [Step(("add", key), "add_contact", kind.add, user, json_body=kind.body(key)) for key in keys])
    ids: list[int] = []
    tokens: list[str] = []
    for added in adds:
        body = body_of(added)
        if added.status != 201 or not isinstance(body.get("id"), int):
            raise UndecidedRequirement(f"could not add a {kind.name} to start from: {ctx.actual(added)}")
        ids.append(int(body["id"]))
        value = str(body.get("email", body.get("phone_number")))
        tokens.append(ctx.code(channel=kind.channel, address=value, purpose=kind.purpose))
    steps = [
        Step(("verify", i, True), "verify", kind.verify, user, {kind.id_param: i}, {"token": t})
        for i, t in zip(ids, tokens, strict=True)
    ]
    for verified in send_all(ctx, steps):
        if verified.status != 200:
            raise UndecidedRequirement(f"could not verify a {kind.name} to start from: {ctx.actual(verified)}")
    return ids


def open_request(ctx: CheckContext, user: User, flow: str) -> tuple[str, str]:
    """A deletion or export request awaiting its OTP: its request id and the OTP from the inbox."""
    operation, purpose = (
        ("requestAccountDeletion", "account_deletion")
        if flow == "deletion"
        else (
            "requestDataExport",
            "data_export",
        )
    )
    address = user.email or profile_email(ctx, user)
    asked = ctx.call(operation, user=user, json_body={})
    request_id = body_of(asked).get("request_id")
    if asked.status != 202 or not isinstance(request_id, str):
        raise UndecidedRequirement(f"could not open a {flow} request: {ctx.actual(asked)}")
    return request_id, ctx.code(channel="email", address=address, purpose=purpose)


def export_model(ctx: CheckContext, request_id: str, *, confirmed: int) -> ExportModel:
    """The exports' model: one request awaiting its OTP, and the exports confirmed before it."""
    initial = Gdpr(pending=request_id, confirmed=confirmed)
    return ExportModel(initial, ctx.limits.otp_max_attempts, ctx.limits.gdpr_recent_exports_max)


def confirmed_exports(ctx: CheckContext, user: User) -> int:
    """How many confirmed exports the GDPR status shows (an account may have a history)."""
    shown = ctx.call("getGdprStatus", user=user)
    read = abstract("gdpr_exports", shown)
    if shown.status != 200 or not isinstance(read, tuple) or len(read) != 3:
        raise UndecidedRequirement(f"cannot read the exports to start from: {ctx.actual(shown)}")
    return int(read[1])


def _cancel_deletion(ctx: CheckContext, user: User) -> None:
    """Nothing left scheduled on the server: the user is disposable, the deletion need not happen."""
    with contextlib.suppress(UndecidedRequirement):
        ctx.call("cancelAccountDeletion", user=user)


def wrong_codes(otp: str, count: int) -> list[str]:
    return [f"{(int(otp) + offset) % 1_000_000:06d}" for offset in range(1, count + 1)]


# --- one OTP confirmed N times at once -------------------------------------------------------------------


def _otp_once(ctx: CheckContext, flow: str) -> None:
    user = ctx.disposable_user()
    confirmed = confirmed_exports(ctx, user) if flow == "export" else 0
    request_id, otp = open_request(ctx, user, flow)
    history = History(ctx)
    if flow == "deletion":
        confirm = Step(
            ("confirm", request_id), "confirm_deletion", "confirmAccountDeletion", user, json_body={"otp": otp}
        )
        status = Step(("status",), "gdpr_deletion", "getGdprStatus", user)
        model: DeletionModel | ExportModel = DeletionModel(Gdpr(pending=request_id), ctx.limits.otp_max_attempts)
    else:
        confirm = Step(("confirm", request_id), "confirm_export", "confirmDataExport", user, json_body={"otp": otp})
        status = Step(("status",), "gdpr_exports", "getGdprStatus", user)
        model = export_model(ctx, request_id, confirmed=confirmed)
    try:
        history.burst([confirm] * ctx.race_width)
        history.then(status)
        history.judge(model, rule="rule:OTP, single use", what=f"{ctx.race_width} confirmations of one {flow} OTP")
    finally:
        if flow == "deletion":
            _cancel_deletion(ctx, user)


@requirement(
    "RACE-DELETION-OTP-ONCE",
    level=Level.MUST,
    area="races",
    title="One deletion OTP confirmed N times at once schedules one deletion",
    cites=("rule:OTP", "rule:DELETION-GRACE"),
    operations=("confirmAccountDeletion", "getGdprStatus"),
    needs=_GDPR_NEEDS,
)
def deletion_otp_once(ctx: CheckContext) -> None:
    """Requests a deletion, then sends its OTP N times at once: exactly one 200 scheduled, the rest 409, one
    deletion in the GDPR status."""
    _otp_once(ctx, "deletion")


@requirement(
    "RACE-EXPORT-OTP-ONCE",
    level=Level.MUST,
    area="races",
    title="One export OTP confirmed N times at once queues one export",
    cites=("rule:OTP",),
    operations=("confirmDataExport", "getGdprStatus"),
    needs=_GDPR_NEEDS,
)
def export_otp_once(ctx: CheckContext) -> None:
    """Requests an export, then sends its OTP N times at once: exactly one 202, the rest 409, one export in the
    GDPR status."""
    _otp_once(ctx, "export")


# --- N wrong codes at once --------------------------------------------------------------------------------


@requirement(
    "RACE-DELETION-OTP-ATTEMPTS",
    level=Level.MUST,
    area="races",
    title="N wrong deletion OTPs at once count as N attempts",
    cites=("rule:OTP",),
    operations=("confirmAccountDeletion",),
    needs=_GDPR_NEEDS,
)
def deletion_otp_attempts(ctx: CheckContext) -> None:
    """Requests a deletion, sends N different wrong OTPs at once (at most otp_max_attempts answered 400, the
    rest 429 too_many_attempts), then the right OTP: refused once the attempts are spent."""
    user = ctx.disposable_user()
    request_id, otp = open_request(ctx, user, "deletion")
    history = History(ctx)

    def confirm(code: str, request: str | None) -> Step:
        return Step(("confirm", request), "confirm_deletion", "confirmAccountDeletion", user, json_body={"otp": code})

    try:
        history.burst([confirm(code, None) for code in wrong_codes(otp, ctx.race_width)])
        history.then(confirm(otp, request_id))
        history.then(Step(("status",), "gdpr_deletion", "getGdprStatus", user))
        history.judge(
            DeletionModel(Gdpr(pending=request_id), ctx.limits.otp_max_attempts),
            rule=f"rule:OTP, {ctx.limits.otp_max_attempts} attempts",
            what=f"{ctx.race_width} wrong OTPs at once, then the right one",
        )
    finally:
        _cancel_deletion(ctx, user)


def _verify_attempts(ctx: CheckContext, kind: ContactKind) -> None:
    user = ctx.disposable_user()
    contact_id, value = new_contact(ctx, user, kind, new_key(ctx, kind))
    token = ctx.code(channel=kind.channel, address=value, purpose=kind.purpose)
    initial = contacts_of(ctx, user, kind)
    history = History(ctx)

    def verify(code: str, right: bool) -> Step:
        return Step(
            ("verify", contact_id, right), "verify", kind.verify, user, {kind.id_param: contact_id}, {"token": code}
        )

    history.burst([verify(code, False) for code in wrong_codes(token, ctx.race_width)])
    history.then(verify(token, True))
    history.then(Step(("get", contact_id), "get_contact", kind.get, user, {kind.id_param: contact_id}))
    history.judge(
        ContactsModel(kind.name, initial, ctx.limits.verification_token_max_attempts),
        rule=f"rule:VERIFY-TOKEN, {ctx.limits.verification_token_max_attempts} attempts",
        what=f"{ctx.race_width} wrong {kind.name} verification tokens at once, then the right one",
    )


@requirement(
    "RACE-EMAIL-VERIFY-ATTEMPTS",
    level=Level.MUST,
    area="races",
    title="N wrong email verification tokens at once count as N attempts",
    cites=("rule:VERIFY-TOKEN",),
    operations=("verifyUserEmail", "getUserEmail"),
    needs=(Need.INBOX,),
)
def email_verify_attempts(ctx: CheckContext) -> None:
    """Adds an email, sends N different wrong tokens at once (at most verification_token_max_attempts answered
    400, the rest 429), then the right token: refused once the attempts are spent; the address stays unverified."""
    _verify_attempts(ctx, EMAIL)


@requirement(
    "RACE-PHONE-VERIFY-ATTEMPTS",
    level=Level.MUST,
    area="races",
    title="N wrong phone verification tokens at once count as N attempts",
    cites=("rule:VERIFY-TOKEN",),
    operations=("verifyUserPhone", "getUserPhone"),
    needs=(Need.SMS_INBOX,),
)
def phone_verify_attempts(ctx: CheckContext) -> None:
    """Adds a phone number, sends N different wrong tokens at once, then the right one (as for emails)."""
    _verify_attempts(ctx, PHONE)


# --- the same thing added N times at once -----------------------------------------------------------------


def _add_once(ctx: CheckContext, kind: ContactKind) -> None:
    user = ctx.disposable_user()
    initial = contacts_of(ctx, user, kind)
    key = new_key(ctx, kind)
    add = Step(("add", key.lower()), "add_contact", kind.add, user, json_body=kind.body(key))
    history = History(ctx)
    history.burst([add] * ctx.race_width)
    history.then(Step(("list",), "list_contacts", kind.list, user, params={"per_page": ctx.limits.per_page_max}))
    history.then(Step(("profile",), kind.profile, "getMyProfile", user))
    history.judge(
        ContactsModel(kind.name, initial, ctx.limits.verification_token_max_attempts),
        rule="409 already_exists for an address already on an account",
        what=f"the same {kind.name} added {ctx.race_width} times at once",
    )


@requirement(
    "RACE-EMAIL-ADD-ONCE",
    level=Level.MUST,
    area="races",
    title="The same email added N times at once is added once",
    cites=(
        "spec:/components/responses/AlreadyExists",
        "seed:addUserEmail",
    ),
    operations=("addUserEmail", "listUserEmails"),
)
def email_add_once(ctx: CheckContext) -> None:
    """Sends the same new address N times at once: one 201, the rest 409 already_exists; the list shows it once."""
    _add_once(ctx, EMAIL)


@requirement(
    "RACE-PHONE-ADD-ONCE",
    level=Level.MUST,
    area="races",
    title="The same phone number added N times at once is added once",
    cites=("spec:/components/responses/AlreadyExists", "rule:PHONE-PRIMARY-UNIQUE"),
    operations=("addUserPhone", "listUserPhones"),
)
def phone_add_once(ctx: CheckContext) -> None:
    """Sends the same new number N times at once to a user without one: one 201 (primary, the first number), the
    rest 409 already_exists; the list shows it once, primary."""
    _add_once(ctx, PHONE)


@requirement(
    "RACE-FAVOURITE-ADD-ONCE",
    level=Level.MUST,
    area="races",
    title="The same product favourited N times at once is a favourite once",
    cites=("rule:FAVOURITE-DUPLICATE",),
    operations=("addFavouriteProduct", "listFavouriteProducts"),
)
def favourite_add_once(ctx: CheckContext) -> None:
    """Sends the same new product N times at once: one 201, the rest 409 already_exists; the list holds it once."""
    user = ctx.disposable_user()
    initial = frozenset(int(item["product_id"]) for item in read_all(ctx, "listFavouriteProducts", user))
    product = _unique_product(ctx)
    history = History(ctx)
    add = Step(("add", product), "add", "addFavouriteProduct", user, json_body={"product_id": product})
    history.burst([add] * ctx.race_width)
    listing = Step(
        ("list",), "list_favourites", "listFavouriteProducts", user, params={"per_page": ctx.limits.per_page_max}
    )
    history.then(listing)
    history.judge(
        FavouritesModel(initial),
        rule="rule:FAVOURITE-DUPLICATE",
        what=f"one product added {ctx.race_width} times at once",
    )


@requirement(
    "RACE-FCM-REGISTER-IDEMPOTENT",
    level=Level.MUST,
    area="races",
    title="The same FCM token registered N times at once is registered once",
    cites=("rule:FCM-IDEMPOTENT",),
    operations=("registerFcmToken", "unregisterFcmToken"),
)
def fcm_register_idempotent(ctx: CheckContext) -> None:
    """Registers one new token N times at once: registering again only updates, so every answer is 200; then
    unregisters it twice: 200, then 404 (it was held once)."""
    user = ctx.disposable_user()
    token = unique_fcm_token(ctx)
    platform = ctx.rng.choice(("ios", "android", "web"))
    history = History(ctx)
    register = Step(
        ("register", token), "register", "registerFcmToken", user, json_body={"fcm_token": token, "platform": platform}
    )
    history.burst([register] * ctx.race_width)
    unregister = Step(("unregister", token), "unregister", "unregisterFcmToken", user, {"fcm_token": token})
    history.then(unregister)
    history.then(unregister)
    history.judge(FcmModel(), rule="rule:FCM-IDEMPOTENT", what=f"one token registered {ctx.race_width} times at once")


# --- the one primary ----------------------------------------------------------------------------------------


def _primary_one(ctx: CheckContext, kind: ContactKind) -> None:
    user = ctx.disposable_user()
    ids = verified_contacts(ctx, user, kind, ctx.race_width)
    initial = contacts_of(ctx, user, kind)
    history = History(ctx)
    history.burst([Step(("primary", i), "primary", kind.primary, user, {kind.id_param: i}) for i in ids])
    history.then(Step(("list",), "list_contacts", kind.list, user, params={"per_page": ctx.limits.per_page_max}))
    history.then(Step(("profile",), kind.profile, "getMyProfile", user))
    history.burst([Step(("get", i), "get_contact", kind.get, user, {kind.id_param: i}) for i in ids])
    history.judge(
        ContactsModel(kind.name, initial, ctx.limits.verification_token_max_attempts),
        rule=f"rule:{kind.name.upper()}-PRIMARY-UNIQUE",
        what=f"make-default on {len(ids)} verified {kind.name}s at once",
    )


@requirement(
    "RACE-EMAIL-PRIMARY-ONE",
    level=Level.MUST,
    area="races",
    title="Make-default on N verified emails at once leaves exactly one primary",
    cites=("rule:EMAIL-PRIMARY-UNIQUE",),
    operations=("setPrimaryUserEmail", "listUserEmails", "getUserEmail", "getMyProfile"),
    needs=(Need.INBOX,),
)
def email_primary_one(ctx: CheckContext) -> None:
    """Adds and verifies N addresses, makes all N primary at once; afterwards the list, the profile and every
    address agree on exactly one primary, one of the N."""
    _primary_one(ctx, EMAIL)


@requirement(
    "RACE-PHONE-PRIMARY-ONE",
    level=Level.MUST,
    area="races",
    title="Make-default on N verified phone numbers at once leaves exactly one primary",
    cites=("rule:PHONE-PRIMARY-UNIQUE",),
    operations=("setPrimaryUserPhone", "listUserPhones", "getUserPhone", "getMyProfile"),
    needs=(Need.SMS_INBOX,),
)
def phone_primary_one(ctx: CheckContext) -> None:
    """Adds and verifies N numbers, makes all N primary at once: exactly one primary in every view."""
    _primary_one(ctx, PHONE)


def _remove_or_primary(ctx: CheckContext, kind: ContactKind) -> None:
    user = ctx.disposable_user()
    if kind is PHONE:  # the first number becomes primary: the one raced over must not be the only one
        new_contact(ctx, user, kind, new_key(ctx, kind))
    (target,) = verified_contacts(ctx, user, kind, 1)
    initial = contacts_of(ctx, user, kind)
    half = max(1, ctx.race_width // 2)
    remove = Step(("remove", target), "remove", kind.remove, user, {kind.id_param: target})
    primary = Step(("primary", target), "primary", kind.primary, user, {kind.id_param: target})
    history = History(ctx)
    # the removals are released first, the make-defaults right behind them: a two-step removal shows
    history.burst([remove] * half + [primary] * half)
    history.then(Step(("list",), "list_contacts", kind.list, user, params={"per_page": ctx.limits.per_page_max}))
    history.then(Step(("profile",), kind.profile, "getMyProfile", user))
    history.then(Step(("get", target), "get_contact", kind.get, user, {kind.id_param: target}))
    history.judge(
        ContactsModel(kind.name, initial, ctx.limits.verification_token_max_attempts),
        rule=f"rule:{kind.name.upper()}-PRIMARY-REMOVAL and rule:{kind.name.upper()}-PRIMARY-UNIQUE",
        what=f"remove and make-default of one {kind.name}, {half} of each at once",
    )


@requirement(
    "RACE-EMAIL-REMOVE-PRIMARY",
    level=Level.MUST,
    area="races",
    title="Remove and make-default of one email at once end as some order of the two",
    cites=("rule:EMAIL-PRIMARY-REMOVAL", "rule:EMAIL-PRIMARY-UNIQUE"),
    operations=("removeUserEmail", "setPrimaryUserEmail", "listUserEmails", "getMyProfile"),
    needs=(Need.INBOX,),
)
def email_remove_primary(ctx: CheckContext) -> None:
    """Sends removals and make-defaults of one verified address at once: either it was removed first (make-default
    404) or made primary first (removal 409 primary_removal); never removed yet primary, never no primary."""
    _remove_or_primary(ctx, EMAIL)


@requirement(
    "RACE-PHONE-REMOVE-PRIMARY",
    level=Level.MUST,
    area="races",
    title="Remove and make-default of one phone number at once end as some order of the two",
    cites=("rule:PHONE-PRIMARY-REMOVAL", "rule:PHONE-PRIMARY-UNIQUE"),
    operations=("removeUserPhone", "setPrimaryUserPhone", "listUserPhones", "getMyProfile"),
    needs=(Need.SMS_INBOX,),
)
def phone_remove_primary(ctx: CheckContext) -> None:
    """Sends removals and make-defaults of one verified (not the only) number at once: an order explains them."""
    _remove_or_primary(ctx, PHONE)


@requirement(
    "RACE-DELETION-CANCEL-CONFIRM",
    level=Level.MUST,
    area="races",
    title="Cancel and confirm of one deletion at once end as some order of the two",
    cites=("rule:DELETION-GRACE", "rule:OTP"),
    operations=("cancelAccountDeletion", "confirmAccountDeletion", "getGdprStatus"),
    needs=_GDPR_NEEDS,
)
def deletion_cancel_confirm(ctx: CheckContext) -> None:
    """Requests a deletion, sends cancels and confirms (its OTP) at once: cancelled first (every confirm 409) or
    confirmed first (then cancelled: nothing pending); never a cancel answered 200 and a deletion still scheduled."""
    user = ctx.disposable_user()
    request_id, otp = open_request(ctx, user, "deletion")
    half = max(1, ctx.race_width // 2)
    cancel = Step(("cancel",), "cancel", "cancelAccountDeletion", user)
    confirm = Step(("confirm", request_id), "confirm_deletion", "confirmAccountDeletion", user, json_body={"otp": otp})
    history = History(ctx)
    try:
        # the confirm is released first, the cancels right behind it: a two-step confirm shows
        history.burst([step for _ in range(half) for step in (confirm, cancel)])
        history.then(Step(("status",), "gdpr_deletion", "getGdprStatus", user))
        history.judge(
            DeletionModel(Gdpr(pending=request_id), ctx.limits.otp_max_attempts),
            rule="rule:DELETION-GRACE",
            what=f"cancel and confirm of one deletion, {half} of each at once",
        )
    finally:
        _cancel_deletion(ctx, user)


REQUIREMENTS = (
    deletion_otp_once,
    export_otp_once,
    deletion_otp_attempts,
    email_verify_attempts,
    phone_verify_attempts,
    email_add_once,
    phone_add_once,
    favourite_add_once,
    fcm_register_idempotent,
    email_primary_one,
    phone_primary_one,
    email_remove_primary,
    phone_remove_primary,
    deletion_cancel_confirm,
)
