"""The shared engine of the lifecycle checks: a Hypothesis state machine run inside a requirement.

Each lifecycle is one ``RuleBasedStateMachine`` (a :class:`Lifecycle`) that keeps a model of what the
server must hold and declares its abstract states and actions as a transition table (``_table.py``):
every step is an action taken in the model's current state, judged against the table's row for that
pair, and followed by a read of every view the action could change. A machine runs once per suite run
(memoised in ``ctx.memo``): first the covering paths the table gives (every reachable pair, each path on
a user of its own, in parallel where users can be made), then Hypothesis' random walks with the budget
left. Every requirement id it owns then reports the machine's violations for that id, and is not passed
while a pair it judges was not executed. The first violation stops its path: it is raised as a
:class:`LifecycleViolation` and recorded with the step transcript and the curl of the failing request
(random walks shrink it first, bounded).
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import math
import random
import time
import zlib
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, NoReturn, TypeVar

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.errors import Flaky
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule, run_state_machine_as_test

from conformance.checks.lifecycles._table import NEED_REASONS, Route, Row, Table, TransitionLog
from conformance.context import CheckContext
from conformance.contract import Citation
from conformance.failures import FailureDetail, SkipRequirement, UndecidedRequirement
from conformance.requirements import Level, Need, Requirement, Sharing, declare
from conformance.steps import note_lifecycle_example
from conformance.target import Exchange
from conformance.users import User

T = TypeVar("T")

__all__ = [
    "Due",
    "Lifecycle",
    "LifecycleViolation",
    "MachineError",
    "MachineOutcome",
    "MachineSpec",
    "MachineVerdict",
    "Plan",
    "bind",
    "capabilities",
    "owned",
    "run_once",
    "transition_log",
]

_MAX_EXAMPLES_CAP = 25  # a machine example sends dozens of requests; more explores little more
_SHRINK_BUDGET_S = 10.0
_EXAMPLES_PER_PART = 2  # a machine with a user factory runs its examples in parts of about this many...
_MAX_PARTS = 5  # ...at most this many at once
_TRANSCRIPT_TAIL = 40  # requests of the failing example shown in a report
_MAX_SHARED_PATHS = 40  # covering paths one after another on a shared user: a bound, never reached by a table
_FAILURES_PER_REQUIREMENT = 3  # covering paths that stop at the same requirement: the first few are kept


class MachineError(Exception):
    """The machine disagrees with its own table (a bug of the suite, reported as an error, never a verdict)."""


class LifecycleViolation(AssertionError):
    """An answer that disagrees with the model, attributed to the requirement it breaks."""

    def __init__(
        self,
        requirement_id: str,
        *,
        operation: str,
        expected: str,
        actual: str,
        exchange: Exchange | None = None,
        hint: str = "",
        transcript: tuple[str, ...] = (),
        example_from: int = 0,
        sent: tuple[int, ...] = (),
    ) -> None:
        super().__init__(f"{requirement_id} ({operation}): expected {expected}; actual {actual}")
        self.requirement_id = requirement_id
        self.operation = operation
        self.expected = expected
        self.actual = actual
        self.exchange = exchange
        self.hint = hint
        self.transcript = transcript
        self.example_from = example_from  # the first request (sequence number) of the example that raised it
        self.sent = sent  # the sequence numbers of the requests the example sent
        self.shrink_stopped = False

    def budget_copy(self) -> LifecycleViolation:
        """This violation again, marked as cut short by the shrink budget (its Hypothesis steps are moot)."""
        copy = LifecycleViolation(
            self.requirement_id,
            operation=self.operation,
            expected=self.expected,
            actual=self.actual,
            exchange=self.exchange,
            hint=self.hint,
            transcript=self.transcript,
            example_from=self.example_from,
            sent=self.sent,
        )
        copy.shrink_stopped = True
        return copy


@dataclass(slots=True, frozen=True)
class Plan:
    """What a covering path does: a route planned beforehand (its start must be the machine's state), or,
    on a shared user, a planner asked from the state the user is in."""

    route: Route | None = None
    planner: Callable[[str], Route] | None = None

    def actions(self, state: str) -> tuple[str, ...]:
        if self.route is not None:
            if state != self.route.start:
                raise UndecidedRequirement(f"a fresh user began in state {state}, not {self.route.start}")
            return self.route.actions
        return self.planner(state).actions if self.planner is not None else ()


def transition_log(ctx: CheckContext) -> TransitionLog:
    """The run's log of executed pairs (results.json `transitions`)."""
    return ctx.once("lifecycle-transitions", TransitionLog)


def capabilities(ctx: CheckContext) -> frozenset[Need]:
    """What the run offers the tables' rows: an inbox per channel, a test clock, a second user.

    Only a test clock offers the clock to a row: it moves at once. The wall clock (--real-time-expiry) is
    waited out once per run instead, beside the paths (:attr:`MachineSpec.lifetimes`).
    """
    offered = set()
    if ctx.reads("email"):
        offered.add(Need.INBOX)
    if ctx.reads("sms"):
        offered.add(Need.SMS_INBOX)
    if ctx.clock is not None and ctx.clock.instant:
        offered.add(Need.CLOCK)
    if ctx.factory is not None or ctx.user_b is not None:
        offered.add(Need.SECOND_USER)
    return frozenset(offered)


class Lifecycle(RuleBasedStateMachine):
    """A state machine bound to one check context, with a transcript of the requests it sent.

    A subclass sets `table`, says which state its model is in (:meth:`state`), acts with one method per
    action (``act_<action>(row)``, which sends, judges the answer with :meth:`answer` and updates the model)
    and reads the views an action could change (:meth:`views`).
    """

    table: ClassVar[Table]

    def __init__(self, ctx: CheckContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.transcript: list[str] = []
        self.sent: list[int] = []  # the sequence numbers of the requests this example sent
        self.first_sequence = ctx.client.sent + 1  # this example's requests come after this point of the run
        self.plan: Plan | None = None  # a covering path; None: Hypothesis' random walk
        self.data: st.DataObject | None = None
        self.available = capabilities(ctx)
        self.blocked: dict[str, str] = {}  # actions sending an operation the target leaves out
        self._row: Row | None = None
        self._judged = False

    # --- the table -------------------------------------------------------------------------------
    def state(self) -> str:
        """The abstract state the model is in (a state of `table`)."""
        raise NotImplementedError

    def views(self, row: Row) -> None:
        """After a step: read every view that shows a fact `row`'s action could change, compare with the model."""

    def can(self, row: Row) -> bool:
        return row.needs <= self.available and row.action not in self.blocked

    def perform(self, action: str) -> Row:
        """Take `action` in the model's state: the table's row judges the answer and names the next state."""
        before = self.state()
        row = self.table.at(before, action)
        if row is None:
            raise MachineError(f"{self.table.machine}: no row for {before}/{action}")
        self._row, self._judged = row, False
        self.note(f"[{before}] {action}")
        getattr(self, f"act_{action}")(row)
        if row.answers and not self._judged:
            raise MachineError(f"{self.table.machine}: act_{action} judged no answer")
        transition_log(self.ctx).record(self.table, row.pair)
        after = self.state()
        if after != row.next:
            raise MachineError(
                f"{self.table.machine}: after {row.pair} the model is in {after}, the table says {row.next}"
            )
        self.views(row)
        return row

    def answer(self, exchange: Exchange, *, what: str = "") -> dict[str, Any]:
        """Judge the answer to the current step against its row (the table is the oracle); its JSON object."""
        row = self._row
        assert row is not None
        self._judged = True
        described = what or f"{row.action.replace('_', ' ')} in state {row.state}"
        if len(row.answers) == 1:
            only = row.answers[0]
            return self.expect(row.requirement, exchange, only.status, code=only.code, what=described)
        body = exchange.json()
        code = body.get("code") if isinstance(body, dict) else None
        if not any(exchange.status == a.status and (a.code is None or a.code == code) for a in row.answers):
            self.violation(row.requirement, expected=f"{described}: {row.answer_label()}", exchange=exchange)
        return body if isinstance(body, dict) else {}

    def draw(self, strategy: st.SearchStrategy[T], label: str) -> T:
        """A value drawn by Hypothesis for this step (covering paths draw too, from their one example)."""
        assert self.data is not None, "draw() outside a step"
        return self.data.draw(strategy, label=label)

    @initialize(data=st.data())
    def follow_plan(self, data: st.DataObject) -> None:
        """A covering path: its actions, in order (a random walk has no plan: its steps are drawn)."""
        self.data = data
        if self.plan is None:
            return
        for action in self.plan.actions(self.state()):
            self.perform(action)

    @rule(data=st.data())
    def walk(self, data: st.DataObject) -> None:
        """One step of a random walk: an action the table has for the model's state, drawn by Hypothesis."""
        if self.plan is not None:
            return  # a covering path is done after its plan
        self.data = data
        choices = [row.action for row in self.table.leaving(self.state()) if self.can(row)]
        if choices:
            self.perform(data.draw(st.sampled_from(choices), label="action"))

    # --- sending ---------------------------------------------------------------------------------
    def send(self, operation_id: str, *, user: User | None, **kwargs: Any) -> Exchange:
        """Send one operation as ``user`` and note it in the transcript (no bodies: they may hold secrets)."""
        exchange = self.ctx.call(operation_id, user=user, **kwargs)
        self.sent.append(exchange.sequence)
        self.note(f"{operation_id}: {exchange.method} {exchange.path} -> {exchange.status}")
        return exchange

    def note(self, line: str) -> None:
        self.transcript.append(self.ctx.redactor.text(line))

    # --- judging ---------------------------------------------------------------------------------
    def violation(
        self,
        requirement: str | Requirement,
        *,
        expected: str,
        exchange: Exchange | None = None,
        actual: str | None = None,
        operation: str | None = None,
        hint: str = "",
    ) -> NoReturn:
        requirement_id = requirement if isinstance(requirement, str) else requirement.id
        # Shrinking replays the failure later in the run; "requests until caught" is the first sighting.
        first_seen: dict[str, int] = self.ctx.memo.setdefault("lifecycle-first-violation", {})
        first_seen.setdefault(requirement_id, exchange.sequence if exchange else self.ctx.client.sent)
        shown = actual if actual is not None else (self.ctx.actual(exchange) if exchange else "")
        self.ctx.sightings.saw(
            requirement_id,
            request_number=first_seen[requirement_id],
            expected=self.ctx.redactor.text(expected),
            actual=self.ctx.redactor.text(shown),
        )
        raise LifecycleViolation(
            requirement_id,
            operation=operation or (exchange.operation_id or exchange.path if exchange else "(model)"),
            expected=expected,
            actual=shown,
            exchange=exchange,
            hint=hint,
            transcript=tuple(self.transcript),
            example_from=self.first_sequence,
            sent=tuple(self.sent),
        )

    def expect(
        self,
        requirement: str | Requirement,
        exchange: Exchange,
        status: int | Iterable[int],
        *,
        what: str,
        code: str | None = None,
        hint: str = "",
    ) -> dict[str, Any]:
        """The answer's JSON object ({} when it is not one: SCHEMA-RESPONSE-BODY judges that), after checking
        that its status (and ErrorResponse code) is the one the model predicts."""
        allowed = {status} if isinstance(status, int) else set(status)
        if isinstance(status, int) and (code is not None or status < 400):
            # one status (and code) the model predicts: an expectation of that documented answer
            rid = requirement if isinstance(requirement, str) else requirement.id
            self.ctx.expectations.required(rid, exchange.operation_id, status, code)
        body = exchange.json()
        got_code = body.get("code") if isinstance(body, dict) else None
        if exchange.status not in allowed or (code is not None and got_code != code):
            shown = " or ".join(str(s) for s in sorted(allowed)) + (f" {code}" if code else "")
            self.violation(requirement, expected=f"{what}: {shown}", exchange=exchange, hint=hint)
        return body if isinstance(body, dict) else {}

    def check(
        self, requirement: str | Requirement, condition: bool, *, expected: str, actual: str, exchange: Exchange
    ) -> None:
        if not condition:
            self.violation(requirement, expected=expected, actual=actual, exchange=exchange)


@dataclass(slots=True, frozen=True)
class Due:
    """One check of a lifetime on the wall clock: `check()` once what it judges is `age_s` seconds old."""

    age_s: int
    check: Callable[[], None]
    judges: str  # the requirement it judges (skipped when the wall clock will not wait that long)


@dataclass(slots=True, frozen=True)
class MachineSpec:
    """One lifecycle: how to build its machine and the requirements it reports (declared with :func:`owned`)."""

    name: str
    factory: Callable[[CheckContext], Lifecycle]
    requirements: tuple[Requirement, ...]
    table: Table
    steps: int = 12  # steps of a random walk
    path_steps: int = 12  # the longest covering path (a path chains nearest pairs while it stays this short)
    max_examples: int | None = None  # None: the run's --max-examples (capped)
    sharing: Sharing = Sharing.CONCURRENT  # the requirements it reports share it (the strictest of their machines)
    optional_actions: tuple[tuple[str, str], ...] = ()  # (action, the operation of an optional group it sends)
    # On the wall clock (--real-time-expiry) the table's clock rows do not run (they need a clock that moves at
    # once): this makes what ages (on a machine and user of its own) and returns the checks due, each at its age.
    # They run once per run, beside the paths, and judge the requirements that need the clock.
    lifetimes: Callable[[Any], list[Due]] | None = None

    @property
    def owns(self) -> tuple[str, ...]:
        return tuple(item.id for item in self.requirements)

    @property
    def timed(self) -> tuple[str, ...]:
        """The requirements judged by letting codes and files expire (those that need the clock)."""
        return tuple(item.id for item in self.requirements if Need.CLOCK in item.needs)

    def blocked(self, ctx: CheckContext) -> dict[str, str]:
        """The actions that send an operation the target leaves out (--not-implemented), each with it."""
        return {action: operation for action, operation in self.optional_actions if operation in ctx.left_out}


@dataclass(slots=True)
class MachineOutcome:
    """What one machine run found: violations per requirement id, or why it could not decide."""

    violations: dict[str, list[FailureDetail]] = field(default_factory=dict)
    skip: str = ""
    error: str = ""
    duration_s: float = 0.0
    missing: dict[str, str] = field(default_factory=dict)  # pair of the table not executed -> why ("" unknown)
    # The wall-clock lifetimes' run: the requirements it judged, and why one could not be judged by it
    on_wall_clock: set[str] = field(default_factory=set)
    skip_of: dict[str, str] = field(default_factory=dict)
    error_of: dict[str, str] = field(default_factory=dict)

    def merge(self, other: MachineOutcome) -> None:
        for requirement_id, failures in other.violations.items():
            kept = self.violations.setdefault(requirement_id, [])
            kept.extend(failures[: max(0, _FAILURES_PER_REQUIREMENT - len(kept))])
        self.error = self.error or other.error


def _examples(ctx: CheckContext, spec: MachineSpec) -> int:
    return spec.max_examples or max(1, min(ctx.max_examples, _MAX_EXAMPLES_CAP))


def _settings(spec: MachineSpec, examples: int, *, path: bool = False) -> settings:
    """A random walk's settings; a covering path is one example of one step (its plan), never shrunk: it is
    already the shortest way to the pair it ends with."""
    return settings(
        max_examples=examples,
        stateful_step_count=1 if path else spec.steps,
        deadline=None,
        database=None,
        derandomize=True,  # the same run replays the same steps; --seed still varies the data
        suppress_health_check=list(HealthCheck),
        phases=[Phase.generate] if path else [Phase.generate, Phase.shrink],
        report_multiple_bugs=False,
        print_blob=False,
    )


def _first_violation(exc: BaseException) -> LifecycleViolation | None:
    if isinstance(exc, LifecycleViolation):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            found = _first_violation(inner)
            if found is not None:
                return found
    return None


def _record(ctx: CheckContext, outcome: MachineOutcome, exc: LifecycleViolation) -> None:
    if exc.shrink_stopped:
        hypothesis_steps = ["(shrinking stopped early: these are the requests of the smallest failing example found)"]
    else:
        hypothesis_steps = [line for note in getattr(exc, "__notes__", []) for line in str(note).splitlines()]
    # The exchanges of this (final, shrunk) example, for replay and export: conformance.steps.
    note_lifecycle_example(
        ctx.memo,
        exc.requirement_id,
        exc.example_from,
        exc.exchange.sequence if exc.exchange else ctx.client.sent,
        exc.sent,
    )
    requests = list(exc.transcript[-_TRANSCRIPT_TAIL:])
    steps = [*hypothesis_steps, *(["requests of the failing example:"] if requests else []), *requests]
    outcome.violations.setdefault(exc.requirement_id, []).append(
        FailureDetail(
            operation=exc.operation,
            expected=ctx.redactor.text(exc.expected),
            actual=ctx.redactor.text(exc.actual),
            hint=exc.hint,
            curl=exc.exchange.curl if exc.exchange else "",
            steps=tuple(ctx.redactor.text(step) for step in steps),
            request_number=ctx.memo.get("lifecycle-first-violation", {}).get(
                exc.requirement_id, exc.exchange.sequence if exc.exchange else ctx.client.sent
            ),
        )
    )


def run_once(ctx: CheckContext, spec: MachineSpec) -> MachineOutcome:
    """Run ``spec``'s machine (the first time any requirement asks for it in this run); what it found."""
    # The machine's own context: its random data depends on the seed, not on which requirement came first.
    return ctx.once(f"lifecycle:{spec.name}", lambda: _run_all(ctx.for_requirement(f"machine:{spec.name}"), spec))


def _parallel(ctx: CheckContext, spec: MachineSpec) -> bool:
    """Whether the machine's paths and parts may run at the same time: each on a user of its own (a user
    factory) and, for a machine that moves the clock, a clock that is not shared (a clock per user, the wall
    clock, or none)."""
    shared_clock = ctx.clock is not None and ctx.clock.shared
    return ctx.factory is not None and not (spec.sharing is Sharing.ALONE and shared_clock)


def _parts(ctx: CheckContext, spec: MachineSpec, examples: int) -> int:
    """How many parts a machine's random examples are split into. Independent of --workers, so the same
    seed draws the same examples whatever the concurrency."""
    if not _parallel(ctx, spec):
        return 1
    return max(1, min(_MAX_PARTS, examples // _EXAMPLES_PER_PART))


def _unit_seed(ctx: CheckContext, spec: MachineSpec, unit: str) -> int:
    return zlib.crc32(f"{ctx.seed}:{spec.name}:{unit}".encode())


def _on_threads(
    ctx: CheckContext, spec: MachineSpec, units: Sequence[Callable[[], MachineOutcome]]
) -> list[MachineOutcome]:
    """Run the units at the same time where the machine allows it (in order otherwise); their outcomes in order."""
    if len(units) < 2 or ctx.workers < 2 or not _parallel(ctx, spec):
        return [unit() for unit in units]
    # Each unit's thread sends for the requirement that started the machine (a context variable).
    contexts = [contextvars.copy_context() for _ in units]
    with ThreadPoolExecutor(max_workers=min(_MAX_PARTS, len(units)), thread_name_prefix=f"kesk-{spec.name}") as pool:
        futures = [pool.submit(context.run, unit) for context, unit in zip(contexts, units, strict=True)]
        return [future.result() for future in futures]


def _run_all(ctx: CheckContext, spec: MachineSpec) -> MachineOutcome:
    """The covering paths of the machine's table, then Hypothesis' random walks with the budget left.

    With a user factory every path starts from the table's initial state on a user of its own, and the
    paths run at the same time. On shared users they run one after another, each planned from the state
    the user is in, towards the pairs not yet executed; what cannot be reached from there is left out
    with its reason.
    """
    started = time.perf_counter()
    table = spec.table
    available = capabilities(ctx)
    blocked = spec.blocked(ctx)

    def can(row: Row) -> bool:
        return row.needs <= available and row.action not in blocked

    merged = MachineOutcome()
    starts: list[str] = [table.initial]
    # On the wall clock the lifetimes are waited out once, on a user of their own: beside the paths when users
    # can be made (the wait overlaps them), else after them on the shared user.
    wall_clock = spec.lifetimes is not None and ctx.clock is not None and not ctx.clock.instant
    waiting: Future[MachineOutcome] | None = None
    if wall_clock and ctx.factory is not None:
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"kesk-{spec.name}-lifetimes")
        waiting = pool.submit(contextvars.copy_context().run, _wait_out_lifetimes, _own(ctx, spec, "lifetimes"), spec)
        pool.shutdown(wait=False)  # the wait runs on; its result is collected below
    if ctx.factory is not None:
        paths = table.covering_paths(table.initial, can, max_steps=spec.path_steps)
        units: list[Callable[[], MachineOutcome]] = [
            functools.partial(_run_path, ctx, spec, f"path{index}", Plan(route=path))
            for index, path in enumerate(paths)
        ]
        # Hypothesis' random walks, with the budget the paths left, on users of their own beside the paths
        units += _walk_parts(ctx, spec, max(0, _examples(ctx, spec) - len(paths)))
        outcomes = _on_threads(ctx, spec, units)
        paths_outcomes = outcomes[: len(paths)]
    else:
        paths_outcomes, path_count = _run_shared_paths(ctx, spec, can, starts)
        outcomes = list(paths_outcomes)
        if not any(outcome.skip for outcome in paths_outcomes):
            outcomes += [walk() for walk in _walk_parts(ctx, spec, max(0, _examples(ctx, spec) - path_count))]
    for outcome in outcomes:
        merged.merge(outcome)
    if wall_clock:
        timed = waiting.result() if waiting is not None else _wait_out_lifetimes(_own(ctx, spec, "lifetimes"), spec)
        _merge_lifetimes(merged, timed, spec)
    skips = [outcome.skip for outcome in paths_outcomes if outcome.skip]
    if skips and len(skips) == len(paths_outcomes):
        merged.skip = skips[0]
    log = transition_log(ctx)
    coverage = log.machine(table)
    for pair in coverage.missing:
        action = pair.split("/", 1)[1]
        reason = merged.skip or (
            f"the target leaves out {blocked[action]} (--not-implemented)"
            if action in blocked
            else table.why_missing(pair, starts[-1], available)
        )
        if not reason and merged.violations:
            stopped = ", ".join(sorted(merged.violations))
            reason = f"not executed: the paths towards it stopped at a violation of {stopped}"
        merged.missing[pair] = reason
        if reason:
            log.explain(table, pair, reason)
    merged.duration_s = time.perf_counter() - started
    return merged


def _own(ctx: CheckContext, spec: MachineSpec, unit: str) -> CheckContext:
    """A unit's own context: random data from the seed and the unit's name, failures of its own."""
    return replace(ctx, rng=random.Random(f"{ctx.seed}:{spec.name}:{unit}"), failures=[])


def _merge_lifetimes(merged: MachineOutcome, timed: MachineOutcome, spec: MachineSpec) -> None:
    """What the wall-clock lifetimes found, into the machine's outcome: violations, what each judged or why not."""
    for requirement_id, failures in timed.violations.items():
        merged.violations.setdefault(requirement_id, []).extend(failures)
    merged.skip_of.update(timed.skip_of)
    merged.on_wall_clock |= timed.on_wall_clock
    for requirement_id in spec.timed:
        if timed.error:
            merged.error_of[requirement_id] = timed.error
        elif timed.skip:
            merged.skip_of[requirement_id] = timed.skip
    merged.duration_s = max(merged.duration_s, timed.duration_s)


def _wait_out_lifetimes(ctx: CheckContext, spec: MachineSpec) -> MachineOutcome:
    """Once per run on the wall clock: what ages is made, then each check runs when it is due (its age counted
    from the end of the set-up, so what it judges is at least that old). Every check runs, violations or not."""
    assert spec.lifetimes is not None and ctx.clock is not None
    outcome = MachineOutcome()
    started = time.perf_counter()
    machine: Lifecycle | None = None
    try:
        machine = spec.factory(ctx)
        machine.blocked = spec.blocked(ctx)
        checks = sorted(spec.lifetimes(machine), key=lambda due: due.age_s)
        longest = ctx.clock.max_wait_s
        for due in checks:
            if longest is not None and due.age_s > longest:
                outcome.skip_of[due.judges] = (
                    f"its check waits {due.age_s} s on the wall clock, longer than --real-time-expiry waits "
                    f"({longest:g} s): shorten that lifetime for the test tenant and pass its contract with --spec"
                )
        checks = [due for due in checks if due.judges not in outcome.skip_of]
        origin = time.monotonic()
        for due in checks:
            ctx.clock.advance(max(0, math.ceil(origin + due.age_s - time.monotonic())))
            machine.note(f"(waited until {due.age_s} s had passed)")
            outcome.on_wall_clock.add(due.judges)
            try:
                due.check()
            except LifecycleViolation as exc:
                _record(ctx, outcome, exc)
    except SkipRequirement as exc:
        outcome.skip = str(exc)
    except LifecycleViolation as exc:  # in the set-up: what was to age could not be made as the contract says
        _record(ctx, outcome, exc)
        outcome.skip = f"not judged: making what was to expire broke {exc.requirement_id} ({exc.operation})"
    except UndecidedRequirement as exc:
        outcome.error = f"{spec.name} (lifetimes on the wall clock): {exc}"
    finally:
        if machine is not None:
            with contextlib.suppress(UndecidedRequirement, SkipRequirement, LifecycleViolation):
                machine.teardown()
    outcome.duration_s = time.perf_counter() - started
    return outcome


def _run_shared_paths(
    ctx: CheckContext, spec: MachineSpec, can: Callable[[Row], bool], starts: list[str]
) -> tuple[list[MachineOutcome], int]:
    """Covering paths one after another on the users there are, each planned from the state it starts in."""
    table = spec.table
    pending: set[str] | None = None
    planned: list[Route] = []

    def planner(state: str) -> Route:
        nonlocal pending
        if pending is None:
            pending = set(table.reachable(state, can))
        starts.append(state)
        route = table.plan(state, pending, can, max_steps=spec.path_steps)
        planned.append(route)
        return route

    outcomes: list[MachineOutcome] = []
    for index in range(_MAX_SHARED_PATHS):
        outcome = _run_path(ctx, spec, f"path{index}", Plan(planner=planner))
        outcomes.append(outcome)
        if outcome.violations or outcome.error or outcome.skip or not planned or not planned[-1].rows:
            break
    return outcomes, len([route for route in planned if route.rows])


def _run_path(ctx: CheckContext, spec: MachineSpec, unit: str, plan: Plan) -> MachineOutcome:
    return _run_machine(_own(ctx, spec, unit), spec, 1, seed=_unit_seed(ctx, spec, unit), plan=plan)


def _walk_parts(ctx: CheckContext, spec: MachineSpec, examples: int) -> list[Callable[[], MachineOutcome]]:
    """The machine's random examples, split into parts that may run at the same time (each example acts as a
    user of its own where a factory exists).

    A machine's examples are sequential request chains: across a network they are as slow as the latency
    times the requests. Parts cut that chain without changing what each example checks.
    """
    if examples < 1:
        return []
    parts = _parts(ctx, spec, examples)
    sizes = [examples // parts + (1 if index < examples % parts else 0) for index in range(parts)]

    def part(index: int) -> MachineOutcome:
        return _run_machine(_own(ctx, spec, str(index)), spec, sizes[index], seed=_unit_seed(ctx, spec, str(index)))

    return [functools.partial(part, index) for index in range(parts)]


def _run_machine(
    ctx: CheckContext, spec: MachineSpec, examples: int, *, seed: int | None = None, plan: Plan | None = None
) -> MachineOutcome:
    outcome = MachineOutcome()
    started = time.perf_counter()
    found: list[LifecycleViolation] = []  # violations raised so far; the last is the smallest yet
    first_found: list[float] = []
    undecided: list[UndecidedRequirement] = []  # requests the target gave no usable answer to

    def build() -> Lifecycle:
        # Hypothesis shrinks a failure by replaying shorter step sequences. Past the budget the
        # machine hands back the smallest violation found so far at once, without a replay.
        if first_found and time.perf_counter() - first_found[0] > _SHRINK_BUDGET_S:
            raise found[-1].budget_copy()
        machine = spec.factory(ctx)
        machine.plan = plan
        machine.blocked = spec.blocked(ctx)
        original = machine.violation

        def remember(*args: Any, **kwargs: Any) -> NoReturn:
            try:
                original(*args, **kwargs)
            except LifecycleViolation as exc:
                if not first_found:
                    first_found.append(time.perf_counter())
                found.append(exc)
                raise

        machine.violation = remember  # type: ignore[method-assign]
        sender = machine.send

        def send(*args: Any, **kwargs: Any) -> Exchange:
            try:
                return sender(*args, **kwargs)
            except UndecidedRequirement as exc:
                undecided.append(exc)  # a replay that then goes another way is no flaky machine
                raise

        machine.send = send  # type: ignore[method-assign]
        return machine

    try:
        if seed is not None:  # a part of the examples: its own draws (Hypothesis reads @seed from the factory)
            build._hypothesis_internal_use_seed = seed  # type: ignore[attr-defined]
        run_state_machine_as_test(build, settings=_settings(spec, examples, path=plan is not None))  # type: ignore[arg-type]
    except SkipRequirement as exc:
        outcome.skip = str(exc)
    except UndecidedRequirement as exc:
        if found:  # a violation seen before the target stopped answering (or the run was halted) still stands
            _record(ctx, outcome, found[-1].budget_copy())
        else:
            outcome.error = f"{spec.name}: {exc}"
    except (AssertionError, Flaky, BaseExceptionGroup) as exc:
        violation = _first_violation(exc)
        if violation is None and undecided and not found:
            outcome.error = f"{spec.name}: {undecided[0]}"
            outcome.duration_s = time.perf_counter() - started
            return outcome
        if violation is None and found:
            # Replays after the shrink budget (or a server that answers differently on a replay) make
            # Hypothesis call the run flaky; the smallest violation seen so far is still a real one.
            violation = found[-1].budget_copy()
        if violation is None:
            outcome.error = f"{spec.name} stopped: {type(exc).__name__}: {ctx.redactor.text(str(exc))[:300]}"
        else:
            _record(ctx, outcome, violation)
    except Exception as exc:  # a machine's own bug (say, InvalidDefinition): an error, not a crash of the run
        outcome.error = f"{spec.name} could not run: {type(exc).__name__}: {ctx.redactor.text(str(exc))[:300]}"
    outcome.duration_s = time.perf_counter() - started
    return outcome


def owned(
    requirement_id: str,
    *,
    title: str,
    cites: Iterable[Citation],
    operations: Iterable[str],
    doc: str,
    needs: Iterable[Need] = (),
    level: Level = Level.MUST,
    area: str = "lifecycle",
) -> Requirement:
    """A requirement whose verdict is what the machines that list it found for its id.

    The record is placed in a :class:`MachineSpec`'s ``requirements``; :func:`bind` gives it its check.
    """
    return declare(
        requirement_id,
        level=level,
        area=area,
        title=title,
        cites=cites,
        operations=operations,
        needs=needs,
        check=_unbound,
        doc=doc,
    )


def _unbound(ctx: CheckContext) -> None:
    raise UndecidedRequirement("a lifecycle requirement runs only through the catalogue (conformance.catalogue)")


@dataclass(slots=True, frozen=True)
class MachineVerdict:
    """The check of a lifecycle requirement: run the machines that list it, report their violations of it."""

    requirement_id: str
    machines: tuple[MachineSpec, ...]

    def __call__(self, ctx: CheckContext) -> None:
        outcomes = [run_once(ctx, spec) for spec in self.machines]
        rid = self.requirement_id
        for outcome in outcomes:
            ctx.failures.extend(outcome.violations.get(rid, []))
        if ctx.failures:
            return
        errors = [outcome.error for outcome in outcomes if outcome.error]
        errors += [outcome.error_of[rid] for outcome in outcomes if rid in outcome.error_of]
        if errors:
            raise UndecidedRequirement("; ".join(errors))
        own_skips = [outcome.skip_of[rid] for outcome in outcomes if rid in outcome.skip_of]
        if own_skips:  # its only judge could not run (on the wall clock, the table's clock rows do not)
            raise SkipRequirement(own_skips[0])
        skips = [outcome.skip for outcome in outcomes if outcome.skip]
        if skips and len(skips) == len(outcomes):
            raise SkipRequirement(skips[0])
        # Judged on the wall clock once per run: the table's clock rows (a clock that moves at once) are excused
        on_wall_clock = any(rid in outcome.on_wall_clock for outcome in outcomes)
        clock_only = NEED_REASONS[Need.CLOCK]
        # Not passed while a pair it judges was not executed: skipped when the run lacks what the pair needs.
        missing = {
            f"{spec.name} {pair}": outcome.missing[pair]
            for spec, outcome in zip(self.machines, outcomes, strict=True)
            for pair in spec.table.pairs_of(self.requirement_id)
            if pair in outcome.missing and not (on_wall_clock and outcome.missing[pair] == clock_only)
        }
        unexplained = [pair for pair, reason in missing.items() if not reason]
        if unexplained:
            raise UndecidedRequirement(f"transitions not executed: {', '.join(unexplained)}")
        if missing:
            reasons = sorted(set(missing.values()))
            raise SkipRequirement(
                f"{len(missing)} transition(s) could not run ({', '.join(missing)}): {'; '.join(reasons)}"
            )


def bind(machines: Iterable[MachineSpec]) -> list[Requirement]:
    """The machines' requirements, each checked by every machine that lists it, in the machines' order.

    A requirement several machines list comes with the last of them: its verdict needs them all.
    """
    chosen = tuple(machines)
    records: dict[str, Requirement] = {}
    for spec in reversed(chosen):
        for item in reversed(spec.requirements):
            records.setdefault(item.id, item)
    bound = []
    for rid, item in reversed(records.items()):
        owners = tuple(spec for spec in chosen if rid in spec.owns)
        sharing = max((spec.sharing for spec in owners), key=list(Sharing).index)
        bound.append(replace(item, check=MachineVerdict(rid, owners), sharing=sharing))
    return bound
