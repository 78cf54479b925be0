"""Email addresses and phone numbers: one lifecycle over a shared base, two small machines.

The machine adds addresses (the verification token must reach the inbox), verifies them with
wrong and right tokens, makes them primary, removes them, reads them one by one and as pages,
and after every step compares the list, the profile and the profile validation with its model.
It acts as user A and puts back what it changed (the original primary email) when it ends.
:class:`EmailLifecycle` and :class:`PhoneLifecycle` say what differs: their operations, their
rules (:class:`ContactKind`) and the requirements they report (:class:`ContactRequirements`).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

from hypothesis import strategies as st
from hypothesis.stateful import Bundle, consumes, initialize, invariant, multiple, precondition, rule

from conformance.checks.lifecycles._base import Lifecycle, MachineSpec, owned
from conformance.checks.lifecycles._support import body_of, e164_fi, read_all, total_pages, unique_phone
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
    always_has_primary: bool  # an account always has a primary email (the one it signed up with)
    only_primary_removable: bool  # PHONE-PRIMARY-REMOVAL: the only phone number may be removed
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
    token: str | None = None  # the verification token from the inbox (a secret, never printed)
    wrong_attempts: int = 0
    added_at: float = 0.0  # time.monotonic() before the add request: the token is no older than this


_VALIDATION_FLAGS = ("email_verified", "phone_verified", "identity_verified", "has_primary_email", "has_primary_phone")


class ContactLifecycle(Lifecycle):
    """The lifecycle of one kind of contact; :class:`EmailLifecycle` and :class:`PhoneLifecycle` set what differs."""

    kind: ClassVar[ContactKind]
    ids: ClassVar[ContactRequirements]
    contacts = Bundle("contacts")

    def __init__(self, ctx: CheckContext) -> None:
        super().__init__(ctx)
        self.user = ctx.user_a
        self.disposable = ctx.factory is not None
        self.model: dict[int, Contact] = {}
        self.mine: set[int] = set()
        self.payloads: dict[int, dict[str, Any]] = {}  # the add request's body, by the id it got
        self.original_primary: int | None = None
        self.others: dict[str, Any] = {}  # profile-validation fields this machine never changes
        self.learn_the_start()

    # --- set-up and the model's derived views -------------------------------------------
    def learn_the_start(self) -> None:
        """Reads every page of the list and the profile validation: the model starts from them.

        With a user factory every example acts as a fresh disposable user, so a faulty server
        cannot leave an example's damage (say, a removed primary) to the next one.
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
        self.original_primary = self.primary_id()
        validation = self.send("getProfileValidation", user=self.user)
        if validation.status != 200:
            raise UndecidedRequirement(f"cannot read the profile validation: {self.ctx.actual(validation)}")
        self.others = body_of(validation)

    def verifiable(self, contact: Contact) -> bool:
        """Unverified, with its token, and at least two attempts left (a wrong one, then the right one)."""
        attempts_left = self.ctx.limits.verification_token_max_attempts - contact.wrong_attempts
        young = self.young(contact.added_at, self.ctx.limits.verification_token_ttl_s)  # a short lifetime passes
        return not contact.verified and contact.token is not None and attempts_left >= 2 and young

    def primary_id(self) -> int | None:
        return next((c.id for c in self.model.values() if c.primary), None)

    def teardown(self) -> None:
        """Puts the original primary back and removes what this machine added (best effort)."""
        with contextlib.suppress(UndecidedRequirement):
            original = self.model.get(self.original_primary or 0)
            if original is not None and not original.primary and original.verified:
                self.send(self.kind.set_primary_op, user=self.user, path_params={self.kind.id_param: original.id})
            left = sorted(self.mine & set(self.model), key=lambda i: self.model[i].primary)
            for contact_id in left:
                self.send(self.kind.remove_op, user=self.user, path_params={self.kind.id_param: contact_id})

    def judge_item(self, rid: Requirement, item: dict[str, Any], exchange: Any, what: str) -> None:
        contact = self.model[int(item.get("id", 0))]
        seen = (item.get(self.kind.value_field), item.get("is_verified"), item.get("is_primary"))
        want = (contact.value, contact.verified, contact.primary)
        self.check(
            rid,
            seen == want,
            exchange=exchange,
            expected=f"{what}: {self.kind.value_field}, is_verified, is_primary = {want}",
            actual=f"{seen}",
        )

    # --- rules ---------------------------------------------------------------------------
    @initialize(target=contacts)
    def add_first(self) -> Any:
        """Adds two addresses; a wrong token, then the inbox token, for the first; the refusals every run must see.

        Each rule the contract states for a contact is tried once here, whatever steps Hypothesis draws
        later: a wrong token (400 invalid_code), the right one (200), verifying again (409 already_verified),
        make-default on the unverified one (409 not_verified), make-default on the verified one (200, the only
        primary), removing the protected primary (409 primary_removal), removing another (200, then 404).
        Every example then has an unverified and a verified address, and pages to walk. Before all that, the
        first address is added again: 409 already_exists (AlreadyExists), and the list keeps one entry.
        """
        first, second = self.new_contact(), self.new_contact()
        self.refuse_duplicate(self.model[first])
        if not self.ctx.reads(self.kind.channel):
            # No inbox, no tokens: only what needs no code (the list, removal, the protected primary).
            self.refuse_remove_primary()
            self.remove_contact(self.new_contact())
            return multiple(first, second)
        contact = self.model[first]
        self.refuse_wrong_token(contact, offset=1)
        exchange = self.send_token(contact, contact.token or "")
        body = self.expect(self.ids.verify_token, exchange, 200, what="the token from the inbox verifies")
        contact.verified, contact.token = True, None
        self.judge_item(self.ids.verify_token, body, exchange, f"the verified {self.kind.noun}")
        self.refuse_verify_again(contact)
        self.refuse_make_default_unverified(self.model[second])
        self.make_primary(contact)
        self.refuse_remove_primary()
        self.remove_contact(self.new_contact())  # a removed address is gone, from its read and from the list
        return multiple(first, second)

    @rule(target=contacts)
    def add(self) -> int:
        """POST a new, never-used address; 201, unverified, and a verification token reaches the inbox."""
        return self.new_contact()

    def new_value(self) -> tuple[str, dict[str, Any]]:
        """A never-used address: the value the server must show, and the add request's body."""
        raise NotImplementedError

    def new_contact(self) -> int:
        value, payload = self.new_value()
        added_at = time.monotonic()
        exchange = self.send(self.kind.add_op, user=self.user, json_body=payload)
        body = self.expect(self.ids.list_model, exchange, 201, what=f"a new {self.kind.noun} is added")
        contact_id = body.get("id") if isinstance(body, dict) else None
        if not isinstance(contact_id, int):
            self.violation(self.ids.list_model, expected="the new resource's integer id", exchange=exchange)
        becomes_primary = self.kind.first_becomes_primary and self.primary_id() is None
        self.model[contact_id] = Contact(contact_id, value, False, becomes_primary, added_at=added_at)
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
        if not self.ctx.reads(self.kind.channel):
            return contact_id  # no token to verify it with: the verify steps are left out
        self.model[contact_id].token = self.ctx.code(
            channel=self.kind.channel, address=value, purpose=self.kind.purpose
        )
        self.note(f"(inbox: a {self.kind.purpose} token reached the {self.kind.channel} address)")
        return contact_id

    def refuse_duplicate(self, contact: Contact) -> None:
        """POST the address of `contact` again (the same request body): 409 already_exists, nothing added."""
        exchange = self.send(self.kind.add_op, user=self.user, json_body=self.payloads[contact.id])
        self.expect(
            CONTACT_ALREADY_EXISTS,
            exchange,
            409,
            code="already_exists",
            what=f"the same {self.kind.noun} added again (it is already on the account)",
        )

    def mine_where(self, wanted: Callable[[Contact], bool]) -> list[int]:
        return sorted(i for i in self.mine if i in self.model and wanted(self.model[i]))

    def pick(self, data: st.DataObject, wanted: Callable[[Contact], bool]) -> Contact:
        """One of this machine's addresses in the state the rule needs, chosen from the model."""
        return self.model[data.draw(st.sampled_from(self.mine_where(wanted)), label=self.kind.name)]

    def send_token(self, contact: Contact, token: str) -> Exchange:
        return self.send(
            self.kind.verify_op,
            user=self.user,
            path_params={self.kind.id_param: contact.id},
            json_body={"token": token},
        )

    @precondition(lambda self: self.mine_where(self.verifiable))
    @rule(data=st.data())
    def verify(self, data: st.DataObject) -> None:
        """POST the token the inbox received for an unverified address: 200 and it is verified."""
        contact = self.pick(data, self.verifiable)
        exchange = self.send_token(contact, contact.token or "")
        rid = self.ids.verify_token
        body = self.expect(rid, exchange, 200, what="the token from the inbox verifies")
        contact.verified, contact.token = True, None
        self.judge_item(rid, body, exchange, f"the verified {self.kind.noun}")

    @precondition(lambda self: self.mine_where(self.verifiable))
    @rule(data=st.data(), offset=st.integers(1, 999_999))
    def verify_wrong_token(self, data: st.DataObject, offset: int) -> None:
        """POST a wrong token (the right one shifted by offset): 400 invalid_code, and nothing changes."""
        self.refuse_wrong_token(self.pick(data, self.verifiable), offset=offset)

    def refuse_wrong_token(self, contact: Contact, *, offset: int) -> None:
        wrong = f"{(int(contact.token or 0) + offset) % 1_000_000:06d}"
        exchange = self.send_token(contact, wrong)
        rid = self.ids.verify_token
        self.expect(rid, exchange, 400, code="invalid_code", what="a wrong token is refused")
        contact.wrong_attempts += 1
        after = self.send(self.kind.get_op, user=self.user, path_params={self.kind.id_param: contact.id})
        self.expect(rid, after, 200, what=f"the {self.kind.noun} is still there")
        self.judge_item(rid, body_of(after), after, f"the {self.kind.noun} after a wrong token (unchanged)")

    @precondition(lambda self: self.mine_where(lambda c: c.verified))
    @rule(data=st.data())
    def verify_again(self, data: st.DataObject) -> None:
        """POST a token for an address already verified: 409 already_verified."""
        self.refuse_verify_again(self.pick(data, lambda c: c.verified))

    def refuse_verify_again(self, contact: Contact) -> None:
        exchange = self.send_token(contact, "000000")
        self.expect(
            self.ids.verify_token,
            exchange,
            409,
            code="already_verified",
            what=f"verifying a verified {self.kind.noun} again",
        )

    @precondition(lambda self: self.mine_where(lambda c: not c.verified))
    @rule(data=st.data())
    def make_default_unverified(self, data: st.DataObject) -> None:
        """PUT make-default on an unverified address: 409 not_verified, and the primary stays."""
        self.refuse_make_default_unverified(self.pick(data, lambda c: not c.verified))

    def refuse_make_default_unverified(self, contact: Contact) -> None:
        exchange = self.send(self.kind.set_primary_op, user=self.user, path_params={self.kind.id_param: contact.id})
        self.expect(
            self.ids.primary_verified,
            exchange,
            409,
            code="not_verified",
            what=f"an unverified {self.kind.noun} cannot become primary",
        )

    @precondition(lambda self: self.mine_where(lambda c: c.verified))
    @rule(data=st.data())
    def make_default(self, data: st.DataObject) -> None:
        """PUT make-default on a verified address: 200, and it becomes the only primary."""
        self.make_primary(self.pick(data, lambda c: c.verified))

    def make_primary(self, contact: Contact) -> None:
        exchange = self.send(self.kind.set_primary_op, user=self.user, path_params={self.kind.id_param: contact.id})
        body = self.expect(self.ids.primary_unique, exchange, 200, what=f"a verified {self.kind.noun} becomes primary")
        for other in self.model.values():
            other.primary = other.id == contact.id
        self.judge_item(self.ids.primary_unique, body, exchange, "the new primary")

    @rule(target=contacts, contact=consumes(contacts))
    def remove(self, contact: int) -> Any:
        """DELETE an address this machine added: refused for a protected primary, else it is gone (404)."""
        return contact if self.remove_contact(contact) is False else multiple()

    def remove_contact(self, contact: int) -> bool:
        """DELETE one address; False when it is a protected primary (still there), True when it is gone."""
        model = self.model[contact]
        exchange = self.send(self.kind.remove_op, user=self.user, path_params={self.kind.id_param: contact})
        protected = model.primary and not (self.kind.only_primary_removable and len(self.model) == 1)
        if protected:
            self.expect(
                self.ids.primary_removal,
                exchange,
                409,
                code="primary_removal",
                what=f"the primary {self.kind.noun} cannot be removed",
            )
            return False  # still there: back into the bundle
        self.expect(self.ids.remove_gone, exchange, 200, what=f"a removable {self.kind.noun} is removed")
        del self.model[contact]
        self.mine.discard(contact)
        gone = self.send(self.kind.get_op, user=self.user, path_params={self.kind.id_param: contact})
        self.expect(self.ids.remove_gone, gone, 404, code="not_found", what=f"a removed {self.kind.noun} is not found")
        return True

    @precondition(
        lambda self: self.primary_id() is not None and (not self.kind.only_primary_removable or len(self.model) > 1)
    )
    @rule()
    def remove_primary(self) -> None:
        """DELETE the current primary (whoever added it) while it is protected: 409 primary_removal."""
        self.refuse_remove_primary()

    def refuse_remove_primary(self) -> None:
        primary = self.primary_id()
        if primary is None or (self.kind.only_primary_removable and len(self.model) == 1):
            return  # nothing protected to try
        exchange = self.send(self.kind.remove_op, user=self.user, path_params={self.kind.id_param: primary})
        self.expect(
            self.ids.primary_removal,
            exchange,
            409,
            code="primary_removal",
            what=f"the primary {self.kind.noun} cannot be removed"
            + (f" while other {self.kind.plural} exist" if self.kind.only_primary_removable else ""),
        )

    @rule(contact=contacts)
    def get(self, contact: int) -> None:
        """GET one address: it equals the model."""
        exchange = self.send(self.kind.get_op, user=self.user, path_params={self.kind.id_param: contact})
        body = self.expect(self.ids.list_model, exchange, 200, what=f"an existing {self.kind.noun} is found")
        self.judge_item(self.ids.list_model, body, exchange, f"the {self.kind.noun}")

    @initialize()
    def page_bounds(self) -> None:
        """GET the list with page 0 and 1 and per_page 0, 1, the maximum and one past it: out of range is 422.

        Every bound, at and past both limits, once per run (not drawn at random: each must be sent).
        """
        most = self.ctx.limits.per_page_max

        def every_bound() -> bool:
            for page in (0, 1):
                for per_page in (0, 1, most, most + 1):
                    self.one_page_bound(page, per_page)
            return True

        self.ctx.once(f"pagination-bounds:{self.kind.name}", every_bound)

    @initialize()
    def page_defaults(self) -> None:
        """GET the list without page and per_page, once per run: page 1 with the contract's per_page_default."""
        self.ctx.once(
            f"pagination-defaults:{self.kind.name}", lambda: judge_page_defaults(self, self.kind.list_op, self.user)
        )

    def one_page_bound(self, page: int, per_page: int) -> None:
        most = self.ctx.limits.per_page_max
        exchange = self.send(self.kind.list_op, user=self.user, params={"page": page, "per_page": per_page})
        if page < 1 or not 1 <= per_page <= most:
            self.expect(
                "PAGINATION-BOUNDS",
                exchange,
                422,
                code="validation_failed",
                what=f"page={page}, per_page={per_page} is out of range (page >= 1, per_page 1..{most})",
            )
            return
        body = self.expect("PAGINATION-BOUNDS", exchange, 200, what=f"per_page={per_page} is in range")
        items = body.get("items") if isinstance(body, dict) else None
        self.check(
            "PAGINATION-BOUNDS",
            isinstance(items, list) and body.get("per_page") == per_page and len(items) <= per_page,
            expected=f"a page of at most {per_page} items that echoes per_page={per_page}",
            actual=self.ctx.actual(exchange),
            exchange=exchange,
        )

    # --- invariants ------------------------------------------------------------------------
    @invariant()
    def list_equals_model(self) -> None:
        """GET the list (per_page at its maximum): exactly the model's items, with one primary."""
        most = self.ctx.limits.per_page_max
        if len(self.model) > most:
            return
        exchange = self.send(self.kind.list_op, user=self.user, params={"per_page": most})
        body = self.expect(self.ids.list_model, exchange, 200, what=f"the {self.kind.plural} list")
        items = [item for item in body.get("items", []) if isinstance(item, dict)]
        primaries = [item.get("id") for item in items if item.get("is_primary") is True]
        wanted_primaries = 1 if (self.kind.always_has_primary or items) else 0
        self.check(
            self.ids.primary_unique,
            len(primaries) == wanted_primaries,
            exchange=exchange,
            expected=f"exactly {wanted_primaries} primary {self.kind.noun} in the list",
            actual=f"{len(primaries)} flagged primary (ids {primaries})",
        )
        listed = [item.get("id") for item in items]
        self.check(
            self.ids.list_model,
            sorted(map(str, listed)) == sorted(map(str, self.model)) and body.get("total") == len(self.model),
            expected=f"the ids {sorted(self.model)} (total {len(self.model)})",
            actual=f"the ids {listed} (total {body.get('total')})",
            exchange=exchange,
        )
        for item in items:
            self.judge_item(self.ids.list_model, item, exchange, f"listed {self.kind.noun} {item.get('id')}")

    @invariant()
    def pages_walk_once(self) -> None:
        """Walks every page with a small per_page (and one past the end): each item exactly once, in id order."""
        count = len(self.model)
        if count < 2 or count > 40:
            return
        per_page = 1 if count < 4 else 2
        pages = total_pages(count, per_page)
        seen: list[int] = []
        for page in range(1, pages + 2):
            exchange = self.send(self.kind.list_op, user=self.user, params={"page": page, "per_page": per_page})
            body = self.expect("PAGINATION-WALK", exchange, 200, what=f"page {page} of the {self.kind.plural} list")
            ids = [item.get("id") for item in body.get("items", []) if isinstance(item, dict)]
            self.check(
                "PAGINATION-WALK",
                body.get("total") == count
                and body.get("total_pages") == pages
                and len(ids) == max(0, min(per_page, count - (page - 1) * per_page)),
                expected=f"page {page}/{pages} with per_page={per_page} of {count} items",
                actual=f"{len(ids)} items, total {body.get('total')}, total_pages {body.get('total_pages')}",
                exchange=exchange,
            )
            seen.extend(int(i) for i in ids if isinstance(i, int))
        self.check(
            "PAGINATION-WALK",
            seen == sorted(self.model),
            exchange=exchange,
            expected=f"every {self.kind.noun} exactly once, ordered by id: {sorted(self.model)}",
            actual=f"the walk gave {seen}",
        )

    @invariant()
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

    @invariant()
    def validation_agrees(self) -> None:
        """GET /user/profile-validation: it agrees with the model's primary and verification state."""
        exchange = self.send("getProfileValidation", user=self.user)
        body = self.expect("PROFILE-VALIDATION-STATE", exchange, 200, what="the profile validation")
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
                "PROFILE-VALIDATION-STATE",
                exchange=exchange,
                expected="; ".join(f"{key}={want[key]}" for key in wrong),
                actual="; ".join(f"{key}={seen[key]}" for key in wrong),
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


_NEEDS = (Need.INBOX,)  # a verification token from the inbox; the requirements below without it need no code
_SMS_NEEDS = (Need.SMS_INBOX,)  # the phone numbers' tokens come by SMS
PAGINATION_WALK = owned(
    "PAGINATION-WALK",
    cites=("rule:PAGINATION",),
    title="Walking every page gives each item exactly once",
    operations=("listUserEmails", "listUserPhones"),
    doc="After every step with two or more items, walks the emails and phones lists with per_page 1 or 2.",
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

_EMAIL_OPS = ("addUserEmail", "listUserEmails", "getUserEmail", "setPrimaryUserEmail", "verifyUserEmail")
_PHONE_OPS = ("addUserPhone", "listUserPhones", "getUserPhone", "setPrimaryUserPhone", "verifyUserPhone")


class EmailLifecycle(ContactLifecycle):
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
        always_has_primary=True,
        only_primary_removable=False,
        profile_without_primary="",
    )
    ids = ContactRequirements(
        primary_unique=owned(
            "EMAIL-PRIMARY-UNIQUE",
            cites=("rule:EMAIL-PRIMARY-UNIQUE",),
            needs=_NEEDS,
            title="Exactly one primary email address at every step",
            operations=_EMAIL_OPS[:4],
            doc="Adds, verifies and makes addresses primary; after every step the list flags exactly one primary.",
        ),
        primary_verified=owned(
            "EMAIL-PRIMARY-VERIFIED",
            cites=("rule:EMAIL-PRIMARY-VERIFIED",),
            needs=_NEEDS,
            title="Only a verified email address becomes primary",
            operations=_EMAIL_OPS[3:],
            doc="Sends make-default on unverified addresses (409 not_verified) and on verified ones (200).",
        ),
        verify_token=owned(
            "EMAIL-VERIFY-TOKEN",
            cites=("rule:VERIFY-TOKEN", "seed:verifyUserEmail"),
            needs=_NEEDS,
            title="An email address is verified by the token from the inbox only",
            operations=("addUserEmail", "verifyUserEmail", "getUserEmail"),
            doc="Verifies with wrong tokens (400 invalid_code, nothing changes), the inbox token (200), again (409).",
        ),
        primary_removal=owned(
            "EMAIL-PRIMARY-REMOVAL",
            cites=("rule:EMAIL-PRIMARY-REMOVAL",),
            needs=_NEEDS,
            title="The primary email address is protected from removal",
            operations=("removeUserEmail",),
            doc="Removes the primary email address: 409 primary_removal.",
        ),
        remove_gone=owned(
            "EMAIL-REMOVE-GONE",
            cites=("seed:removeUserEmail", "spec:/components/responses/NotFound"),
            title="A removed email address is gone",
            operations=("removeUserEmail", "getUserEmail"),
            doc="Removes non-primary email addresses (200), then reads each one: 404.",
        ),
        list_model=owned(
            "EMAIL-LIST-MODEL",
            cites=("seed:listUserEmails", "seed:addUserEmail"),
            title="The email list equals what the user added",
            operations=_EMAIL_OPS[:3],
            doc="After every step, the list and each read equal the model of what was added and changed.",
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

    def new_value(self) -> tuple[str, dict[str, Any]]:
        value = self.ctx.unique_email()
        return value, {"email": value}


class PhoneLifecycle(ContactLifecycle):
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
        always_has_primary=False,
        only_primary_removable=True,
        profile_without_primary=None,
    )
    ids = ContactRequirements(
        primary_unique=owned(
            "PHONE-PRIMARY-UNIQUE",
            cites=("rule:PHONE-PRIMARY-UNIQUE",),
            needs=_SMS_NEEDS,
            title="Exactly one primary phone number whenever there is one",
            operations=_PHONE_OPS[:4],
            doc="Adds (the first becomes primary), verifies and makes numbers primary; the list flags one primary.",
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
            doc="Verifies with wrong tokens (400 invalid_code, nothing changes), the SMS token (200), again (409).",
        ),
        primary_removal=owned(
            "PHONE-PRIMARY-REMOVAL",
            cites=("rule:PHONE-PRIMARY-REMOVAL",),
            needs=_SMS_NEEDS,
            title="The primary phone number is removable only when it is the only one",
            operations=("removeUserPhone",),
            doc="Removes the primary phone number while others exist: 409 primary_removal; alone: 200.",
        ),
        remove_gone=owned(
            "PHONE-REMOVE-GONE",
            cites=("seed:removeUserPhone", "spec:/components/responses/NotFound"),
            title="A removed phone number is gone",
            operations=("removeUserPhone", "getUserPhone"),
            doc="Removes removable phone numbers (200), then reads each one: 404.",
        ),
        list_model=owned(
            "PHONE-LIST-MODEL",
            cites=("seed:listUserPhones", "seed:addUserPhone"),
            title="The phone list equals what the user added",
            operations=_PHONE_OPS[:3],
            doc="After every step, the list and each read equal the model of what was added and changed.",
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

    def new_value(self) -> tuple[str, dict[str, Any]]:
        national, region = unique_phone(self.ctx)
        return e164_fi(national), {"phone_number": national, "country_code": region}


_SHARED = (PAGINATION_WALK, PAGINATION_BOUNDS, PAGINATION_DEFAULTS, CONTACT_ALREADY_EXISTS, PROFILE_VALIDATION_STATE)
EMAILS = MachineSpec(
    "emails",
    EmailLifecycle,
    requirements=(*EmailLifecycle.ids, *_SHARED),
    steps=14,
    sharing=Sharing.ALONE_ON_SHARED_USERS,
)
PHONES = MachineSpec(
    "phones",
    PhoneLifecycle,
    requirements=(*PhoneLifecycle.ids, *_SHARED),
    steps=14,
    sharing=Sharing.ALONE_ON_SHARED_USERS,
)
