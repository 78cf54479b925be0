"""Email addresses and phone numbers: one lifecycle over a shared base, two tables, two small machines.

The machine follows one address, the subject, through every state the contract gives it (added,
verification tried, its token burnt or expired, verified, primary, removed, added again) and takes every
action in each (add it again, read it, verify with the right and a wrong token, make it primary, remove
it, age its token with the test clock); the table (`contact_table`) says what the contract answers. After
every step it reads every view that shows a fact the step could change: the list, the subject's own read,
the profile and the profile validation (and, when the list changed, walks its pages), and compares each
with its model. :class:`EmailLifecycle` and :class:`PhoneLifecycle` say what differs: their operations,
their rules (:class:`ContactKind`: the first phone number becomes primary, and is removable while it is the
only one) and the requirements they report (:class:`ContactRequirements`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

from conformance.checks.lifecycles._base import Due, Lifecycle, MachineSpec, owned
from conformance.checks.lifecycles._support import body_of, e164_fi, read_all, total_pages, unique_phone
from conformance.checks.lifecycles._table import Row, Table, row
from conformance.checks.lifecycles.identity import PROFILE_VALIDATION_STATE
from conformance.context import CheckContext
from conformance.failures import UndecidedRequirement
from conformance.requirements import Need, Requirement, Sharing
from conformance.target import Exchange
from conformance.users import User

__all__ = [
    "EMAILS",
    "PHONES",
    "ContactKind",
    "ContactLifecycle",
    "ContactRequirements",
    "EmailLifecycle",
    "PhoneLifecycle",
    "contact_table",
]


@dataclass(slots=True, frozen=True, kw_only=True)
class ContactKind:
    """What differs between email addresses and phone numbers, for the shared machine."""

    name: str  # "email" | "phone": also the profile's field for the primary one
    noun: str
    plural: str
    add_op: str
    list_op: str
    get_op: str
    verify_op: str
    set_primary_op: str
    remove_op: str
    id_param: str
    value_field: str
    channel: str  # where the verification token goes
    purpose: str  # the outbox purpose of that token
    first_becomes_primary: bool  # PHONE-PRIMARY-UNIQUE: the first phone number is primary at once
    profile_without_primary: str | None  # the profile's field when there is no primary


@dataclass(slots=True, frozen=True, kw_only=True)
class ContactRequirements:
    """The requirements one contact machine reports, declared with the machine."""

    primary_unique: Requirement
    primary_verified: Requirement
    verify_token: Requirement
    primary_removal: Requirement
    remove_gone: Requirement
    list_model: Requirement
    profile_primary: Requirement

    def __iter__(self) -> Iterator[Requirement]:
        return iter(
            (
                self.primary_unique,
                self.primary_verified,
                self.verify_token,
                self.primary_removal,
                self.remove_gone,
                self.list_model,
                self.profile_primary,
            )
        )


@dataclass(slots=True)
class Contact:
    """What the server must hold for one address."""

    id: int
    value: str
    verified: bool
    primary: bool
    country: str | None = None  # a phone number's region, as sent
    token: str | None = None  # the verification token from the inbox (a secret, never printed)
    attempts: int = 0  # wrong tokens sent
    expired: bool = False  # the test clock moved past the token's lifetime
    last_minute: bool = False  # the test clock moved to 60 s before the token's lifetime ends
    readded: bool = False  # added again after its token was burnt


_VALIDATION_FLAGS = ("email_verified", "phone_verified", "identity_verified", "has_primary_email", "has_primary_phone")

# --- shared requirements -------------------------------------------------------------------------
_NEEDS = (Need.INBOX,)  # a verification token from the inbox; the requirements below without it need no code
_SMS_NEEDS = (Need.SMS_INBOX,)  # the phone numbers' tokens come by SMS
PAGINATION_WALK = owned(
    "PAGINATION-WALK",
    cites=("rule:PAGINATION",),
    title="Walking every page gives each item exactly once",
    operations=("listUserEmails", "listUserPhones"),
    doc="After every step that changes the emails or phones list (two items or more), walks it with per_page 1 or 2.",
)
PAGINATION_DEFAULTS = owned(
    "PAGINATION-DEFAULTS",
    cites=("rule:PAGINATION", "spec:/components/schemas/PerPageField"),
    title="A list without page and per_page answers page 1 at the default size",
    operations=("listUserEmails", "listUserPhones", "listFavouriteProducts"),
    doc="Lists emails, phones and favourites without page and per_page, and with page=1 and the default "
    "per_page: the same items, page 1 and the contract's per_page_default echoed.",
)
CONTACT_ALREADY_EXISTS = owned(
    "CONTACT-ALREADY-EXISTS",
    cites=("spec:/components/responses/AlreadyExists", "seed:addUserEmail", "seed:addUserPhone"),
    title="An address already on the account is refused with 409 already_exists",
    operations=("addUserEmail", "addUserPhone"),
    doc="Adds an email address and a phone number, then sends the same add request again: 409 already_exists.",
)
PAGINATION_BOUNDS = owned(
    "PAGINATION-BOUNDS",
    cites=("rule:PAGINATION",),
    title="page and per_page out of range are refused with 422",
    operations=("listUserEmails", "listUserPhones", "listFavouriteProducts"),
    doc="Lists emails, phones and favourites with page 0 or 1 and per_page 0, 1, the maximum and one past it.",
)
VERIFY_TOKEN_EXPIRY = owned(
    "VERIFY-TOKEN-EXPIRY",
    cites=("rule:VERIFY-TOKEN",),
    needs=[Need.INBOX, Need.SMS_INBOX, Need.CLOCK],  # emails' tokens and phones'
    title="A verification token lives its lifetime, then answers 400 code_expired",
    operations=("addUserEmail", "verifyUserEmail", "addUserPhone", "verifyUserPhone"),
    doc="Adds an address, advances the test clock to 60 s before the token's lifetime ends and verifies (200); "
    "past the lifetime: the token answers 400 code_expired, and the address can still be removed.",
)
VERIFY_TOKEN_BURNT = owned(
    "VERIFY-TOKEN-BURNT",
    cites=("rule:VERIFY-TOKEN",),
    needs=[Need.INBOX, Need.SMS_INBOX],
    title="A burnt verification token answers 429 too_many_attempts until the address is added again",
    operations=("addUserEmail", "verifyUserEmail", "removeUserEmail", "addUserPhone", "verifyUserPhone"),
    doc="Sends the limit's wrong tokens (400 invalid_code), one more and the right one (429 too_many_attempts), "
    "then removes the address, adds it again and verifies with the new token: 200.",
)


def contact_table(machine: str, ids: ContactRequirements, *, phones: bool) -> Table:
    """The subject address's states and actions; phones add the states of having no number, or one only."""
    unique, verified_only, token = ids.primary_unique.id, ids.primary_verified.id, ids.verify_token.id
    removal, gone, listed = ids.primary_removal.id, ids.remove_gone.id, ids.list_model.id
    expiry, burnt, exists = VERIFY_TOKEN_EXPIRY.id, VERIFY_TOKEN_BURNT.id, CONTACT_ALREADY_EXISTS.id
    wrong, not_verified, already = (400, "invalid_code"), (409, "not_verified"), (409, "already_verified")
    locked, not_found = (429, "too_many_attempts"), (404, "not_found")
    inbox, clock = Need.SMS_INBOX if phones else Need.INBOX, Need.CLOCK
    rows = []
    if phones:
        rows += [
            row("none", "add", 201, "sole", unique),
            row("none", "add_other", 201, "absent", listed),
            row("sole", "get", 200, "sole", listed),
            row("sole", "make_default", [(200, None), not_verified], "sole", verified_only),
            row("sole", "verify_right", 200, "sole_verified", token, inbox),
            row("sole", "remove", 200, "none", removal),
            row("sole_verified", "make_default", 200, "sole_verified", unique),
            row("sole_verified", "verify_right", already, "sole_verified", token),
            row("sole_verified", "add_other", 201, "primary", unique),
            row("sole_verified", "remove", 200, "none", removal),
        ]
    rows += [
        row("absent", "add", 201, "unverified", listed),
        row("unverified", "add_duplicate", (409, "already_exists"), "unverified", exists),
        row("unverified", "get", 200, "unverified", listed),
        row("unverified", "make_default", not_verified, "unverified", verified_only),
        row("unverified", "verify_wrong", wrong, "tried", token, inbox),
        row("unverified", "verify_right", 200, "verified", token, inbox),
        row("unverified", "remove", 200, "removed", gone),
        row("unverified", "age_to_last_minute", None, "last_minute", expiry, clock),
        row("unverified", "expire", None, "expired", expiry, clock),
        row("last_minute", "verify_right", 200, "verified", expiry),
        row("last_minute", "expire", None, "expired", expiry),
        row("tried", "verify_right", 200, "verified", token),
        row("tried", "make_default", not_verified, "tried", verified_only),
        row("tried", "burn", wrong, "burnt", burnt),
        row("burnt", "verify_wrong", locked, "burnt", burnt),
        row("burnt", "verify_right", locked, "burnt", burnt),
        row("burnt", "make_default", not_verified, "burnt", burnt),
        row("burnt", "get", 200, "burnt", burnt),
        row("burnt", "remove", 200, "removed_burnt", burnt),
        row("removed_burnt", "add", 201, "readded", burnt),
        row("readded", "verify_right", 200, "verified", burnt),
        row("expired", "verify_right", (400, "code_expired"), "expired", expiry),
        row("expired", "verify_wrong", [(400, "code_expired"), wrong], "expired", expiry),
        row("expired", "make_default", not_verified, "expired", expiry),
        row("expired", "remove", 200, "removed", expiry),
        row("verified", "get", 200, "verified", token),
        row("verified", "verify_right", already, "verified", token),
        row("verified", "make_default", 200, "primary", unique),
        row("verified", "remove", 200, "removed", removal),
        row("primary", "get", 200, "primary", unique),
        row("primary", "make_default", 200, "primary", unique),
        row("primary", "verify_right", already, "primary", token),
        row("primary", "remove", (409, "primary_removal"), "primary", removal),
        row("primary", "demote", 200, "verified", unique),
        row("removed", "get", not_found, "removed", gone),
        row("removed", "verify_wrong", not_found, "removed", gone),
        row("removed", "make_default", not_found, "removed", gone),
        row("removed", "remove", not_found, "removed", gone),
        row("removed", "add", 201, "unverified", listed),
    ]
    return Table(machine, "none" if phones else "absent", rows)


class ContactLifecycle(Lifecycle):
    """The lifecycle of one kind of contact; :class:`EmailLifecycle` and :class:`PhoneLifecycle` set what differs."""

    kind: ClassVar[ContactKind]
    ids: ClassVar[ContactRequirements]

    def __init__(self, ctx: CheckContext) -> None:
        super().__init__(ctx)
        self.user = ctx.user_a
        self.disposable = ctx.factory is not None
        self.model: dict[int, Contact] = {}
        self.mine: set[int] = set()
        self.subject: int | None = None
        self.other: int | None = None  # a phone number this machine added so that the subject is not the only one
        self.removed: Contact | None = None  # the subject after its removal (its id must answer 404)
        self.payloads: dict[int, dict[str, Any]] = {}  # the add request's body, by the id it got
        self.original_primary: int | None = None
        self.others: dict[str, Any] = {}  # profile-validation fields this machine never changes
        self.learn_the_start()
        self.once_per_run()

    # --- set-up and the model's derived views -------------------------------------------
    def learn_the_start(self) -> None:
        """Reads every page of the list and the profile validation: the model starts from them.

        With a user factory every path acts as a fresh disposable user (one whose phone numbers the machine
        removes first), so a faulty server cannot leave a path's damage (say, a removed primary) to the next.
        """
        if self.disposable:
            self.user = self.ctx.disposable_user()
        for item in read_all(self.ctx, self.kind.list_op, self.user):
            self.model[int(item["id"])] = Contact(
                int(item["id"]),
                str(item.get(self.kind.value_field)),
                bool(item.get("is_verified")),
                bool(item.get("is_primary")),
            )
        if self.disposable and self.kind.first_becomes_primary:
            self.remove_every_number()
        self.original_primary = self.primary_id()
        validation = self.send("getProfileValidation", user=self.user)
        if validation.status != 200:
            raise UndecidedRequirement(f"cannot read the profile validation: {self.ctx.actual(validation)}")
        self.others = body_of(validation)

    def remove_every_number(self) -> None:
        """A disposable user handed over with phone numbers: they go (the primary last), so paths start from none."""
        for contact in sorted(self.model.values(), key=lambda c: c.primary):
            exchange = self.send(self.kind.remove_op, user=self.user, path_params={self.kind.id_param: contact.id})
            if exchange.status != 200:
                raise UndecidedRequirement(
                    f"cannot clear a disposable user's phone numbers: {self.ctx.actual(exchange)}"
                )
        self.model.clear()

    def once_per_run(self) -> None:
        """Every page bound and the page defaults, once per run (not drawn at random: each must be sent)."""
        most = self.ctx.limits.per_page_max

        def every_bound() -> bool:
            for page in (0, 1):
                for per_page in (0, 1, most, most + 1):
                    one_page_bound(self, self.kind.list_op, self.user, page, per_page)
            return True

        self.ctx.once(f"pagination-bounds:{self.kind.name}", every_bound)
        self.ctx.once(
            f"pagination-defaults:{self.kind.name}", lambda: judge_page_defaults(self, self.kind.list_op, self.user)
        )

    def primary_id(self) -> int | None:
        return next((c.id for c in self.model.values() if c.primary), None)

    def state(self) -> str:
        subject = self.model.get(self.subject) if self.subject is not None else None
        if subject is None:
            if self.kind.first_becomes_primary and not self.model:
                return "none"
            if self.removed is not None:
                return "removed_burnt" if self.removed.attempts >= self.max_attempts else "removed"
            primary = self.model.get(self.primary_id() or 0)
            # Paths begin beside a primary that can be made primary again: verified, or this machine's own.
            demotable = primary is not None and (primary.verified or primary.id == self.other)
            return "absent" if demotable else "primary_unverified"
        if subject.primary:
            if self.kind.first_becomes_primary and len(self.model) == 1:
                return "sole_verified" if subject.verified else "sole"
            return "primary" if subject.verified else "primary_unverified"
        if subject.verified:
            return "verified"
        if subject.attempts >= self.max_attempts:
            return "burnt"
        if subject.expired:
            return "expired"
        if subject.last_minute:
            return "last_minute"
        if subject.readded:
            return "readded"
        return "tried" if subject.attempts else "unverified"

    @property
    def max_attempts(self) -> int:
        return self.ctx.limits.verification_token_max_attempts

    def teardown(self) -> None:
        """Puts the original primary back and removes what this machine added (best effort)."""
        with contextlib.suppress(UndecidedRequirement):
            original = self.model.get(self.original_primary or 0)
            if original is not None and not original.primary and original.verified:
                self.send(self.kind.set_primary_op, user=self.user, path_params={self.kind.id_param: original.id})
                for contact in self.model.values():
                    contact.primary = contact.id == original.id
            left = sorted(self.mine & set(self.model), key=lambda i: self.model[i].primary)
            for contact_id in left:
                self.send(self.kind.remove_op, user=self.user, path_params={self.kind.id_param: contact_id})

    def judge_item(self, rid: Requirement | str, item: dict[str, Any], exchange: Any, what: str) -> None:
        contact = self.model.get(int(item.get("id", 0)) if isinstance(item.get("id"), int) else 0)
        if contact is None:
            self.violation(rid, expected=f"{what}: one of the ids {sorted(self.model)}", exchange=exchange)
        seen = (item.get(self.kind.value_field), item.get("is_verified"), item.get("is_primary"))
        want = (contact.value, contact.verified, contact.primary)
        echo_ok = contact.country is None or item.get("country_code") == contact.country
        verified_at_ok = (item.get("verified_at") is None) != contact.verified
        self.check(
            rid,
            seen == want and echo_ok and verified_at_ok,
            exchange=exchange,
            expected=f"{what}: {self.kind.value_field}, is_verified, is_primary = {want}"
            + (f", country_code {contact.country} as sent" if contact.country else "")
            + (", verified_at set" if contact.verified else ", verified_at null"),
            actual=f"{seen}, country_code {item.get('country_code')}, verified_at {item.get('verified_at')}"
            if contact.country
            else f"{seen}, verified_at {item.get('verified_at')}",
        )

    # --- sending -------------------------------------------------------------------------
    def new_value(self) -> tuple[str, dict[str, Any], str | None]:
        """A never-used address: the value the server must show, the add request's body, the region sent."""
        raise NotImplementedError

    def add_contact(self, payload: dict[str, Any], value: str, country: str | None, *, judge: bool) -> Contact:
        """POST the address; the new contact (unverified; primary only as a phone number's first)."""
        exchange = self.send(self.kind.add_op, user=self.user, json_body=payload)
        body = self.answer(exchange) if judge else self.expect(self.ids.list_model, exchange, 201, what="an address")
        contact_id = body.get("id")
        if not isinstance(contact_id, int):
            self.violation(self.ids.list_model, expected="the new resource's integer id", exchange=exchange)
        becomes_primary = self.kind.first_becomes_primary and self.primary_id() is None
        contact = Contact(contact_id, value, False, becomes_primary, country)
        self.model[contact_id] = contact
        self.mine.add(contact_id)
        self.payloads[contact_id] = payload
        if body.get("is_primary") != becomes_primary:
            self.violation(
                self.ids.primary_unique,
                exchange=exchange,
                expected=f"is_primary {becomes_primary} for a new {self.kind.noun}"
                + (" (the first phone number becomes primary)" if becomes_primary else ""),
            )
        self.judge_item(self.ids.list_model, body, exchange, f"the added {self.kind.noun}")
        if self.ctx.reads(self.kind.channel):
            contact.token = self.ctx.code(channel=self.kind.channel, address=value, purpose=self.kind.purpose)
            self.note(f"(inbox: a {self.kind.purpose} token reached the {self.kind.channel} address)")
        return contact

    def send_token(self, contact_id: int, token: str) -> Exchange:
        return self.send(
            self.kind.verify_op,
            user=self.user,
            path_params={self.kind.id_param: contact_id},
            json_body={"token": token},
        )

    def target(self) -> int:
        """The id the step acts on: the subject, or the removed subject's id."""
        if self.subject is not None and self.subject in self.model:
            return self.subject
        assert self.removed is not None
        return self.removed.id

    # --- actions -------------------------------------------------------------------------
    def act_add(self, row: Row) -> None:
        """POST a never-used address (the removed subject's own again, after a removal): 201, unverified, and a
        verification token reaches the inbox."""
        removed = self.removed
        if removed is not None and self.state() in ("removed", "removed_burnt"):
            payload, value, country = self.payloads[removed.id], removed.value, removed.country
        else:
            value, payload, country = self.new_value()
        contact = self.add_contact(payload, value, country, judge=True)
        contact.readded = removed is not None and removed.attempts >= self.max_attempts
        self.subject, self.removed = contact.id, None

    def act_add_other(self, row: Row) -> None:
        """POST another never-used phone number, so that the subject is not the only one."""
        value, payload, country = self.new_value()
        self.other = self.add_contact(payload, value, country, judge=True).id

    def act_add_duplicate(self, row: Row) -> None:
        """POST the subject's address again (the same request body): 409 already_exists, nothing added."""
        assert self.subject is not None
        self.answer(self.send(self.kind.add_op, user=self.user, json_body=self.payloads[self.subject]))

    def act_get(self, row: Row) -> None:
        """GET the subject: it equals the model (404 not_found once removed)."""
        exchange = self.send(self.kind.get_op, user=self.user, path_params={self.kind.id_param: self.target()})
        body = self.answer(exchange)
        if exchange.status == 200:
            self.judge_item(row.requirement, body, exchange, f"the {self.kind.noun}")

    def act_verify_right(self, row: Row) -> None:
        """POST the token the inbox received for the subject: 200 and it is verified (refused when it is burnt,
        expired or verified already)."""
        contact = self.model[self.target()]
        exchange = self.send_token(contact.id, contact.token or "000000")
        body = self.answer(exchange)
        if exchange.status == 200:
            contact.verified, contact.token = True, None
            self.judge_item(row.requirement, body, exchange, f"the verified {self.kind.noun}")

    def act_verify_wrong(self, row: Row) -> None:
        """POST a token that is not the subject's (400 invalid_code and one attempt spent; 404 once removed)."""
        target = self.target()
        contact = self.model.get(target)
        right = contact.token if contact is not None else None
        wrong = f"{(int(right or 0) + 1 + self.ctx.rng.randrange(999_998)) % 1_000_000:06d}"
        exchange = self.send_token(target, wrong)
        self.answer(exchange)
        if contact is not None and body_of(exchange).get("code") == "invalid_code":
            contact.attempts += 1

    def act_burn(self, row: Row) -> None:
        """POST wrong tokens until the limit is spent: 400 invalid_code each (the token is burnt after them)."""
        contact = self.model[self.target()]
        while contact.attempts < self.max_attempts:
            self.act_verify_wrong(row)

    def act_make_default(self, row: Row) -> None:
        """PUT make-default on the subject: 200 and it is the only primary; refused while unverified."""
        target = self.target()
        exchange = self.send(self.kind.set_primary_op, user=self.user, path_params={self.kind.id_param: target})
        body = self.answer(exchange)
        if exchange.status == 200:
            self.make_primary(target)
            self.judge_item(row.requirement, body, exchange, "the new primary")

    def make_primary(self, contact_id: int) -> None:
        for contact in self.model.values():
            contact.primary = contact.id == contact_id

    def act_demote(self, row: Row) -> None:
        """PUT make-default on the address the subject displaced (the account's original primary, or the other
        phone number, verified first): 200, and the subject is primary no more."""
        other = self.original_primary if self.other is None else self.other
        if other is None or other == self.subject:
            other = next(c.id for c in self.model.values() if c.id != self.subject and c.verified)
        contact = self.model[other]
        if not contact.verified:
            exchange = self.send_token(contact.id, contact.token or "000000")
            self.expect(self.ids.verify_token, exchange, 200, what=f"the other {self.kind.noun}'s token verifies")
            contact.verified, contact.token = True, None
        exchange = self.send(self.kind.set_primary_op, user=self.user, path_params={self.kind.id_param: other})
        body = self.answer(exchange)
        self.make_primary(other)
        self.judge_item(row.requirement, body, exchange, "the primary again")

    def act_remove(self, row: Row) -> None:
        """DELETE the subject: 200 and it is gone (409 primary_removal for a protected primary; 404 once gone)."""
        target = self.target()
        exchange = self.send(self.kind.remove_op, user=self.user, path_params={self.kind.id_param: target})
        self.answer(exchange)
        if exchange.status != 200:
            return
        self.removed = self.model.pop(target)
        self.mine.discard(target)
        if self.other is not None and self.other not in self.model:
            self.other = None
        if self.kind.first_becomes_primary and not self.model:
            self.removed, self.subject = None, None  # no number left: the next one added is the first again

    def act_age_to_last_minute(self, row: Row) -> None:
        """Advances the test clock to 60 s before the subject's token's lifetime ends."""
        self.advance(self.ctx.limits.verification_token_ttl_s - 60)
        self.model[self.target()].last_minute = True

    def act_expire(self, row: Row) -> None:
        """Advances the test clock past the subject's token's lifetime."""
        contact = self.model[self.target()]
        self.advance(61 if contact.last_minute else self.ctx.limits.verification_token_ttl_s + 1)
        contact.expired = True

    def advance(self, seconds: int) -> None:
        assert self.ctx.clock is not None
        self.ctx.clock.advance(seconds, user=self.user)
        self.note(f"(test clock advanced {seconds} s)")

    # --- views ---------------------------------------------------------------------------
    def views(self, row: Row) -> None:
        """After every step: the list, the subject's own read, the profile and the profile validation; the
        page walk after a step that changed the list."""
        self.list_equals_model()
        if self.subject is not None and self.subject in self.model:
            exchange = self.send(self.kind.get_op, user=self.user, path_params={self.kind.id_param: self.subject})
            body = self.expect(self.ids.list_model, exchange, 200, what=f"the {self.kind.noun} read after the step")
            self.judge_item(self.ids.list_model, body, exchange, f"the {self.kind.noun} read after {row.action}")
        self.profile_shows_primary()
        self.validation_agrees()
        if row.action in ("add", "add_other", "remove"):
            self.pages_walk_once()

    def list_equals_model(self) -> None:
        """GET the list (per_page at its maximum): exactly the model's items, with one primary."""
        most = self.ctx.limits.per_page_max
        if len(self.model) > most:
            return
        exchange = self.send(self.kind.list_op, user=self.user, params={"per_page": most})
        body = self.expect(self.ids.list_model, exchange, 200, what=f"the {self.kind.plural} list")
        items = [item for item in body.get("items", []) if isinstance(item, dict)]
        primaries = [item.get("id") for item in items if item.get("is_primary") is True]
        wanted_primaries = 1 if self.primary_id() is not None else 0
        self.check(
            self.ids.primary_unique,
            len(primaries) == wanted_primaries,
            exchange=exchange,
            expected=f"exactly {wanted_primaries} primary {self.kind.noun} in the list",
            actual=f"{len(primaries)} flagged primary (ids {primaries})",
        )
        listed = [item.get("id") for item in items]
        # A removed address still listed is one that is not gone.
        rid = self.ids.remove_gone if self.removed is not None and self.removed.id in listed else self.ids.list_model
        self.check(
            rid,
            sorted(map(str, listed)) == sorted(map(str, self.model)) and body.get("total") == len(self.model),
            expected=f"the ids {sorted(self.model)} (total {len(self.model)})",
            actual=f"the ids {listed} (total {body.get('total')})",
            exchange=exchange,
        )
        for item in items:
            self.judge_item(self.ids.list_model, item, exchange, f"listed {self.kind.noun} {item.get('id')}")

    def pages_walk_once(self) -> None:
        """Walks every page with a small per_page (and one past the end): each item exactly once, in id order."""
        count = len(self.model)
        if count < 2 or count > 40:
            return
        per_page = 1 if count < 4 else 2
        pages = total_pages(count, per_page)
        seen: list[int] = []
        exchange: Exchange | None = None
        for page in range(1, pages + 2):
            exchange = self.send(self.kind.list_op, user=self.user, params={"page": page, "per_page": per_page})
            body = self.expect(PAGINATION_WALK, exchange, 200, what=f"page {page} of the {self.kind.plural} list")
            ids = [item.get("id") for item in body.get("items", []) if isinstance(item, dict)]
            self.check(
                PAGINATION_WALK,
                body.get("total") == count
                and body.get("total_pages") == pages
                and len(ids) == max(0, min(per_page, count - (page - 1) * per_page)),
                expected=f"page {page}/{pages} with per_page={per_page} of {count} items",
                actual=f"{len(ids)} items, total {body.get('total')}, total_pages {body.get('total_pages')}",
                exchange=exchange,
            )
            seen.extend(int(i) for i in ids if isinstance(i, int))
        assert exchange is not None
        self.check(
            PAGINATION_WALK,
            seen == sorted(self.model),
            exchange=exchange,
            expected=f"every {self.kind.noun} exactly once, ordered by id: {sorted(self.model)}",
            actual=f"the walk gave {seen}",
        )

    def profile_shows_primary(self) -> None:
        """GET /users/me: its primary email/phone (and verified flag) is the model's primary."""
        exchange = self.send("getMyProfile", user=self.user)
        body = self.expect(self.ids.profile_primary, exchange, 200, what="the profile")
        primary = self.model.get(self.primary_id() or 0)
        field = self.kind.name
        want = (primary.value if primary else self.kind.profile_without_primary, bool(primary and primary.verified))
        seen = (body.get(field), body.get(f"{field}_verified"))
        self.check(
            self.ids.profile_primary,
            seen == want,
            exchange=exchange,
            expected=f"profile {field}, {field}_verified = {want}",
            actual=f"{seen}",
        )

    def validation_agrees(self) -> None:
        """GET /user/profile-validation: it agrees with the model's primary and verification state."""
        exchange = self.send("getProfileValidation", user=self.user)
        body = self.expect(PROFILE_VALIDATION_STATE, exchange, 200, what="the profile validation")
        primary = self.model.get(self.primary_id() or 0)
        mine = {
            f"has_primary_{self.kind.name}": primary is not None,
            f"{self.kind.name}_verified": bool(primary and primary.verified),
        }
        want = {**{k: self.others.get(k) for k in _VALIDATION_FLAGS}, **mine}
        # `missing` is a set the contract gives no order: compared sorted.
        want["missing"] = sorted(
            name
            for name, done in (
                ("email_verification", want["email_verified"]),
                ("primary_phone", want["has_primary_phone"]),
                ("phone_verification", want["phone_verified"]),
                ("identity_verification", want["identity_verified"]),
            )
            if not done
        )
        want["is_complete"] = not want["missing"]
        seen = {key: body.get(key) for key in want}
        if isinstance(seen["missing"], list):
            seen["missing"] = sorted(seen["missing"], key=str)
        if seen != want:
            wrong = sorted(key for key in want if seen[key] != want[key])
            self.violation(
                PROFILE_VALIDATION_STATE,
                exchange=exchange,
                expected="; ".join(f"{key}={want[key]}" for key in wrong),
                actual="; ".join(f"{key}={seen[key]}" for key in wrong),
            )


def one_page_bound(machine: Lifecycle, list_op: str, user: User, page: int, per_page: int) -> None:
    """GET `list_op` with one page and per_page: out of range is 422 validation_failed, in range a page that
    echoes per_page."""
    most = machine.ctx.limits.per_page_max
    exchange = machine.send(list_op, user=user, params={"page": page, "per_page": per_page})
    if page < 1 or not 1 <= per_page <= most:
        machine.expect(
            PAGINATION_BOUNDS,
            exchange,
            422,
            code="validation_failed",
            what=f"page={page}, per_page={per_page} is out of range (page >= 1, per_page 1..{most})",
        )
        return
    body = machine.expect(PAGINATION_BOUNDS, exchange, 200, what=f"per_page={per_page} is in range")
    items = body.get("items")
    machine.check(
        PAGINATION_BOUNDS,
        isinstance(items, list) and body.get("per_page") == per_page and len(items) <= per_page,
        expected=f"a page of at most {per_page} items that echoes per_page={per_page}",
        actual=machine.ctx.actual(exchange),
        exchange=exchange,
    )


def judge_page_defaults(machine: Lifecycle, list_op: str, user: User) -> bool:
    """GET ``list_op`` without page and per_page: it answers page 1 (the same items as page=1 sent with the
    default size) and echoes the contract's per_page_default (PerPageField: "20 when absent")."""
    default = machine.ctx.limits.per_page_default
    bare = machine.send(list_op, user=user)
    body = machine.expect(PAGINATION_DEFAULTS, bare, 200, what="a list without page and per_page")
    explicit = machine.send(list_op, user=user, params={"page": 1, "per_page": default})
    first = machine.expect(PAGINATION_DEFAULTS, explicit, 200, what=f"page=1, per_page={default}")
    seen = (body.get("page"), body.get("per_page"), _ids(body))
    want = (1, default, _ids(first))
    machine.check(
        PAGINATION_DEFAULTS,
        seen == want,
        exchange=bare,
        expected=f"page, per_page, item ids = {want} (absent page means 1, absent per_page {default})",
        actual=f"{seen}",
    )
    return True


def _ids(body: dict[str, Any]) -> list[Any]:
    return [item.get("id") for item in body.get("items", []) if isinstance(item, dict)]


_EMAIL_OPS = ("addUserEmail", "listUserEmails", "getUserEmail", "setPrimaryUserEmail", "verifyUserEmail")
_PHONE_OPS = ("addUserPhone", "listUserPhones", "getUserPhone", "setPrimaryUserPhone", "verifyUserPhone")

_EMAIL_IDS = ContactRequirements(
    primary_unique=owned(
        "EMAIL-PRIMARY-UNIQUE",
        cites=("rule:EMAIL-PRIMARY-UNIQUE",),
        needs=_NEEDS,
        title="Exactly one primary email address at every step",
        operations=_EMAIL_OPS[:4],
        doc="Makes a verified address primary, again, and the original primary again; after every step the list "
        "flags exactly one primary.",
    ),
    primary_verified=owned(
        "EMAIL-PRIMARY-VERIFIED",
        cites=("rule:EMAIL-PRIMARY-VERIFIED",),
        needs=_NEEDS,
        title="Only a verified email address becomes primary",
        operations=_EMAIL_OPS[3:],
        doc="Sends make-default on an address unverified, after a wrong token (409 not_verified) and verified (200).",
    ),
    verify_token=owned(
        "EMAIL-VERIFY-TOKEN",
        cites=("rule:VERIFY-TOKEN", "seed:verifyUserEmail"),
        needs=_NEEDS,
        title="An email address is verified by the token from the inbox only",
        operations=("addUserEmail", "verifyUserEmail", "getUserEmail"),
        doc="Verifies with a wrong token (400 invalid_code, nothing changes), the inbox token (200), again (409 "
        "already_verified).",
    ),
    primary_removal=owned(
        "EMAIL-PRIMARY-REMOVAL",
        cites=("rule:EMAIL-PRIMARY-REMOVAL",),
        needs=_NEEDS,
        title="The primary email address is protected from removal",
        operations=("removeUserEmail",),
        doc="Removes the primary email address (409 primary_removal), then, once another is primary, removes it (200).",
    ),
    remove_gone=owned(
        "EMAIL-REMOVE-GONE",
        cites=("seed:removeUserEmail", "spec:/components/responses/NotFound"),
        title="A removed email address is gone",
        operations=("removeUserEmail", "getUserEmail", "verifyUserEmail", "setPrimaryUserEmail"),
        doc="Removes an email address (200), then reads, verifies, makes default and removes it: 404 not_found each.",
    ),
    list_model=owned(
        "EMAIL-LIST-MODEL",
        cites=("seed:listUserEmails", "seed:addUserEmail"),
        title="The email list equals what the user added",
        operations=_EMAIL_OPS[:3],
        doc="After every step, the list and the address's own read equal the model of what was added and changed.",
    ),
    profile_primary=owned(
        "PROFILE-PRIMARY-EMAIL",
        cites=("seed:getMyProfile", "spec:/components/schemas/MyProfileResponse"),
        needs=_NEEDS,
        title="The profile shows the current primary email",
        operations=("getMyProfile", "setPrimaryUserEmail"),
        doc="After every step of the emails machine, reads /users/me: email and email_verified match the model.",
    ),
)
_PHONE_IDS = ContactRequirements(
    primary_unique=owned(
        "PHONE-PRIMARY-UNIQUE",
        cites=("rule:PHONE-PRIMARY-UNIQUE",),
        needs=_SMS_NEEDS,
        title="Exactly one primary phone number whenever there is one",
        operations=_PHONE_OPS[:4],
        doc="Adds a first number (primary at once) and a second (not), makes numbers primary; the list flags one "
        "primary.",
    ),
    primary_verified=owned(
        "PHONE-PRIMARY-VERIFIED",
        cites=("rule:PHONE-PRIMARY-VERIFIED",),
        needs=_SMS_NEEDS,
        title="Only a verified phone number becomes primary",
        operations=_PHONE_OPS[3:],
        doc="Sends make-default on unverified numbers (409 not_verified) and on verified ones (200).",
    ),
    verify_token=owned(
        "PHONE-VERIFY-TOKEN",
        cites=("rule:VERIFY-TOKEN", "seed:verifyUserPhone"),
        needs=_SMS_NEEDS,
        title="A phone number is verified by the token from the SMS only",
        operations=("addUserPhone", "verifyUserPhone", "getUserPhone"),
        doc="Verifies with a wrong token (400 invalid_code, nothing changes), the SMS token (200), again (409).",
    ),
    primary_removal=owned(
        "PHONE-PRIMARY-REMOVAL",
        cites=("rule:PHONE-PRIMARY-REMOVAL",),
        needs=_SMS_NEEDS,
        title="The primary phone number is removable only when it is the only one",
        operations=("removeUserPhone",),
        doc="Removes the primary phone number while another exists: 409 primary_removal; alone: 200.",
    ),
    remove_gone=owned(
        "PHONE-REMOVE-GONE",
        cites=("seed:removeUserPhone", "spec:/components/responses/NotFound"),
        title="A removed phone number is gone",
        operations=("removeUserPhone", "getUserPhone", "verifyUserPhone", "setPrimaryUserPhone"),
        doc="Removes a phone number (200), then reads, verifies, makes default and removes it: 404 not_found each.",
    ),
    list_model=owned(
        "PHONE-LIST-MODEL",
        cites=("seed:listUserPhones", "seed:addUserPhone"),
        title="The phone list equals what the user added",
        operations=_PHONE_OPS[:3],
        doc="After every step, the list and the number's own read equal the model (E.164, the region sent).",
    ),
    profile_primary=owned(
        "PROFILE-PRIMARY-PHONE",
        cites=("seed:getMyProfile", "spec:/components/schemas/MyProfileResponse"),
        needs=_SMS_NEEDS,
        title="The profile shows the current primary phone number",
        operations=("getMyProfile", "setPrimaryUserPhone"),
        doc="After every step of the phones machine, reads /users/me: phone and phone_verified match the model.",
    ),
)
EMAIL_TABLE = contact_table("emails", _EMAIL_IDS, phones=False)
PHONE_TABLE = contact_table("phones", _PHONE_IDS, phones=True)


class EmailLifecycle(ContactLifecycle):
    table = EMAIL_TABLE
    kind = ContactKind(
        name="email",
        noun="email address",
        plural="email addresses",
        add_op="addUserEmail",
        list_op="listUserEmails",
        get_op="getUserEmail",
        verify_op="verifyUserEmail",
        set_primary_op="setPrimaryUserEmail",
        remove_op="removeUserEmail",
        id_param="email_id",
        value_field="email",
        channel="email",
        purpose="email_verification",
        first_becomes_primary=False,
        profile_without_primary="",
    )
    ids = _EMAIL_IDS

    def new_value(self) -> tuple[str, dict[str, Any], str | None]:
        value = self.ctx.unique_email()
        return value, {"email": value}, None

    def lifetimes(self) -> list[Due]:
        """On the wall clock, once per run: two new addresses; the second's token verifies a margin before its
        lifetime ends (200), the first's, just past it, answers 400 code_expired."""
        assert self.ctx.clock is not None
        ttl = self.ctx.limits.verification_token_ttl_s
        young = ttl - self.ctx.clock.margin_s(ttl)

        def added() -> Contact:
            value, payload, country = self.new_value()
            return self.add_contact(payload, value, country, judge=False)

        expired, alive = added(), added()

        def still_alive() -> None:
            exchange = self.send_token(alive.id, alive.token or "000000")
            self.expect(VERIFY_TOKEN_EXPIRY, exchange, 200, what=f"a token {young} s old (its lifetime is {ttl} s)")
            alive.verified = exchange.status == 200

        def past_its_lifetime() -> None:
            exchange = self.send_token(expired.id, expired.token or "000000")
            self.expect(VERIFY_TOKEN_EXPIRY, exchange, 400, code="code_expired", what=f"a token past its {ttl} s")

        return [
            Due(young, still_alive, judges=VERIFY_TOKEN_EXPIRY.id),
            Due(ttl + 1, past_its_lifetime, judges=VERIFY_TOKEN_EXPIRY.id),
        ]


class PhoneLifecycle(ContactLifecycle):
    table = PHONE_TABLE
    kind = ContactKind(
        name="phone",
        noun="phone number",
        plural="phone numbers",
        add_op="addUserPhone",
        list_op="listUserPhones",
        get_op="getUserPhone",
        verify_op="verifyUserPhone",
        set_primary_op="setPrimaryUserPhone",
        remove_op="removeUserPhone",
        id_param="phone_id",
        value_field="phone_number",
        channel="sms",
        purpose="phone_verification",
        first_becomes_primary=True,
        profile_without_primary=None,
    )
    ids = _PHONE_IDS

    def new_value(self) -> tuple[str, dict[str, Any], str | None]:
        national, region = unique_phone(self.ctx)
        return e164_fi(national), {"phone_number": national, "country_code": region}, region


_SHARED = (
    PAGINATION_WALK,
    PAGINATION_BOUNDS,
    PAGINATION_DEFAULTS,
    CONTACT_ALREADY_EXISTS,
    VERIFY_TOKEN_EXPIRY,
    VERIFY_TOKEN_BURNT,
    PROFILE_VALIDATION_STATE,
)
EMAILS = MachineSpec(
    "emails",
    EmailLifecycle,
    requirements=(*_EMAIL_IDS, *_SHARED),
    table=EMAIL_TABLE,
    steps=10,
    lifetimes=EmailLifecycle.lifetimes,
    sharing=Sharing.ALONE,  # it advances the server's test clock (VERIFY-TOKEN-EXPIRY); alone on shared users too
)
PHONES = MachineSpec(
    "phones",
    PhoneLifecycle,
    requirements=(*_PHONE_IDS, *_SHARED),
    table=PHONE_TABLE,
    steps=10,
    sharing=Sharing.ALONE,
)
