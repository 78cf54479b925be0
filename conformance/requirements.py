"""Requirements: what one check enforces, declared once, with a stable id and its citation.

A requirement carries its id (``EMAIL-PRIMARY-UNIQUE``; never positional), its level (MUST fails
the run, SHOULD only under ``--strict``), what it cites in the contract (``rule:OTP``,
``seed:addUserEmail``, ``spec:/components/...``; the quote is taken from there, never retyped), the
operations it covers, and what it needs from the target (a second user, an inbox, the test clock,
a password, destructive permission). The catalogue (run order included) is built in one place,
:mod:`conformance.catalogue`; declaring a requirement registers nothing.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from conformance.contract import Citation, bundled_contract

if TYPE_CHECKING:
    from conformance.context import CheckContext

__all__ = [
    "CheckFunction",
    "DuplicateRequirement",
    "Level",
    "Need",
    "Registry",
    "Requirement",
    "Sharing",
    "requirement",
]

CheckFunction = Callable[["CheckContext"], None]
_ID_PATTERN = re.compile(r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$")


class Level(StrEnum):
    MUST = "MUST"
    SHOULD = "SHOULD"


class Sharing(StrEnum):
    """Whether a requirement's check may run while others run."""

    CONCURRENT = "concurrent"
    # Its verdict models user A's whole account (every email, favourite...): with no user factory to give
    # it a user of its own, it runs alone.
    ALONE_ON_SHARED_USERS = "alone_on_shared_users"
    # It moves the clock (the server's test clock): it runs alone while that clock is shared by every user. With a
    # clock per user (test support's `user_token`), the wall clock (--real-time-expiry) or no clock, it runs beside
    # the rest; like ALONE_ON_SHARED_USERS, it still runs alone on user A when there is no user factory.
    ALONE = "alone"


class Need(StrEnum):
    """Capabilities a requirement needs; missing ones turn it into a skip with a reason."""

    SECOND_USER = "second_user"
    INBOX = "inbox"  # the e-mail codes (verification tokens, OTPs): --inbox email=SPEC
    SMS_INBOX = "sms_inbox"  # the SMS codes (phone verification): --inbox sms=SPEC
    CLOCK = "clock"  # lifetimes: the test-support clock, or the wall clock (--real-time-expiry)
    PASSWORD = "password"
    DESTRUCTIVE = "destructive"


@dataclass(slots=True, frozen=True)
class Requirement:
    id: str
    level: Level
    area: str
    title: str
    quote: str  # taken from what `cites` names in the contract
    source: str  # "seed" when the sentence is the upstream reference's, "spec" when it is our contract's
    operations: tuple[str, ...]
    needs: frozenset[Need]
    check: CheckFunction
    # Observers judge the exchanges every other check made, so they run last.
    observes: bool = False
    cites: tuple[Citation, ...] = ()
    doc: str = ""  # what the check sends
    sharing: Sharing = Sharing.CONCURRENT

    def __call__(self, ctx: CheckContext) -> None:
        self.check(ctx)

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "level": self.level.value,
            "area": self.area,
            "title": self.title,
            "quote": self.quote,
            "source": self.source,
            "cites": list(self.cites),
            "operations": list(self.operations),
            "needs": sorted(need.value for need in self.needs),
            "observes": self.observes,
        }


class DuplicateRequirement(ValueError):
    pass


class Registry:
    """Requirements keyed by id, in the order they were added; duplicate ids are refused."""

    def __init__(self, items: Iterable[Requirement] = ()) -> None:
        self._items: dict[str, Requirement] = {}
        self.extend(items)

    def add(self, item: Requirement) -> None:
        if not _ID_PATTERN.match(item.id):
            raise ValueError(f"requirement id {item.id!r} must look like AREA-WORD[-WORD...] in capitals")
        if item.id in self._items:
            raise DuplicateRequirement(f"a requirement with id {item.id!r} is already registered")
        self._items[item.id] = item

    def extend(self, items: Iterable[Requirement]) -> None:
        for item in items:
            self.add(item)

    def __iter__(self) -> Iterator[Requirement]:
        return iter(self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, requirement_id: object) -> bool:
        return requirement_id in self._items

    def get(self, requirement_id: str) -> Requirement:
        return self._items[requirement_id]

    def select(self, include: Iterable[str] = (), exclude: Iterable[str] = ()) -> list[Requirement]:
        """Requirements whose id matches any include glob (all when none) and no exclude glob."""
        include, exclude = list(include), list(exclude)
        return [
            item
            for item in self
            if (not include or any(fnmatch.fnmatchcase(item.id, glob) for glob in include))
            and not any(fnmatch.fnmatchcase(item.id, glob) for glob in exclude)
        ]

    def uncovered(self, operation_ids: Iterable[str]) -> list[str]:
        covered = {op for item in self for op in item.operations}
        return sorted(set(operation_ids) - covered)


def declare(
    id: str,
    *,
    level: Level,
    area: str,
    title: str,
    cites: Iterable[Citation],
    operations: Iterable[str],
    check: CheckFunction,
    needs: Iterable[Need] = (),
    observes: bool = False,
    doc: str = "",
) -> Requirement:
    """One requirement record; its quote and source come from what it cites in the bundled contract."""
    cited = tuple(cites)
    if not cited:
        raise ValueError(
            f"requirement {id} cites nothing: name an x-kesk-rules rule, a seed operation or a spec element"
        )
    contract = bundled_contract()
    return Requirement(
        id=id,
        level=level,
        area=area,
        title=title,
        quote=contract.quote(cited),
        source=contract.source(cited),
        operations=tuple(operations),
        needs=frozenset(needs),
        check=check,
        observes=observes,
        cites=cited,
        doc=doc or (check.__doc__ or "").strip(),
    )


def requirement(
    id: str,
    *,
    level: Level,
    area: str,
    title: str,
    cites: Iterable[Citation],
    operations: Iterable[str],
    needs: Iterable[Need] = (),
    observes: bool = False,
) -> Callable[[CheckFunction], Requirement]:
    """Declare the decorated function as the check of one requirement; the name then holds the record."""

    def make(check: CheckFunction) -> Requirement:
        return declare(
            id,
            level=level,
            area=area,
            title=title,
            cites=cites,
            operations=operations,
            check=check,
            needs=needs,
            observes=observes,
        )

    return make
