"""Sending concurrent requests and judging their history: what every RACE-* check shares."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

from conformance.checks.races.models import abstract
from conformance.context import CheckContext
from conformance.failures import UndecidedRequirement
from conformance.history import Linearizability, Model, Operation, check
from conformance.target import Exchange
from conformance.users import User

__all__ = ["History", "Step", "send_all"]

_HINT = (
    "Make the check and the write one step (a transaction or a lock): requests that overlap must see each "
    "other's writes"
)
_SHOWN_STEPS = 60


@dataclass(slots=True, frozen=True)
class Step:
    """One request of a history: what the model is told it asks (`input`), how its answer is read (`kind`)."""

    input: Hashable
    kind: str  # conformance.checks.races.models.abstract's name for the answer
    operation_id: str
    user: User
    path_params: dict[str, object] = field(default_factory=dict)
    json_body: Any = None
    params: dict[str, Any] | None = None


@dataclass(slots=True)
class History:
    """The operations of one concurrent history, in the order they were recorded, and their exchanges."""

    ctx: CheckContext
    operations: list[Operation] = field(default_factory=list)
    exchanges: list[Exchange] = field(default_factory=list)
    protocols: set[str] = field(default_factory=set)
    bursts: int = 0

    def burst(self, steps: Sequence[Step], *, clients: Sequence[str] = ()) -> list[Exchange | None]:
        """Send `steps` at once (a synchronised burst); each answer joins the history, in the steps' order.

        A request refused with 429 rate_limited did nothing: it is left out (None). A request without an answer
        makes the history undecided: what it did cannot be known.
        """
        client = self.ctx.client
        burst = client.burst(
            [
                client.prepare(
                    s.operation_id,
                    token=s.user.token,
                    path_params=s.path_params,
                    json_body=s.json_body,
                    params=s.params,
                )
                for s in steps
            ]
        )
        self.protocols.add(burst.protocol)
        self.bursts += 1
        answers: list[Exchange | None] = []
        for index, (step, timed) in enumerate(zip(steps, burst.requests, strict=True)):
            if timed.exchange is None:
                raise UndecidedRequirement(
                    f"a request of a burst got no answer ({timed.error}), so what it did is unknown"
                )
            if timed.back_pressure:
                answers.append(None)
                continue
            who = clients[index] if clients else f"connection {index + 1}"
            self._add(who, step, timed.exchange, timed.sent_s, timed.answered_s or timed.sent_s)
            answers.append(timed.exchange)
        return answers

    def then(self, step: Step, *, who: str = "after") -> Exchange:
        """Send one request on its own (back-pressure waited out), after everything before it; it joins the history."""
        started = time.perf_counter()
        exchange = self.ctx.call(
            step.operation_id,
            user=step.user,
            path_params=step.path_params,
            json_body=step.json_body,
            params=step.params,
        )
        self._add(who, step, exchange, started, time.perf_counter())
        return exchange

    def _add(self, who: str, step: Step, exchange: Exchange, sent_s: float, answered_s: float) -> None:
        label = f"[{who}] {exchange.operation_id} {_about(step)}-> {self.ctx.actual(exchange)[:80]}"
        output = abstract(step.kind, exchange)
        self.operations.append(Operation(who, sent_s, answered_s, step.input, output, self.ctx.redactor.text(label)))
        self.exchanges.append(exchange)

    def judge(self, model: Model[Any], *, rule: str, what: str) -> bool:
        """Whether some sequential order explains every answer; a violation (or an undecided search) otherwise."""
        verdict = check(self.operations, model)
        counts = Counter(f"{exchange.operation_id} {exchange.status}" for exchange in self.exchanges)
        summary = ", ".join(f"{name} x{n}" for name, n in sorted(counts.items()))
        protocol = " and ".join(sorted(self.protocols)) or "sequential requests"
        if verdict.outcome is Linearizability.UNDECIDED:
            raise UndecidedRequirement(f"{what}: {verdict.explain(self.operations)} (answers: {summary})")
        if verdict.linearizable:
            self.ctx.notes.append(
                f"{what}: {len(self.operations)} requests ({self.bursts} burst(s) over {protocol}); "
                f"explained by a sequential order ({verdict.explored} configurations searched)"
            )
            return True
        stuck = self.exchanges[verdict.stuck[0]] if verdict.stuck else self.exchanges[-1]
        self.ctx.fail(
            operation=stuck.operation_id or stuck.path,
            expected=f"{what}: answers that some order of the requests sent at once explains ({rule})",
            actual=f"{summary} ({protocol}). {verdict.explain(self.operations)}"[:1500],
            hint=_HINT,
            exchange=stuck,
            steps=tuple(op.label for op in self.operations[:_SHOWN_STEPS]),
        )
        return False


def _about(step: Step) -> str:
    shown = {key: value for key, value in step.path_params.items() if key != "fcm_token"}
    return "".join(f"{key}={value} " for key, value in shown.items())


def send_all(ctx: CheckContext, steps: Sequence[Step]) -> list[Exchange]:
    """Set-up requests that do not race each other, sent at once; those refused with back-pressure again, alone."""
    history = History(ctx)
    answers = history.burst(steps)
    return [answer if answer is not None else _alone(ctx, step) for step, answer in zip(steps, answers, strict=True)]


def _alone(ctx: CheckContext, step: Step) -> Exchange:
    return ctx.call(
        step.operation_id, user=step.user, path_params=step.path_params, json_body=step.json_body, params=step.params
    )
