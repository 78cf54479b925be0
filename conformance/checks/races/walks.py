"""RACE-WALK-*: a concurrent random walk per lifecycle, several clients of one account in lockstep.

A walk acts as a fresh disposable user whose token 2 to 4 clients share (how many: by the seed). Round after
round every client sends one step of the lifecycle, and the round goes out as one synchronised burst. The
first round is the commonest race, every client sending the lifecycle's creating step on one new thing (an
address, a product, a token, the OTP of the request just opened); after it each client draws its step at
random (by the seed, from what the walk has learnt so far: ids, codes) over a pool of two keys, so that
steps meet on one thing. Last, the views the rules speak of are read. The whole history is judged against
the lifecycle's model (conformance.history): some order of each round's requests must explain every answer;
past the search's bound the verdict is undecided, never passed.

The same walks are the users of `kesk-conformance soak` (conformance/soak/), judged round by round.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from conformance.checks.lifecycles._support import body_of, profile_email, read_all, unique_fcm_token, unique_product
from conformance.checks.races._judge import History, Step
from conformance.checks.races.bursts import (
    EMAIL,
    PHONE,
    ContactKind,
    confirmed_exports,
    contacts_of,
    export_model,
    new_key,
    open_request,
    wrong_codes,
)
from conformance.checks.races.models import (
    ContactsModel,
    DeletionModel,
    FavouritesModel,
    FcmModel,
    Gdpr,
)
from conformance.context import CheckContext
from conformance.failures import UndecidedRequirement
from conformance.history import Model
from conformance.requirements import Level, Need, requirement
from conformance.target import Exchange
from conformance.users import User

__all__ = ["LIFECYCLES", "REQUIREMENTS", "ROUNDS", "Lifecycle", "Walk", "walk_rounds"]

ROUNDS = 6  # random rounds after the opening one: a few dozen requests per walk
MIN_CLIENTS, MAX_CLIENTS = 2, 4
_KEYS = 2  # things of each kind a walk acts on: few enough that steps meet


class Walk:
    """One lifecycle walked by several clients of one account: what it sends, and what it learns.

    A lifecycle defines `begin`, `opener`, `draw` and `views`; `learn` and `end` when it has something to do.
    """

    def __init__(self, ctx: CheckContext, user: User) -> None:
        self.ctx = ctx
        self.user = user

    def begin(self) -> Model[Any]:
        """Read (and open) what the walk starts from, outside the judged history; the model in that state."""
        raise NotImplementedError

    def opener(self) -> Step:
        """The step every client sends in the first round: the lifecycle's creating step, on one new thing."""
        raise NotImplementedError

    def draw(self, rng: random.Random, drawn: Sequence[Step]) -> Step:
        """One client's next step; `drawn`: the steps the other clients of this round drew before it."""
        raise NotImplementedError

    def learn(self, step: Step, answer: Exchange) -> None:
        """What an answer teaches the walk for the steps it draws next (a new id and its code)."""

    def views(self) -> list[Step]:
        """The reads that show what the account holds: judged with the rest of the history."""
        raise NotImplementedError

    def end(self) -> None:
        """Leave nothing scheduled (what was created, the run's cleanup removes)."""

    def sweep(self) -> None:
        """Remove whatever the walk's keys still hold on the account, tracked or not (a soak's users are stopped
        in the middle of a round: an answer cut off is not seen by the cleanup)."""

    def round(self, rng: random.Random, clients: int) -> list[Step]:
        steps: list[Step] = []
        for _ in range(clients):
            steps.append(self.draw(rng, steps))
        return steps


def _name(step: Step) -> object:
    """The operation a step's model input names: "add", "request"..."""
    return step.input[0] if isinstance(step.input, tuple) else None


def _pick(rng: random.Random, weighted: Sequence[tuple[int, Callable[[], Step]]]) -> Step:
    """One of the steps offered, by weight (a weight of 0: not offered now)."""
    offered = [(weight, make) for weight, make in weighted if weight > 0]
    make = rng.choices([make for _, make in offered], weights=[weight for weight, _ in offered])[0]
    return make()


# --- favourites and FCM tokens -----------------------------------------------------------------------------


class FavouritesWalk(Walk):
    def __init__(self, ctx: CheckContext, user: User) -> None:
        super().__init__(ctx, user)
        self.used: list[int] = []  # every product of every start

    def begin(self) -> Model[Any]:
        held = frozenset(int(item["product_id"]) for item in read_all(self.ctx, "listFavouriteProducts", self.user))
        self.products = [unique_product(self.ctx) for _ in range(_KEYS)]
        self.used += self.products
        return FavouritesModel(held)

    def sweep(self) -> None:
        for product in self.used:
            self.ctx.call("removeFavouriteProduct", user=self.user, path_params={"id": product})

    def opener(self) -> Step:
        return self._add(self.products[0])

    def draw(self, rng: random.Random, drawn: Sequence[Step]) -> Step:
        product = rng.choice(self.products)
        return _pick(rng, [(4, lambda: self._add(product)), (4, lambda: self._remove(product)), (2, self._list)])

    def views(self) -> list[Step]:
        return [self._list()]

    def _add(self, product: int) -> Step:
        return Step(("add", product), "add", "addFavouriteProduct", self.user, json_body={"product_id": product})

    def _remove(self, product: int) -> Step:
        return Step(("remove", product), "remove", "removeFavouriteProduct", self.user, {"id": product})

    def _list(self) -> Step:
        params = {"per_page": self.ctx.limits.per_page_max}
        return Step(("list",), "list_favourites", "listFavouriteProducts", self.user, params=params)


class FcmWalk(Walk):
    def __init__(self, ctx: CheckContext, user: User) -> None:
        super().__init__(ctx, user)
        self.used: list[str] = []  # every token of every start

    def begin(self) -> Model[Any]:
        self.tokens = [unique_fcm_token(self.ctx) for _ in range(_KEYS)]
        self.used += self.tokens
        self.platform = self.ctx.rng.choice(("ios", "android", "web"))
        return FcmModel()

    def opener(self) -> Step:
        return self._register(self.tokens[0])

    def draw(self, rng: random.Random, drawn: Sequence[Step]) -> Step:
        token = rng.choice(self.tokens)
        return _pick(rng, [(1, lambda: self._register(token)), (1, lambda: self._unregister(token))])

    def sweep(self) -> None:
        for token in self.used:
            self.ctx.call("unregisterFcmToken", user=self.user, path_params={"fcm_token": token})

    def views(self) -> list[Step]:
        # No operation lists the tokens: unregistering each shows whether it was held (200) or not (404).
        return [self._unregister(token) for token in self.tokens]

    def _register(self, token: str) -> Step:
        body = {"fcm_token": token, "platform": self.platform}
        return Step(("register", token), "register", "registerFcmToken", self.user, json_body=body)

    def _unregister(self, token: str) -> Step:
        return Step(("unregister", token), "unregister", "unregisterFcmToken", self.user, {"fcm_token": token})


# --- emails and phones -------------------------------------------------------------------------------------


class ContactsWalk(Walk):
    def __init__(self, ctx: CheckContext, user: User, kind: ContactKind) -> None:
        super().__init__(ctx, user)
        self.kind = kind
        self.original: set[int] | None = None  # what the account held before the first start

    def begin(self) -> Model[Any]:
        initial = contacts_of(self.ctx, self.user, self.kind)
        self.first_primary = next((contact.id for contact in initial if contact.primary), None)
        if self.original is None:
            self.original = {contact.id for contact in initial}
        self.keys = [new_key(self.ctx, self.kind) for _ in range(_KEYS)]
        self.started_with = [contact.id for contact in initial]
        self.added: list[int] = []  # ids the walk's adds got, removed ones too
        self.tokens: dict[int, str] = {}  # the verification token of each contact the walk added
        return ContactsModel(self.kind.name, initial, self.ctx.limits.verification_token_max_attempts)

    def opener(self) -> Step:
        return self._add(self.keys[0])

    def draw(self, rng: random.Random, drawn: Sequence[Step]) -> Step:
        key = rng.choice(self.keys)
        targets = self._targets()
        contact = rng.choice(targets) if targets else None
        holding = [target for target in targets if target in self.tokens]
        with_token = rng.choice(holding) if holding else None
        kind = self.kind
        steps: list[tuple[int, Callable[[], Step]]] = [
            (3, lambda: self._add(key)),
            (3 if with_token is not None else 0, lambda: self._verify(with_token or 0, right=True)),
            (1 if with_token is not None else 0, lambda: self._verify(with_token or 0, right=False)),
            (3 if contact is not None else 0, lambda: self._by_id(kind.primary, "primary", contact or 0)),
            (2 if contact is not None else 0, lambda: self._by_id(kind.remove, "remove", contact or 0)),
            (1 if contact is not None else 0, lambda: self._get(contact or 0)),
            (1, self._list),
            (1, self._profile),
        ]
        return _pick(rng, steps)

    def learn(self, step: Step, answer: Exchange) -> None:
        body = body_of(answer)
        if _name(step) != "add" or answer.status != 201 or not isinstance(body.get("id"), int):
            return
        contact_id = int(body["id"])
        self.added.append(contact_id)
        value = str(body.get("email", body.get("phone_number")))
        kind = self.kind
        self.tokens[contact_id] = self.ctx.code(channel=kind.channel, address=value, purpose=kind.purpose)
        self.tokens = {target: self.tokens[target] for target in self._targets() if target in self.tokens}

    def views(self) -> list[Step]:
        return [self._list(), self._profile(), *(self._get(contact) for contact in self._targets())]

    def _targets(self) -> list[int]:
        """The contacts steps are drawn on: those the walk started with and the latest it added (a soak adds
        for hours; its steps stay on what is likely still there)."""
        return [*self.started_with, *self.added[-2 * _KEYS :]]

    def end(self) -> None:
        """The primary the account started with is primary again: what the walk added can then all go."""
        if self.first_primary is not None:
            with contextlib.suppress(UndecidedRequirement):
                self.ctx.call(self.kind.primary, user=self.user, path_params={self.kind.id_param: self.first_primary})

    def sweep(self) -> None:
        held = read_all(self.ctx, self.kind.list, self.user)
        original = self.original or set()
        added = sorted((item for item in held if item["id"] not in original), key=lambda item: item["is_primary"])
        for item in added:  # a primary last: only then may the last of its kind go
            self.ctx.call(self.kind.remove, user=self.user, path_params={self.kind.id_param: item["id"]})

    def _add(self, key: str) -> Step:
        return Step(("add", key.lower()), "add_contact", self.kind.add, self.user, json_body=self.kind.body(key))

    def _verify(self, contact: int, *, right: bool) -> Step:
        token = self.tokens[contact]  # only contacts whose token the walk holds: a wrong one is then surely wrong
        code = token if right else wrong_codes(token, 1)[0]
        path: dict[str, object] = {self.kind.id_param: contact}
        return Step(("verify", contact, right), "verify", self.kind.verify, self.user, path, {"token": code})

    def _by_id(self, operation_id: str, name: str, contact: int) -> Step:
        return Step((name, contact), name, operation_id, self.user, {self.kind.id_param: contact})

    def _get(self, contact: int) -> Step:
        return Step(("get", contact), "get_contact", self.kind.get, self.user, {self.kind.id_param: contact})

    def _list(self) -> Step:
        params = {"per_page": self.ctx.limits.per_page_max}
        return Step(("list",), "list_contacts", self.kind.list, self.user, params=params)

    def _profile(self) -> Step:
        return Step(("profile",), self.kind.profile, "getMyProfile", self.user)


# --- deletion and export: requests, their OTPs, cancels ------------------------------------------------------


class _OtpWalk(Walk):
    flow: str  # "deletion" or "export"
    confirm_operation: str
    confirm_kind: str
    request_operation: str
    status_kind: str

    def opener(self) -> Step:
        return self._confirm(right=True)

    def learn(self, step: Step, answer: Exchange) -> None:
        request_id = body_of(answer).get("request_id")
        if _name(step) == "request" and answer.status == 202 and isinstance(request_id, str):
            purpose = "account_deletion" if self.flow == "deletion" else "data_export"
            self.request_id = request_id
            self.otp = self.ctx.code(channel="email", address=self.address, purpose=purpose)

    def views(self) -> list[Step]:
        return [self._status()]

    def _open(self) -> None:
        self.address = self.user.email or profile_email(self.ctx, self.user)
        self.request_id, self.otp = open_request(self.ctx, self.user, self.flow)

    def _confirm(self, *, right: bool) -> Step:
        code = self.otp if right else wrong_codes(self.otp, 1)[0]
        request = self.request_id if right else None
        body = {"otp": code}
        return Step(("confirm", request), self.confirm_kind, self.confirm_operation, self.user, json_body=body)

    def _request(self) -> Step:
        return Step(("request",), "request", self.request_operation, self.user, json_body={})

    def _status(self) -> Step:
        return Step(("status",), self.status_kind, "getGdprStatus", self.user)

    @staticmethod
    def _requesting(drawn: Sequence[Step]) -> bool:
        """One request per round at most: the OTP the inbox shows last is then known to be the latest one's."""
        return any(_name(step) == "request" for step in drawn)


class DeletionWalk(_OtpWalk):
    flow = "deletion"
    confirm_operation = "confirmAccountDeletion"
    confirm_kind = "confirm_deletion"
    request_operation = "requestAccountDeletion"
    status_kind = "gdpr_deletion"

    def begin(self) -> Model[Any]:
        self._open()
        return DeletionModel(Gdpr(pending=self.request_id), self.ctx.limits.otp_max_attempts)

    def draw(self, rng: random.Random, drawn: Sequence[Step]) -> Step:
        cancel = Step(("cancel",), "cancel", "cancelAccountDeletion", self.user)
        return _pick(
            rng,
            [
                (0 if self._requesting(drawn) else 2, self._request),
                (3, lambda: self._confirm(right=True)),
                (1, lambda: self._confirm(right=False)),
                (2, lambda: cancel),
                (1, self._status),
            ],
        )

    def end(self) -> None:
        with contextlib.suppress(UndecidedRequirement):  # the user is disposable: the deletion need not happen
            self.ctx.call("cancelAccountDeletion", user=self.user)


class ExportWalk(_OtpWalk):
    flow = "export"
    confirm_operation = "confirmDataExport"
    confirm_kind = "confirm_export"
    request_operation = "requestDataExport"
    status_kind = "gdpr_exports"

    def begin(self) -> Model[Any]:
        confirmed = confirmed_exports(self.ctx, self.user)
        self._open()  # a request awaiting its OTP before this one is superseded by it
        return export_model(self.ctx, self.request_id, confirmed=confirmed)

    def draw(self, rng: random.Random, drawn: Sequence[Step]) -> Step:
        return _pick(
            rng,
            [
                (0 if self._requesting(drawn) else 2, self._request),
                (3, lambda: self._confirm(right=True)),
                (1, lambda: self._confirm(right=False)),
                (2, self._status),
            ],
        )


# --- the requirements ----------------------------------------------------------------------------------------


@dataclass(slots=True, frozen=True)
class Lifecycle:
    """A lifecycle as walks and soaks take it: its requirement, how to start a walk, what it needs."""

    name: str  # "emails": how `soak --lifecycle` and reports name it
    requirement_id: str
    rule: str  # what the verdict's failure cites
    start: Callable[[CheckContext, User], Walk]
    needs: tuple[Need, ...] = ()


def walk_rounds(ctx: CheckContext, walk: Walk, history: History, clients: int, rounds: int) -> None:
    """The opening round, then `rounds` random ones, each one burst of one step per client; then the views."""
    names = [f"client {number}" for number in range(1, clients + 1)]
    for number in range(rounds + 1):
        steps = [walk.opener()] * clients if number == 0 else walk.round(ctx.rng, clients)
        for step, answer in zip(steps, history.burst(steps, clients=names), strict=True):
            if answer is not None:  # None: refused with back-pressure, it did nothing
                walk.learn(step, answer)
    for step in walk.views():
        history.then(step)


def _walk(ctx: CheckContext, lifecycle: Lifecycle) -> None:
    user = ctx.disposable_user()
    walk = lifecycle.start(ctx, user)
    model = walk.begin()
    clients = ctx.rng.randint(MIN_CLIENTS, MAX_CLIENTS)
    history = History(ctx)
    try:
        walk_rounds(ctx, walk, history, clients, ROUNDS)
        history.judge(
            model,
            rule=lifecycle.rule,
            what=f"{clients} clients of one account walking the {lifecycle.name} lifecycle, {ROUNDS + 1} rounds",
        )
    finally:
        walk.end()


def _emails(ctx: CheckContext, user: User) -> Walk:
    return ContactsWalk(ctx, user, EMAIL)


def _phones(ctx: CheckContext, user: User) -> Walk:
    return ContactsWalk(ctx, user, PHONE)


_INBOX = (Need.INBOX,)
_SMS_INBOX = (Need.SMS_INBOX,)
_GDPR = (Need.INBOX, Need.DESTRUCTIVE)
LIFECYCLES: tuple[Lifecycle, ...] = (
    Lifecycle("emails", "RACE-WALK-EMAILS", "rule:EMAIL-PRIMARY-UNIQUE", _emails, _INBOX),
    Lifecycle("phones", "RACE-WALK-PHONES", "rule:PHONE-PRIMARY-UNIQUE", _phones, _SMS_INBOX),
    Lifecycle("favourites", "RACE-WALK-FAVOURITES", "rule:FAVOURITE-DUPLICATE", FavouritesWalk),
    Lifecycle("fcm", "RACE-WALK-FCM", "rule:FCM-IDEMPOTENT", FcmWalk),
    Lifecycle("deletion", "RACE-WALK-DELETION", "rule:OTP", DeletionWalk, _GDPR),
    Lifecycle("export", "RACE-WALK-EXPORT", "rule:OTP", ExportWalk, _GDPR),
)
_BY_ID = {lifecycle.requirement_id: lifecycle for lifecycle in LIFECYCLES}
# What each walk sends: 2-4 clients (by the seed) of one disposable account; the first round, every client
# the same creating step; then ROUNDS rounds of one random step per client, each round at once; then the views.


@requirement(
    "RACE-WALK-EMAILS",
    level=Level.MUST,
    area="races",
    title="Clients of one account adding, verifying, making default and removing emails at once agree with one order",
    cites=(
        "rule:EMAIL-PRIMARY-UNIQUE",
        "rule:EMAIL-PRIMARY-VERIFIED",
        "rule:EMAIL-PRIMARY-REMOVAL",
        "rule:VERIFY-TOKEN",
    ),
    operations=(
        "addUserEmail",
        "verifyUserEmail",
        "setPrimaryUserEmail",
        "removeUserEmail",
        "getUserEmail",
        "listUserEmails",
        "getMyProfile",
    ),
    needs=_INBOX,
)
def walk_emails(ctx: CheckContext) -> None:
    """2-4 clients of one account add the same new address at once, then walk 6 rounds of random email steps
    (add, verify with the right or a wrong token, make default, remove, read) over two addresses, each round at
    once; then the list, the profile and each address. Some order of each round explains every answer."""
    _walk(ctx, _BY_ID["RACE-WALK-EMAILS"])


@requirement(
    "RACE-WALK-PHONES",
    level=Level.MUST,
    area="races",
    title="Clients of one account adding, verifying, making default and removing phones at once agree with one order",
    cites=(
        "rule:PHONE-PRIMARY-UNIQUE",
        "rule:PHONE-PRIMARY-VERIFIED",
        "rule:PHONE-PRIMARY-REMOVAL",
        "rule:VERIFY-TOKEN",
    ),
    operations=(
        "addUserPhone",
        "verifyUserPhone",
        "setPrimaryUserPhone",
        "removeUserPhone",
        "getUserPhone",
        "listUserPhones",
        "getMyProfile",
    ),
    needs=_SMS_INBOX,
)
def walk_phones(ctx: CheckContext) -> None:
    """As the emails' walk, with phone numbers (the first number an account gets is its primary)."""
    _walk(ctx, _BY_ID["RACE-WALK-PHONES"])


@requirement(
    "RACE-WALK-FAVOURITES",
    level=Level.MUST,
    area="races",
    title="Clients of one account adding and removing favourites at once agree with one order",
    cites=("rule:FAVOURITE-DUPLICATE",),
    operations=("addFavouriteProduct", "removeFavouriteProduct", "listFavouriteProducts"),
)
def walk_favourites(ctx: CheckContext) -> None:
    """2-4 clients of one account favourite the same new product at once, then walk 6 rounds of random adds,
    removals and lists over two products, each round at once; then the list."""
    _walk(ctx, _BY_ID["RACE-WALK-FAVOURITES"])


@requirement(
    "RACE-WALK-FCM",
    level=Level.MUST,
    area="races",
    title="Clients of one account registering and unregistering FCM tokens at once agree with one order",
    cites=("rule:FCM-IDEMPOTENT",),
    operations=("registerFcmToken", "unregisterFcmToken"),
)
def walk_fcm(ctx: CheckContext) -> None:
    """2-4 clients of one account register the same new token at once, then walk 6 rounds of random
    registrations and unregistrations of two tokens, each round at once; then unregister each (held or not)."""
    _walk(ctx, _BY_ID["RACE-WALK-FCM"])


@requirement(
    "RACE-WALK-DELETION",
    level=Level.MUST,
    area="races",
    title="Clients of one account requesting, confirming and cancelling a deletion at once agree with one order",
    cites=("rule:OTP", "rule:DELETION-GRACE"),
    operations=("requestAccountDeletion", "confirmAccountDeletion", "cancelAccountDeletion", "getGdprStatus"),
    needs=_GDPR,
)
def walk_deletion(ctx: CheckContext) -> None:
    """Requests a deletion; 2-4 clients of the account confirm its OTP at once, then walk 6 rounds of random
    requests (one a round), confirmations with the right or a wrong OTP, cancels and status reads, each round
    at once; then the GDPR status. The deletion is cancelled at the end."""
    _walk(ctx, _BY_ID["RACE-WALK-DELETION"])


@requirement(
    "RACE-WALK-EXPORT",
    level=Level.MUST,
    area="races",
    title="Clients of one account requesting and confirming data exports at once agree with one order",
    cites=("rule:OTP",),
    operations=("requestDataExport", "confirmDataExport", "getGdprStatus"),
    needs=_GDPR,
)
def walk_export(ctx: CheckContext) -> None:
    """Requests an export; 2-4 clients of the account confirm its OTP at once, then walk 6 rounds of random
    requests (one a round), confirmations with the right or a wrong OTP and status reads, each round at once;
    then the GDPR status."""
    _walk(ctx, _BY_ID["RACE-WALK-EXPORT"])


REQUIREMENTS = (walk_emails, walk_phones, walk_favourites, walk_fcm, walk_deletion, walk_export)
