"""Lifecycle checks: one Hypothesis state machine per business flow, judged against a model and a table.

``contacts`` (emails and phones: verification tokens, their lifetime and burning, primaries, removal,
pagination, profile), ``favourites`` (favourites; FCM device tokens), ``deletion`` (GDPR account deletion,
OTP guessing), ``export`` (GDPR data export), ``account`` (permanent deletion) and ``identity``
(verification session, NFC, profile validation). Each machine declares its states and actions as a
transition table (``_table.py``: every row the contract's answer) and lists the requirements it reports
(``MachineSpec.requirements``); :mod:`conformance.catalogue` puts them in the run order.
"""

from __future__ import annotations

from conformance.checks.lifecycles._base import MachineSpec, MachineVerdict, bind, transition_log
from conformance.checks.lifecycles._table import Table, TransitionLog
from conformance.checks.lifecycles.account import ACCOUNT
from conformance.checks.lifecycles.contacts import EMAILS, PHONES
from conformance.checks.lifecycles.deletion import DELETION
from conformance.checks.lifecycles.export import EXPORT
from conformance.checks.lifecycles.favourites import DEVICES, FAVOURITES
from conformance.checks.lifecycles.identity import IDENTITY

__all__ = [
    "MACHINES",
    "REQUIREMENT_IDS",
    "MachineSpec",
    "MachineVerdict",
    "Table",
    "TransitionLog",
    "bind",
    "transition_log",
    "transition_summary",
]

# The run order of the machines: the cheaper ones first, emails and phones (the most requests: they read
# every view after every step) last, so that faults show early.
MACHINES: tuple[MachineSpec, ...] = (
    ACCOUNT,
    DEVICES,
    FAVOURITES,
    DELETION,
    EXPORT,
    IDENTITY,
    EMAILS,
    PHONES,
)
REQUIREMENT_IDS: tuple[str, ...] = tuple(dict.fromkeys(rid for spec in MACHINES for rid in spec.owns))


def transition_summary(log: TransitionLog | None) -> dict[str, dict[str, object]]:
    """results.json `transitions`: per machine that ran, the pairs covered, the total and the missing ones."""
    return log.summary() if log is not None else {}
