"""Hook points: the documented places where a switched-on behaviour changes what the server does.

A handler works out the conformant value of one decision and passes it through
`state.at(HOOK, value, context)`. Every switched-on behaviour attached to that
hook (a seeded fault of `faults.py`; later, a variant the contract allows) may
replace the value, or raise `SeededServerError`; with none switched on the
value comes back unchanged. So handlers never name a fault, and a fault's whole
behaviour is its `apply` function.

Each hook is consulted in exactly one place, the function its name starts with
(`"contacts.make_default.clears_old_primary"` is consulted in `contacts.py`,
function `make_default`); tests/reference_server/test_server_faults.py checks it.

Adding a fault: pick (or add, next to its siblings here) the hook where the
conformant decision is made, then add a `Fault(...)` to `faults.CATALOGUE`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from .errors import ApiError

__all__ = [
    "HOOKS",
    "AuthAttempt",
    "Behaviour",
    "ContactCall",
    "ContactRefusal",
    "Hook",
    "Lookup",
    "NfcChecks",
    "OtpAttempt",
    "RaceStep",
    "Refusal",
    "Switchboard",
]

V = TypeVar("V")  # the value a hook passes through
C = TypeVar("C")  # what the handler tells the behaviours about the call


@dataclass(slots=True, frozen=True)
class Hook(Generic[V, C]):
    """One decision in one handler function that a behaviour may change."""

    name: str  # "<module>.<function>.<decision>": the one function that consults it
    meaning: str  # what the value passed through means, and its conformant default

    @property
    def where(self) -> str:
        """`<module>.<function>` of the only call site."""
        return self.name.rsplit(".", 1)[0]


# -- what handlers tell the behaviours -----------------------------------------------


@dataclass(slots=True, frozen=True)
class AuthAttempt:
    """What a refused request presented: its Authorization scheme (None: no header) and Accept header."""

    scheme: str | None
    accept: str

    @property
    def asks_for_json(self) -> bool:
        return "json" in self.accept.lower()


@dataclass(slots=True, frozen=True)
class ContactCall:
    """A call on a contact resource: which kind, and the request body if it has one."""

    kind: str  # "email" or "phone"
    body: Mapping[str, Any] = field(default_factory=dict)


@dataclass(slots=True, frozen=True)
class ContactRefusal:
    """Why a contact id is refused to the caller, and the contact's flags when it exists."""

    kind: str  # "email" or "phone"
    why: str  # "missing", "foreign" (another user's) or "removed"
    is_verified: bool = False
    is_primary: bool = False


@dataclass(slots=True, frozen=True)
class Lookup:
    """How a resource id is looked up for the caller."""

    any_owner: bool = False  # find another user's resource too
    include_removed: bool = False  # find a removed resource too


@dataclass(slots=True, frozen=True)
class NfcChecks:
    """Which checks an NFC passport submission runs (named as in the response's `checks`)."""

    mrz_check_digits: bool = True
    document_expiry: bool = True
    data_integrity: bool = True


@dataclass(slots=True, frozen=True)
class Refusal:
    """Where a refused request went: its method and the route's path template, as the contract writes it."""

    method: str  # "POST"
    route: str  # "/user/emails/{email_id}/verify"


@dataclass(slots=True, frozen=True)
class RaceStep:
    """A handler between its check and its write: the flow ("deletion", "export") and what it will write."""

    kind: str
    write: str  # "redeem" (the OTP confirms its request) or "wrong_attempt" (a wrong OTP is counted)


# The race windows: `*.race_window_s` hooks are consulted between a handler's check and its write.
_RACE_WINDOW = "seconds between the check and the write, the lock released (0: one transaction)"


class OtpAttempt(Protocol):
    """A presented OTP for one flow (`kind`: "deletion" or "export"): the other requests it could match."""

    @property
    def kind(self) -> str:
        """The flow the OTP is presented to: "deletion" or "export"."""

    def redeemed(self) -> sqlite3.Row | None:
        """The caller's latest already-redeemed request with this OTP."""

    def pending_of_another_user(self) -> sqlite3.Row | None:
        """Another user's pending request with this OTP."""

    def superseded(self) -> sqlite3.Row | None:
        """The caller's latest superseded request with this OTP."""


# -- the hook points, module by module -------------------------------------------------

AUTH_UNKNOWN_TOKEN_IS_FIRST_USER: Hook[bool, None] = Hook(
    "auth.require_user.unknown_token_is_first_user", "True: an unknown bearer token acts as the first user (False)"
)
AUTH_REQUIRE_USER_REFUSAL: Hook[ApiError, AuthAttempt] = Hook(
    "auth.require_user.refusal", "the refusal of a request without a valid token (401 with the Bearer challenge)"
)

CONTACT_ADD_RECEIVED: Hook[None, ContactCall] = Hook(
    "contacts.add.received", "None; the request body is in the context, before validation"
)
CONTACT_ADD_FLAGS: Hook[tuple[bool, bool], ContactCall] = Hook(
    "contacts.add.flags", "(is_verified, is_primary) of the new contact, as the server decided them"
)
CONTACT_ADD_VALUE: Hook[str, ContactCall] = Hook(
    "contacts.add.value", "the value stored for the new contact (a normalised address, an E.164 number)"
)
CONTACT_ADD_TAKEN: Hook[ApiError | None, ContactCall] = Hook(
    "contacts.add.taken", "the answer to an address already on an account (409 already_exists); None: add it again"
)
CONTACT_ADD_RACE_WINDOW_S: Hook[float, ContactCall] = Hook(
    "contacts.add.race_window_s", f"{_RACE_WINDOW}: between the duplicate check and the insert"
)
CONTACT_ADD_TOKEN_TTL_S: Hook[int, ContactCall] = Hook(
    "contacts.add.token_ttl_s", "the lifetime of the new contact's verification token (verification_token_ttl_s)"
)
CONTACT_ADD_SPENT_ATTEMPTS: Hook[int, int] = Hook(
    "contacts.add.spent_attempts",
    "the wrong attempts the new token starts with (0); the context: those spent on the token of the same address "
    "the user removed last (0 when none)",
)
CONTACT_LIST_DEFAULTS: Hook[tuple[int, int], ContactCall] = Hook(
    "contacts.list.defaults", "(page, per_page) when the query leaves them out (1, per_page_default)"
)
CONTACT_LIST_WINDOW: Hook[tuple[int, int], ContactCall] = Hook(
    "contacts.list.window", "(offset, limit) of the rows read for the requested page"
)
CONTACT_LIST_OUT_OF_RANGE_STATUS: Hook[int, ContactCall] = Hook(
    "contacts.list.out_of_range_status", "the status of a page or per_page out of range (422)"
)
CONTACT_LIST_MAX_OFFSET: Hook[int | None, ContactCall] = Hook(
    "contacts.list.max_offset", "the deepest offset a page may start at, deeper answers 422 (None: no limit)"
)
CONTACT_LIST_NEWEST_FIRST: Hook[bool, ContactCall] = Hook(
    "contacts.list.newest_first", "True: items come by id descending, not ascending (False)"
)
CONTACT_LIST_COUNTS_REMOVED: Hook[bool, ContactCall] = Hook(
    "contacts.list.counts_removed", "True: `total` counts removed contacts too (False)"
)
CONTACT_GET_LOOKUP: Hook[Lookup, ContactCall] = Hook("contacts.get.lookup", "how the contact id is looked up")
CONTACT_GET_BODY: Hook[dict[str, Any], ContactCall] = Hook("contacts.get.body", "the response body")
CONTACT_VERIFY_LOOKUP: Hook[Lookup, ContactCall] = Hook("contacts.verify.lookup", "how the contact id is looked up")
CONTACT_VERIFY_BURNT: Hook[ApiError, ContactCall] = Hook(
    "contacts.verify.burnt", "the refusal of every attempt on a burnt token (429 too_many_attempts)"
)
CONTACT_VERIFY_RACE_WINDOW_S: Hook[float, ContactCall] = Hook(
    "contacts.verify.race_window_s", f"{_RACE_WINDOW}: between the token check and counting or verifying"
)
CONTACT_VERIFY_CHECKS_TOKEN: Hook[bool, ContactCall] = Hook(
    "contacts.verify.checks_token", "True: the token's expiry and value are checked (True)"
)
CONTACT_VERIFY_MAX_ATTEMPTS: Hook[int, ContactCall] = Hook(
    "contacts.verify.max_attempts",
    "the wrong tokens a token takes before it is burnt (verification_token_max_attempts)",
)
CONTACT_VERIFY_REFUSES_VERIFIED: Hook[bool, ContactCall] = Hook(
    "contacts.verify.refuses_verified", "True: a contact already verified answers 409 already_verified (True)"
)
CONTACT_MAKE_DEFAULT_LOOKUP: Hook[Lookup, ContactCall] = Hook(
    "contacts.make_default.lookup", "how the contact id is looked up"
)
CONTACT_MAKE_DEFAULT_REQUIRES_VERIFIED: Hook[bool, ContactCall] = Hook(
    "contacts.make_default.requires_verified", "True: only a verified contact may become primary (True)"
)
CONTACT_MAKE_DEFAULT_NOT_VERIFIED: Hook[ApiError, ContactCall] = Hook(
    "contacts.make_default.not_verified", "the refusal of an unverified contact (409 not_verified)"
)
CONTACT_MAKE_DEFAULT_RACE_WINDOW_S: Hook[float, ContactCall] = Hook(
    "contacts.make_default.race_window_s",
    f"{_RACE_WINDOW}: between reading the contact and the primaries and clearing those read",
)
CONTACT_MAKE_DEFAULT_CLEARS_OLD_PRIMARY: Hook[bool, ContactCall] = Hook(
    "contacts.make_default.clears_old_primary", "True: the old primary loses its flag (True)"
)
CONTACT_REMOVE_LOOKUP: Hook[Lookup, ContactCall] = Hook("contacts.remove.lookup", "how the contact id is looked up")
CONTACT_REMOVE_PRIMARY_MAY_GO: Hook[bool, ContactCall] = Hook(
    "contacts.remove.primary_may_go", "True: this primary contact may be removed (the kind's rule decides)"
)
CONTACT_REMOVE_RACE_WINDOW_S: Hook[float, ContactCall] = Hook(
    "contacts.remove.race_window_s", f"{_RACE_WINDOW}: between the primary check and marking it removed"
)
CONTACT_OWNED_REFUSAL: Hook[ApiError | None, ContactRefusal] = Hook(
    "contacts._owned.refusal", "the answer to an id the caller may not use (404 not_found); None: use it anyway"
)
CONTACT_REMOVE_MARKS_REMOVED: Hook[bool, ContactCall] = Hook(
    "contacts.remove.marks_removed", "True: the contact is marked removed before the 200 (True)"
)

FCM_REGISTER_TOKEN: Hook[str, int] = Hook(
    "fcm.register.token", "the token about to be stored; the context is the longest token allowed"
)
FCM_REGISTER_PLATFORMS: Hook[tuple[str, ...] | None, None] = Hook(
    "fcm.register.platforms", "the platform values accepted (ios, android, web); None: any string"
)
FCM_REGISTER_UNKNOWN_BEARER_REFRESHES: Hook[bool, None] = Hook(
    "fcm.register.unknown_bearer_refreshes",
    "True: a request with an unknown bearer token refreshes a token already on file, as its owner (False)",
)
FCM_REGISTER_RACE_WINDOW_S: Hook[float, None] = Hook(
    "fcm.register.race_window_s", f"{_RACE_WINDOW}: between looking the token up and inserting or updating it"
)
FCM_REGISTER_STATUS: Hook[int, bool] = Hook(
    "fcm.register.status", "the status of a successful registration (200); the context: whether the token was new"
)
FCM_REGISTER_UPDATES_PLATFORM: Hook[bool, None] = Hook(
    "fcm.register.updates_platform", "True: registering a known token again stores its new platform (True)"
)
FCM_REGISTER_MOVES_OWNER: Hook[bool, None] = Hook(
    "fcm.register.moves_owner", "True: a token registered by another user moves to the caller (True)"
)
FCM_UNREGISTER_REFUSES_UNKNOWN: Hook[bool, None] = Hook(
    "fcm.unregister.refuses_unknown", "True: an unknown token answers 404 (True)"
)
FCM_UNREGISTER_LOOKUP: Hook[Lookup, None] = Hook("fcm.unregister.lookup", "how the token is looked up")

FAVOURITE_ADD_ALLOWS_DUPLICATE: Hook[bool, None] = Hook(
    "favourites.add.allows_duplicate", "True: a product already a favourite is added again (False)"
)
FAVOURITE_ADD_RACE_WINDOW_S: Hook[float, None] = Hook(
    "favourites.add.race_window_s", f"{_RACE_WINDOW}: between the duplicate check and the insert"
)
FAVOURITE_ADD_STATUS: Hook[int, None] = Hook("favourites.add.status", "the status of a successful add (201)")
FAVOURITE_LIST_LOOKUP: Hook[Lookup, None] = Hook("favourites.list.lookup", "whose favourites are listed")
FAVOURITE_LIST_OUT_OF_RANGE_STATUS: Hook[int, None] = Hook(
    "favourites.list.out_of_range_status", "the status of a page or per_page out of range (422)"
)
FAVOURITE_LIST_NEWEST_FIRST: Hook[bool, None] = Hook(
    "favourites.list.newest_first", "True: items come by id descending, not ascending (False)"
)
FAVOURITE_LIST_CACHED: Hook[bool, None] = Hook(
    "favourites.list.cached", "True: a page read in the last 30 s is answered again from a cache (False)"
)
FAVOURITE_REMOVE_LOOKUP: Hook[Lookup, None] = Hook("favourites.remove.lookup", "how the favourite is looked up")
FAVOURITE_REMOVE_MISSING: Hook[ApiError, None] = Hook(
    "favourites.remove.missing", "the refusal when the product is not a favourite (404 not_found)"
)

PROFILE_ME_STALE_PRIMARY_EMAIL: Hook[bool, None] = Hook(
    "profile.me.stale_primary_email", "True: the profile shows the first email, not the primary one (False)"
)
PROFILE_ME_LATEST_PHONE: Hook[bool, None] = Hook(
    "profile.me.latest_phone", "True: the profile shows the latest phone added, not the primary one (False)"
)
PROFILE_ME_BODY: Hook[dict[str, Any], None] = Hook("profile.me.body", "the MyProfileResponse body")
PROFILE_VALIDATION_ANONYMOUS_IS_FIRST_USER: Hook[bool, None] = Hook(
    "profile.validation.anonymous_is_first_user", "True: a request without a token acts as the first user (False)"
)
PROFILE_VALIDATION_REQUIRES_IDENTITY: Hook[bool, None] = Hook(
    "profile.validation.requires_identity",
    "True: identity verification is part of a complete profile (`missing`, `is_complete`) (True)",
)

DELETION_CANCEL_CANCELS: Hook[bool, None] = Hook(
    "deletion.cancel.cancels", "True: the open deletion is marked cancelled (True)"
)
DELETION_CONFIRM_SCHEDULE_DELAY_S: Hook[float, None] = Hook(
    "deletion.confirm.schedule_delay_s",
    "seconds from using up the OTP to scheduling the deletion, in a transaction of its own (0: the OTP's)",
)
DELETION_CANCEL_REFUSES_NOTHING: Hook[bool, None] = Hook(
    "deletion.cancel.refuses_nothing", "True: a cancel with no deletion open answers 409 no_pending_request (True)"
)
DELETION_REQUEST_REFUSES_SCHEDULED: Hook[bool, None] = Hook(
    "deletion.request.refuses_scheduled", "True: a request while a deletion is scheduled answers 409 conflict (True)"
)
DELETION_CONFIRM_GRACE_S: Hook[int, None] = Hook(
    "deletion.confirm.grace_s", "seconds from the confirmation to the deletion (the contract's grace period)"
)

OTP_OPEN_REQUIRES_VERIFIED_EMAIL: Hook[bool, None] = Hook(
    "otp.open.requires_verified_email", "True: a request needs a verified primary email, else 403 (True)"
)
OTP_REDEEM_RACE_WINDOW_S: Hook[float, RaceStep] = Hook(
    "otp.redeem.race_window_s", f"{_RACE_WINDOW}: between checking the OTP and redeeming it or counting it wrong"
)
OTP_CHECK_MAX_ATTEMPTS: Hook[int, OtpAttempt] = Hook(
    "otp._check.max_attempts", "the wrong OTPs a request takes before it answers 429 (otp_max_attempts)"
)
OTP_CHECK_ENFORCES_ATTEMPTS: Hook[bool, OtpAttempt] = Hook(
    "otp._check.enforces_attempts", "True: a request out of attempts answers 429 (True)"
)
OTP_CHECK_ENFORCES_EXPIRY: Hook[bool, OtpAttempt] = Hook(
    "otp._check.enforces_expiry", "True: an expired OTP answers 400 code_expired (True)"
)
OTP_CHECK_WITHOUT_PENDING: Hook[sqlite3.Row | None, OtpAttempt] = Hook(
    "otp._check.without_pending", "the request an OTP confirms when none is pending (None: 409 no_pending_request)"
)
OTP_CHECK_ACCEPTS_MISMATCH: Hook[bool, OtpAttempt] = Hook(
    "otp._check.accepts_mismatch", "True: an OTP that is not the pending request's confirms it anyway (False)"
)

EXPORT_RUN_DOCUMENT: Hook[dict[str, Any], None] = Hook("exports._run.document", "the ExportDocument written")
EXPORT_RUN_FILE_TTL_S: Hook[int, None] = Hook(
    "exports._run.file_ttl_s", "how long a ready export file downloads (export_file_ttl_s)"
)
EXPORT_DOWNLOAD_FILENAME: Hook[str, Path] = Hook(
    "exports.download.filename", "the file name asked for, before the pattern check; the context: the export directory"
)
EXPORT_DOWNLOAD_LOOKUP: Hook[Lookup, None] = Hook("exports.download.lookup", "how the export file is looked up")
EXPORT_DOWNLOAD_DISPOSITION: Hook[str, None] = Hook(
    "exports.download.disposition", "the disposition type of the Content-Disposition header (attachment)"
)
EXPORT_DOWNLOAD_ENFORCES_EXPIRY: Hook[bool, None] = Hook(
    "exports.download.enforces_expiry", "True: an expired export file answers 410 (True)"
)

ACCOUNT_DELETE_PASSWORD_MATCHES: Hook[bool, None] = Hook(
    "account.delete.password_matches", "whether the password presented matches the stored hash"
)
ACCOUNT_DELETE_REVOKES_TOKENS: Hook[bool, None] = Hook(
    "account.delete.revokes_tokens", "True: the deleted user's bearer tokens are revoked (True)"
)
ACCOUNT_GDPR_STATUS_MEDIA_TYPE: Hook[str, None] = Hook(
    "account.gdpr_status.media_type", "the Content-Type of the response (application/json; charset=utf-8)"
)
ACCOUNT_GDPR_STATUS_SHOWS_UNCONFIRMED: Hook[bool, None] = Hook(
    "account.gdpr_status.shows_unconfirmed", "True: a deletion awaiting its OTP shows as pending_deletion (True)"
)

IDV_SUBMIT_NFC_CHECKS: Hook[NfcChecks, None] = Hook("identity.submit_nfc.checks", "which checks the submission runs")
IDV_CREATE_SESSION_BODY: Hook[dict[str, Any], None] = Hook("identity.create_session.body", "the VerificationSession")
IDV_SUBMIT_NFC_CHIP_AUTHENTICATED: Hook[bool, str] = Hook(
    "identity.submit_nfc.chip_authenticated", "whether the chip authenticated; the context is the result sent"
)
IDV_SUBMIT_NFC_ORDER: Hook[tuple[str, ...], None] = Hook(
    "identity.submit_nfc.order",
    "the order the checks run in, the first failure answering (mrz_check_digits, document_expiry, data_integrity, "
    "chip_authentication)",
)
IDV_REFUSE_KEEPS_VERIFIED: Hook[bool, None] = Hook(
    "identity._refuse.keeps_verified", "True: a refused submission leaves an NFC-verified identity verified (True)"
)

APP_ALLOWED_METHODS_EVERY_ROUTE: Hook[bool, None] = Hook(
    "app._allowed_methods.every_route", "True: a 405's Allow names the methods of every route on the path (True)"
)

BREAKING_BODY: Hook[Any, Any] = Hook(
    "breaking.edit_body.value",
    "the parsed JSON body of an answer about to be sent, with its request (breaking.BodySite); unchanged",
)

WEB_REFUSED_ANSWER: Hook[ApiError, Refusal] = Hook(
    "web.refused.answer",
    "the ErrorResponse a refused request gets (the refusal as raised, from authentication to the last domain rule); "
    "the context: the route it reached",
)

# Every hook point, in the order written above (read off this module, so none can be left out).
HOOKS: tuple[Hook[Any, Any], ...] = tuple(value for value in list(globals().values()) if isinstance(value, Hook))


# -- behaviours and the set switched on for one app ----------------------------------


@dataclass(slots=True, frozen=True)
class Behaviour(Generic[V, C]):
    """A named change to what the server does at one hook point.

    `apply(value, context)` returns the value the server goes on with (or raises
    `SeededServerError`). `requirements` are the requirement ids it concerns: for a
    fault, those the suite must fail. `breaks` names the promises of the contract a
    fault breaks, as the suite's ledger keys them (`spec:<JSON pointer>`, with
    `#<code>` for one error code of a response, `#<n>` for the nth sentence of a rule).
    """

    name: str
    description: str
    requirements: tuple[str, ...]
    hook: Hook[V, C]
    apply: Callable[[V, C], V] = field(repr=False, compare=False)
    breaks: tuple[str, ...] = ()


class Switchboard:
    """The behaviours switched on for one app, indexed by hook point.

    Test support replaces the whole set at run time (`switch`). The set lives in one
    immutable tuple swapped by a single assignment, so a reader sees the old set or the
    new one, never half of each, and needs no lock.
    """

    __slots__ = ("_board",)

    def __init__(self, behaviours: Iterable[Behaviour[Any, Any]] = ()) -> None:
        self._board = self._index(behaviours)

    @staticmethod
    def _index(
        behaviours: Iterable[Behaviour[Any, Any]],
    ) -> tuple[tuple[str, ...], Mapping[Hook[Any, Any], tuple[Behaviour[Any, Any], ...]]]:
        chosen = tuple(behaviours)
        by_hook: dict[Hook[Any, Any], list[Behaviour[Any, Any]]] = {}
        for behaviour in chosen:
            by_hook.setdefault(behaviour.hook, []).append(behaviour)
        return tuple(b.name for b in chosen), {hook: tuple(attached) for hook, attached in by_hook.items()}

    @property
    def names(self) -> tuple[str, ...]:
        """The switched-on behaviours' names, in the order they were given."""
        return self._board[0]

    def switch(self, behaviours: Iterable[Behaviour[Any, Any]]) -> None:
        """Replace every switched-on behaviour with `behaviours`, for the next decision on."""
        self._board = self._index(behaviours)

    def attached(self, hook: Hook[Any, Any]) -> bool:
        """Whether a switched-on behaviour is attached to `hook` (a layer with nothing to do steps aside)."""
        return hook in self._board[1]

    def at(self, hook: Hook[V, C], value: V, context: C) -> V:
        """`value` as changed by every switched-on behaviour attached to `hook`, in catalogue order."""
        for behaviour in self._board[1].get(hook, ()):
            value = behaviour.apply(value, context)
        return value
