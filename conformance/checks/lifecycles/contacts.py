"""Email addresses and phone numbers: one generic lifecycle machine, parametrised by kind.

The machine adds addresses (the verification token must reach the inbox), verifies them with
wrong and right tokens, makes them primary, removes them, reads them one by one and as pages,
and after every step compares the list, the profile and the profile validation with its model.
It acts as user A and puts back what it changed (the original primary email) when it ends.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import Bundle, consumes, initialize, invariant, multiple, precondition, rule

from conformance.checks.lifecycles._base import Lifecycle, MachineSpec, declare
from conformance.checks.lifecycles._support import (
    PER_PAGE_MAX,
    body_of,
    e164_fi,
    read_all,
    total_pages,
    unique_phone,
)
from conformance.context import CheckContext
from conformance.failures import UndecidedRequirement
from conformance.requirements import Need
from conformance.target import Exchange

__all__ = ["EMAIL", "EMAILS", "PHONE", "PHONES", "ContactKind", "contact_machine"]


@dataclass(slots=True, frozen=True)
class ContactKind:
    name: str  # "email" | "phone"
    ids: str  # requirement id prefix: "EMAIL" | "PHONE"
    noun: str
    plural: str  # the bundle's name
    id_param: str
    value_field: str
    channel: str
    purpose: str
    first_becomes_primary: bool  # PHONE-PRIMARY-UNIQUE: the first phone is primary at once
    only_primary_removable: bool  # PHONE-PRIMARY-REMOVAL: the only phone may be removed

    def op(self, verb: str) -> str:
        """The operationId of ``verb`` for this kind: add, list, get, verify, setPrimary, remove."""
        suffix = "Emails" if verb == "list" and self.name == "email" else "Phones" if verb == "list" else ""
        return f"{verb}User{suffix or self.name.capitalize()}"

    def rid(self, rule_name: str) -> str:
        return f"{self.ids}-{rule_name}"


EMAIL = ContactKind(
    "email", "EMAIL", "email address", "emails", "email_id", "email", "email", "email_verification", False, False
)
PHONE = ContactKind(
    "phone", "PHONE", "phone number", "phones", "phone_id", "phone_number", "sms", "phone_verification", True, True
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


def _verifiable(contact: Contact) -> bool:
    return not contact.verified and contact.token is not None and contact.wrong_attempts < 4


def contact_machine(kind: ContactKind) -> type[Lifecycle]:
    """The lifecycle machine of one contact kind."""

    class ContactLifecycle(Lifecycle):
        contacts = Bundle(kind.plural)

        def __init__(self, ctx: CheckContext) -> None:
            super().__init__(ctx)
            self.user = ctx.user_a
            self.disposable = ctx.factory is not None
            self.model: dict[int, Contact] = {}
            self.mine: set[int] = set()
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
            for item in read_all(self.ctx, kind.op("list"), self.user):
                self.model[int(item["id"])] = Contact(
                    int(item["id"]),
                    str(item.get(kind.value_field)),
                    bool(item.get("is_verified")),
                    bool(item.get("is_primary")),
                )
            self.original_primary = self.primary_id()
            validation = self.send("getProfileValidation", user=self.user)
            if validation.status != 200:
                raise UndecidedRequirement(f"cannot read the profile validation: {self.ctx.actual(validation)}")
            self.others = body_of(validation)

        def primary_id(self) -> int | None:
            return next((c.id for c in self.model.values() if c.primary), None)

        def teardown(self) -> None:
            """Puts the original primary back and removes what this machine added (best effort)."""
            with contextlib.suppress(UndecidedRequirement):
                original = self.model.get(self.original_primary or 0)
                if original is not None and not original.primary and original.verified:
                    self.send(kind.op("setPrimary"), user=self.user, path_params={kind.id_param: original.id})
                left = sorted(self.mine & set(self.model), key=lambda i: self.model[i].primary)
                for contact_id in left:
                    self.send(kind.op("remove"), user=self.user, path_params={kind.id_param: contact_id})

        def judge_item(self, rid: str, item: dict[str, Any], exchange: Any, what: str) -> None:
            contact = self.model[int(item.get("id", 0))]
            seen = (item.get(kind.value_field), item.get("is_verified"), item.get("is_primary"))
            want = (contact.value, contact.verified, contact.primary)
            self.check(
                rid,
                seen == want,
                exchange=exchange,
                expected=f"{what}: {kind.value_field}, is_verified, is_primary = {want}",
                actual=f"{seen}",
            )

        # --- rules ---------------------------------------------------------------------------
        @initialize(target=contacts)
        def add_first(self) -> Any:
            """Adds two addresses and verifies the first with its inbox token, before any other step.

            Every example then has an unverified and a verified address to work on, and pages to walk.
            """
            first, second = self.new_contact(), self.new_contact()
            contact = self.model[first]
            exchange = self.send_token(contact, contact.token or "")
            body = self.expect(kind.rid("VERIFY-TOKEN"), exchange, 200, what="the token from the inbox verifies")
            contact.verified, contact.token = True, None
            self.judge_item(kind.rid("VERIFY-TOKEN"), body, exchange, f"the verified {kind.noun}")
            return multiple(first, second)

        @rule(target=contacts)
        def add(self) -> int:
            """POST a new, never-used address; 201, unverified, and a verification token reaches the inbox."""
            return self.new_contact()

        def new_contact(self) -> int:
            if kind is EMAIL:
                value = self.ctx.unique_email()
                payload: dict[str, Any] = {"email": value}
            else:
                national, region = unique_phone(self.ctx)
                value, payload = e164_fi(national), {"phone_number": national, "country_code": region}
            exchange = self.send(kind.op("add"), user=self.user, json_body=payload)
            body = self.expect(kind.rid("LIST-MODEL"), exchange, 201, what=f"a new {kind.noun} is added")
            contact_id = body.get("id") if isinstance(body, dict) else None
            if not isinstance(contact_id, int):
                self.violation(kind.rid("LIST-MODEL"), expected="the new resource's integer id", exchange=exchange)
            becomes_primary = kind.first_becomes_primary and self.primary_id() is None
            self.model[contact_id] = Contact(contact_id, value, False, becomes_primary)
            self.mine.add(contact_id)
            if body.get("is_primary") != becomes_primary:
                self.violation(
                    kind.rid("PRIMARY-UNIQUE"),
                    exchange=exchange,
                    expected=f"is_primary {becomes_primary} for a new {kind.noun}"
                    + (" (the first phone number becomes primary)" if becomes_primary else ""),
                )
            self.judge_item(kind.rid("LIST-MODEL"), body, exchange, f"the added {kind.noun}")
            self.model[contact_id].token = self.ctx.code(channel=kind.channel, address=value, purpose=kind.purpose)
            self.note(f"(inbox: a {kind.purpose} token reached the {kind.channel} address)")
            return contact_id

        def mine_where(self, wanted: Callable[[Contact], bool]) -> list[int]:
            return sorted(i for i in self.mine if i in self.model and wanted(self.model[i]))

        def pick(self, data: st.DataObject, wanted: Callable[[Contact], bool]) -> Contact:
            """One of this machine's addresses in the state the rule needs, chosen from the model."""
            return self.model[data.draw(st.sampled_from(self.mine_where(wanted)), label=kind.name)]

        def send_token(self, contact: Contact, token: str) -> Exchange:
            return self.send(
                kind.op("verify"),
                user=self.user,
                path_params={kind.id_param: contact.id},
                json_body={"token": token},
                retry_429=False,
            )

        @precondition(lambda self: self.mine_where(_verifiable))
        @rule(data=st.data())
        def verify(self, data: st.DataObject) -> None:
            """POST the token the inbox received for an unverified address: 200 and it is verified."""
            contact = self.pick(data, _verifiable)
            exchange = self.send_token(contact, contact.token or "")
            rid = kind.rid("VERIFY-TOKEN")
            body = self.expect(rid, exchange, 200, what="the token from the inbox verifies")
            contact.verified, contact.token = True, None
            self.judge_item(rid, body, exchange, f"the verified {kind.noun}")

        @precondition(lambda self: self.mine_where(_verifiable))
        @rule(data=st.data(), offset=st.integers(1, 999_999))
        def verify_wrong_token(self, data: st.DataObject, offset: int) -> None:
            """POST a wrong token (the right one shifted by offset): 400 invalid_code, and nothing changes."""
            contact = self.pick(data, _verifiable)
            wrong = f"{(int(contact.token or 0) + offset) % 1_000_000:06d}"
            exchange = self.send_token(contact, wrong)
            rid = kind.rid("VERIFY-TOKEN")
            self.expect(rid, exchange, 400, code="invalid_code", what="a wrong token is refused")
            contact.wrong_attempts += 1
            after = self.send(kind.op("get"), user=self.user, path_params={kind.id_param: contact.id})
            self.expect(rid, after, 200, what=f"the {kind.noun} is still there")
            self.judge_item(rid, body_of(after), after, f"the {kind.noun} after a wrong token (unchanged)")

        @precondition(lambda self: self.mine_where(lambda c: c.verified))
        @rule(data=st.data())
        def verify_again(self, data: st.DataObject) -> None:
            """POST a token for an address already verified: 409 already_verified."""
            contact = self.pick(data, lambda c: c.verified)
            exchange = self.send_token(contact, "000000")
            self.expect(
                kind.rid("VERIFY-TOKEN"),
                exchange,
                409,
                code="already_verified",
                what=f"verifying a verified {kind.noun} again",
            )

        @precondition(lambda self: self.mine_where(lambda c: not c.verified))
        @rule(data=st.data())
        def make_default_unverified(self, data: st.DataObject) -> None:
            """PUT make-default on an unverified address: 409 not_verified, and the primary stays."""
            contact = self.pick(data, lambda c: not c.verified)
            exchange = self.send(kind.op("setPrimary"), user=self.user, path_params={kind.id_param: contact.id})
            self.expect(
                kind.rid("PRIMARY-VERIFIED"),
                exchange,
                409,
                code="not_verified",
                what=f"an unverified {kind.noun} cannot become primary",
            )

        @precondition(lambda self: self.mine_where(lambda c: c.verified))
        @rule(data=st.data())
        def make_default(self, data: st.DataObject) -> None:
            """PUT make-default on a verified address: 200, and it becomes the only primary."""
            contact = self.pick(data, lambda c: c.verified)
            exchange = self.send(kind.op("setPrimary"), user=self.user, path_params={kind.id_param: contact.id})
            body = self.expect(
                kind.rid("PRIMARY-UNIQUE"), exchange, 200, what=f"a verified {kind.noun} becomes primary"
            )
            for other in self.model.values():
                other.primary = other.id == contact.id
            self.judge_item(kind.rid("PRIMARY-UNIQUE"), body, exchange, "the new primary")

        @rule(target=contacts, contact=consumes(contacts))
        def remove(self, contact: int) -> Any:
            """DELETE an address this machine added: refused for a protected primary, else it is gone (404)."""
            model = self.model[contact]
            exchange = self.send(kind.op("remove"), user=self.user, path_params={kind.id_param: contact})
            protected = model.primary and not (kind.only_primary_removable and len(self.model) == 1)
            if protected:
                self.expect(
                    kind.rid("PRIMARY-REMOVAL"),
                    exchange,
                    409,
                    code="primary_removal",
                    what=f"the primary {kind.noun} cannot be removed",
                )
                return contact  # still there: back into the bundle
            self.expect(kind.rid("REMOVE-GONE"), exchange, 200, what=f"a removable {kind.noun} is removed")
            del self.model[contact]
            self.mine.discard(contact)
            gone = self.send(kind.op("get"), user=self.user, path_params={kind.id_param: contact})
            self.expect(kind.rid("REMOVE-GONE"), gone, 404, what=f"a removed {kind.noun} is not found")
            return multiple()

        @precondition(lambda self: self.primary_id() is not None and (kind is EMAIL or len(self.model) > 1))
        @rule()
        def remove_primary(self) -> None:
            """DELETE the current primary (whoever added it) while it is protected: 409 primary_removal."""
            primary = self.primary_id()
            exchange = self.send(kind.op("remove"), user=self.user, path_params={kind.id_param: primary})
            self.expect(
                kind.rid("PRIMARY-REMOVAL"),
                exchange,
                409,
                code="primary_removal",
                what=f"the primary {kind.noun} cannot be removed"
                + (" while other phone numbers exist" if kind is PHONE else ""),
            )

        @rule(contact=contacts)
        def get(self, contact: int) -> None:
            """GET one address: it equals the model."""
            exchange = self.send(kind.op("get"), user=self.user, path_params={kind.id_param: contact})
            body = self.expect(kind.rid("LIST-MODEL"), exchange, 200, what=f"an existing {kind.noun} is found")
            self.judge_item(kind.rid("LIST-MODEL"), body, exchange, f"the {kind.noun}")

        @rule(page=st.sampled_from([0, 1]), per_page=st.sampled_from([0, 1, 100, 101]))
        def page_bounds(self, page: int, per_page: int) -> None:
            """GET the list with page 0/1 and per_page 0/1/100/101: out of range is 422, in range 200."""
            exchange = self.send(kind.op("list"), user=self.user, params={"page": page, "per_page": per_page})
            if page < 1 or not 1 <= per_page <= PER_PAGE_MAX:
                self.expect(
                    "PAGINATION-BOUNDS",
                    exchange,
                    422,
                    what=f"page={page}, per_page={per_page} is out of range (page >= 1, per_page 1..100)",
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
            """GET the list (per_page 100): exactly the model's items, with one primary."""
            if len(self.model) > PER_PAGE_MAX:
                return
            exchange = self.send(kind.op("list"), user=self.user, params={"per_page": PER_PAGE_MAX})
            body = self.expect(kind.rid("LIST-MODEL"), exchange, 200, what=f"the {kind.plural} list")
            items = [item for item in body.get("items", []) if isinstance(item, dict)]
            primaries = [item.get("id") for item in items if item.get("is_primary") is True]
            wanted_primaries = 1 if (kind is EMAIL or items) else 0
            self.check(
                kind.rid("PRIMARY-UNIQUE"),
                len(primaries) == wanted_primaries,
                exchange=exchange,
                expected=f"exactly {wanted_primaries} primary {kind.noun} in the list",
                actual=f"{len(primaries)} flagged primary (ids {primaries})",
            )
            listed = [item.get("id") for item in items]
            self.check(
                kind.rid("LIST-MODEL"),
                sorted(map(str, listed)) == sorted(map(str, self.model)) and body.get("total") == len(self.model),
                expected=f"the ids {sorted(self.model)} (total {len(self.model)})",
                actual=f"the ids {listed} (total {body.get('total')})",
                exchange=exchange,
            )
            for item in items:
                self.judge_item(kind.rid("LIST-MODEL"), item, exchange, f"listed {kind.noun} {item.get('id')}")

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
                exchange = self.send(kind.op("list"), user=self.user, params={"page": page, "per_page": per_page})
                body = self.expect("PAGINATION-WALK", exchange, 200, what=f"page {page} of the {kind.plural} list")
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
                expected=f"every {kind.noun} exactly once, ordered by id: {sorted(self.model)}",
                actual=f"the walk gave {seen}",
            )

        @invariant()
        def profile_shows_primary(self) -> None:
            """GET /users/me: its primary email/phone (and verified flag) is the model's primary."""
            exchange = self.send("getMyProfile", user=self.user)
            body = self.expect(f"PROFILE-PRIMARY-{kind.ids}", exchange, 200, what="the profile")
            primary = self.model.get(self.primary_id() or 0)
            field = "email" if kind is EMAIL else "phone"
            want = (primary.value if primary else ("" if kind is EMAIL else None), bool(primary and primary.verified))
            seen = (body.get(field), body.get(f"{field}_verified"))
            self.check(
                f"PROFILE-PRIMARY-{kind.ids}",
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
                f"has_primary_{kind.name}": primary is not None,
                f"{kind.name}_verified": bool(primary and primary.verified),
            }
            want = {**{k: self.others.get(k) for k in _VALIDATION_FLAGS}, **mine}
            want["missing"] = [
                name
                for name, done in (
                    ("email_verification", want["email_verified"]),
                    ("primary_phone", want["has_primary_phone"]),
                    ("phone_verification", want["phone_verified"]),
                    ("identity_verification", want["identity_verified"]),
                )
                if not done
            ]
            want["is_complete"] = not want["missing"]
            seen = {key: body.get(key) for key in want}
            if seen != want:
                wrong = sorted(key for key in want if seen[key] != want[key])
                self.violation(
                    "PROFILE-VALIDATION-STATE",
                    exchange=exchange,
                    expected="; ".join(f"{key}={want[key]}" for key in wrong),
                    actual="; ".join(f"{key}={seen[key]}" for key in wrong),
                )

    ContactLifecycle.__name__ = ContactLifecycle.__qualname__ = f"{kind.name.capitalize()}Lifecycle"
    return ContactLifecycle


_VALIDATION_FLAGS = ("email_verified", "phone_verified", "identity_verified", "has_primary_email", "has_primary_phone")

EmailLifecycle = contact_machine(EMAIL)
PhoneLifecycle = contact_machine(PHONE)


def _ids(kind: ContactKind) -> tuple[str, ...]:
    rules = ("PRIMARY-UNIQUE", "PRIMARY-VERIFIED", "VERIFY-TOKEN", "PRIMARY-REMOVAL", "REMOVE-GONE", "LIST-MODEL")
    shared = ("PAGINATION-WALK", "PAGINATION-BOUNDS", f"PROFILE-PRIMARY-{kind.ids}", "PROFILE-VALIDATION-STATE")
    return (*(kind.rid(name) for name in rules), *shared)


EMAILS = MachineSpec("emails", EmailLifecycle, owns=_ids(EMAIL), steps=14)
PHONES = MachineSpec("phones", PhoneLifecycle, owns=_ids(PHONE), steps=14)


def _ops(kind: ContactKind, *verbs: str) -> tuple[str, ...]:
    return tuple(kind.op(verb) for verb in verbs)


def _declare_kind(kind: ContactKind, spec: MachineSpec) -> None:
    noun, quotes = kind.noun, _QUOTES[kind.name]
    declare(
        kind.rid("PRIMARY-UNIQUE"),
        machines=[spec],
        needs=[Need.INBOX],
        title=f"Exactly one primary {noun} at every step",
        quote=quotes["unique"],
        source="seed" if kind is EMAIL else "spec",
        operations=_ops(kind, "add", "list", "get", "setPrimary"),
        doc=f"Adds, verifies and makes {kind.plural} primary; after every step the list flags exactly one primary.",
    )
    declare(
        kind.rid("PRIMARY-VERIFIED"),
        machines=[spec],
        needs=[Need.INBOX],
        title=f"Only a verified {noun} becomes primary",
        quote=quotes["verified"],
        source="seed",
        operations=_ops(kind, "setPrimary", "verify"),
        doc=f"Sends make-default on unverified {kind.plural} (409 not_verified) and on verified ones (200).",
    )
    declare(
        kind.rid("VERIFY-TOKEN"),
        machines=[spec],
        needs=[Need.INBOX],
        title=f"A {noun} is verified by the token from the inbox only",
        quote=quotes["token"],
        source="seed",
        operations=_ops(kind, "add", "verify", "get"),
        doc="Verifies with wrong tokens (400 invalid_code, nothing changes), the inbox token (200), and again (409).",
    )
    declare(
        kind.rid("PRIMARY-REMOVAL"),
        machines=[spec],
        needs=[Need.INBOX],
        title=f"The primary {noun} is protected from removal",
        quote=quotes["removal"],
        source="seed",
        operations=_ops(kind, "remove"),
        doc=f"Removes the primary {noun} while it is protected: 409 primary_removal.",
    )
    declare(
        kind.rid("REMOVE-GONE"),
        machines=[spec],
        needs=[Need.INBOX],
        title=f"A removed {noun} is gone",
        quote=f"Removes a {noun} from the user's account (seed); a removed one answers 404 (spec)",
        operations=_ops(kind, "remove", "get"),
        doc=f"Removes non-primary {kind.plural} (200), then reads each one: 404.",
    )
    declare(
        kind.rid("LIST-MODEL"),
        machines=[spec],
        needs=[Need.INBOX],
        title=f"The {kind.plural} list equals what the user added",
        quote=quotes["list"],
        source="seed",
        operations=_ops(kind, "add", "list", "get"),
        doc=f"After every step, the {kind.plural} list and each read equal the model of what was added and changed.",
    )


_QUOTES = {
    "email": {
        "unique": "Sets the specified email address as the primary email for the user's account (seed); "
        "exactly one primary (EMAIL-PRIMARY-UNIQUE)",
        "verified": "Sends a verification email with a token to confirm ownership before the email can be used "
        "for account operations (seed)",
        "token": "Verifies ownership of an email address using the verification token sent to the email (seed)",
        "removal": "Primary email addresses may require setting a new primary email before removal (seed)",
        "list": "Retrieves all email addresses associated with the user's account (seed)",
    },
    "phone": {
        "unique": "Whenever the user has phone numbers, exactly one is primary; the first phone number added "
        "becomes primary (spec, PHONE-PRIMARY-UNIQUE)",
        "verified": "Sends a verification SMS with a token to confirm ownership before the number can be used "
        "for account operations (seed)",
        "token": "Verifies ownership of a phone number using the verification token sent by SMS (seed)",
        "removal": "Primary phone numbers may require setting a new primary number before removal (seed)",
        "list": "Retrieves all phone numbers associated with the user's account (seed)",
    },
}

_declare_kind(EMAIL, EMAILS)
_declare_kind(PHONE, PHONES)

declare(
    "PAGINATION-WALK",
    machines=[EMAILS, PHONES],
    needs=[Need.INBOX],
    title="Walking every page gives each item exactly once",
    quote="Items are ordered by id ascending; total_pages = ceil(total / per_page) (spec, PAGINATION)",
    operations=("listUserEmails", "listUserPhones"),
    doc="After every step with two or more items, walks the emails and phones lists with per_page 1 or 2.",
)
declare(
    "PAGINATION-BOUNDS",
    machines=[EMAILS, PHONES],
    needs=[Need.INBOX],
    title="page and per_page out of range are refused with 422",
    quote="page >= 1 and 1 <= per_page <= 100; out of range answers 422 (spec, PAGINATION)",
    operations=("listUserEmails", "listUserPhones"),
    doc="Lists with page 0/1 and per_page 0, 1, 100, 101.",
)
declare(
    "PROFILE-PRIMARY-EMAIL",
    machines=[EMAILS],
    needs=[Need.INBOX],
    title="The profile shows the current primary email",
    quote="MyProfileResponse.email is the primary email (spec)",
    operations=("getMyProfile", "setPrimaryUserEmail"),
    doc="After every step of the emails machine, reads /users/me: email and email_verified match the model.",
)
declare(
    "PROFILE-PRIMARY-PHONE",
    machines=[PHONES],
    needs=[Need.INBOX],
    title="The profile shows the current primary phone number",
    quote="MyProfileResponse.phone is the primary phone (E.164) or null (spec)",
    operations=("getMyProfile", "setPrimaryUserPhone"),
    doc="After every step of the phones machine, reads /users/me: phone and phone_verified match the model.",
)
