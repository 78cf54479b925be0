"""SCHEMA: every answer the run saw, from any check, matches what the spec documents.

These requirements observe: they judge the exchanges every other check made (the Schemathesis fuzzing
included). A live judge (`watch`) judges each exchange on a thread of its own as it is recorded, so a
violation is seen and printed the moment its answer arrives; the requirements themselves run last and
read its judgements. Schemathesis' own verdicts for the same properties are merged in by
checks/schemathesis_engine.py.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from conformance.checks._edge_inputs import send_edge_inputs
from conformance.checks.auth import ALL_OPERATIONS
from conformance.checks.schemathesis_engine import run_schemathesis
from conformance.context import CheckContext
from conformance.failures import RunInterrupted, SkipRequirement, UndecidedRequirement
from conformance.invariants import InvariantSet, RequestView
from conformance.redact import Redactor
from conformance.requirements import Level, requirement
from conformance.response_validation import ResponseValidator, Verdict
from conformance.target import Exchange

_PER_OPERATION = 3  # failures shown per operation; the rest are counted, not repeated


# What each observer finds wrong with one answer (None: nothing), what it expected, and the hint it gives.
Problem = Callable[[Exchange, Verdict, Redactor], str | None]


@dataclass(slots=True, frozen=True)
class Rule:
    problem: Problem
    expected: str
    hint: str


def _server_error(exchange: Exchange, _: Verdict, redactor: Redactor) -> str | None:
    return f"{exchange.status} {redactor.body(exchange.body)[:200]}" if exchange.status >= 500 else None


def _undocumented_status(exchange: Exchange, verdict: Verdict, _: Redactor) -> str | None:
    if verdict.documented or exchange.status >= 500:  # a 5xx is SCHEMA-NO-SERVER-ERROR's
        return None
    return f"status {exchange.status}; documented: {', '.join(verdict.documented_statuses)}"


RULES: dict[str, Rule] = {
    "SCHEMA-NO-SERVER-ERROR": Rule(
        _server_error, "a 2xx or a documented 4xx answer", "Validate input and handle edge values instead of failing"
    ),
    "SCHEMA-STATUS-DOCUMENTED": Rule(
        _undocumented_status,
        "a status the operation documents",
        "Answer with a documented status or document the new one",
    ),
    "SCHEMA-CONTENT-TYPE": Rule(
        lambda _, verdict, __: verdict.content_type_problem or None,
        "application/json; charset=utf-8",
        "Send Content-Type: application/json; charset=utf-8",
    ),
    "SCHEMA-RESPONSE-HEADERS": Rule(
        lambda _, verdict, __: "; ".join(verdict.header_problems) or None,
        "every required response header",
        "Send the headers the response documents as required",
    ),
    "SCHEMA-RESPONSE-BODY": Rule(
        lambda _, verdict, __: verdict.body_problem or None,
        "a body that validates against the documented schema",
        "Return every required field with its documented type",
    ),
    "SCHEMA-INVARIANTS": Rule(
        lambda _, verdict, __: "; ".join(verdict.invariant_problems) or None,
        "every object of the body keeps the x-kesk-invariants of its schema",
        "Keep the fields of each object consistent as the contract's invariants state",
    ),
}
INVARIANTS = "SCHEMA-INVARIANTS"


class LiveJudge:
    """Judges each exchange of the spec's operations as it is recorded, on a thread of its own (the request's
    thread goes on at once). A violation is a sighting the moment it is judged; the observers' verdicts at the
    end reuse every judgement instead of judging the run's thousands of answers again."""

    def __init__(self, ctx: CheckContext, requirement_ids: Iterable[str]) -> None:
        self._ctx = ctx
        self._rules = {rid: RULES[rid] for rid in requirement_ids if rid in RULES}
        self._validator = _validator(ctx)
        self._invariants = _invariants(ctx) if INVARIANTS in self._rules else None
        self._queue: queue.Queue[Exchange | None] = queue.Queue()
        self._verdicts: dict[int, Verdict] = {}  # by exchange sequence number
        self._lock = threading.Lock()  # one judgement at a time: the validator's caches are not thread-safe
        self._closed = False
        threading.Thread(target=self._work, name="kesk-live-judge", daemon=True).start()

    def observe(self, exchange: Exchange) -> None:
        if exchange.operation_id is not None and not self._closed:
            self._queue.put(exchange)

    def verdict(self, exchange: Exchange) -> Verdict:
        """The judgement of one exchange: the one made as it arrived, else made now."""
        with self._lock:
            found = self._verdicts.get(exchange.sequence)
            if found is None:
                found = _judge(self._ctx, self._validator, exchange, self._invariants)
                self._verdicts[exchange.sequence] = found
            return found

    def drain(self) -> None:
        """Wait until every exchange recorded so far is judged."""
        self._queue.join()

    def close(self) -> None:
        """End the judging thread (after what is queued); verdicts asked for later are judged on the spot."""
        self._closed = True
        self._queue.put(None)

    def _work(self) -> None:
        while True:
            exchange = self._queue.get()
            if exchange is None:
                self._queue.task_done()
                return
            try:
                verdict = self.verdict(exchange)
                for requirement_id, rule in self._rules.items():
                    found = rule.problem(exchange, verdict, self._ctx.redactor)
                    if found:
                        self._ctx.sightings.saw(
                            requirement_id,
                            request_number=exchange.sequence,
                            expected=rule.expected,
                            actual=self._ctx.redactor.text(found),
                        )
            except Exception:  # judged again, in the open, by the observer's own check at the end
                with self._lock:
                    self._verdicts.pop(exchange.sequence, None)
            finally:
                self._queue.task_done()


def watch(ctx: CheckContext, selected: Iterable[str], *, user_a_shared: bool) -> list[Callable[[], None]]:
    """Start judging the run's answers as they arrive, for the observers among `selected`.

    Returns probes for the runner to send before anything else: one read of each operation that only reads
    (a schema problem is then seen within the first requests) and, unless user A is shared with checks that
    model its whole account, the edge inputs (which add to it).
    """
    observing = [rid for rid in selected if rid in RULES]
    if not observing:
        return []
    judge = ctx.once("live-judge", lambda: LiveJudge(ctx, observing))
    ctx.on_exchange(judge.observe)

    def reads() -> None:
        with ctx.client.sending_for(observing[0]), contextlib.suppress(UndecidedRequirement):
            for op in ctx.operations:
                # a GET of no path parameter reads user A's account (the one creating an IDV session does more)
                creates = "create" in op.operation_id.lower()
                reads = op.method.upper() == "GET" and not op.path_parameters and not creates
                if reads and op.operation_id not in ctx.left_out:
                    ctx.call(op.operation_id, user=ctx.user_a)

    def edge_inputs() -> None:
        with ctx.client.sending_for("SCHEMA-NO-SERVER-ERROR"), contextlib.suppress(UndecidedRequirement):
            send_edge_inputs(ctx)  # once per run: the requirement's own call at the end finds it done

    probes = [reads]
    if "SCHEMA-NO-SERVER-ERROR" in observing and not user_a_shared:
        probes.append(edge_inputs)
    return probes


def stop_watching(ctx: CheckContext) -> None:
    """The run is over: let the live judge's thread end."""
    judge: LiveJudge | None = ctx.memo.get("live-judge")
    if judge is not None:
        judge.close()


def _validator(ctx: CheckContext) -> ResponseValidator:
    return ctx.once("response-validator", lambda: ResponseValidator(ctx.operations))


def _invariants(ctx: CheckContext) -> InvariantSet:
    return ctx.once("invariant-set", lambda: InvariantSet(ctx.contract))


def _judge(
    ctx: CheckContext, validator: ResponseValidator, exchange: Exchange, invariants: InvariantSet | None = None
) -> Verdict:
    op = ctx.operations[exchange.operation_id or ""]
    headers = {name.lower(): value for name, value in exchange.headers.items()}
    verdict = validator.judge(op, exchange.status, headers, exchange.body)
    if invariants is None or not verdict.documented:
        return verdict
    view = RequestView(op.operation_id, exchange.method, exchange.url, exchange.request_body, exchange.status, headers)
    broken = invariants.judge(view, exchange.json())
    return replace(verdict, invariant_problems=tuple(ctx.redactor.text(item.describe()) for item in broken))


def _observe(ctx: CheckContext, requirement_id: str) -> None:
    # Schemathesis' traffic is judged too, even when only SCHEMA-* requirements were selected;
    # if it could not run, its own requirements say why and the rest of the traffic is still judged.
    with contextlib.suppress(UndecidedRequirement, SkipRequirement):
        run_schemathesis(ctx)
    if not any(exchange.operation_id for exchange in ctx.exchanges):
        raise UndecidedRequirement("no answer of any operation reached the suite, so there was nothing to judge")
    judge: LiveJudge | None = ctx.memo.get("live-judge")
    if judge is not None:
        judge.drain()
    validator = _validator(ctx)
    rule = RULES[requirement_id]
    shown: Counter[str] = Counter()
    for exchange in list(ctx.exchanges):
        if exchange.operation_id is None:
            continue
        if judge is not None:
            verdict = judge.verdict(exchange)
        else:
            verdict = _judge(ctx, validator, exchange, _invariants(ctx) if requirement_id == INVARIANTS else None)
        found = rule.problem(exchange, verdict, ctx.redactor)
        if found and shown[exchange.operation_id] < _PER_OPERATION:
            shown[exchange.operation_id] += 1
            ctx.fail(
                operation=exchange.operation_id, expected=rule.expected, actual=found, hint=rule.hint, exchange=exchange
            )
    for failure in ctx.memo.get("schemathesis-failures", {}).get(requirement_id, []):
        if shown[failure.operation] < _PER_OPERATION:
            shown[failure.operation] += 1
            ctx.failures.append(failure)


@requirement(
    "SCHEMA-NO-SERVER-ERROR",
    level=Level.MUST,
    area="schema",
    title="No request makes the server fail (5xx)",
    cites=("spec:/info/description",),
    operations=ALL_OPERATIONS,
    observes=True,
)
def no_server_error(ctx: CheckContext) -> None:
    """Sends edge input (longest and non-ASCII strings), then judges every answer of the run: none is a 5xx."""
    with contextlib.suppress(RunInterrupted):  # cut short (--maxfail, Ctrl-C): what was answered is still judged
        send_edge_inputs(ctx)
    _observe(ctx, "SCHEMA-NO-SERVER-ERROR")


@requirement(
    "SCHEMA-STATUS-DOCUMENTED",
    level=Level.MUST,
    area="schema",
    title="Every status code is documented",
    cites=("spec:/info/description",),
    operations=ALL_OPERATIONS,
    observes=True,
)
def status_documented(ctx: CheckContext) -> None:
    """Judges every answer of the run: its status is one the operation documents."""
    _observe(ctx, "SCHEMA-STATUS-DOCUMENTED")


@requirement(
    "SCHEMA-CONTENT-TYPE",
    level=Level.MUST,
    area="schema",
    title="Every answer has the documented content type",
    cites=("spec:/paths/~1users~1me/get/responses/200/content",),
    operations=ALL_OPERATIONS,
    observes=True,
)
def content_type_documented(ctx: CheckContext) -> None:
    """Judges every answer of the run: its Content-Type is the documented media type."""
    _observe(ctx, "SCHEMA-CONTENT-TYPE")


@requirement(
    "SCHEMA-RESPONSE-HEADERS",
    level=Level.MUST,
    area="schema",
    title="Documented required headers are present",
    cites=(
        "spec:/components/responses/Unauthorized/headers",
        "spec:/components/responses/TooManyRequests/headers",
        "spec:/paths/~1user~1emails/post/responses/201/headers",
    ),
    operations=ALL_OPERATIONS,
    observes=True,
)
def headers_documented(ctx: CheckContext) -> None:
    """Judges every answer of the run: each header its response declares required is present."""
    _observe(ctx, "SCHEMA-RESPONSE-HEADERS")


@requirement(
    "SCHEMA-RESPONSE-BODY",
    level=Level.MUST,
    area="schema",
    title="Every body matches its documented schema",
    cites=("seed:getMyProfile", "spec:/components/schemas"),
    operations=ALL_OPERATIONS,
    observes=True,
)
def body_documented(ctx: CheckContext) -> None:
    """Judges every answer of the run: a JSON body validates against the documented schema."""
    _observe(ctx, "SCHEMA-RESPONSE-BODY")


@requirement(
    "SCHEMA-INVARIANTS",
    level=Level.MUST,
    area="schema",
    title="Every object of every answer keeps its schema's invariants",
    cites=("spec:/components/schemas",),
    operations=ALL_OPERATIONS,
    observes=True,
)
def invariants_kept(ctx: CheckContext) -> None:
    """Judges every answer of the run: each object of its body (nested ones and list items included) keeps the
    x-kesk-invariants of its schema (CEL rules written next to the schema in the contract)."""
    _observe(ctx, INVARIANTS)


REQUIREMENTS = (
    no_server_error,
    status_documented,
    content_type_documented,
    headers_documented,
    body_documented,
    invariants_kept,
)
