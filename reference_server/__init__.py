"""Kesk reference server: a stateful implementation of the contract with switchable seeded faults."""

from __future__ import annotations

from .app import BASE_PATH, create_app
from .faults import CATALOGUE, Fault, FaultSet, UnknownFaultError

__all__ = ["BASE_PATH", "CATALOGUE", "Fault", "FaultSet", "UnknownFaultError", "create_app"]
