"""The linearizability checker on hand-made histories: linearizable, not linearizable, past its bound."""

from __future__ import annotations

from collections.abc import Hashable, Iterable

from conformance.checks.races.models import ExportModel, Gdpr
from conformance.history import FunctionModel, Linearizability, Operation, check, successors


def register(state: int, input: Hashable, output: Hashable | None) -> Iterable[int]:
    """A register: ("write", v) answers "ok"; ("read",) answers the value."""
    assert isinstance(input, tuple)
    if input[0] == "write":
        return [input[1]] if output in ("ok", None) else []
    return [state] if output in (state, None) else []


REGISTER = FunctionModel(0, register)


def single_use(state: bool, input: Hashable, output: Hashable | None) -> Iterable[bool]:
    """A one-time code: the first confirm answers 200, every later one 409."""
    if not state:
        return [True] if output in (200, None) else []
    return [True] if output in (409, None) else []


SINGLE_USE = FunctionModel(False, single_use)


def op(client: str, call: float, ret: float | None, input: Hashable, output: Hashable | None) -> Operation:
    return Operation(client, call, ret, input, output, f"{client}:{input}->{output}")


def test_overlapping_writes_and_a_read_of_either_are_linearizable() -> None:
    # Given two writes that overlap, and a read that overlaps both and sees the first value
    history = [op("a", 0, 10, ("write", 1), "ok"), op("b", 1, 11, ("write", 2), "ok"), op("c", 2, 12, ("read",), 1)]
    # When the history is checked
    verdict = check(history, REGISTER)
    # Then an order explains it: the read comes after write 1, with no write 2 between
    assert verdict.outcome is Linearizability.LINEARIZABLE
    inputs = [history[i].input for i in verdict.order]
    assert ("write", 2) not in inputs[inputs.index(("write", 1)) : inputs.index(("read",))]
    assert "explained by the order" in verdict.explain(history)


def test_a_read_of_a_value_overwritten_before_it_was_sent_is_not_linearizable() -> None:
    # Given write 1, then (after its answer) write 2, then (after that answer) a read that sees 1
    history = [op("a", 0, 1, ("write", 1), "ok"), op("b", 2, 3, ("write", 2), "ok"), op("c", 4, 5, ("read",), 1)]
    # When the history is checked
    verdict = check(history, REGISTER)
    # Then no order consistent with real time explains the read, and the report says where it stops
    assert verdict.outcome is Linearizability.NOT_LINEARIZABLE
    assert [history[i].input for i in verdict.order] == [("write", 1), ("write", 2)]
    assert [history[i].input for i in verdict.stuck] == [("read",)]
    assert "None of these answers can come next" in verdict.explain(history)


def test_twenty_concurrent_confirms_with_one_success_are_linearizable_and_cheap() -> None:
    # Given one confirm answered 200 and nineteen 409, all at once
    history = [op(str(i), 0, 1 + i, ("confirm",), 200 if i == 7 else 409) for i in range(20)]
    # When the history is checked
    verdict = check(history, SINGLE_USE)
    # Then it is linearizable (the 200 first), found without trying the alike 409s in every order
    assert verdict.linearizable and history[verdict.order[0]].output == 200
    assert verdict.explored <= 25


def test_twenty_concurrent_confirms_with_two_successes_are_not_linearizable() -> None:
    history = [op(str(i), 0, 1 + i, ("confirm",), 200 if i in (3, 9) else 409) for i in range(20)]
    verdict = check(history, SINGLE_USE)
    assert verdict.outcome is Linearizability.NOT_LINEARIZABLE
    assert {history[i].output for i in verdict.stuck} == {200}


def test_a_request_without_an_answer_may_have_happened_or_not() -> None:
    # Given a confirm whose connection failed, then one answered 409 after it was sent
    failed_first = [op("a", 0, None, ("confirm",), None), op("b", 1, 2, ("confirm",), 409)]
    # and one answered 200 while the failed one may or may not have run
    failed_unused = [op("a", 0, None, ("confirm",), None), op("b", 1, 2, ("confirm",), 200)]
    # Then both are explained: the failed one ran first, or never
    assert check(failed_first, SINGLE_USE).linearizable
    assert check(failed_unused, SINGLE_USE).linearizable


def test_past_its_bound_the_verdict_is_undecided_never_linearizable() -> None:
    # Given 10 overlapping distinct writes and a read of a value nobody wrote: not linearizable, but only
    # an exhaustive search (every subset of the writes) can say so
    history = [op(str(i), 0, 100, ("write", i + 1), "ok") for i in range(10)]
    history.append(op("r", 0, 100, ("read",), 99))
    # When the search may explore only 100 configurations
    verdict = check(history, REGISTER, bound=100)
    # Then it says undecided
    assert verdict.outcome is Linearizability.UNDECIDED
    assert not verdict.linearizable
    assert "undecided" in verdict.explain(history)
    # and with no bound worth the name it decides
    assert check(history, REGISTER, bound=100_000).outcome is Linearizability.NOT_LINEARIZABLE


def test_a_segment_leaves_every_state_some_order_of_it_ends_in() -> None:
    # Given two overlapping writes (a segment of a longer history)
    segment = [op("a", 0, 10, ("write", 1), "ok"), op("b", 1, 11, ("write", 2), "ok")]
    # When the states after it are asked for, from the initial one
    after = successors(segment, REGISTER, [0])
    # Then either write may have been the last
    assert after.states == {1, 2} and not after.undecided
    # and the next segment, a read of 2, is judged from those states: explained
    assert successors([op("c", 12, 13, ("read",), 2)], REGISTER, after.states).states == {2}
    # while a read of 0, a value both writes overwrote before it was sent, leaves no state
    assert successors([op("c", 12, 13, ("read",), 0)], REGISTER, after.states).states == frozenset()


def test_segments_judge_a_history_as_a_whole_does() -> None:
    # Given rounds separated in real time: a write and a read at once, then a write, then a read
    rounds = [
        [op("a", 0, 2, ("write", 1), "ok"), op("b", 0, 2, ("read",), 0)],
        [op("a", 3, 4, ("write", 2), "ok")],
        [op("b", 5, 6, ("read",), 1)],
    ]
    # When judged round by round
    states: frozenset[int] = frozenset({0})
    for segment in rounds:
        states = successors(segment, REGISTER, states).states
    # Then the verdict is the whole history's: the last read sees a value overwritten before it was sent
    assert states == frozenset()
    assert check([o for segment in rounds for o in segment], REGISTER).outcome is Linearizability.NOT_LINEARIZABLE


def test_a_segment_past_the_bound_is_undecided_and_leaves_no_state_to_go_on_from() -> None:
    segment = [op(str(i), 0, 100, ("write", i + 1), "ok") for i in range(10)]
    after = successors(segment, REGISTER, [0], bound=50)
    assert after.undecided and after.states == frozenset()


def test_the_export_status_shows_only_the_newest_exports() -> None:
    # Given an account with 12 confirmed exports and one awaiting its OTP, and a contract showing the newest 10
    model = ExportModel(Gdpr(pending="r13", confirmed=12), max_attempts=5, recent_max=10)
    # Then the status shows 9 confirmed and the pending one, not 12
    assert list(model.step(model.init(), ("status",), (200, 9, 1))) == [model.init()]
    assert list(model.step(model.init(), ("status",), (200, 12, 1))) == []
