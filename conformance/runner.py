"""Run the selected requirements against one target and collect a RunResult.

Order: active checks first (they send requests), observers last (they judge every
exchange the run made). Whatever the suite created is removed at the end, failures or not.
"""

from __future__ import annotations

import contextlib
import json
import random
import signal
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, fields
from pathlib import Path

from hypothesis.configuration import set_hypothesis_home_dir

from conformance._threads import build_character_tables, make_ast_parse_thread_safe
from conformance.catalogue import catalogue
from conformance.checks.lifecycles import MachineVerdict, transition_summary
from conformance.checks.responses import stop_watching, watch
from conformance.config import ConfigError, Settings, shard_of
from conformance.context import CheckContext, Clock, TestClock, WallClock, missing_inbox
from conformance.contract import Contract, bundled_contract
from conformance.failures import RunInterrupted, SkipRequirement, UndecidedRequirement
from conformance.inbox import channel_inboxes
from conformance.operations import OperationIndex
from conformance.optional_groups import resolve_groups
from conformance.redact import Redactor
from conformance.requirements import Level, Need, Requirement, Sharing
from conformance.results import Outcome, RequirementResult, RunResult
from conformance.shards import measured_costs, shard
from conformance.sightings import Sighting, Sightings
from conformance.target import Exchange, TargetClient
from conformance.users import CommandUserFactory, TestSupportUserFactory, User, UserFactory, UserFactoryError

ProgressCallback = Callable[[Requirement, RequirementResult | None], None]
SightingCallback = Callable[[Requirement, Sighting], None]  # a requirement's first violation, as it happens


class TargetUnreachable(Exception):
    """The target did not answer at all; str(exc) is the one line the user sees (exit 2)."""


@dataclass(slots=True)
class Target:
    base_url: str
    embedded: bool
    faults: tuple[str, ...]
    variants: tuple[str, ...] = ()


@contextlib.contextmanager
def open_target(settings: Settings) -> Iterator[Target]:
    """The base URL to test: the given one, or the bundled reference server started for this run."""
    if settings.base_url:
        yield Target(settings.base_url.rstrip("/"), embedded=False, faults=())
        return
    from reference_server.embedded import running_server  # the embedded default target

    try:
        server = running_server(faults=tuple(settings.fault), variants=tuple(settings.variant), spec=settings.spec)
        base_url = server.__enter__()
    except ValueError as exc:  # an unknown fault or variant name
        raise ConfigError(str(exc)) from None
    try:
        yield Target(base_url, embedded=True, faults=tuple(settings.fault), variants=tuple(settings.variant))
    finally:
        server.__exit__(None, None, None)


def _factory(settings: Settings, test_support: str | None, redactor: Redactor) -> UserFactory | None:
    if settings.user_factory:
        return CommandUserFactory(settings.user_factory, redactor)
    if test_support:
        return TestSupportUserFactory(test_support, redactor, timeout_s=settings.timeout)
    return None


def _users(settings: Settings, factory: UserFactory | None) -> tuple[User, User | None]:
    try:
        if settings.token:
            user_a = User("A", settings.token, settings.password)
        elif factory is not None:
            user_a = factory.create("A")
        else:
            raise ConfigError("no user: pass --token, --test-support URL or --user-factory CMD")
        if settings.token_b:
            user_b: User | None = User("B", settings.token_b)
        else:
            user_b = factory.create("B") if factory is not None else None
    except UserFactoryError as exc:
        raise ConfigError(str(exc)) from None
    return user_a, user_b


# --real-time-expiry switches itself on when every lifetime of the contract is this short (a staging tenant's)
# and there is no test clock: waiting them out costs the run little, beside the rest.
AUTO_REAL_TIME_MAX_S = 60


def lifetimes(contract: Contract) -> dict[str, int]:
    """The contract's lifetimes (every x-kesk-limits value named ``*_ttl_s``), by name."""
    limits = contract.limits
    return {item.name: getattr(limits, item.name) for item in fields(limits) if item.name.endswith("_ttl_s")}


def choose_clock(
    settings: Settings, test_support: str | None, contract: Contract, halted: threading.Event
) -> Clock | None:
    """The clock that ages codes and files: the wall clock when asked (--real-time-expiry), else the test-support
    clock, else the wall clock when every lifetime is short enough to wait out, else none (those checks skip)."""
    if settings.real_time_expiry:
        return WallClock(halted)
    if test_support:
        return TestClock(test_support, timeout_s=settings.timeout)
    longest = max(lifetimes(contract).values(), default=0)
    if 0 < longest <= AUTO_REAL_TIME_MAX_S:
        return WallClock(halted, why=f"every lifetime of the contract is {longest} s or less")
    return None


def left_out_operations(settings: Settings, operations: OperationIndex) -> frozenset[str]:
    """The operations of the groups --not-implemented leaves out: no check sends them."""
    groups = resolve_groups(settings.not_implemented, operations.ids())
    return frozenset(op for ops in groups.values() for op in ops)


def _preflight(client: TargetClient, user: User) -> None:
    try:
        answer = client.call("getMyProfile", token=user.token)
    except UndecidedRequirement as exc:
        raise TargetUnreachable(f"cannot reach the target: {exc}") from None
    if answer.status == 401:
        raise ConfigError(f"the target refused user {user.label}'s token (401 on GET /users/me); pass a valid --token")
    if answer.status == 404:
        raise ConfigError(f"GET {client.base_url}/users/me answered 404: is the /v1 prefix missing from --base-url?")
    if answer.status not in (200, 429):
        raise ConfigError(
            f"GET {client.base_url}/users/me answered {answer.status}, which the contract does not document; "
            "is --base-url this API?"
        )


# --workers auto. A target answering within AUTO_LOCAL_RTT_S is local: the run is then bound by the suite's own
# CPU, and more threads only contend for it (measured: 8 workers were 20% slower than 2 on loopback). A target
# farther away is bound by latency: requests in flight at once are what make that run fast.
AUTO_LOCAL_RTT_S = 0.005
AUTO_LOCAL_WORKERS = 2
AUTO_REMOTE_WORKERS = 8


def auto_workers(round_trip_s: float) -> int:
    """--workers auto: how many requirements run at once against a target this far away."""
    return AUTO_LOCAL_WORKERS if round_trip_s < AUTO_LOCAL_RTT_S else AUTO_REMOTE_WORKERS


def _round_trip_s(client: TargetClient, user: User) -> float:
    """The median time of three GET /users/me (after the pre-flight one, which also opened the connection)."""
    times = []
    for _ in range(3):
        started = time.perf_counter()
        try:
            client.call("getMyProfile", token=user.token)
        except UndecidedRequirement:
            return float("inf")  # a target that cannot answer three times running is no local one
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _track_resources(ctx: CheckContext) -> Callable[[Exchange], None]:
    """Remember what the run creates (from any check, Schemathesis' included) so cleanup can remove it."""
    created_by = {
        "addUserEmail": ("removeUserEmail", "email_id", "id", "response"),
        "addUserPhone": ("removeUserPhone", "phone_id", "id", "response"),
        "addFavouriteProduct": ("removeFavouriteProduct", "id", "product_id", "request"),
        "registerFcmToken": ("unregisterFcmToken", "fcm_token", "fcm_token", "request"),
    }
    removals = {remove: param for remove, param, _, _ in created_by.values()}

    def observe(exchange: Exchange) -> None:
        ctx.exchanges.append(exchange)
        auth = exchange.request_headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or not 200 <= exchange.status < 300:
            return
        token = auth.removeprefix("Bearer ")
        op = exchange.operation_id or ""
        if op in created_by:
            remove, param, key, where = created_by[op]
            try:
                source = exchange.json() if where == "response" else json.loads(exchange.request_body or b"")
                value = source[key]
            except (ValueError, KeyError, TypeError):
                return
            ctx.resources.add(token, remove, {param: value})
        elif op in removals:
            value = exchange.path.rstrip("/").rsplit("/", 1)[-1]
            ctx.resources.created = [
                item
                for item in ctx.resources.created
                if not (item[0] == token and item[1] == op and str(item[2].get(removals[op])) == value)
            ]

    return observe


def _cleanup(ctx: CheckContext, workers: int) -> None:
    """Remove what the run created and did not remove, newest first, the first pass on `workers` threads.

    Across a network a run's removals (often dozens) one round trip after another would end every run. A
    removal the server refuses for now (409: the primary phone goes last) is tried again once the others
    are gone, one at a time, while a pass still removes something: concurrent checks record their creations
    in the order the answers arrived, which need not be the order the server made them in.
    """

    def removed(created: tuple[str, str, dict[str, object]]) -> bool:
        token, remove, params = created
        try:
            exchange = ctx.client.call(remove, token=token, path_params=params)
        except (UndecidedRequirement, KeyError):
            return True  # the target cannot be asked (429s, a broken circuit): nothing more to try
        return exchange.status < 300 or exchange.status == 404

    pending = list(reversed(ctx.resources.created))
    if workers > 1 and len(pending) > 1:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="kesk-cleanup") as pool:
            done = list(pool.map(removed, pending))
        pending = [created for created, ok in zip(pending, done, strict=True) if not ok]
    while pending:
        left = [created for created in pending if not removed(created)]
        if len(left) == len(pending):
            break
        pending = left
    ctx.resources.created.clear()


def _run_one(item: Requirement, shared: CheckContext, settings: Settings) -> RequirementResult:
    missing = _missing_needs(item, shared, settings)
    if missing:
        return RequirementResult(item, Outcome.SKIPPED, reason=missing)
    ctx = shared.for_requirement(item.id)
    started = time.perf_counter()
    outcome, reason = Outcome.PASSED, ""
    try:
        with ctx.client.sending_for(item.id):
            item.check(ctx)
    except SkipRequirement as exc:
        outcome, reason = Outcome.SKIPPED, str(exc)
    except RunInterrupted as exc:
        outcome, reason = Outcome.SKIPPED, str(exc)
    except UndecidedRequirement as exc:
        outcome, reason = Outcome.ERROR, str(exc)
    except Exception as exc:  # a check's own bug must not end the run; it is reported as an error
        outcome, reason = Outcome.ERROR, f"the check crashed: {type(exc).__name__}: {ctx.redactor.text(str(exc))}"
    if outcome is Outcome.PASSED and ctx.notes:
        reason = "; ".join(ctx.notes)  # what a passed check did (a race: its bursts and their protocol)
    sighted = ctx.failures and ctx.sightings.first(item.id) is not None
    if ctx.client.halted and outcome is not Outcome.PASSED and not sighted:
        # An engine that caught the interruption itself (Schemathesis, Hypothesis) reports it as its own
        # error; what an interrupted check saw is not a verdict. A violation it saw before is one.
        outcome, reason = Outcome.SKIPPED, ctx.client.halt_reason
    elif ctx.failures and (outcome is not Outcome.SKIPPED or ctx.client.halted):
        outcome = Outcome.FAILED
        reason = f"{len(ctx.failures)} violation(s)" if ctx.client.halted or not reason else reason
    return RequirementResult(
        item,
        outcome,
        reason=reason,
        failures=list(ctx.failures),
        requests=ctx.client.sent_for[item.id],
        duration_s=time.perf_counter() - started,
        # an observer sends nothing: what it did is judge the run's exchanges of the spec's operations
        judged=sum(1 for exchange in list(ctx.exchanges) if exchange.operation_id) if item.observes else 0,
    )


def _missing_needs(item: Requirement, ctx: CheckContext, settings: Settings) -> str:
    if Need.SECOND_USER in item.needs and ctx.user_b is None:
        return "needs a second user: pass --token-b, --test-support URL or --user-factory CMD"
    if Need.INBOX in item.needs and not ctx.reads("email"):
        return missing_inbox("email")
    if Need.SMS_INBOX in item.needs and not ctx.reads("sms"):
        return missing_inbox("sms")
    if Need.CLOCK in item.needs and ctx.clock is None:
        return (
            "needs a clock to let codes and files expire: pass --test-support URL (its test clock) or "
            "--real-time-expiry (waits the lifetimes out; a staging tenant with short ones: --spec PATH)"
        )
    if Need.DESTRUCTIVE in item.needs and ctx.factory is None and not settings.allow_destructive:
        return "destructive: needs disposable users (--test-support or --user-factory) or --allow-destructive"
    if Need.PASSWORD in item.needs and ctx.factory is None and not ctx.user_a.password:
        return "needs user A's password: pass --password"
    return ""


class RunSession:
    """One run against one target: users, inbox, client and context, shared by every requirement."""

    def __init__(
        self,
        settings: Settings,
        target: Target,
        contract: Contract,
        operations: OperationIndex,
        redactor: Redactor,
        seed: int,
    ) -> None:
        self.settings = settings
        self.target = target
        self.started = time.perf_counter()
        self.results: list[RequirementResult] = []
        self.interrupted = False  # Ctrl-C or SIGTERM ended the run early; what finished is still reported
        # Test support only where the user named it (or the embedded server has it): nothing is looked up at a base
        # URL behind the user's back.
        test_support = settings.test_support or (target.base_url if target.embedded else None)
        try:
            inbox = channel_inboxes(
                settings.inbox,
                test_support=test_support,
                base_url=target.base_url,
                redactor=redactor,
                pattern=settings.inbox_pattern,
            )
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        factory = _factory(settings, test_support, redactor)
        user_a, user_b = _users(settings, factory)
        self.test_support = test_support
        self.client = TargetClient(
            target.base_url, operations, redactor, timeout_s=settings.timeout, rate_limit=settings.rate_limit
        )
        self.ctx = CheckContext(
            client=self.client,
            operations=operations,
            redactor=redactor,
            user_a=user_a,
            user_b=user_b,
            inbox=inbox,
            clock=choose_clock(settings, test_support, contract, self.client.halt_event),
            factory=factory,
            allow_destructive=settings.allow_destructive,
            max_examples=settings.max_examples,
            seed=seed,
            contract=contract,
            left_out=left_out_operations(settings, operations),
            sightings=Sightings(self.started),
            race_width=settings.race_width,
        )
        _preflight(self.client, user_a)
        self.round_trip_s: float | None = None
        if settings.workers is None:
            self.round_trip_s = _round_trip_s(self.client, user_a)
            self.workers = auto_workers(self.round_trip_s)
        else:
            self.workers = settings.workers
        self.ctx.workers = self.workers
        for user in (user_a, user_b):
            if user is not None:
                try:
                    self.ctx.note_mail_history(user)
                except UndecidedRequirement as exc:
                    raise TargetUnreachable(f"cannot read the e-mail inbox: {exc}") from None
        if isinstance(self.ctx.clock, TestClock) and factory is not None:  # users of their own, a clock of their own?
            self.ctx.clock.probe_per_user(user_a)
        self.client.observers.append(_track_resources(self.ctx))

    def run(self, item: Requirement) -> RequirementResult:
        result = _run_one(item, self.ctx, self.settings)
        result.finished_s = time.perf_counter() - self.started
        if result.outcome is Outcome.FAILED:
            sighting = self.ctx.sightings.first(item.id)
            numbers = [failure.request_number for failure in result.failures if failure.request_number]
            result.first_failure_s = sighting.at_s if sighting else result.finished_s
            result.first_failure_request = sighting.request_number if sighting else min(numbers, default=None)
        self.results.append(result)
        return result

    def run_all(
        self,
        selected: list[Requirement],
        progress: ProgressCallback | None = None,
        on_sighting: SightingCallback | None = None,
        excused: frozenset[str] = frozenset(),
    ) -> None:
        """Run the selection on --workers threads, in the catalogue's order, and keep the results in that order.

        Independent requirements run concurrently. Afterwards, one at a time: those that move the server's
        clock (unless it keeps a clock per user), those whose verdict models user A's whole account when there
        is no user factory to give them users of their own, and last the observers, which judge every exchange
        the others made. With --maxfail N no requirement starts once N MUST requirements failed (or were seen
        failing); the checks still running stop, and those not started are skipped.
        """
        shared_users = self.ctx.factory is None
        shared_clock = self.ctx.clock is not None and self.ctx.clock.shared

        def runs_alone(item: Requirement) -> bool:
            # Without a clock, with a clock per user or the wall clock, the clock movers run beside the rest.
            return (
                item.observes
                or (item.sharing is Sharing.ALONE and shared_clock)
                or (item.sharing in (Sharing.ALONE, Sharing.ALONE_ON_SHARED_USERS) and shared_users)
            )

        concurrent = [item for item in selected if not runs_alone(item)]
        alone = sorted((item for item in selected if runs_alone(item)), key=lambda item: item.observes)
        order = {item.id: index for index, item in enumerate(selected)}
        stop = _Stop(self.settings, excused)
        report = threading.Lock()
        by_id = {item.id: item for item in selected}

        def sighted(sighting: Sighting) -> None:
            item = by_id.get(sighting.requirement_id)
            if item is None:
                return  # a violation of a requirement this run does not judge (say, Schemathesis' other checks)
            stop.count_sighting(item)  # a violation is a failed verdict already: --maxfail need not wait for it
            if stop.reached():
                self.client.halt(stop.reason())  # the checks still running stop at their next request
            if on_sighting:
                with report:
                    on_sighting(item, sighting)

        self.ctx.sightings.listeners.append(sighted)
        # The observers judge each answer as it arrives. Their own requests (as user A) go out with the first
        # work, unless user A is shared with checks that model its whole account: then, as before, at the end.
        early = watch(self.ctx, [item.id for item in selected], user_a_shared=shared_users)

        def one(item: Requirement) -> RequirementResult:
            if self.interrupted or (stop.reached() and not stop.has_failed(item)):  # one seen failing still runs
                why = "not run: the run was interrupted" if self.interrupted else stop.reason()
                skipped = RequirementResult(item, Outcome.SKIPPED, reason=why)
                self.results.append(skipped)
                return skipped
            if progress:
                with report:
                    progress(item, None)
            result = self.run(item)
            stop.count(result)
            if stop.reached():
                self.client.halt(stop.reason())
            if progress:
                with report:
                    progress(item, result)
            return result

        pool: ThreadPoolExecutor | None = None
        try:
            if self.workers > 1 and len(concurrent) > 1:
                make_ast_parse_thread_safe()
                if draws_text(concurrent):
                    build_character_tables()
                pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="kesk")
                try:
                    work, background = self._submit(pool, concurrent, early, one, shared_users=shared_users)
                    for future in work:
                        future.result()
                    for item in alone:
                        if not item.observes:
                            one(item)
                    for future in background:
                        future.result()
                finally:
                    # On an interruption: the checks still running stop at their next request (halt below).
                    pool.shutdown(wait=False, cancel_futures=True)
                alone = [item for item in alone if item.observes]
            else:
                for task in early:
                    task()
                for item in concurrent:
                    one(item)
            for item in alone:
                one(item)
        except KeyboardInterrupt:
            self._interrupt(selected, pool)
        self.results.sort(key=lambda result: order[result.requirement.id])

    def _submit(
        self,
        pool: ThreadPoolExecutor,
        concurrent: list[Requirement],
        early: list[Callable[[], None]],
        one: Callable[[Requirement], RequirementResult],
        *,
        shared_users: bool,
    ) -> tuple[list[Future[None]], list[Future[None]]]:
        """Start the concurrent work; the futures to wait for before the requirements that run alone, and after.

        One worker per shared run (a machine, the Schemathesis run), not one per requirement waiting on it. With
        users of their own for the clock movers, a run that judges no lifetime goes on while they move the
        clock (the background), instead of before them.
        """
        units = by_shared_run(concurrent)
        overlap = [unit for unit in units if not shared_users and _shared_run(unit[0]) in CLOCK_FREE_RUNS]
        rest = [unit for unit in units if unit not in overlap]
        background = [pool.submit(task) for task in early]
        if self.workers <= AUTO_LOCAL_WORKERS:
            # Few workers (a local target: the run is bound by CPU, and the order hardly changes its length):
            # the cheapest units first, so that most verdicts and failures come soonest.
            work = [pool.submit(_each, one, unit) for unit in work_order(rest, lead=0)]
            background += [pool.submit(_each, one, unit) for unit in overlap]
        else:
            # Many (a remote target: bound by latency): half the workers start the longest runs, so that they
            # do not end the run alone, the others the quick checks; then the rest.
            background += [pool.submit(_each, one, unit) for unit in overlap]
            lead = max(0, self.workers // 2 - len(background))
            work = [pool.submit(_each, one, unit) for unit in work_order(rest, lead=lead)]
        return work, background

    def halt_on_interrupt(self) -> None:
        """Ctrl-C or SIGTERM, from the signal handler: every check stops at its next request, none starts."""
        self.interrupted = True
        self.client.halt()

    def _interrupt(self, selected: list[Requirement], pool: ThreadPoolExecutor | None) -> None:
        """Ctrl-C or SIGTERM: stop every check at its next request, wait for them, report what did not run."""
        self.interrupted = True
        self.client.halt()
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        done = {result.requirement.id for result in self.results}
        for item in selected:
            if item.id not in done:
                self.results.append(RequirementResult(item, Outcome.SKIPPED, reason="not run: the run was interrupted"))
        self.client.resume()  # the cleanup still has to send its removals

    def close(self) -> None:
        stop_watching(self.ctx)
        self.client.resume()  # --maxfail halted the checks; the cleanup still sends its removals
        try:
            _cleanup(self.ctx, self.workers)
        finally:
            self.client.close()

    def result(self) -> RunResult:
        ctx = self.ctx
        return RunResult(
            target={
                "base_url": self.target.base_url,
                "embedded_reference_server": self.target.embedded,
                "faults": list(self.target.faults),
                "variants": list(self.target.variants),
                "users": [user.label for user in (ctx.user_a, ctx.user_b) if user],
                # each channel's inbox in its --inbox form, secrets left out: {"email": "maildev:http://...", ...}
                "inbox": ctx.inbox.sources() if ctx.inbox else None,
                "clock": ctx.clock.description if ctx.clock else None,
                "test_support": self.test_support,
                # --workers, or what auto chose from the measured round trip
                "workers": self.workers,
                "round_trip_ms": (
                    round(self.round_trip_s * 1000, 2)
                    if self.round_trip_s is not None and self.round_trip_s != float("inf")
                    else None
                ),
                # documented 429s waited out (and those the run's budget of waiting cut short)
                "back_pressure": {
                    "retries": self.client.back_pressure_retries,
                    "waited_s": round(self.client.back_pressure_waited_s, 3),
                    "cut": self.client.back_pressure_cut,
                },
            },
            seed=ctx.seed,
            strict=self.settings.strict,
            results=list(self.results),
            operations=dict(self.client.stats),
            duration_s=time.perf_counter() - self.started,
            interrupted=self.interrupted,
            sent=self.client.sent,
            expectation_log=ctx.expectations.snapshot(),
            transitions=transition_summary(ctx.memo.get("lifecycle-transitions")),
        )


def selected_requirements(settings: Settings) -> list[Requirement]:
    """The requirements a run executes, in the catalogue's order (observers last)."""
    selected = catalogue().select(settings.select, settings.exclude)
    if not selected:
        raise ConfigError("--select/--exclude left no requirement to run; see `kesk-conformance list`")
    part = shard_of(settings)
    if part is not None:
        selected = shard(selected, *part)
        if not selected:
            raise ConfigError(f"--shard {settings.shard} holds no requirement of this selection; use fewer shards")
    return selected


def contract_for(settings: Settings) -> Contract:
    """The contract the run judges by: --spec (an edited copy of this API's contract) or the bundled one."""
    if not settings.spec:
        return bundled_contract()
    contract = Contract.load(Path(settings.spec))
    contract.require_same_api(bundled_contract())
    contract.require_consistent()  # unusable or contradictory limits: a usage error before the run
    return contract


@contextlib.contextmanager
def open_session(settings: Settings) -> Iterator[RunSession]:
    contract = contract_for(settings)
    operations = OperationIndex(contract.document)
    redactor = Redactor()
    redactor.add(settings.token, settings.token_b, settings.password)
    seed = settings.seed if settings.seed is not None else random.SystemRandom().randrange(2**31)
    with open_target(settings) as target:
        session = RunSession(settings, target, contract, operations, redactor, seed)
        try:
            yield session
        finally:
            session.close()


# Shared runs whose verdicts judge no lifetime (no token, OTP or file ages in them): they may go on while
# another requirement moves the server's clock. Schemathesis cannot read an inbox, so it confirms nothing.
CLOCK_FREE_RUNS = frozenset({"schemathesis"})
LONG_UNIT_S = 2.0  # a unit measured to take this long (costs.json) starts before the quick checks


def by_shared_run(items: list[Requirement]) -> list[list[Requirement]]:
    """The units of work for the pool, in catalogue order: the requirements read from one shared run together."""
    by_run: dict[str, list[Requirement]] = {}
    for item in items:
        by_run.setdefault(_shared_run(item), []).append(item)
    return list(by_run.values())


def work_order(units: list[list[Requirement]], *, lead: int) -> list[list[Requirement]]:
    """The order units start in: the `lead` longest (by measured cost, costs.json), then the quick ones in
    catalogue order, then the other long ones, shortest first (what they find is reported sooner)."""
    costs = measured_costs()

    def cost(unit: list[Requirement]) -> float:
        return sum(costs.get(item.id, 0.0) for item in unit)

    long = sorted((unit for unit in units if cost(unit) >= LONG_UNIT_S), key=cost, reverse=True)
    return long[:lead] + [unit for unit in units if cost(unit) < LONG_UNIT_S] + long[lead:][::-1]


def draws_text(items: list[Requirement]) -> bool:
    """Whether Hypothesis generates data for these requirements: the lifecycle machines and Schemathesis do."""
    return any(_shared_run(item) != item.id for item in items)


def _shared_run(item: Requirement) -> str:
    """The run a requirement's verdict is read from. One listed by several machines waits for them all and
    goes with the last (the others run on other workers meanwhile)."""
    if isinstance(item.check, MachineVerdict):
        return f"machine:{item.check.machines[-1].name}"
    if item.area == "schemathesis":
        return "schemathesis"
    return item.id


def _each(run: Callable[[Requirement], RequirementResult], unit: list[Requirement]) -> None:
    for item in unit:
        run(item)


class _Stop:
    """--exitfirst / --maxfail N: how many MUST requirements may fail before no more start."""

    def __init__(self, settings: Settings, excused: frozenset[str] = frozenset()) -> None:
        self.limit = settings.maxfail
        self.strict = settings.strict
        self.excused = excused  # requirements --known-failures lists: their failures do not fail the run
        self._failed: set[str] = set()
        self._lock = threading.Lock()

    @property
    def failed(self) -> int:
        return len(self._failed)

    def count(self, result: RequirementResult) -> None:
        if result.fails_run(strict=self.strict) and result.requirement.id not in self.excused:
            with self._lock:
                self._failed.add(result.requirement.id)

    def count_sighting(self, item: Requirement) -> None:
        """A violation seen while the requirement still runs: its verdict will be a failure."""
        if (item.level is Level.MUST or self.strict) and item.id not in self.excused:
            with self._lock:
                self._failed.add(item.id)

    def reached(self) -> bool:
        return self.limit is not None and self.failed >= self.limit

    def has_failed(self, item: Requirement) -> bool:
        with self._lock:
            return item.id in self._failed

    def reason(self) -> str:
        return f"not run to its end: {self.failed} requirement(s) failed and --maxfail is {self.limit}"


@contextlib.contextmanager
def sigterm_as_interrupt(on_signal: list[Callable[[], None]] | None = None) -> Iterator[None]:
    """Ctrl-C, and SIGTERM (a CI timeout) like it, so that the run cleans up and writes what it has.

    With `on_signal` hooks (a session is running) the first signal only runs them: they halt the checks, which
    stop at their next request, and the run ends as usual, its cleanup included. No exception is raised at a
    random point of the main thread, where it could land between a request and its recording (and leave what
    that request created behind). Without hooks, or at a second signal, KeyboardInterrupt is raised."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    signalled: list[int] = []

    def interrupt(signum: int, frame: object) -> None:
        if on_signal and not signalled:
            signalled.append(signum)
            for hook in on_signal:
                hook()
            return
        raise KeyboardInterrupt

    previous = {signum: signal.signal(signum, interrupt) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def execute(
    settings: Settings,
    *,
    progress: ProgressCallback | None = None,
    on_session: Callable[[RunSession], None] | None = None,
    on_sighting: SightingCallback | None = None,
    excused: frozenset[str] = frozenset(),
) -> RunResult:
    """Run the selection. An interruption (Ctrl-C, SIGTERM) still cleans up and returns what finished.

    `on_session` sees the session before any requirement runs (the CLI attaches its step recorder there);
    `excused` (the requirements --known-failures lists) never count toward --maxfail.
    """
    selected = selected_requirements(settings)
    # Hypothesis keeps caches in ./.hypothesis unless told: a run writes only to its report directory, however
    # it is started (the CLI, or this function called from Python).
    set_hypothesis_home_dir(Path(settings.report_dir) / ".hypothesis")
    if draws_text(selected):
        # Built while the preflight waits on the network; the pool waits for them before drawing (run_all).
        threading.Thread(target=build_character_tables, name="kesk-tables", daemon=True).start()
    on_signal: list[Callable[[], None]] = []
    with sigterm_as_interrupt(on_signal), open_session(settings) as session:
        on_signal.append(session.halt_on_interrupt)
        if on_session is not None:
            on_session(session)
        session.run_all(selected, progress, on_sighting, excused)
    return session.result()
