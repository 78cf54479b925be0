"""The catalogue: built in one place and in a written order, every id declared once, traced to the contract."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conformance.catalogue import catalogue
from conformance.checks.lifecycles import MACHINES
from conformance.contract import Contract, bundled_contract
from conformance.requirements import Level, Registry, declare
from conformance.trace import faults_by_requirement, trace

SUITE = Path(__file__).resolve().parents[2] / "conformance"
_DECLARATION = r'(?:requirement|owned|_contact_requirement)\(\s*"{id}"'


def _sources() -> str:
    return "\n".join(path.read_text(encoding="utf-8") for path in sorted(SUITE.rglob("*.py")))


def test_each_id_is_a_literal_in_exactly_one_declaration() -> None:
    # Given every python source of the suite
    sources = _sources()

    # Then each id of the catalogue is declared, as a literal, in one place only
    declared = {item.id: len(re.findall(_DECLARATION.format(id=item.id), sources)) for item in catalogue()}
    assert {rid: count for rid, count in declared.items() if count != 1} == {}


def test_no_isort_directive_decides_anything() -> None:
    assert "isort:" not in _sources()


def test_the_run_order_is_the_written_one() -> None:
    # When the catalogue is built
    areas = [item.area for item in catalogue()]

    # Then its groups come in the order catalogue.py writes them, each in one block, observers last
    blocks = [area for index, area in enumerate(areas) if index == 0 or areas[index - 1] != area]
    assert blocks == [
        "auth",
        "isolation",
        "mass-assignment",
        "gdpr",
        "answers",
        "races",
        "lifecycle",
        "schemathesis",
        "schema",
    ]
    assert [item.observes for item in catalogue()] == sorted(item.observes for item in catalogue())
    # and the lifecycle requirements follow the machines' written order
    lifecycle = [item.id for item in catalogue() if item.area == "lifecycle"]
    last_machine = {rid: max(i for i, spec in enumerate(MACHINES) if rid in spec.owns) for rid in lifecycle}
    assert [last_machine[rid] for rid in lifecycle] == sorted(last_machine[rid] for rid in lifecycle)


def test_the_catalogue_is_built_again_the_same() -> None:
    # Given the cached catalogue, and one built from the same records again
    again = Registry(catalogue())

    # Then both hold the same ids in the same order
    assert [item.id for item in again] == [item.id for item in catalogue()]


def test_every_rule_of_the_contract_has_a_requirement() -> None:
    rows = trace(bundled_contract(), catalogue(), {})
    assert [row.rule for row in rows if row.rule and not row.requirements] == []


def test_every_requirement_cites_what_it_enforces_and_quotes_it() -> None:
    contract = bundled_contract()
    for item in catalogue():
        assert item.cites, item.id
        assert item.quote == contract.quote(item.cites)


def test_every_requirement_has_a_fault_that_must_make_it_fail() -> None:
    faults = faults_by_requirement()
    assert [item.id for item in catalogue() if not faults.get(item.id)] == []


def test_every_fault_names_requirements_of_the_catalogue() -> None:
    ids = {item.id for item in catalogue()}
    assert {rid for rid in faults_by_requirement() if rid not in ids} == set()


@pytest.mark.parametrize(
    "citation",
    ["rule:NO-SUCH-RULE", "seed:noSuchOperation", "spec:/components/nothing", "rfc:0000#1", "section 4"],
)
def test_a_citation_that_points_nowhere_is_refused(citation: str) -> None:
    with pytest.raises(Exception, match=r"citation|must be one of"):
        declare(
            "TEST-CITATION",
            level=Level.MUST,
            area="test",
            title="t",
            cites=(citation,),
            operations=(),
            check=lambda ctx: None,
        )


def test_a_requirement_citing_nothing_is_refused() -> None:
    with pytest.raises(ValueError, match="cites nothing"):
        declare("TEST-NOTHING", level=Level.MUST, area="test", title="t", cites=(), operations=(), check=print)


def test_limits_come_from_the_contract_given() -> None:
    # Given a contract whose limits a server team edited
    document = dict(bundled_contract().document)
    document["x-kesk-limits"] = {**document["x-kesk-limits"], "otp_max_attempts": 3, "per_page_max": 50}

    # Then the suite's limits are the edited ones, and a missing one is refused
    assert Contract(document).limits.otp_max_attempts == 3
    assert Contract(document).limits.per_page_max == 50
    document["x-kesk-limits"] = {"otp_ttl_s": 600}
    with pytest.raises(Exception, match="x-kesk-limits"):
        Contract(document).limits  # noqa: B018
