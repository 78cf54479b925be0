"""The clause table (conformance/clauses.toml): every promise of the contract, the requirements that check it."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.catalogue import catalogue
from conformance.clauses import clauses, coverage, load, markdown, rows, share_line
from conformance.contract import bundled_contract
from conformance.trace import faults_by_requirement


def test_every_clause_names_requirements_of_the_catalogue() -> None:
    ids = {item.id for item in catalogue()}
    assert {item.id: [rid for rid in item.requirements if rid not in ids] for item in clauses()} == {
        item.id: [] for item in clauses()
    }


def test_every_rule_of_the_contract_has_its_clauses() -> None:
    cited = {item.cites.removeprefix("rule:") for item in clauses() if item.cites.startswith("rule:")}
    assert sorted(set(bundled_contract().rules) - cited) == []


def test_every_citation_resolves() -> None:
    contract = bundled_contract()
    for item in clauses():
        text, _ = contract.resolve(item.cites)
        assert text, item.id


def test_a_rule_is_split_into_its_promises() -> None:
    # The OTP rule alone makes six promises (digits, lifetime, attempts, single use, binding, supersession).
    assert len([item for item in clauses() if item.cites == "rule:OTP"]) >= 6


def test_covered_share_counts_clauses_with_a_proving_fault() -> None:
    # Given the table and the reference server's faults
    table = rows(clauses(), faults_by_requirement())

    # When the share is computed
    covered, total = coverage(table)

    # Then a clause counts exactly when one of its requirements has a fault, and uncovered ones stay listed
    assert total == len(clauses())
    assert covered == sum(1 for row in table if row.faults)
    assert all(not row.faults for row in table if not row.clause.requirements)
    assert f"{covered}/{total}" in share_line(table)
    assert "**uncovered**" in markdown(table) or covered == total


def test_a_malformed_table_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "clauses.toml"
    bad.write_text('[[clause]]\nid = "X/a"\ncites = "rule:OTP"\ntext = "t"\nrequirements = "OTP-BRUTE-FORCE"\n')
    with pytest.raises(ValueError, match="requirements"):
        load(bad)
    bad.write_text('[[clause]]\nid = "X/a"\ncites = "rule:OTP"\ntext = "t"\n' * 2)
    with pytest.raises(ValueError, match="repeat"):
        load(bad)
