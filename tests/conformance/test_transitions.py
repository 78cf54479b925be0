"""Transition tables: the engine (covering paths, reasons), every machine's table, and how verdicts use them."""

from __future__ import annotations

import itertools
import json
import re
from types import SimpleNamespace
from typing import Any

import pytest

from conformance.catalogue import catalogue
from conformance.checks.lifecycles import MACHINES, MachineSpec, MachineVerdict
from conformance.checks.lifecycles._base import MachineOutcome
from conformance.checks.lifecycles._table import Answer, Row, Table, row
from conformance.cli import main as kesk_conformance
from conformance.failures import SkipRequirement, UndecidedRequirement
from conformance.requirements import Need

# A door: closed, open, locked (the key is out of band), and a pair that needs the clock.
DOOR = Table(
    "door",
    "closed",
    [
        row("closed", "open", 200, "open", "DOOR-OPEN"),
        row("closed", "lock", 200, "locked", "DOOR-LOCK", Need.INBOX),
        row("open", "close", 200, "closed", "DOOR-OPEN"),
        row("open", "open", (409, "already_open"), "open", "DOOR-OPEN"),
        row("locked", "open", [(423, "locked"), (409, "locked")], "locked", "DOOR-LOCK"),
        row("locked", "wait", None, "closed", "DOOR-LOCK", Need.CLOCK),
    ],
)


def _everything(item: Row) -> bool:
    return True


def _walks(table: Table, start: str, rows: tuple[Row, ...]) -> bool:
    """Each row of a path starts where the one before ended."""
    state = start
    for item in rows:
        if item.state != state:
            return False
        state = item.next
    return True


def test_rows_are_written_compactly() -> None:
    assert DOOR.at("open", "open") == Row("open", "open", (Answer(409, "already_open"),), "open", "DOOR-OPEN")
    assert DOOR.at("locked", "open").answer_label() == "423 locked or 409 locked"  # type: ignore[union-attr]
    assert DOOR.at("locked", "wait").answers == ()  # type: ignore[union-attr]
    assert DOOR.at("open", "lock") is None
    assert DOOR.states == ("closed", "open", "locked")
    assert DOOR.pairs_of("DOOR-LOCK") == ["closed/lock", "locked/open", "locked/wait"]


def test_a_pair_written_twice_or_a_state_with_no_action_is_refused() -> None:
    with pytest.raises(ValueError, match="closed/open is written twice"):
        Table("t", "closed", [row("closed", "open", 200, "closed", "X-Y"), row("closed", "open", 200, "closed", "X-Y")])
    with pytest.raises(ValueError, match="no action is written for the states"):
        Table("t", "closed", [row("closed", "open", 200, "open", "X-Y")])


def test_covering_paths_execute_every_reachable_pair_each_a_walk_from_the_start() -> None:
    # When the paths are planned with every capability
    paths = DOOR.covering_paths("closed", _everything, max_steps=3)
    # Then together they execute every pair, each path is a walk from the start within the length
    assert {item.pair for path in paths for item in path.rows} == set(DOOR.pairs())
    assert all(_walks(DOOR, "closed", path.rows) and len(path.rows) <= 3 for path in paths)
    # and the plan is the same every time (the table's order breaks ties)
    assert [path.actions for path in paths] == [
        path.actions for path in DOOR.covering_paths("closed", _everything, max_steps=3)
    ]


def test_the_nearest_pair_is_reached_by_a_shortest_route() -> None:
    route = DOOR.nearest("open", {"locked/wait"}, _everything)
    assert route is not None and route.actions == ("close", "lock", "wait")


def test_without_a_capability_the_pairs_behind_it_are_left_out_with_the_reason() -> None:
    # Given a run without an inbox
    def can(item: Row) -> bool:
        return Need.INBOX not in item.needs

    # When the paths are planned
    covered = {item.pair for path in DOOR.covering_paths("closed", can, max_steps=12) for item in path.rows}
    # Then what needs the inbox, and what lies behind it, is left out, each with the option that gives it
    assert set(DOOR.pairs()) - covered == {"closed/lock", "locked/open", "locked/wait"}
    assert "inbox" in DOOR.why_missing("locked/open", "closed", frozenset())
    assert "clock" in DOOR.why_missing("locked/wait", "closed", frozenset({Need.INBOX}))
    assert DOOR.why_missing("locked/wait", "closed", frozenset({Need.INBOX, Need.CLOCK})) == ""
    # and a start the table cannot leave reaches nothing
    assert "not reachable from state" in DOOR.why_missing("closed/open", "elsewhere", frozenset())


# --- every machine's table --------------------------------------------------------------------------
@pytest.mark.parametrize("spec", MACHINES, ids=lambda spec: spec.name)
def test_every_pair_of_every_machine_is_on_a_covering_path(spec: MachineSpec) -> None:
    table = spec.table
    paths = table.covering_paths(table.initial, _everything, max_steps=spec.path_steps)
    assert {item.pair for path in paths for item in path.rows} == set(table.pairs())
    assert all(_walks(table, table.initial, path.rows) for path in paths)


@pytest.mark.parametrize("spec", MACHINES, ids=lambda spec: spec.name)
def test_every_action_has_its_step_and_every_row_a_requirement_of_the_machine(spec: MachineSpec) -> None:
    machine_class: Any = spec.factory
    assert [
        action for action in spec.table.actions if not callable(getattr(machine_class, f"act_{action}", None))
    ] == []
    assert set(spec.table.requirements()) <= set(spec.owns)
    # and every answer a row expects for an error carries the contract's code
    assert [item.pair for item in spec.table.rows for a in item.answers if a.status >= 400 and not a.code] == []


_CAPABILITIES = (Need.INBOX, Need.SMS_INBOX, Need.CLOCK, Need.SECOND_USER)


@pytest.mark.parametrize("spec", MACHINES, ids=lambda spec: spec.name)
def test_a_pair_needs_no_more_than_the_requirement_that_judges_it(spec: MachineSpec) -> None:
    # A requirement that needs no clock must not have a pair only the clock reaches: without one, the pair would
    # be left out and the requirement skipped, though it declares it can run.
    needs = {item.id: item.needs for item in catalogue()}
    table = spec.table
    wrong = []
    for item in table.rows:
        declared = needs[item.requirement]
        subsets = [set(c) for n in range(len(_CAPABILITIES) + 1) for c in itertools.combinations(_CAPABILITIES, n)]
        enough = [s for s in subsets if item.pair in table.reachable(table.initial, lambda r, s=s: r.needs <= s)]
        if not any(s <= declared for s in enough):
            wrong.append((item.pair, item.requirement, sorted(min(enough, key=len))))
    assert wrong == []


def test_list_transitions_prints_every_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert kesk_conformance(["list", "--transitions"]) == 0
    out = capsys.readouterr().out
    for spec in MACHINES:
        assert f"{spec.name}: {len(spec.table.rows)} pairs" in out
    assert re.search(r"awaiting +confirm_wrong +400 invalid_code +tried +GDPR-DELETION-FLOW", out)
    assert kesk_conformance(["list", "--transitions", "--json"]) == 0
    tables = json.loads(capsys.readouterr().out)
    assert [table["machine"] for table in tables] == [spec.name for spec in MACHINES]
    assert sum(len(table["rows"]) for table in tables) == sum(len(spec.table.rows) for spec in MACHINES)


# --- verdicts -----------------------------------------------------------------------------------------
def _verdict(spec: MachineSpec, requirement_id: str, outcome: MachineOutcome) -> None:
    """The requirement's check, given what its machine found (memoised as a run would hold it)."""
    memo = {f"lifecycle:{spec.name}": outcome}
    ctx = SimpleNamespace(failures=[], once=lambda key, compute: memo[key])
    MachineVerdict(requirement_id, (spec,))(ctx)  # type: ignore[arg-type]


_DELETION = next(spec for spec in MACHINES if spec.name == "account-deletion")


def test_a_requirement_with_a_pair_left_out_for_a_capability_is_skipped_with_the_reason() -> None:
    missing = {"awaiting/expire": "needs the test-support clock (--test-support URL)"}
    with pytest.raises(SkipRequirement, match=r"awaiting/expire.*clock"):
        _verdict(_DELETION, "GDPR-OTP-EXPIRY", MachineOutcome(missing=missing))
    # and one whose pairs all ran passes, whatever else is missing
    _verdict(_DELETION, "GDPR-DELETION-FLOW", MachineOutcome(missing=missing))


def test_a_requirement_with_a_pair_not_executed_for_no_reason_is_an_error() -> None:
    with pytest.raises(UndecidedRequirement, match="transitions not executed: account-deletion none/cancel"):
        _verdict(_DELETION, "GDPR-DELETION-CANCEL", MachineOutcome(missing={"none/cancel": ""}))
