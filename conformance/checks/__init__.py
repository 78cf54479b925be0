"""The requirement catalogue's checks, one module per area; importing this package registers them."""

from __future__ import annotations

# Registration order is run order: quick single-request checks, then the lifecycle machines, then the
# Schemathesis run (about 1,400 requests), then the observers (`responses`), which judge everything.
# isort: off
from conformance.checks import auth, isolation, mass_assignment
from conformance.checks import lifecycles
from conformance.checks import schemathesis_engine, responses
# isort: on

__all__ = ["auth", "isolation", "lifecycles", "mass_assignment", "responses", "schemathesis_engine"]
