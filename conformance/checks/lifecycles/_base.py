"""The shared engine of the lifecycle checks: a Hypothesis state machine run inside a requirement.

Each lifecycle is one ``RuleBasedStateMachine`` (a :class:`Lifecycle`) that keeps a model of
what the server must hold, chooses its steps from that model, and compares every answer with
it. A machine runs once per suite run (memoised in ``ctx.memo``); every requirement id it owns
then reports the machine's violations for that id. The first violation stops the machine: it
is raised as a :class:`LifecycleViolation`, Hypothesis shrinks the step sequence (bounded), and
the shrunk failure is recorded with the step transcript and the curl of the failing request.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import random
import time
import zlib
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, NoReturn

from hypothesis import HealthCheck, Phase, settings
from hypothesis.errors import Flaky
from hypothesis.stateful import RuleBasedStateMachine, run_state_machine_as_test

from conformance.context import CheckContext
from conformance.contract import Citation
from conformance.failures import FailureDetail, SkipRequirement, UndecidedRequirement
from conformance.requirements import Level, Need, Requirement, Sharing, declare
from conformance.steps import note_lifecycle_example
from conformance.target import Exchange
from conformance.users import User

__all__ = [
    "Due",
    "Lifecycle",
    "LifecycleViolation",
    "MachineOutcome",
    "MachineSpec",
    "MachineVerdict",
    "bind",
    "owned",
    "run_once",
]

_MAX_EXAMPLES_CAP = 25  # a machine example sends dozens of requests; more explores little more
_SHRINK_BUDGET_S = 10.0
_EXAMPLES_PER_PART = 2  # a machine with a user factory runs its examples in parts of about this many...
_MAX_PARTS = 5  # ...at most this many at once
_TRANSCRIPT_TAIL = 40  # requests of the failing example shown in a report


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
        )
        copy.shrink_stopped = True
        return copy


class Lifecycle(RuleBasedStateMachine):
    """A state machine bound to one check context, with a transcript of the requests it sent."""

    def __init__(self, ctx: CheckContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.transcript: list[str] = []
        self.first_sequence = ctx.client.sent + 1  # this example's requests come after this point of the run

    # --- sending ---------------------------------------------------------------------------------
    def send(self, operation_id: str, *, user: User | None, **kwargs: Any) -> Exchange:
        """Send one operation as ``user`` and note it in the transcript (no bodies: they may hold secrets)."""
        exchange = self.ctx.call(operation_id, user=user, **kwargs)
        self.note(f"{operation_id}: {exchange.method} {exchange.path} -> {exchange.status}")
        return exchange

    def note(self, line: str) -> None:
        self.transcript.append(self.ctx.redactor.text(line))

    # --- the clock -------------------------------------------------------------------------------
    @property
    def clock_in_examples(self) -> bool:
        """Whether an example may let codes and files expire: a test clock moves at once; the wall clock is
        waited out once per run instead, beside the examples (:attr:`MachineSpec.lifetimes`)."""
        return self.ctx.clock is not None and self.ctx.clock.instant

    def young(self, since: float, lifetime_s: int) -> bool:
        """Whether what a request sent at `since` (time.monotonic()) made is surely within its lifetime in real time.

        Real time passes whatever the clock: an example longer than a short lifetime (a staging tenant's 20 s)
        must not judge a code or file that may have expired meanwhile. A quarter of the lifetime is the margin.
        """
        return time.monotonic() - since < lifetime_s - max(1, lifetime_s // 4)

    def run_due(self, checks: Iterable[Due], *, user: User) -> None:
        """On a test clock, in an example: each check once the clock has moved to its age (for `user`'s codes)."""
        assert self.ctx.clock is not None
        aged = 0
        for due in sorted(checks, key=lambda due: due.age_s):
            self.ctx.clock.advance(due.age_s - aged, user=user)
            self.note(f"(test clock advanced {due.age_s - aged} s)")
            aged = due.age_s
            due.check()

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
    """One check of a lifetime: `check()` once what it judges is `age_s` seconds old."""

    age_s: int
    check: Callable[[], None]
    judges: str  # the requirement it judges (skipped when the wall clock will not wait that long)


@dataclass(slots=True, frozen=True)
class MachineSpec:
    """One lifecycle: how to build its machine and the requirements it reports (declared with :func:`owned`)."""

    name: str
    factory: Callable[[CheckContext], Lifecycle]
    requirements: tuple[Requirement, ...]
    steps: int = 12
    max_examples: int | None = None  # None: the run's --max-examples (capped)
    sharing: Sharing = Sharing.CONCURRENT  # the requirements it reports share it (the strictest of their machines)
    # On the wall clock (--real-time-expiry), the machine's lifetimes are not tried in its examples: this makes
    # what ages (on a machine and user of its own) and returns the checks due, each at its age. They run once per
    # run, beside the examples, and judge the requirements that need the clock.
    lifetimes: Callable[[Any], list[Due]] | None = None

    @property
    def owns(self) -> tuple[str, ...]:
        return tuple(item.id for item in self.requirements)

    @property
    def timed(self) -> tuple[str, ...]:
        """The requirements judged by letting codes and files expire (those that need the clock)."""
        return tuple(item.id for item in self.requirements if Need.CLOCK in item.needs)


@dataclass(slots=True)
class MachineOutcome:
    """What one machine run found: violations per requirement id, or why it could not decide."""

    violations: dict[str, list[FailureDetail]] = field(default_factory=dict)
    skip: str = ""
    error: str = ""
    duration_s: float = 0.0
    # Why one requirement could not be judged though the others were (the wall-clock lifetimes' run, its only judge)
    skip_of: dict[str, str] = field(default_factory=dict)
    error_of: dict[str, str] = field(default_factory=dict)


def _examples(ctx: CheckContext, spec: MachineSpec) -> int:
    return spec.max_examples or max(1, min(ctx.max_examples, _MAX_EXAMPLES_CAP))


def _settings(spec: MachineSpec, examples: int) -> settings:
    return settings(
        max_examples=examples,
        stateful_step_count=spec.steps,
        deadline=None,
        database=None,
        derandomize=True,  # the same run replays the same steps; --seed still varies the data
        suppress_health_check=list(HealthCheck),
        phases=[Phase.generate, Phase.shrink],
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
        ctx.memo, exc.requirement_id, exc.example_from, exc.exchange.sequence if exc.exchange else ctx.client.sent
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
    return ctx.once(f"lifecycle:{spec.name}", lambda: _run_parts(ctx.for_requirement(f"machine:{spec.name}"), spec))


def _parts(ctx: CheckContext, spec: MachineSpec, examples: int) -> int:
    """How many parts a machine's examples are split into: several only when each part can have a user of its
    own (a user factory) and, for a machine that moves the clock, the clock it moves is not shared (a clock
    per user, the wall clock, or none). Independent of --workers, so the same seed draws the same examples
    whatever the concurrency."""
    shared_clock = ctx.clock is not None and ctx.clock.shared
    if ctx.factory is None or (spec.sharing is Sharing.ALONE and shared_clock):
        return 1
    return max(1, min(_MAX_PARTS, examples // _EXAMPLES_PER_PART))


def _run_parts(ctx: CheckContext, spec: MachineSpec) -> MachineOutcome:
    """The machine's examples and, on the wall clock, its lifetimes waited out beside them (a user of their own).

    The lifetimes' run is mostly waiting: with a user factory it starts first, on a thread of its own, so that
    its wait overlaps the examples; without one it shares user A and runs after them.
    """
    lifetimes = spec.lifetimes is not None and ctx.clock is not None and not ctx.clock.instant
    if not lifetimes:
        return _run_examples(ctx, spec)
    own = replace(ctx, rng=random.Random(f"{ctx.seed}:{spec.name}:lifetimes"), failures=[])
    if ctx.factory is None:
        outcomes = [_run_examples(ctx, spec), _wait_out_lifetimes(own, spec)]
    else:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"kesk-{spec.name}-lifetimes") as pool:
            waiting = pool.submit(contextvars.copy_context().run, _wait_out_lifetimes, own, spec)
            outcomes = [_run_examples(ctx, spec), waiting.result()]
    examples, timed = outcomes
    for requirement_id, failures in timed.violations.items():
        examples.violations.setdefault(requirement_id, []).extend(failures)
    examples.skip_of.update(timed.skip_of)
    for requirement_id in spec.timed:
        if timed.error:
            examples.error_of[requirement_id] = timed.error
        elif timed.skip:
            examples.skip_of[requirement_id] = timed.skip
    examples.duration_s = max(examples.duration_s, timed.duration_s)
    return examples


def _wait_out_lifetimes(ctx: CheckContext, spec: MachineSpec) -> MachineOutcome:
    """Once per run on the wall clock: what ages is made, then each check runs when it is due (its age counted
    from the end of the set-up, so what it judges is at least that old). Every check runs, violations or not."""
    assert spec.lifetimes is not None and ctx.clock is not None
    outcome = MachineOutcome()
    started = time.perf_counter()
    machine: Lifecycle | None = None
    try:
        machine = spec.factory(ctx)
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


def _run_examples(ctx: CheckContext, spec: MachineSpec) -> MachineOutcome:
    """The machine's examples, split into parts that run at the same time, each on a user of its own.

    A machine's examples are sequential request chains: across a network they are as slow as the latency
    times the requests. Parts on their own users cut that chain without changing what each example checks.
    """
    examples = _examples(ctx, spec)
    parts = _parts(ctx, spec, examples)
    if parts == 1:
        return _run_machine(ctx, spec, examples)
    sizes = [examples // parts + (1 if index < examples % parts else 0) for index in range(parts)]
    users = [ctx.disposable_user() for _ in range(parts)]  # in order: the same labels every run
    started = time.perf_counter()

    def part(index: int) -> MachineOutcome:
        own = replace(ctx, user_a=users[index], rng=random.Random(f"{ctx.seed}:{spec.name}:{index}"), failures=[])
        return _run_machine(own, spec, sizes[index], seed=zlib.crc32(f"{ctx.seed}:{spec.name}:{index}".encode()))

    if ctx.workers > 1:
        # Each part's thread sends for the requirement that started the machine (a context variable).
        contexts = [contextvars.copy_context() for _ in range(parts)]
        with ThreadPoolExecutor(max_workers=parts, thread_name_prefix=f"kesk-{spec.name}") as pool:
            futures = [pool.submit(contexts[index].run, part, index) for index in range(parts)]
            outcomes = [future.result() for future in futures]
    else:
        outcomes = [part(index) for index in range(parts)]
    merged = MachineOutcome(duration_s=time.perf_counter() - started)
    for outcome in outcomes:
        for requirement_id, failures in outcome.violations.items():
            merged.violations.setdefault(requirement_id, []).extend(failures)
    merged.error = next((outcome.error for outcome in outcomes if outcome.error), "")
    if all(outcome.skip for outcome in outcomes):
        merged.skip = outcomes[0].skip
    return merged


def _run_machine(ctx: CheckContext, spec: MachineSpec, examples: int, *, seed: int | None = None) -> MachineOutcome:
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
        run_state_machine_as_test(build, settings=_settings(spec, examples))  # type: ignore[arg-type]
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
        if own_skips:  # its only judge could not run (the examples do not try lifetimes on the wall clock)
            raise SkipRequirement(own_skips[0])
        skips = [outcome.skip for outcome in outcomes if outcome.skip]
        if skips and len(skips) == len(outcomes):
            raise SkipRequirement(skips[0])


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
