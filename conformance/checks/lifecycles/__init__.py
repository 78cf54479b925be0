"""Lifecycle checks: one Hypothesis state machine per business flow, judged against a model.

``contacts`` (emails and phones, pagination, profile), ``favourites`` (favourites and FCM tokens),
``tokens`` (email verification tokens: lifetime, burnt, added again), ``deletion`` (GDPR account
deletion), ``export`` (GDPR data export), ``account`` (permanent deletion), ``identity`` (verification
session, NFC, profile validation) and ``abuse`` (bounded OTP and token guessing). Each machine lists
the requirements it reports (``MachineSpec.requirements``); :mod:`conformance.catalogue` puts them in
the run order.
"""

from __future__ import annotations

from conformance.checks.lifecycles._base import MachineSpec, MachineVerdict, bind
from conformance.checks.lifecycles.abuse import GUESSING
from conformance.checks.lifecycles.account import ACCOUNT
from conformance.checks.lifecycles.contacts import EMAILS, PHONES
from conformance.checks.lifecycles.deletion import DELETION
from conformance.checks.lifecycles.export import EXPORT
from conformance.checks.lifecycles.favourites import FAVOURITES_AND_DEVICES
from conformance.checks.lifecycles.identity import IDENTITY
from conformance.checks.lifecycles.tokens import VERIFICATION_TOKENS

__all__ = ["MACHINES", "REQUIREMENT_IDS", "MachineSpec", "MachineVerdict", "bind"]

# The run order of the machines: the cheaper ones first, emails and phones (the most requests: they walk
# every list after every step) last, so that faults show early.
MACHINES: tuple[MachineSpec, ...] = (
    GUESSING,
    VERIFICATION_TOKENS,
    ACCOUNT,
    FAVOURITES_AND_DEVICES,
    DELETION,
    EXPORT,
    IDENTITY,
    EMAILS,
    PHONES,
)
REQUIREMENT_IDS: tuple[str, ...] = tuple(dict.fromkeys(rid for spec in MACHINES for rid in spec.owns))
