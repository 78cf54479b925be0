"""Which requirements a targeted self-test run selects for a fault (selftest/targeting.py)."""

from __future__ import annotations

import pytest

from reference_server.faults import CATALOGUE as FAULTS
from selftest.targeting import Listed, catalogue, drivers, targeted_selection

LISTED = (
    Listed("AUTH-401-MISSING", "MUST", "auth", observes=False),
    Listed("BOLA-EMAIL-READ", "MUST", "isolation", observes=False),
    Listed("MASS-ASSIGNMENT", "MUST", "mass-assignment", observes=False),
    Listed("EMAIL-PRIMARY-UNIQUE", "MUST", "lifecycle", observes=False),
    Listed("AUTH-IGNORED", "MUST", "schemathesis", observes=False),
    Listed("SCHEMA-CONTENT-TYPE", "MUST", "schema", observes=True),
)


def test_a_requirement_that_sends_its_own_requests_is_selected_alone() -> None:
    assert targeted_selection(["EMAIL-PRIMARY-UNIQUE"], LISTED) == ["EMAIL-PRIMARY-UNIQUE"]
    assert targeted_selection(["AUTH-401-MISSING"], LISTED) == ["AUTH-401-MISSING"]


def test_an_observer_is_selected_with_the_suites_own_active_checks() -> None:
    # Not the Schemathesis-backed ones (the observer runs that engine itself) nor other observers
    assert targeted_selection(["SCHEMA-CONTENT-TYPE"], LISTED) == [
        "SCHEMA-CONTENT-TYPE",
        "AUTH-401-MISSING",
        "BOLA-EMAIL-READ",
        "MASS-ASSIGNMENT",
    ]


def test_an_id_the_catalogue_does_not_have_is_refused() -> None:
    with pytest.raises(KeyError, match="NOPE-NOPE"):
        targeted_selection(["NOPE-NOPE"], LISTED)


def test_every_fault_names_requirements_of_the_catalogue_and_observers_have_drivers() -> None:
    # Given the real catalogue, as `kesk-conformance list --json` shows it
    listed = catalogue()
    # Then every fault's targeted selection can be made, and observers get active checks to judge
    for fault in FAULTS:
        assert set(fault.requirements) <= set(targeted_selection(fault.requirements, listed)), fault.name
    assert any(item.observes for item in listed)
    assert drivers(listed)
