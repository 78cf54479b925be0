"""RACE-*: the contract's rules under concurrency (synchronised bursts, concurrent walks, history checking)."""

from __future__ import annotations

from conformance.checks.races import bursts, walks

__all__ = ["REQUIREMENTS"]

REQUIREMENTS = (*bursts.REQUIREMENTS, *walks.REQUIREMENTS)
