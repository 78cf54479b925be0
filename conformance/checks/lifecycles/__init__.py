"""Lifecycle checks: one Hypothesis state machine per business flow, judged against a model.

Importing this package registers the requirements of every lifecycle machine:
``contacts`` (emails and phones, pagination, profile), ``favourites`` (favourites and FCM
tokens), ``deletion`` (GDPR account deletion), ``export`` (GDPR data export), ``account``
(permanent deletion), ``identity`` (verification session, NFC, profile validation) and
``abuse`` (bounded OTP and token guessing).
"""

from __future__ import annotations

# Registration order is run order: the cheaper machines first, the emails/phones machines (the most
# requests: they walk every list after every step; identity imports them) last, so faults show early.
# isort: off
from conformance.checks.lifecycles import abuse, account, favourites, deletion, export
from conformance.checks.lifecycles import identity, contacts

# isort: on
from conformance.checks.lifecycles._base import MachineSpec

__all__ = [
    "MACHINES",
    "REQUIREMENT_IDS",
    "abuse",
    "account",
    "contacts",
    "deletion",
    "export",
    "favourites",
    "identity",
]

MACHINES: tuple[MachineSpec, ...] = (
    contacts.EMAILS,
    contacts.PHONES,
    favourites.FAVOURITES_AND_DEVICES,
    deletion.DELETION,
    export.EXPORT,
    account.ACCOUNT,
    identity.IDENTITY,
    abuse.GUESSING,
)
REQUIREMENT_IDS: tuple[str, ...] = tuple(dict.fromkeys(rid for spec in MACHINES for rid in spec.owns))
