"""The requirement catalogue's checks, one module per area; importing this package registers them."""

from __future__ import annotations

from conformance.checks import auth, isolation, lifecycles, mass_assignment, responses, schemathesis_engine

__all__ = ["auth", "isolation", "lifecycles", "mass_assignment", "responses", "schemathesis_engine"]
