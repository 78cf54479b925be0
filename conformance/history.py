"""Histories of concurrent requests, judged against a sequential model (linearizability).

A history is what several clients sent at the same time: each operation with the moment it was sent, the
moment its answer arrived and the answer. It is *linearizable* when some order of the operations, consistent
with real time (an operation answered before another was sent comes first), makes every answer one the
model would give if the operations ran one after the other (Herlihy & Wing). The check is the exhaustive
search of Wing & Gong with the memo of Lowe (a configuration, the operations placed so far and the model's
state, is explored once) as Knossos and Porcupine do it, plus one reduction: among operations that are alike
(same request, same answer) only the one answered first is tried next, which loses no order.

The search is bounded: past `bound` configurations the verdict is UNDECIDED, never "linearizable". An
operation without an answer (the connection failed) may have taken effect at any time after it was sent, or
not at all: it is placed or left out, whichever explains the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, Protocol, TypeVar

__all__ = ["DEFAULT_BOUND", "Linearizability", "Model", "Operation", "Successors", "Verdict", "check", "successors"]

S = TypeVar("S", bound=Hashable)
DEFAULT_BOUND = 200_000  # configurations explored before the verdict is "undecided"


@dataclass(slots=True, frozen=True)
class Operation:
    """One request of a concurrent history and its answer, as abstracted for a model."""

    client: str  # who sent it (a connection, a walk's client)
    call_s: float  # when it was sent
    return_s: float | None  # when its answer arrived; None: no answer (it may or may not have taken effect)
    input: Hashable  # what was asked, e.g. ("add", 42)
    output: Hashable | None  # what was answered, e.g. (201, None); None when there was no answer
    label: str = ""  # how a report names it (an operationId and its answer)


class Model(Protocol[S]):
    """A sequential specification: its initial state and the states after one operation."""

    def init(self) -> S: ...

    def step(self, state: S, input: Hashable, output: Hashable | None) -> Iterable[S]:
        """The states the model may be in after `input` ran in `state` and answered `output` (None: any
        answer). Empty when the model would never give that answer there."""
        ...


class Linearizability(StrEnum):
    LINEARIZABLE = "linearizable"
    NOT_LINEARIZABLE = "not linearizable"
    UNDECIDED = "undecided"  # the search passed its bound


@dataclass(slots=True, frozen=True)
class Verdict:
    outcome: Linearizability
    order: tuple[int, ...]  # a witness order (linearizable), else the longest explained prefix
    stuck: tuple[int, ...]  # not linearizable: the operations none of which could come after that prefix
    explored: int  # configurations explored
    bound: int
    refuted: str = ""  # why one answer alone refutes the history (the model's invariant)

    @property
    def linearizable(self) -> bool:
        return self.outcome is Linearizability.LINEARIZABLE

    def explain(self, history: Sequence[Operation]) -> str:
        """One paragraph for a report: the order found, or where every order fails."""

        def name(index: int) -> str:
            op = history[index]
            return op.label or f"{op.input} -> {op.output}"

        if self.outcome is Linearizability.LINEARIZABLE:
            return "explained by the order: " + "; ".join(name(i) for i in self.order)
        if self.outcome is Linearizability.UNDECIDED:
            return f"undecided: the search explored {self.explored} configurations (its bound: {self.bound})"
        if self.refuted:
            return f"{self.refuted}, which no state the contract allows shows: {'; '.join(name(i) for i in self.stuck)}"
        prefix = "; ".join(name(i) for i in self.order) or "(nothing)"
        stuck = "; ".join(name(i) for i in self.stuck)
        return (
            f"no order of the {len(history)} overlapping requests explains every answer. The longest explained "
            f"start: {prefix}. None of these answers can come next: {stuck}"
        )


def check(history: Sequence[Operation], model: Model[S], *, bound: int = DEFAULT_BOUND) -> Verdict:
    """Whether `history` is linearizable with respect to `model`, searching at most `bound` configurations.

    A model may also have `refute(input, output) -> str | None`: why no state it can ever be in gives that
    answer (an invariant: a list showing two primaries). Such an answer refutes the history before any search,
    which could otherwise have to try every order of many unlike operations to prove the same.
    """
    refute = getattr(model, "refute", None)
    if refute is not None:
        for index, op in enumerate(history):
            why = refute(op.input, op.output) if op.return_s is not None else None
            if why:
                return Verdict(Linearizability.NOT_LINEARIZABLE, (), (index,), 0, bound, why)
    search = _Search(history, model, bound)
    found = search.run()
    if found is not None:
        return Verdict(Linearizability.LINEARIZABLE, tuple(found), (), search.explored, bound)
    if search.exhausted:
        return Verdict(Linearizability.UNDECIDED, tuple(search.best), (), search.explored, bound)
    return Verdict(Linearizability.NOT_LINEARIZABLE, tuple(search.best), search.best_stuck, search.explored, bound)


@dataclass(slots=True, frozen=True)
class Successors(Generic[S]):
    """Where a segment of a history can leave the model: every state some order of its operations ends in."""

    states: frozenset[S]  # empty: no order explains the segment's answers from any of the states given
    explored: int
    bound: int
    undecided: bool = False  # the search passed its bound: `states` is incomplete and must not be used
    refuted: str = ""  # why one answer alone refutes the segment (the model's invariant)


def successors(
    segment: Sequence[Operation], model: Model[S], states: Iterable[S], *, bound: int = DEFAULT_BOUND
) -> Successors[S]:
    """Every state the model can be in after `segment`, started from any of `states`.

    A history whose segments are separated in real time (each sent after every answer of the one before: the
    rounds of a walk, a soak's task) is linearizable exactly when each segment, judged from the states the
    previous one can end in, leaves at least one: judged segment by segment, a long history stays small.
    """
    refute = getattr(model, "refute", None)
    if refute is not None:
        for op in segment:
            why = refute(op.input, op.output) if op.return_s is not None else None
            if why:
                return Successors(frozenset(), 0, bound, refuted=why)
    search = _Search(segment, model, bound)
    try:
        ends = search.ends(states)
    except _BoundReached:
        return Successors(frozenset(), search.explored, bound, undecided=True)
    return Successors(frozenset(ends), search.explored, bound)


class _BoundReached(Exception):
    pass


class _Search(Generic[S]):
    def __init__(self, history: Sequence[Operation], model: Model[S], bound: int) -> None:
        self.history = history
        self.model = model
        self.bound = bound
        self.explored = 0
        self.exhausted = False
        self.returns = [op.return_s if op.return_s is not None else float("inf") for op in history]
        self.required = sum(1 << i for i, op in enumerate(history) if op.return_s is not None)
        self.seen: set[tuple[int, S]] = set()
        self.best: list[int] = []
        self.best_stuck: tuple[int, ...] = ()
        self._placed_required = -1

    def run(self) -> list[int] | None:
        order: list[int] = []
        try:
            return order if self._extend(0, self.model.init(), order) else None
        except _BoundReached:
            self.exhausted = True
            return None

    def ends(self, states: Iterable[S]) -> set[S]:
        """Every state reached once each answered operation is placed (unanswered ones placed or not)."""
        found: set[S] = set()
        for state in _unique(states):
            self._collect(0, state, found)
        return found

    def _collect(self, done: int, state: S, found: set[S]) -> None:
        key = (done, state)
        if key in self.seen:
            return
        self.seen.add(key)
        self.explored += 1
        if self.explored > self.bound:
            raise _BoundReached
        if done & self.required == self.required:
            found.add(state)
        for i in self._candidates(done):
            op = self.history[i]
            for after in _unique(self.model.step(state, op.input, op.output)):
                self._collect(done | 1 << i, after, found)

    def _candidates(self, done: int) -> list[int]:
        """The operations that may come next: none of the others left was answered before they were sent."""
        left = [i for i in range(len(self.history)) if not done >> i & 1]
        earliest = min((self.returns[i] for i in left), default=float("inf"))
        ready = [i for i in left if self.history[i].call_s <= earliest]
        # Alike operations (same request, same answer): only the one answered first need be tried. The others
        # are tried in the order their answers came, the likeliest order of their effects: a witness is found
        # early where there is one.
        chosen: dict[tuple[Hashable, Hashable | None], int] = {}
        for i in sorted(ready, key=lambda i: (self.returns[i], i)):
            chosen.setdefault((self.history[i].input, self.history[i].output), i)
        return list(chosen.values())

    def _extend(self, done: int, state: S, order: list[int]) -> bool:
        if done & self.required == self.required:
            return True
        key = (done, state)
        if key in self.seen:
            return False
        self.seen.add(key)
        self.explored += 1
        if self.explored > self.bound:
            raise _BoundReached
        candidates = self._candidates(done)
        for i in candidates:
            op = self.history[i]
            for after in _unique(self.model.step(state, op.input, op.output)):
                order.append(i)
                if self._extend(done | 1 << i, after, order):
                    return True
                order.pop()
        self._remember(done, order, candidates)
        return False

    def _remember(self, done: int, order: list[int], candidates: list[int]) -> None:
        """The deepest dead end (by required operations placed): what a report shows."""
        placed = bin(done & self.required).count("1")
        if placed > self._placed_required:
            self._placed_required = placed
            self.best = list(order)
            self.best_stuck = tuple(i for i in candidates if self.history[i].return_s is not None)


def _unique(states: Iterable[S]) -> list[S]:
    return list(dict.fromkeys(states))


def from_pairs(
    pairs: Iterable[tuple[str, float, float | None, Hashable, Hashable | None, str]],
) -> list[Operation]:
    """Operations from (client, call_s, return_s, input, output, label) tuples: hand-made histories."""
    return [Operation(*pair) for pair in pairs]


StepFunction = Callable[[S, Hashable, Hashable | None], Iterable[S]]


@dataclass(slots=True, frozen=True)
class FunctionModel(Generic[S]):
    """A model from an initial state and a step function."""

    initial: S
    transition: StepFunction[S]

    def init(self) -> S:
        return self.initial

    def step(self, state: S, input: Hashable, output: Hashable | None) -> Iterable[S]:
        return self.transition(state, input, output)
