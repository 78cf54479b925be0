"""Seeded faults that only show under concurrency: check-then-act without a lock or a transaction.

Each opens a race window at a `*.race_window_s` hook (or the deletion's schedule delay): the handler checks,
commits, waits with the lock released, then writes what it decided without checking again. Sequential
clients never see the difference; requests that overlap the window do. The window is wide enough to be hit
on a loaded 2-core machine by a burst of requests, however the event loop schedules them. Each fault names
the RACE-* requirement that must catch it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import hooks
from .hooks import ContactCall, Hook, RaceStep

__all__ = ["RACE_FAULTS", "WINDOW_S", "RaceFault"]

WINDOW_S = 0.25  # longer than a burst of 64 requests takes to reach the handlers, even on a loaded machine


def _window(value: float, context: object) -> float:
    return WINDOW_S


def _for_kind(kind: str) -> Callable[[float, ContactCall], float]:
    def apply(value: float, call: ContactCall) -> float:
        return WINDOW_S if call.kind == kind else value

    return apply


def _at_step(kind: str, write: str) -> Callable[[float, RaceStep], float]:
    def apply(value: float, step: RaceStep) -> float:
        return WINDOW_S if (step.kind, step.write) == (kind, write) else value

    return apply


@dataclass(slots=True, frozen=True)
class RaceFault:
    """One race fault as `faults.CATALOGUE` takes it in (a `Fault` at `hook`, naming `requirement`)."""

    name: str
    description: str
    requirements: tuple[str, ...]
    hook: Hook[float, Any]
    apply: Callable[[float, Any], float]


def _race(
    name: str, description: str, requirement: str, hook: Hook[float, Any], apply: Callable[[float, Any], float]
) -> RaceFault:
    return RaceFault(name, description, (requirement,), hook, apply)


def _opening(
    name: str,
    description: str,
    requirement: str,
    walk: str,
    hook: Hook[float, Any],
    apply: Callable[[float, Any], float],
) -> RaceFault:
    """A race the walk of its lifecycle opens with (every client creating the same thing): both catch it."""
    return RaceFault(name, description, (requirement, walk), hook, apply)


RACE_FAULTS: tuple[RaceFault, ...] = (
    _opening(
        "deletion_otp_race",
        "confirmAccountDeletion checks the OTP, then schedules the deletion in a second step: concurrent "
        "confirmations with one OTP all succeed.",
        "RACE-DELETION-OTP-ONCE",
        "RACE-WALK-DELETION",
        hooks.OTP_REDEEM_RACE_WINDOW_S,
        _at_step("deletion", "redeem"),
    ),
    _opening(
        "export_otp_race",
        "confirmDataExport checks the OTP, then queues the export in a second step: concurrent confirmations "
        "with one OTP all succeed.",
        "RACE-EXPORT-OTP-ONCE",
        "RACE-WALK-EXPORT",
        hooks.OTP_REDEEM_RACE_WINDOW_S,
        _at_step("export", "redeem"),
    ),
    _race(
        "otp_attempts_race",
        "confirmAccountDeletion reads the attempts left, then counts a wrong OTP in a second step: concurrent "
        "wrong OTPs all count as the first attempt (the limit is bypassed).",
        "RACE-DELETION-OTP-ATTEMPTS",
        hooks.OTP_REDEEM_RACE_WINDOW_S,
        _at_step("deletion", "wrong_attempt"),
    ),
    _race(
        "deletion_schedule_race",
        "confirmAccountDeletion uses the OTP up, then schedules the deletion in a second step: a cancel in "
        "between is undone.",
        "RACE-DELETION-CANCEL-CONFIRM",
        hooks.DELETION_CONFIRM_SCHEDULE_DELAY_S,
        _window,
    ),
    _race(
        "email_verify_race",
        "verifyUserEmail reads the attempts left, then counts a wrong token in a second step: concurrent wrong "
        "tokens bypass the attempt limit.",
        "RACE-EMAIL-VERIFY-ATTEMPTS",
        hooks.CONTACT_VERIFY_RACE_WINDOW_S,
        _for_kind("email"),
    ),
    _race(
        "phone_verify_race",
        "verifyUserPhone reads the attempts left, then counts a wrong token in a second step.",
        "RACE-PHONE-VERIFY-ATTEMPTS",
        hooks.CONTACT_VERIFY_RACE_WINDOW_S,
        _for_kind("phone"),
    ),
    _opening(
        "email_add_race",
        "addUserEmail checks that the address is free, then inserts it in a second step: concurrent adds of "
        "one address all succeed.",
        "RACE-EMAIL-ADD-ONCE",
        "RACE-WALK-EMAILS",
        hooks.CONTACT_ADD_RACE_WINDOW_S,
        _for_kind("email"),
    ),
    _opening(
        "phone_add_race",
        "addUserPhone checks that the number is free (and whether the user has a primary), then inserts it in a "
        "second step: concurrent adds of one number all succeed, all primary.",
        "RACE-PHONE-ADD-ONCE",
        "RACE-WALK-PHONES",
        hooks.CONTACT_ADD_RACE_WINDOW_S,
        _for_kind("phone"),
    ),
    _opening(
        "favourite_add_race",
        "addFavouriteProduct checks for the product, then inserts it in a second step: concurrent adds of one "
        "product all succeed.",
        "RACE-FAVOURITE-ADD-ONCE",
        "RACE-WALK-FAVOURITES",
        hooks.FAVOURITE_ADD_RACE_WINDOW_S,
        _window,
    ),
    _opening(
        "fcm_register_race",
        "registerFcmToken looks the token up, then inserts it in a second step: concurrent registrations of a "
        "new token collide and all but one are refused.",
        "RACE-FCM-REGISTER-IDEMPOTENT",
        "RACE-WALK-FCM",
        hooks.FCM_REGISTER_RACE_WINDOW_S,
        _window,
    ),
    _race(
        "email_make_default_race",
        "setPrimaryUserEmail reads the current primary, then clears it and sets the new one in a second step: "
        "concurrent make-defaults leave several primaries.",
        "RACE-EMAIL-PRIMARY-ONE",
        hooks.CONTACT_MAKE_DEFAULT_RACE_WINDOW_S,
        _for_kind("email"),
    ),
    _race(
        "phone_make_default_race",
        "setPrimaryUserPhone reads the current primary, then clears it and sets the new one in a second step.",
        "RACE-PHONE-PRIMARY-ONE",
        hooks.CONTACT_MAKE_DEFAULT_RACE_WINDOW_S,
        _for_kind("phone"),
    ),
    _race(
        "email_remove_race",
        "removeUserEmail checks that the address is not primary, then removes it in a second step: made primary "
        "in between, the primary is removed.",
        "RACE-EMAIL-REMOVE-PRIMARY",
        hooks.CONTACT_REMOVE_RACE_WINDOW_S,
        _for_kind("email"),
    ),
    _race(
        "phone_remove_race",
        "removeUserPhone checks that the number is not primary, then removes it in a second step.",
        "RACE-PHONE-REMOVE-PRIMARY",
        hooks.CONTACT_REMOVE_RACE_WINDOW_S,
        _for_kind("phone"),
    ),
)
