"""Sequential models of the lifecycles, for judging concurrent histories (conformance.history).

Each model says, for one operation in one state, which answers the contract allows and the state after.
Inputs and answers are small tuples: an input names the operation and what it is about, ("add", key);
an answer is what the contract decides, (status, code) or (status, facts...), as `abstract` reads it off an
exchange. Every number comes from the contract's limits.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass, replace
from typing import Any

from conformance.target import Exchange

__all__ = [
    "Contact",
    "ContactsModel",
    "DeletionModel",
    "ExportModel",
    "FavouritesModel",
    "FcmModel",
    "abstract",
]


def _code(exchange: Exchange) -> str | None:
    body = exchange.json()
    return body.get("code") if isinstance(body, dict) and isinstance(body.get("code"), str) else None


def _refusal(exchange: Exchange) -> tuple[int, str | None]:
    return exchange.status, _code(exchange)


def _body(exchange: Exchange) -> dict[str, Any]:
    body = exchange.json()
    return body if isinstance(body, dict) else {}


def abstract(kind: str, exchange: Exchange) -> Hashable:
    """What the models judge of one answer: its status and error code, or the facts a 2xx states.

    `kind` is the model's name for the operation ("add", "list", "confirm"...). A 2xx whose body lacks a fact
    abstracts to a value no model expects, so it is judged a violation (SCHEMA-* say what the body lacks).
    """
    if not 200 <= exchange.status < 300:
        return _refusal(exchange)
    body = _body(exchange)
    if kind == "add_contact":
        value = body.get("email", body.get("phone_number"))
        return (exchange.status, body.get("id"), str(value).lower(), body.get("is_verified"), body.get("is_primary"))
    if kind == "get_contact":
        return (exchange.status, body.get("is_verified"), body.get("is_primary"))
    if kind == "list_contacts":
        items: list[Any] = body["items"] if isinstance(body.get("items"), list) else []
        return (
            exchange.status,
            frozenset((i.get("id"), i.get("is_verified"), i.get("is_primary")) for i in items if isinstance(i, dict)),
            body.get("total"),
        )
    if kind == "list_favourites":
        items = body["items"] if isinstance(body.get("items"), list) else []
        return (
            exchange.status,
            tuple(sorted(i.get("product_id", 0) for i in items if isinstance(i, dict))),
            body.get("total"),
        )
    if kind in ("profile_email", "profile_phone"):
        shown = body.get("email" if kind == "profile_email" else "phone")
        return (exchange.status, str(shown).lower() if shown else None)
    if kind in ("confirm_deletion", "cancel"):
        return (exchange.status, body.get("status"))
    if kind == "request":
        return (exchange.status, body.get("status"), body.get("request_id"))
    if kind == "confirm_export":
        status = body.get("status")
        return (exchange.status, "confirmed" if status in _CONFIRMED else status, body.get("request_id"))
    if kind == "gdpr_deletion":
        pending = body.get("pending_deletion")
        return (exchange.status, pending.get("status") if isinstance(pending, dict) else None)
    if kind == "gdpr_exports":
        exports: list[Any] = body["recent_exports"] if isinstance(body.get("recent_exports"), list) else []
        statuses = [e.get("status") for e in exports if isinstance(e, dict)]
        return (exchange.status, sum(s in _CONFIRMED for s in statuses), statuses.count("pending_confirmation"))
    return (exchange.status,)


_CONFIRMED = ("queued", "processing", "ready", "expired")
_NOT_FOUND = (404, "not_found")


# --- emails and phones ---------------------------------------------------------------------------------


@dataclass(slots=True, frozen=True)
class Contact:
    id: int
    key: str  # what the client sent, lower-cased: how the model recognises the same address again
    shown: str  # the value as the server stores it (lower-cased): what the profile shows
    verified: bool
    primary: bool
    attempts: int = 0  # wrong verification tokens so far


Contacts = tuple[Contact, ...]


@dataclass(slots=True, frozen=True)
class ContactsModel:
    """EMAIL-/PHONE-PRIMARY-*, VERIFY-TOKEN: one user's emails or phones."""

    kind: str  # "email" or "phone"
    initial: Contacts
    max_attempts: int  # x-kesk-limits verification_token_max_attempts

    def init(self) -> Contacts:
        return self.initial

    def refute(self, input: Hashable, output: Hashable | None) -> str | None:
        """A list no state gives: two primaries, or (for emails, or phones when there are any) none."""
        if not (isinstance(input, tuple) and input[0] == "list" and isinstance(output, tuple) and len(output) == 3):
            return None
        items = output[1]
        if not isinstance(items, frozenset):
            return None
        primaries = sum(1 for item in items if item[2] is True)
        if primaries > 1 or (primaries == 0 and (self.kind == "email" or bool(items))):
            return f"the {self.kind} list shows {primaries} primaries"
        return None

    def step(self, state: Contacts, input: Hashable, output: Hashable | None) -> Iterable[Contacts]:
        assert isinstance(input, tuple)
        name, *args = input
        by_id = {contact.id: contact for contact in state}
        if name == "add":
            (key,) = args
            if any(contact.key == key for contact in state):
                return [state] if output == (409, "already_exists") else []
            first_is_primary = self.kind == "phone" and not state
            if not (isinstance(output, tuple) and len(output) == 5 and output[0] == 201):
                return []
            _, new_id, shown, verified, primary = output
            if not isinstance(new_id, int) or new_id in by_id or verified is not False or primary != first_is_primary:
                return []
            return [(*state, Contact(new_id, key, str(shown), False, bool(primary)))]
        if name in ("get", "verify", "primary", "remove") and args[0] not in by_id:
            return [state] if output == _NOT_FOUND else []
        if name == "get":
            contact = by_id[args[0]]
            return [state] if output == (200, contact.verified, contact.primary) else []
        if name == "verify":
            contact_id, right = args
            contact = by_id[contact_id]
            if contact.verified:
                expected: Hashable = (409, "already_verified")
                after = state
            elif contact.attempts >= self.max_attempts:
                expected, after = (429, "too_many_attempts"), state
            elif right:
                expected, after = (200,), _swap(state, replace(contact, verified=True))
            else:
                expected, after = (400, "invalid_code"), _swap(state, replace(contact, attempts=contact.attempts + 1))
            return [after] if output == expected else []
        if name == "primary":
            contact = by_id[args[0]]
            if not contact.verified:
                return [state] if output == (409, "not_verified") else []
            after = tuple(replace(c, primary=c.id == contact.id) for c in state)
            return [after] if output == (200,) else []
        if name == "remove":
            contact = by_id[args[0]]
            only_phone = self.kind == "phone" and len(state) == 1
            if contact.primary and not only_phone:
                return [state] if output == (409, "primary_removal") else []
            return [tuple(c for c in state if c.id != contact.id)] if output == (200,) else []
        if name == "list":
            shown = frozenset((c.id, c.verified, c.primary) for c in state)
            return [state] if output == (200, shown, len(state)) else []
        if name == "profile":
            primary = next((c.shown for c in state if c.primary), None)
            return [state] if output == (200, primary) else []
        raise ValueError(f"no such contact operation: {name}")


def _swap(state: Contacts, contact: Contact) -> Contacts:
    return tuple(contact if c.id == contact.id else c for c in state)


# --- favourites and FCM tokens ---------------------------------------------------------------------------


@dataclass(slots=True, frozen=True)
class FavouritesModel:
    """FAVOURITE-DUPLICATE: the set of favourite products."""

    initial: frozenset[int] = frozenset()

    def init(self) -> frozenset[int]:
        return self.initial

    def step(self, state: frozenset[int], input: Hashable, output: Hashable | None) -> Iterable[frozenset[int]]:
        assert isinstance(input, tuple)
        name, *args = input
        if name == "add":
            if args[0] in state:
                return [state] if output == (409, "already_exists") else []
            return [state | {args[0]}] if output == (201,) else []
        if name == "remove":
            if args[0] not in state:
                return [state] if output == _NOT_FOUND else []
            return [state - {args[0]}] if output == (200,) else []
        if name == "list":
            return [state] if output == (200, tuple(sorted(state)), len(state)) else []
        raise ValueError(f"no such favourites operation: {name}")


@dataclass(slots=True, frozen=True)
class FcmModel:
    """FCM-IDEMPOTENT: registered tokens; registering again updates, unregistering an unknown one is 404."""

    def init(self) -> frozenset[str]:
        return frozenset()

    def step(self, state: frozenset[str], input: Hashable, output: Hashable | None) -> Iterable[frozenset[str]]:
        assert isinstance(input, tuple)
        name, token = input
        if name == "register":
            return [state | {token}] if output == (200,) else []
        if name == "unregister":
            if token not in state:
                return [state] if output == _NOT_FOUND else []
            return [state - {token}] if output == (200,) else []
        raise ValueError(f"no such FCM operation: {name}")


# --- deletion and export: the OTP flow -------------------------------------------------------------------


@dataclass(slots=True, frozen=True)
class Gdpr:
    """One flow's state: the request awaiting its OTP (by id: the OTP the client holds is that request's)."""

    pending: str | None = None  # the request id awaiting confirmation
    attempts: int = 0  # wrong OTPs against it
    scheduled: bool = False  # deletion: a confirmed deletion is scheduled
    confirmed: int = 0  # export: exports confirmed


def _confirm(
    state: Gdpr, request: str | None, output: Hashable | None, max_attempts: int, success: Hashable, done: Gdpr
) -> list[Gdpr]:
    """OTP: no request awaiting -> 409; out of attempts -> 429; the pending request's OTP -> success; else 400."""
    if state.pending is None:
        return [state] if output == (409, "no_pending_request") else []
    if state.attempts >= max_attempts:
        return [state] if output == (429, "too_many_attempts") else []
    if request == state.pending:
        return [done] if output == success else []
    return [replace(state, attempts=state.attempts + 1)] if output == (400, "invalid_code") else []


@dataclass(slots=True, frozen=True)
class DeletionModel:
    """OTP and DELETION-GRACE: request, confirm with the OTP of one request (or a wrong one), cancel, status."""

    initial: Gdpr
    max_attempts: int  # x-kesk-limits otp_max_attempts

    def init(self) -> Gdpr:
        return self.initial

    def step(self, state: Gdpr, input: Hashable, output: Hashable | None) -> Iterable[Gdpr]:
        assert isinstance(input, tuple)
        name, *args = input
        if name == "request":
            if state.scheduled:
                return [state] if output == (409, "conflict") else []
            if not (isinstance(output, tuple) and output[:2] == (202, "pending_confirmation")):
                return []
            return [Gdpr(pending=str(output[2]))]
        if name == "confirm":
            done = Gdpr(scheduled=True)
            return _confirm(state, args[0], output, self.max_attempts, (200, "scheduled"), done)
        if name == "cancel":
            if state.pending is None and not state.scheduled:
                return [state] if output == (409, "no_pending_request") else []
            return [Gdpr()] if output == (200, "cancelled") else []
        if name == "status":
            shown = "scheduled" if state.scheduled else "pending_confirmation" if state.pending else None
            return [state] if output == (200, shown) else []
        raise ValueError(f"no such deletion operation: {name}")


@dataclass(slots=True, frozen=True)
class ExportModel:
    """OTP for exports: request, confirm with the OTP of one request (or a wrong one), status.

    The status shows the newest `recent_max` exports (x-kesk-limits gdpr_recent_exports_max; the one awaiting
    its OTP, if any, is the newest), so past that many the confirmed ones it counts stop growing.
    """

    initial: Gdpr
    max_attempts: int
    recent_max: int | None = None

    def init(self) -> Gdpr:
        return self.initial

    def step(self, state: Gdpr, input: Hashable, output: Hashable | None) -> Iterable[Gdpr]:
        assert isinstance(input, tuple)
        name, *args = input
        if name == "request":
            if not (isinstance(output, tuple) and output[:2] == (202, "pending_confirmation")):
                return []
            return [Gdpr(pending=str(output[2]), confirmed=state.confirmed)]
        if name == "confirm":
            done = Gdpr(confirmed=state.confirmed + 1)
            return _confirm(state, args[0], output, self.max_attempts, (202, "confirmed", state.pending), done)
        if name == "status":
            pending = int(state.pending is not None)
            shown = state.confirmed if self.recent_max is None else min(state.confirmed, self.recent_max - pending)
            return [state] if output == (200, shown, pending) else []
        raise ValueError(f"no such export operation: {name}")
