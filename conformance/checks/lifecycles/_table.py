"""Transition tables: a lifecycle's abstract states and actions, and the contract's answer to every pair.

A row says: in state S, action A must get the answer (status, error code) the contract gives, and leads to
state N; requirement R judges it. The table is the oracle of its machine: every step the machine takes is
looked up here by (the state before, the action), and its answer is judged against the row (a mismatch is a
violation of R). Where the contract leaves a choice (two codes it does not order), the row lists both.

Covering paths are planned from the table (:meth:`Table.covering_paths`): from the start state, the
shortest walk to the nearest pair not yet executed, then that pair, again and again up to a length; each
path runs on a user of its own, so every reachable pair is executed in every run, whatever Hypothesis draws.
A pair that needs what the run lacks (an inbox, the test clock, a second user) is left out with the reason.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field

from conformance.requirements import Need

__all__ = ["Answer", "Row", "Table", "TransitionLog", "row"]

# What a missing capability means for a pair, in the words of the option that gives it.
NEED_REASONS = {
    Need.INBOX: "needs an inbox for e-mail codes (--inbox email=SPEC or --test-support URL)",
    Need.SMS_INBOX: "needs an inbox for SMS codes (--inbox sms=SPEC or --test-support URL)",
    Need.CLOCK: "needs a clock that moves at once (--test-support URL; the wall clock judges lifetimes once per run)",
    Need.SECOND_USER: "needs a second user (--token-b, --test-support URL or --user-factory CMD)",
}


@dataclass(slots=True, frozen=True)
class Answer:
    """One answer the contract gives: a status and, for an error, its code."""

    status: int
    code: str | None = None

    def label(self) -> str:
        return f"{self.status}" + (f" {self.code}" if self.code else "")


@dataclass(slots=True, frozen=True)
class Row:
    """state x action -> answer(s), next state, the requirement that judges it, what the action needs."""

    state: str
    action: str
    answers: tuple[Answer, ...]  # empty: the action asks the contract nothing (it moves the test clock)
    next: str
    requirement: str
    needs: frozenset[Need] = frozenset()

    @property
    def pair(self) -> str:
        return f"{self.state}/{self.action}"

    def answer_label(self) -> str:
        return " or ".join(answer.label() for answer in self.answers) if self.answers else "(no request)"


AnswerSpec = int | tuple[int, str] | None | list[tuple[int, str | None]]


def row(state: str, action: str, answer: AnswerSpec, next_state: str, requirement: str, *needs: Need) -> Row:
    """A row, written compactly: ``row("awaiting", "confirm_wrong", (400, "invalid_code"), "tried", FLOW)``."""
    if answer is None:
        answers: tuple[Answer, ...] = ()
    elif isinstance(answer, int):
        answers = (Answer(answer),)
    elif isinstance(answer, tuple):
        answers = (Answer(*answer),)
    else:
        answers = tuple(Answer(*item) for item in answer)
    return Row(state, action, answers, next_state, requirement, frozenset(needs))


@dataclass(slots=True, frozen=True)
class Route:
    """A path through the table: the rows in order, from `start`."""

    start: str
    rows: tuple[Row, ...]

    @property
    def actions(self) -> tuple[str, ...]:
        return tuple(item.action for item in self.rows)


class Table:
    """One machine's states and actions; every row names the requirement that judges it."""

    def __init__(self, machine: str, initial: str, rows: Iterable[Row]) -> None:
        self.machine = machine
        self.initial = initial
        self.rows: tuple[Row, ...] = tuple(rows)
        self._at: dict[tuple[str, str], Row] = {}
        for item in self.rows:
            key = (item.state, item.action)
            if key in self._at:
                raise ValueError(f"{machine}: the pair {item.pair} is written twice")
            self._at[key] = item
        states = [initial, *(item.state for item in self.rows), *(item.next for item in self.rows)]
        self.states: tuple[str, ...] = tuple(dict.fromkeys(states))
        self.actions: tuple[str, ...] = tuple(dict.fromkeys(item.action for item in self.rows))
        dead = [state for state in self.states if not self.leaving(state)]
        if dead:
            raise ValueError(f"{machine}: no action is written for the states {dead}")

    # --- lookup ----------------------------------------------------------------------------------
    def at(self, state: str, action: str) -> Row | None:
        return self._at.get((state, action))

    def leaving(self, state: str) -> list[Row]:
        return [item for item in self.rows if item.state == state]

    def pairs(self) -> list[str]:
        return [item.pair for item in self.rows]

    def pairs_of(self, requirement_id: str) -> list[str]:
        return [item.pair for item in self.rows if item.requirement == requirement_id]

    def requirements(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(item.requirement for item in self.rows))

    # --- walks -----------------------------------------------------------------------------------
    def nearest(self, start: str, wanted: Collection[str], can: Callable[[Row], bool]) -> Route | None:
        """The shortest route from `start` whose last row is a wanted pair (ties: the table's order)."""
        came: dict[str, tuple[Row, ...]] = {start: ()}
        queue = deque([start])
        while queue:
            state = queue.popleft()
            for item in self.leaving(state):
                if can(item) and item.pair in wanted:
                    return Route(start, (*came[state], item))
            for item in self.leaving(state):
                if can(item) and item.next not in came:
                    came[item.next] = (*came[state], item)
                    queue.append(item.next)
        return None

    def reachable(self, start: str, can: Callable[[Row], bool]) -> list[str]:
        """Every pair a walk from `start` can execute, in the table's order."""
        seen, queue = {start}, deque([start])
        while queue:
            state = queue.popleft()
            for item in self.leaving(state):
                if can(item) and item.next not in seen:
                    seen.add(item.next)
                    queue.append(item.next)
        return [item.pair for item in self.rows if item.state in seen and can(item)]

    def plan(self, start: str, pending: set[str], can: Callable[[Row], bool], *, max_steps: int) -> Route:
        """One path from `start`: the nearest pending pair, then the next nearest from there, while the path
        stays within `max_steps` (the first route is always taken); the pairs it executes leave `pending`."""
        steps: list[Row] = []
        state = start
        while True:
            route = self.nearest(state, pending, can)
            if route is None or (steps and len(steps) + len(route.rows) > max_steps):
                break
            steps.extend(route.rows)
            pending.difference_update(item.pair for item in route.rows)
            state = route.rows[-1].next
        return Route(start, tuple(steps))

    def covering_paths(self, start: str, can: Callable[[Row], bool], *, max_steps: int) -> list[Route]:
        """Paths from `start` that together execute every pair reachable from it (deterministic)."""
        pending = set(self.reachable(start, can))
        paths: list[Route] = []
        while pending:
            path = self.plan(start, pending, can, max_steps=max_steps)
            if not path.rows:
                break
            paths.append(path)
        return paths

    def why_missing(self, pair: str, start: str, available: frozenset[Need]) -> str:
        """Why `pair` cannot run from `start` with the capabilities `available` ("" when it can)."""
        route = self.nearest(start, {pair}, lambda item: True)
        if route is None:
            return f"not reachable from state {start} (a user that starts elsewhere: pass a user factory)"
        lacking = sorted({need for item in route.rows for need in item.needs} - available)
        return "; ".join(NEED_REASONS.get(need, f"needs {need.value}") for need in lacking)

    # --- listing ---------------------------------------------------------------------------------
    def as_json(self) -> dict[str, object]:
        return {
            "machine": self.machine,
            "initial": self.initial,
            "states": list(self.states),
            "actions": list(self.actions),
            "rows": [
                {
                    "state": item.state,
                    "action": item.action,
                    "answers": [{"status": a.status, "code": a.code} for a in item.answers],
                    "next": item.next,
                    "requirement": item.requirement,
                    "needs": sorted(need.value for need in item.needs),
                }
                for item in self.rows
            ],
        }

    def lines(self) -> list[str]:
        """The table as aligned text, one row a line (`kesk-conformance list --transitions`)."""
        header = ("state", "action", "answer", "next", "requirement")
        cells = [
            (
                item.state,
                item.action,
                item.answer_label(),
                item.next,
                item.requirement + (f" [{', '.join(sorted(n.value for n in item.needs))}]" if item.needs else ""),
            )
            for item in self.rows
        ]
        widths = [max(len(line[index]) for line in [header, *cells]) for index in range(len(header))]
        return [
            "  ".join(text.ljust(width) for text, width in zip(line, widths, strict=True)).rstrip()
            for line in [header, *cells]
        ]


@dataclass(slots=True)
class MachineCoverage:
    """Which pairs of one machine's table this run executed, and why the others could not run."""

    table: Table
    executed: set[str] = field(default_factory=set)
    reasons: dict[str, str] = field(default_factory=dict)  # pair -> why it could not run (a capability...)

    @property
    def missing(self) -> list[str]:
        return [pair for pair in self.table.pairs() if pair not in self.executed]

    def as_json(self) -> dict[str, object]:
        return {
            "covered": len(self.table.pairs()) - len(self.missing),
            "total": len(self.table.pairs()),
            "missing": self.missing,
        }


class TransitionLog:
    """Every pair the machines executed in this run (thread-safe; one per run, in ctx.memo)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._machines: dict[str, MachineCoverage] = {}

    def machine(self, table: Table) -> MachineCoverage:
        with self._lock:
            return self._machines.setdefault(table.machine, MachineCoverage(table))

    def record(self, table: Table, pair: str) -> None:
        coverage = self.machine(table)
        with self._lock:
            coverage.executed.add(pair)

    def explain(self, table: Table, pair: str, reason: str) -> None:
        coverage = self.machine(table)
        with self._lock:
            coverage.reasons.setdefault(pair, reason)

    def summary(self) -> dict[str, dict[str, object]]:
        with self._lock:
            return {name: coverage.as_json() for name, coverage in sorted(self._machines.items())}
