"""Inside the Locust process: each user walks one lifecycle on a disposable account, judged as in a run.

A user is one account of one lifecycle (conformance.checks.races.walks). Its first task is the walk's
opening round (every device sends the creating step on one new thing); each task after it is a round of
2-4 requests at once, drawn at random, and every few rounds the views are read. Each round is judged
against the lifecycle's model from the states the rounds before it can have left (history.successors): a
round that no order explains is a violation of the walk's RACE-WALK-* requirement. Every answer is also
recorded on the suite's own TargetClient, so it is judged by the observers of conformance.checks.responses
(RULES, through its LiveJudge: whatever observers that module holds) and what it created is removed at the
end, as `run` removes it (conformance.runner's cleanup).

In distributed mode the workers run the users and send their verdicts with their stats (report_to_master);
the master merges them and writes the reports. A local run does both.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import random
import time
from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gevent  # type: ignore[import-untyped]
from locust import HttpUser, between, events, task
from locust.env import Environment
from locust.html import get_html_report
from locust.runners import MasterRunner, WorkerRunner

from conformance.checks.races._judge import Step
from conformance.checks.races.models import abstract
from conformance.checks.races.walks import LIFECYCLES, MAX_CLIENTS, MIN_CLIENTS, Lifecycle, Walk
from conformance.checks.responses import RULES, LiveJudge
from conformance.context import CheckContext
from conformance.contract import Contract, bundled_contract
from conformance.failures import FailureDetail, SkipRequirement, UndecidedRequirement
from conformance.history import FunctionModel, Model, Operation, check, successors
from conformance.inbox import channel_inboxes
from conformance.operations import OperationIndex
from conformance.redact import Redactor
from conformance.response_validation import Verdict
from conformance.runner import _cleanup, _track_resources
from conformance.sightings import Sightings
from conformance.soak.plan import PLAN_VARIABLE, SoakPlan, user_class_name
from conformance.soak.report import SoakReport
from conformance.soak.tally import Tally
from conformance.stats import OperationStats
from conformance.target import Exchange, TargetClient, is_back_pressure
from conformance.users import CommandUserFactory, TestSupportUserFactory, User, UserFactory, UserFactoryError

__all__ = ["USER_CLASSES"]

VIEWS_EVERY = 5  # rounds between two readings of the views
_REPORT_KEY = "kesk_soak"
_KEPT_PER_REQUIREMENT = 200  # violations kept in results.json per requirement; violations.jsonl has them all


class _Unkept(list[Exchange]):
    """The run's exchange list, which a soak does not keep: hours of answers would fill the memory."""

    def append(self, item: Exchange) -> None:
        return None


class _Judge(LiveJudge):
    """The observers' live judge, its verdicts forgotten once read (a soak judges each answer once)."""

    def judged(self, exchange: Exchange) -> Verdict:
        verdict = self.verdict(exchange)
        with self._lock:
            self._verdicts.pop(exchange.sequence, None)
        return verdict


class Soak:
    """One Locust process's share of the soak: the plan, the suite's client and judges, the verdicts."""

    def __init__(self, environment: Environment, plan: SoakPlan) -> None:
        self.environment = environment
        self.plan = plan
        self.started = time.time()
        self.tally = Tally()
        self.seed = plan.seed if plan.seed is not None else random.SystemRandom().randrange(2**31)
        self.numbers = itertools.count(1)
        self.walks: list[Walk] = []
        self.contract = Contract.load(Path(plan.spec)) if plan.spec else bundled_contract()
        self.operations = OperationIndex(self.contract.document)
        self.redactor = Redactor()
        self.runs_users = not isinstance(environment.runner, MasterRunner)
        self.ctx: CheckContext | None = None
        self._reported: dict[str, Counter[str]] = {}
        self._reported_operations: dict[str, OperationStats] = {}
        if self.runs_users:
            self.ctx = self._context()
            self.judge = _Judge(self.ctx, RULES)
            self.judge.close()  # no queue: each answer is judged in the greenlet that received it

    def _context(self) -> CheckContext:
        plan = self.plan
        client = TargetClient(plan.base_url, self.operations, self.redactor, timeout_s=plan.timeout_s)
        factory: UserFactory
        if plan.user_factory:
            factory = CommandUserFactory(plan.user_factory, self.redactor)
        else:
            assert plan.test_support is not None  # the plan checked that there is a way to make users
            factory = TestSupportUserFactory(plan.test_support, self.redactor, timeout_s=plan.timeout_s)
        inbox = channel_inboxes(
            plan.inbox,
            test_support=plan.test_support,
            base_url=plan.base_url,
            redactor=self.redactor,
            pattern=plan.inbox_pattern,
        )
        ctx = CheckContext(
            client=client,
            operations=self.operations,
            redactor=self.redactor,
            user_a=User("none: every soak user has an account of its own", ""),
            user_b=None,
            inbox=inbox,
            clock=None,
            factory=factory,
            allow_destructive=False,
            max_examples=1,
            seed=self.seed,
            contract=self.contract,
            sightings=Sightings(),
        )
        ctx.exchanges = _Unkept()
        client.observers.append(_track_resources(ctx))  # what the soak creates is removed at its end
        return ctx

    # --- what every answer is judged by ---------------------------------------------------------------
    def observe(self, exchange: Exchange) -> list[str]:
        """Judge one answer by every observer; the requirement ids it violates."""
        if exchange.operation_id is None:
            return []
        verdict = self.judge.judged(exchange)
        broken = []
        for requirement_id, rule in RULES.items():
            self.tally.judged[requirement_id] += 1
            found = rule.problem(exchange, verdict, self.redactor)
            if found:
                broken.append(requirement_id)
                failure = FailureDetail(
                    operation=exchange.operation_id,
                    expected=rule.expected,
                    actual=self.redactor.text(found),
                    hint=rule.hint,
                    curl=exchange.curl,
                    request_number=exchange.sequence,
                )
                self.tally.violation(requirement_id, failure)
        return broken

    # --- the end --------------------------------------------------------------------------------------
    def worker_report(self) -> dict[str, Any]:
        counts = {"judged": self.tally.judged, "undecided": self.tally.undecided, "started": self.tally.started}
        fresh = {name: count - self._reported.get(name, Counter()) for name, count in counts.items()}
        self._reported = {name: Counter(count) for name, count in counts.items()}
        assert self.ctx is not None
        operations: dict[str, OperationStats] = {}
        for op, stats in self.ctx.client.stats.items():
            before = self._reported_operations.get(op, OperationStats())
            operations[op] = OperationStats(stats.requests - before.requests, stats.statuses - before.statuses)
            self._reported_operations[op] = OperationStats(stats.requests, Counter(stats.statuses))
        return self.tally.report(fresh, operations)

    def finish(self) -> None:
        """Stop the users, leave nothing behind, and (unless a worker) write the reports."""
        runner = self.environment.runner
        if self.runs_users and runner is not None:
            runner.stop()  # idempotent; on SIGTERM Locust quits before it stops its users
            for walk in self.walks:
                _quietly(walk.end)
                _quietly(walk.sweep)
            assert self.ctx is not None
            _cleanup(self.ctx, workers=4)
            for op, stats in self.ctx.client.stats.items():
                self.tally.operations[op] = stats
        if not isinstance(runner, WorkerRunner):
            SoakReport(self.plan, self.seed, self.contract, self.tally, self.environment, self.started).write()
            _html_report(self.environment)


def _html_report(environment: Environment) -> None:
    """Locust's HTML report, which Locust itself writes only when it was not stopped by a signal."""
    html_file = getattr(environment.parsed_options, "html_file", None)
    if html_file and not Path(html_file).is_file() and environment.runner is not None:
        report = get_html_report(environment, show_download_link=False)  # type: ignore[no-untyped-call]
        Path(html_file).write_text(report, encoding="utf-8")


SOAK: Soak | None = None


def _quietly(action: Any) -> None:
    with contextlib.suppress(UndecidedRequirement, SkipRequirement, UserFactoryError):
        action()


def _on_init(environment: Environment, **_: Any) -> None:
    global SOAK
    SOAK = Soak(environment, SoakPlan.from_json(os.environ[PLAN_VARIABLE]))


def _on_report_to_master(client_id: str, data: dict[str, Any], **_: Any) -> None:
    if SOAK is not None and SOAK.runs_users:
        data[_REPORT_KEY] = SOAK.worker_report()


def _on_worker_report(client_id: str, data: dict[str, Any], **_: Any) -> None:
    if SOAK is not None and _REPORT_KEY in data:
        SOAK.tally.workers.add(client_id)
        SOAK.tally.merge(data[_REPORT_KEY])


def _on_quitting(environment: Environment, **_: Any) -> None:
    if SOAK is not None:
        SOAK.finish()


# --- the users ----------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Sent:
    step: Step
    device: str
    sent_s: float
    exchange: Exchange | None = None
    answered_s: float | None = None
    error: str = ""


class LifecycleUser(HttpUser):
    """One account walking one lifecycle, a round of requests at once per task."""

    abstract = True
    lifecycle: Lifecycle
    wait_time = between(0.05, 0.5)

    def on_start(self) -> None:
        assert SOAK is not None and SOAK.ctx is not None
        self.soak = SOAK
        number = next(SOAK.numbers)
        rid = self.lifecycle.requirement_id
        self.ctx = SOAK.ctx.for_requirement(rid)
        self.ctx.rng = random.Random(f"{SOAK.seed}:{self.lifecycle.name}:{number}")
        # A walk's verification tokens and OTPs age: it starts afresh well within their lifetimes.
        limits = self.ctx.limits
        self.fresh_for_s = min(limits.otp_ttl_s, limits.verification_token_ttl_s) / 2
        self.rounds = 0
        try:
            self.account = SOAK.ctx.factory.create(f"soak-{self.lifecycle.name}-{number}")  # type: ignore[union-attr]
        except UserFactoryError as exc:
            SOAK.tally.unsure(rid, f"no disposable user: {exc}")
            raise
        self.walk = self.lifecycle.start(self.ctx, self.account)
        SOAK.walks.append(self.walk)
        SOAK.tally.started[rid] += 1
        self._begin()
        self._round([self.walk.opener()] * self.ctx.rng.randint(MIN_CLIENTS, MAX_CLIENTS))

    @task
    def walk_a_round(self) -> None:
        if time.monotonic() - self.began > self.fresh_for_s:
            _quietly(self.walk.end)
            self._begin()
        self._round(self.walk.round(self.ctx.rng, self.ctx.rng.randint(MIN_CLIENTS, MAX_CLIENTS)))
        self.rounds += 1
        if self.rounds % VIEWS_EVERY == 0:
            self._round(self.walk.views())

    def _begin(self) -> None:
        """Read what the account holds (and open what the walk needs): the model starts from there."""
        try:
            self.model: Model[Any] = self.walk.begin()
        except (UndecidedRequirement, SkipRequirement) as exc:
            self.soak.tally.unsure(self.lifecycle.requirement_id, f"could not start a walk: {exc}")
            raise
        self.states: frozenset[Hashable] = frozenset({self.model.init()})
        self.began = time.monotonic()

    def _round(self, steps: Sequence[Step]) -> None:
        sent = [_Sent(step, f"device {index + 1}", 0.0) for index, step in enumerate(steps)]
        gevent.joinall([gevent.spawn(self._send, item) for item in sent])
        segment = []
        for item in sent:
            if item.exchange is not None and is_back_pressure(item.exchange.status, item.exchange.body):
                continue  # refused before it did anything
            answer = abstract(item.step.kind, item.exchange) if item.exchange is not None else None
            segment.append(
                Operation(item.device, item.sent_s, item.answered_s, item.step.input, answer, self._label(item))
            )
        for item in sent:
            if item.exchange is not None:
                try:
                    self.walk.learn(item.step, item.exchange)
                except (UndecidedRequirement, SkipRequirement) as exc:
                    self.soak.tally.unsure(self.lifecycle.requirement_id, str(exc))
        self._judge(segment, sent)

    def _send(self, item: _Sent) -> None:
        step = item.step
        prepared = self.ctx.client.prepare(
            step.operation_id,
            token=step.user.token,
            path_params=step.path_params,
            json_body=step.json_body,
            params=step.params,
        )
        item.sent_s = time.perf_counter()
        with self.client.request(
            prepared.method,
            prepared.url,
            headers=prepared.headers,
            data=prepared.body,
            name=step.operation_id,
            catch_response=True,
        ) as response:
            if response.status_code == 0:  # no answer: what it did is unknown
                item.error = self.soak.redactor.text(str(response.error))
                response.failure(item.error)
                return
            item.answered_s = time.perf_counter()
            exchange = self.ctx.client.exchange(
                prepared.method,
                prepared.url,
                prepared.path,
                request_headers=prepared.headers,
                request_body=prepared.body,
                status=response.status_code,
                headers=list(response.headers.items()),
                body=response.content or b"",
                elapsed_s=item.answered_s - item.sent_s,
            )
            self.ctx.client.record(exchange)
            item.exchange = exchange
            broken = self.soak.observe(exchange)
            if broken:
                response.failure(", ".join(broken))
            else:
                response.success()

    def _judge(self, segment: list[Operation], sent: list[_Sent]) -> None:
        rid = self.lifecycle.requirement_id
        after = successors(segment, self.model, self.states)
        if after.undecided:
            self.soak.tally.unsure(rid, f"a round's history passed the search's bound ({after.bound} configurations)")
        elif after.states:
            self.states = after.states
            self.soak.tally.judged[rid] += 1
            return
        else:
            self.soak.tally.violation(rid, self._violation(segment, sent, after.refuted))
        # What the account holds is no longer known: the walk starts afresh from what the server shows.
        _quietly(self.walk.end)
        with contextlib.suppress(UndecidedRequirement, SkipRequirement):
            self._begin()

    def _label(self, item: _Sent) -> str:
        if item.exchange is None:
            return f"[{item.device}] {item.step.operation_id} -> no answer ({item.error})"
        shown = "".join(f"{key}={value} " for key, value in item.step.path_params.items())
        return f"[{item.device}] {item.step.operation_id} {shown}-> {self.ctx.actual(item.exchange)[:80]}"

    def _violation(self, segment: list[Operation], sent: list[_Sent], refuted: str) -> FailureDetail:
        start = next(iter(self.states))
        verdict = check(segment, FunctionModel(start, self.model.step))
        exchanges = [item.exchange for item in sent if item.exchange is not None]
        stuck = next((exchanges[i] for i in verdict.stuck if i < len(exchanges)), exchanges[-1] if exchanges else None)
        counts = Counter(f"{exchange.operation_id} {exchange.status}" for exchange in exchanges)
        summary = ", ".join(f"{name} x{n}" for name, n in sorted(counts.items()))
        explanation = f"{refuted}, which no state the contract allows shows" if refuted else verdict.explain(segment)
        return FailureDetail(
            operation=stuck.operation_id or stuck.path if stuck is not None else self.lifecycle.name,
            expected=(
                f"{self.lifecycle.name}: answers that some order of the requests sent at once explains "
                f"({self.lifecycle.rule})"
            ),
            actual=self.soak.redactor.text(f"{summary}. {explanation}")[:1500],
            hint="Make the check and the write one step (a transaction or a lock): requests that overlap must see "
            "each other's writes",
            curl=stuck.curl if stuck is not None else "",
            steps=tuple(self.soak.redactor.text(op.label) for op in segment),
            request_number=stuck.sequence if stuck is not None else None,
        )


def _user_class(lifecycle: Lifecycle) -> type[LifecycleUser]:
    return type(
        user_class_name(lifecycle.name),
        (LifecycleUser,),
        {"lifecycle": lifecycle, "abstract": False, "__module__": __name__},
    )


events.init.add_listener(_on_init)  # type: ignore[no-untyped-call]
events.report_to_master.add_listener(_on_report_to_master)  # type: ignore[no-untyped-call]
events.worker_report.add_listener(_on_worker_report)  # type: ignore[no-untyped-call]
events.quitting.add_listener(_on_quitting)  # type: ignore[no-untyped-call]

USER_CLASSES: dict[str, type[LifecycleUser]] = {lifecycle.name: _user_class(lifecycle) for lifecycle in LIFECYCLES}
