"""The requirement catalogue, built in one place and in the order the suite runs it.

Like h2spec's ``Spec()``, the catalogue adds its groups one after another; nothing is registered
by importing a module. The order is the run order: quick single-request checks first (a broken
server is reported within seconds), then the lifecycle machines (cheaper ones first), then the
Schemathesis run (about 1,400 requests), then the observers, which judge every exchange of the run.
"""

from __future__ import annotations

from functools import cache

from conformance.checks import (
    answers,
    auth,
    isolation,
    mass_assignment,
    races,
    responses,
    schemathesis_engine,
    sensitive,
)
from conformance.checks.lifecycles import MACHINES, bind
from conformance.requirements import Registry

__all__ = ["catalogue"]


@cache
def catalogue() -> Registry:
    """Every requirement of the suite, in run order; duplicate ids are refused."""
    registry = Registry()
    registry.extend(auth.REQUIREMENTS)
    registry.extend(isolation.REQUIREMENTS)
    registry.extend(mass_assignment.REQUIREMENTS)
    registry.extend(sensitive.REQUIREMENTS)
    registry.extend(answers.REQUIREMENTS)  # every documented refusal a request provokes without state
    registry.extend(races.REQUIREMENTS)  # bursts of --race-width requests at once, each on a disposable user
    registry.extend(bind(MACHINES))
    registry.extend(schemathesis_engine.REQUIREMENTS)
    registry.extend(responses.REQUIREMENTS)  # observers: they judge what everything above sent
    return registry
