"""SCHEMATHESIS: the spec's 30 operations fuzzed by Schemathesis' own engine, its verdicts mapped to our ids.

One engine run per suite run (memoized in ``ctx.memo["schemathesis"]``) drives the phases
examples, coverage, fuzzing and stateful with every built-in check, the per-operation
expectations of ``conformance/schemathesis.toml``, user A's bearer token and the run's seed.
Across a network (3 workers or more, with a user factory) it is two runs at once instead: coverage
on user A, and the other phases on a fresh user.
Every request Schemathesis sends goes out through a requests adapter of ours, bounded like
TargetClient's own and recorded by the client as an Exchange: per-operation counts, the SCHEMA-*
observers and resource cleanup see the fuzzing traffic like any other check's. The few private parts
of Schemathesis this needs are in ``conformance/_schemathesis_private.py``, each pinned by a test.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from conformance._threads import build_character_tables, make_ast_parse_thread_safe
from conformance.checks.auth import ALL_OPERATIONS
from conformance.checks.stateful_sequences import RESOURCE_AVAILABLE, USE_AFTER_FREE, run_sequences
from conformance.context import CheckContext
from conformance.failures import FailureDetail, SkipRequirement, UndecidedRequirement
from conformance.requirements import Level, requirement
from conformance.target import MAX_429_RETRIES, TargetClient, is_back_pressure, read_bounded
from conformance.users import User

if TYPE_CHECKING:
    import requests

CONFIG_PATH = Path(__file__).resolve().parent.parent / "schemathesis.toml"
PHASES = ("examples", "coverage", "fuzzing", "stateful")
# Across a network the phases split in two engine runs at once, each on a user of its own (so one's requests
# cannot disturb the other's create-then-read): one operation's coverage cases alone are hundreds of requests
# in a row, longer than the other three phases together.
PHASE_GROUPS = (("coverage",), ("examples", "fuzzing", "stateful"))
SPLIT_FROM_WORKERS = 3  # the split pays off only where requests wait on the network (--workers auto gives 8)

# Schemathesis' built-in checks -> the requirement that reports their failures.
CHECK_REQUIREMENTS = {
    "not_a_server_error": "SCHEMA-NO-SERVER-ERROR",
    "status_code_conformance": "SCHEMA-STATUS-DOCUMENTED",
    "content_type_conformance": "SCHEMA-CONTENT-TYPE",
    "response_headers_conformance": "SCHEMA-RESPONSE-HEADERS",
    "response_schema_conformance": "SCHEMA-RESPONSE-BODY",
    "negative_data_rejection": "INPUT-NEGATIVE-REJECTED",
    "positive_data_acceptance": "INPUT-POSITIVE-ACCEPTED",
    "missing_required_header": "AUTH-HEADER-REQUIRED",
    "unsupported_method": "HTTP-METHOD-NOT-ALLOWED",
    # A 405 without the right Allow list is the same RFC 9110 rule as the 405 itself.
    "allow_header_conformance": "HTTP-METHOD-NOT-ALLOWED",
    "ignored_auth": "AUTH-IGNORED",
    "use_after_free": "STATEFUL-USE-AFTER-FREE",
    "ensure_resource_availability": "STATEFUL-RESOURCE-AVAILABLE",
}
_HINTS = {
    "not_a_server_error": "Validate input and handle edge values instead of failing",
    "status_code_conformance": "Answer with a documented status or document the new one",
    "content_type_conformance": "Send Content-Type: application/json; charset=utf-8",
    "response_headers_conformance": "Send the headers the response documents as required",
    "response_schema_conformance": "Return every required field with its documented type",
    "negative_data_rejection": "Reject input that breaks the schema with 400 or 422",
    "positive_data_acceptance": "Accept schema-valid input, or document the refusal in the spec",
    "missing_required_header": "Refuse a request without its required header (401 for Authorization)",
    "unsupported_method": "Answer an undocumented method with 405 and an Allow header",
    "allow_header_conformance": "List exactly the documented methods of the path in Allow",
    "ignored_auth": "Refuse missing and invalid credentials with 401 on every operation",
    "use_after_free": "A deleted resource must answer 404 afterwards",
    "ensure_resource_availability": "A resource the API just created must be readable through its links",
}
_STATEFUL_FACTOR = 1  # stateful scenarios per --max-examples
_PER_OPERATION = 3  # failures kept per (requirement, operation); Schemathesis repeats them across phases


@dataclass(slots=True)
class SchemathesisRun:
    """What one engine run did; kept in ctx.memo["schemathesis"]."""

    fatal: str | None = None
    phases: dict[str, str] = field(default_factory=dict)  # phase -> "ran" or why it did not run
    checks_run: Counter[str] = field(default_factory=Counter)  # check name -> cases it judged
    stateful_statuses: Counter[str] = field(default_factory=Counter)  # "DELETE 200" seen in the stateful phase
    back_pressure: int = 0  # check failures left unjudged: the answer was a 429 the run could not wait out
    # Recorded calls per phase, checks' follow-up calls (ignored_auth, unsupported_method) included;
    # `requests` also counts the capability probes that precede every phase.
    phase_interactions: Counter[str] = field(default_factory=Counter)
    failures: dict[str, list[FailureDetail]] = field(default_factory=dict)
    unmapped: list[FailureDetail] = field(default_factory=list)  # failures of checks with no requirement
    errors: list[str] = field(default_factory=list)
    requests: int = 0
    duration_s: float = 0.0

    def phase_ran(self, phase: str) -> bool:
        return self.phases.get(phase) == "ran"


# --- traffic ------------------------------------------------------------------------------------
class _Relay:
    """Records each request Schemathesis sends as an Exchange the whole suite sees."""

    def __init__(self, client: TargetClient, sent_for: str) -> None:
        self.client = client
        self.sent_for = sent_for  # the requirement whose check started the run: its engine's threads send for it
        self.count = 0
        self.sequence_of: dict[str, int] = {}  # Schemathesis case id -> the run's request number
        self._lock = threading.Lock()
        self._base_path = urlsplit(client.base_url).path.rstrip("/")

    def deliver(
        self,
        request: requests.PreparedRequest,
        status: int,
        headers: list[tuple[str, str]],
        body: bytes,
        elapsed_s: float,
    ) -> None:
        method = str(request.method or "GET").upper()
        url = str(request.url or "")
        path = urlsplit(url).path
        path = path[len(self._base_path) :] if path.startswith(self._base_path) else path
        sent = {str(name): str(value) for name, value in request.headers.items()}
        exchange = self.client.exchange(
            method,
            url,
            path,
            request_headers=sent,
            request_body=_body_bytes(request.body),
            status=status,
            headers=headers,
            body=body,
            elapsed_s=elapsed_s,
        )
        # Worker threads deliver concurrently; the client records one at a time.
        self.client.record(exchange, sent_for=self.sent_for)
        with self._lock:
            self.count += 1
            case_id = sent.get("X-Schemathesis-TestCaseId")
            if case_id:
                self.sequence_of[case_id] = exchange.sequence


def _body_bytes(body: object) -> bytes | None:
    """A prepared body as bytes (form bodies are str; a streamed body is not kept)."""
    if isinstance(body, str):
        return body.encode()
    return bytes(body) if isinstance(body, bytes | bytearray) else None


def _session_preparer(relay: _Relay) -> Callable[[requests.Session], None]:
    """What every session Schemathesis sends on gets: a bounded adapter and no redirect followed.

    The adapter is where each of Schemathesis' requests reaches the network (its workers', its checks'
    follow-ups and its capability probes'), so it keeps TargetClient's promises for the fuzzing traffic in
    one place: the circuit breaker (no request once it is open, every network failure counted), the total
    deadline of --timeout and the body cap; and it records each answered request (relay.deliver). No
    redirect is followed: a 302 loop must not become 30 requests. (The --rate-limit clock is kept by the
    transport, before Schemathesis starts timing the answer.)
    """
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.exceptions import DecodeError, ProtocolError, ReadTimeoutError

    from conformance import _schemathesis_private as private

    client = relay.client

    def chunks(response: requests.Response) -> Iterator[bytes]:
        try:
            while chunk := response.raw.read1(64 * 1024, decode_content=True):
                yield chunk
        except ReadTimeoutError as exc:
            raise requests.ReadTimeout(exc, request=response.request) from None
        except ProtocolError as exc:
            raise requests.exceptions.ChunkedEncodingError(exc, request=response.request) from None
        except DecodeError as exc:
            raise requests.exceptions.ContentDecodingError(exc, request=response.request) from None

    class BoundedAdapter(HTTPAdapter):
        def send(
            self,
            request: requests.PreparedRequest,
            stream: bool = False,
            timeout: Any = None,
            verify: Any = True,
            cert: Any = None,
            proxies: Any = None,
        ) -> requests.Response:
            # Documented back-pressure (429 with Retry-After) is waited out and the request re-sent, as
            # TargetClient does for the suite's own requests: Schemathesis judges the answer after it.
            waited = 0.0
            for _ in range(MAX_429_RETRIES):
                response = self.send_once(request, timeout, verify, cert, proxies)
                delay = client.back_pressure(response.status_code, response.headers, response.content, waited=waited)
                if delay is None:
                    return response
                client.wait_out(delay)
                waited += delay
            return self.send_once(request, timeout, verify, cert, proxies)

        def send_once(
            self, request: requests.PreparedRequest, timeout: Any, verify: Any, cert: Any, proxies: Any
        ) -> requests.Response:
            if client.stopped is not None:
                raise requests.ConnectionError(f"the target stopped answering: {client.stopped}", request=request)
            where = f"{request.method} {client.redactor.text(str(request.url))}"
            started = time.perf_counter()
            try:
                response = super().send(
                    request, stream=True, timeout=timeout, verify=verify, cert=cert, proxies=proxies
                )
                try:
                    body, complete = read_bounded(chunks(response), started + client.timeout_s)
                    # A connection read to its end is reused; one abandoned midway is dropped.
                    private.keep_read_body(response, body, reuse_connection=complete is True)
                finally:
                    response.close()
            except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as exc:
                client.record_failure(f"{where}: {type(exc).__name__}")
                raise
            if complete is None:
                client.record_failure(f"{where}: no complete answer within --timeout {client.timeout_s:g} s")
                raise requests.ReadTimeout(f"no complete answer within {client.timeout_s:g} s", request=request)
            if not complete:
                client.record_failure(f"{where}: a body larger than {len(body) // 1024} KiB")
                raise requests.exceptions.ContentDecodingError(
                    f"the body is larger than {len(body) // 1024} KiB; not read to its end", request=request
                )
            client.record_answer()
            headers = [(str(name), str(value)) for name, value in response.raw.headers.items()]
            relay.deliver(request, response.status_code, headers, body, time.perf_counter() - started)
            return response

    def prepare(session: requests.Session) -> None:
        if isinstance(session.get_adapter("http://"), BoundedAdapter):
            return  # prepared already (a worker's session is reused for every case)
        adapter = BoundedAdapter()
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        private.follow_no_redirect(session)

    return prepare


# --- the run ------------------------------------------------------------------------------------
def _load_schema(ctx: CheckContext, phases: tuple[str, ...], user: User) -> Any:
    import schemathesis
    from schemathesis.config import SchemathesisConfig

    if ctx.workers > 1:
        make_ast_parse_thread_safe()  # Schemathesis' workers are threads
        build_character_tables()
    config = SchemathesisConfig.from_path(CONFIG_PATH)
    config.update(seed=ctx.seed, max_failures=None)
    schema: Any = schemathesis.openapi.from_path(ctx.contract.path, config=config)
    if ctx.left_out:  # operations the target does not offer (--not-implemented) are not fuzzed
        schema = schema.exclude(operation_id=sorted(ctx.left_out))
    schema.config.update(
        base_url=ctx.client.base_url,
        headers={"Authorization": f"Bearer {user.token}"},
        workers=max(1, ctx.workers),
        request_timeout=ctx.client.timeout_s,
        # Like TargetClient: a redirect is the answer under test, never followed (a 302 loop is one request).
        max_redirects=0,
    )
    schema.config.phases.update(phases=list(phases))
    schema.config.checks.update(included_check_names=["all"])
    schema.config.generation.update(max_examples=ctx.max_examples)
    # One stateful scenario is one random walk over links across the whole API, not an example of one
    # operation. Whether a walk reaches a successful DELETE no longer decides a verdict (the stateful
    # requirements' own create/delete sequences always judge one): the walks add to them at the run's budget.
    schema.config.phases.stateful.generation.update(max_examples=ctx.max_examples * _STATEFUL_FACTOR)
    return schema


def run_schemathesis(ctx: CheckContext) -> None:
    """Run Schemathesis once per suite run; later calls (from any worker) reuse ctx.memo["schemathesis"]."""
    ctx.once("schemathesis", lambda: _run(ctx))


def _phase_groups(ctx: CheckContext) -> list[tuple[tuple[str, ...], User]]:
    """The engine runs of this suite run: every phase on user A, or two groups at once when that is faster."""
    if ctx.workers < SPLIT_FROM_WORKERS or ctx.factory is None:
        return [(PHASES, ctx.user_a)]
    try:
        other = ctx.disposable_user()
    except (SkipRequirement, UndecidedRequirement):  # the factory failed: one run on user A still decides
        return [(PHASES, ctx.user_a)]
    return [(PHASE_GROUPS[0], ctx.user_a), (PHASE_GROUPS[1], other)]


def _run(ctx: CheckContext) -> SchemathesisRun:
    started = time.perf_counter()
    run = SchemathesisRun()
    relay = _Relay(ctx.client, ctx.requirement_id)
    try:
        from conformance import _schemathesis_private as private

        prepare = _session_preparer(relay)
        # Every request goes through the suite's sessions: those the engine makes and those its checks' follow-ups
        # would open (the transport), each paced by the client's clock, bounded and recorded (the sessions' adapter).
        transport = private.SessionTransport(prepare, pace=ctx.client.pace)
        schemas = []
        for phases, user in _phase_groups(ctx):
            ctx.redactor.add(user.token)
            schema = _load_schema(ctx, phases, user)
            private.use_transport(schema, transport)
            schemas.append(schema)
        events = _Events(ctx, relay, run)
        with private.engine_sessions(prepare):
            if len(schemas) == 1:
                _execute(ctx, schemas[0], events)
            else:
                contexts = [contextvars.copy_context() for _ in schemas]
                with ThreadPoolExecutor(max_workers=len(schemas), thread_name_prefix="kesk-st") as pool:
                    futures = [
                        pool.submit(context.run, _execute, ctx, schema, events)
                        for context, schema in zip(contexts, schemas, strict=True)
                    ]
                    for future in futures:
                        future.result()
    except Exception as exc:  # a broken spec or config must decide nothing, not crash every requirement
        run.fatal = f"Schemathesis could not run: {type(exc).__name__}: {ctx.redactor.text(str(exc))}"
    run.requests = relay.count
    run.duration_s = time.perf_counter() - started
    merged: dict[str, list[FailureDetail]] = ctx.memo.setdefault("schemathesis-failures", {})
    for requirement_id, failures in run.failures.items():
        merged.setdefault(requirement_id, []).extend(failures)
    return run


class _Events:
    """What the engine runs of one suite run report into, one event at a time (they may run at once)."""

    def __init__(self, ctx: CheckContext, relay: _Relay, run: SchemathesisRun) -> None:
        self.ctx = ctx
        self.relay = relay
        self.run = run
        self.seen: set[tuple[str, str, str, str]] = set()
        self.lock = threading.Lock()

    def take(self, event: Any) -> None:
        with self.lock:
            _take(self.ctx, self.run, self.relay, event, self.seen)


def _execute(ctx: CheckContext, schema: Any, events: _Events) -> None:
    from schemathesis.engine import from_schema

    stream = from_schema(schema).execute()
    for event in stream:
        if ctx.client.stopped is not None or ctx.client.halted:
            # the circuit breaker opened, or the run is interrupted (Ctrl-C, --maxfail): nothing more to decide
            stream.stop()
        events.take(event)
    with events.lock:
        if ctx.client.stopped is not None:
            events.run.fatal = f"the target stopped answering: {ctx.client.stopped}"
        elif ctx.client.halted:
            events.run.fatal = ctx.client.halt_reason


def _take(
    ctx: CheckContext, run: SchemathesisRun, relay: _Relay, event: Any, seen: set[tuple[str, str, str, str]]
) -> None:
    from schemathesis.engine import events

    if isinstance(event, events.PhaseFinished):
        _phase_finished(run, event)
    elif isinstance(event, events.ScenarioFinished):
        _collect(ctx, run, relay, event, seen)
    elif isinstance(event, events.NonFatalError):
        run.errors.append(ctx.redactor.text(f"{event.label}: {event.info.title}: {event.info.message}"))
    elif isinstance(event, events.FatalError):
        run.fatal = ctx.redactor.text(f"Schemathesis stopped: {type(event.exception).__name__}: {event.exception}")
    elif isinstance(event, events.EngineFinished):
        for failure in event.failures:  # class-based checks' after_run verdicts: no case, no request
            name = failure.checks[0] if failure.checks else type(failure).__name__
            _add(
                ctx,
                run,
                seen,
                name=name,
                label=failure.operation or "",
                failure=failure,
                curl="",
                response=None,
                steps=(),
                request_number=None,
            )


def _phase_finished(run: SchemathesisRun, event: Any) -> None:
    from schemathesis.engine import Status

    phase = event.phase
    if phase.name.value not in PHASES:
        return
    if event.status == Status.SKIP:
        reason = phase.skip_reason.value.replace("_", " ") if phase.skip_reason else "skipped"
        run.phases.setdefault(phase.name.value, f"the {phase.name.value} phase did not run: {reason}")
    else:
        run.phases[phase.name.value] = "ran"


def _collect(
    ctx: CheckContext, run: SchemathesisRun, relay: _Relay, event: Any, seen: set[tuple[str, str, str, str]]
) -> None:
    recorder = event.recorder
    stateful = event.phase.value == "stateful"
    run.phase_interactions[event.phase.value] += len(recorder.interactions)
    for case_id, node in recorder.cases.items():
        interaction = recorder.interactions.get(case_id)
        if stateful and interaction is not None and interaction.response is not None:
            run.stateful_statuses[f"{node.value.method.upper()} {interaction.response.status_code}"] += 1
    for case_id, checks in recorder.checks.items():
        for check in checks:
            run.checks_run[check.name] += 1
            info = check.failure_info
            if info is None:
                continue
            failing_id = info.failure.case_id or case_id
            node = recorder.cases.get(failing_id) or recorder.cases.get(case_id)
            label = node.value.operation.label if node is not None else (info.failure.operation or "")
            response = recorder.find_response(case_id=failing_id)
            if response is not None and is_back_pressure(response.status_code, response.content):
                run.back_pressure += 1  # a documented 429 the run could not wait out: no verdict on the request
                continue
            steps = tuple(f"{step.method} {step.path}" for step in info.steps) if len(info.steps) > 1 else ()
            _add(
                ctx,
                run,
                seen,
                name=check.name,
                label=label,
                failure=info.failure,
                curl=info.code_sample,
                response=response,
                steps=steps,
                request_number=relay.sequence_of.get(failing_id),
            )


def _add(
    ctx: CheckContext,
    run: SchemathesisRun,
    seen: set[tuple[str, str, str, str]],
    *,
    name: str,
    label: str,
    failure: Any,
    curl: str,
    response: Any,
    steps: tuple[str, ...],
    request_number: int | None,
) -> None:
    operation = _operation_id(ctx, label)
    title = str(failure.title or type(failure).__name__)
    message = str(failure.message or "")
    key = (name, operation, title, message)
    if key in seen:  # the same violation, found again by a later phase or a reproduction
        return
    seen.add(key)
    detail = _detail(
        ctx,
        name=name,
        operation=operation,
        title=title,
        message=message,
        curl=curl,
        response=response,
        steps=steps,
        request_number=request_number,
    )
    requirement_id = CHECK_REQUIREMENTS.get(name)
    if requirement_id is None:
        run.unmapped.append(detail)
        return
    ctx.sightings.saw(
        requirement_id,
        request_number=request_number or ctx.client.sent,
        expected=detail.expected,
        actual=detail.actual,
    )
    kept = run.failures.setdefault(requirement_id, [])
    if sum(1 for item in kept if item.operation == operation) < _PER_OPERATION:
        kept.append(detail)


def _operation_id(ctx: CheckContext, label: str) -> str:
    """'GET /user/emails/{email_id}' -> 'getUserEmail' (the label itself when it names no operation)."""
    method, _, path = label.partition(" ")
    op = ctx.operations.resolve(method, path) if path else None
    return op.operation_id if op else label


def _detail(
    ctx: CheckContext,
    *,
    name: str,
    operation: str,
    title: str,
    message: str,
    curl: str,
    response: Any,
    steps: tuple[str, ...],
    request_number: int | None,
) -> FailureDetail:
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    wanted = [line for line in lines if line.startswith("Expected")]
    other = [line for line in lines if not line.startswith("Expected")]
    expected = f"{name}: {'; '.join(wanted) if wanted else 'no ' + title.lower()}"
    actual = title + (f" ({'; '.join(other)})" if other else "")
    if response is not None:
        body = ctx.redactor.body(response.content)
        actual += f" -> {response.status_code} {body[:300] + '...' if len(body) > 300 else body}".rstrip()
    return FailureDetail(
        operation=operation,
        expected=ctx.redactor.text(expected),
        actual=ctx.redactor.text(actual),
        hint=_HINTS.get(name, ""),
        curl=_one_curl(ctx, curl),
        steps=tuple(ctx.redactor.text(step) for step in steps),
        # The failing request's own number (from its X-Schemathesis-TestCaseId); else the count so far.
        request_number=request_number if request_number is not None else ctx.client.sent,
    )


def _one_curl(ctx: CheckContext, sample: str) -> str:
    """Schemathesis' reproduction (already [Filtered]) with every known secret blanked as well."""
    lines = [line.strip() for line in sample.splitlines() if line.strip() and not line.strip().startswith("#")]
    # Our redactor expects 'Authorization: <scheme> <value>'; give the mask that shape so it stays one word.
    text = " && ".join(lines).replace("Authorization: [Filtered]", "Authorization: Bearer [REDACTED]")
    return ctx.redactor.text(text)


# --- requirements -------------------------------------------------------------------------------
def _report(ctx: CheckContext, requirement_id: str, *, phase: str | None = None, checks: tuple[str, ...] = ()) -> None:
    """Shared body of the requirements below: run once, skip with a reason when nothing was judged."""
    run_schemathesis(ctx)
    run: SchemathesisRun = ctx.memo["schemathesis"]
    failures = run.failures.get(requirement_id, [])
    ctx.failures.extend(failures)  # a violation found before a fatal stop still stands
    if run.fatal:
        raise UndecidedRequirement(run.fatal)
    if failures:
        return
    if phase is not None and not run.phase_ran(phase):
        raise SkipRequirement(run.phases.get(phase, f"the {phase} phase did not run"))
    if checks and not any(run.checks_run[name] for name in checks):
        never = f"Schemathesis never applied {' or '.join(checks)} in this run"
        if run.errors:  # the cases it would have judged ended in errors (network, unreadable answers)
            raise UndecidedRequirement(f"{never}: {len(run.errors)} error(s), the first: {run.errors[0]}")
        raise SkipRequirement(never)


@requirement(
    "INPUT-NEGATIVE-REJECTED",
    level=Level.MUST,
    area="schemathesis",
    title="A request that breaks the schema is rejected",
    cites=("spec:/components/responses/BadRequest", "spec:/components/responses/ValidationFailed"),
    operations=ALL_OPERATIONS,
)
def negative_input_rejected(ctx: CheckContext) -> None:
    """Schemathesis' coverage and fuzzing phases send schema-violating input to every operation."""
    _report(ctx, "INPUT-NEGATIVE-REJECTED", checks=("negative_data_rejection",))


@requirement(
    "INPUT-POSITIVE-ACCEPTED",
    level=Level.MUST,
    area="schemathesis",
    title="A schema-valid request is accepted unless the spec documents the refusal",
    cites=("spec:/info/description",),
    operations=ALL_OPERATIONS,
)
def positive_input_accepted(ctx: CheckContext) -> None:
    """Schema-valid cases of every phase; documented refusals come from conformance/schemathesis.toml."""
    _report(ctx, "INPUT-POSITIVE-ACCEPTED", checks=("positive_data_acceptance",))


@requirement(
    "AUTH-HEADER-REQUIRED",
    level=Level.MUST,
    area="schemathesis",
    title="A request without its required Authorization header is refused with 401",
    cites=("spec:/components/securitySchemes/bearerAuth", "spec:/components/responses/Unauthorized"),
    operations=ALL_OPERATIONS,
)
def header_required(ctx: CheckContext) -> None:
    """The coverage phase drops the Authorization header from every operation."""
    _report(ctx, "AUTH-HEADER-REQUIRED", phase="coverage", checks=("missing_required_header",))


@requirement(
    "AUTH-IGNORED",
    level=Level.MUST,
    area="schemathesis",
    title="Declared authentication is enforced",
    cites=("spec:/components/securitySchemes/bearerAuth",),
    operations=ALL_OPERATIONS,
)
def auth_not_ignored(ctx: CheckContext) -> None:
    """Schemathesis replays successful calls without and with invalid credentials."""
    _report(ctx, "AUTH-IGNORED", checks=("ignored_auth",))


@requirement(
    "HTTP-METHOD-NOT-ALLOWED",
    level=Level.SHOULD,
    area="schemathesis",
    title="An undocumented method answers 405 with an Allow header",
    cites=("rfc:9110#15.5.6",),
    operations=ALL_OPERATIONS,
)
def method_not_allowed(ctx: CheckContext) -> None:
    """The coverage phase sends methods the spec does not document for each path."""
    _report(ctx, "HTTP-METHOD-NOT-ALLOWED", phase="coverage", checks=("unsupported_method",))


@requirement(
    "STATEFUL-USE-AFTER-FREE",
    level=Level.MUST,
    area="schemathesis",
    title="A deleted resource is gone",
    cites=("spec:/components/responses/NotFound", "seed:removeUserEmail"),
    operations=ALL_OPERATIONS,
)
def use_after_free(ctx: CheckContext) -> None:
    """Deletes an email address, a phone number, a favourite and an FCM token, then uses each through every
    operation that takes its id (404 not_found each); Schemathesis' stateful link chains add to them."""
    _report_stateful(ctx, USE_AFTER_FREE)


@requirement(
    "STATEFUL-RESOURCE-AVAILABLE",
    level=Level.MUST,
    area="schemathesis",
    title="A created resource is available",
    cites=("spec:/paths/~1user~1emails/post/responses/201", "seed:addUserEmail"),
    operations=ALL_OPERATIONS,
)
def resource_available(ctx: CheckContext) -> None:
    """Creates an email address, a phone number, a favourite and an FCM token and uses each through every
    operation that takes its id (none answers 404); Schemathesis' link chains from a 201 add to them."""
    _report_stateful(ctx, RESOURCE_AVAILABLE)


def _report_stateful(ctx: CheckContext, requirement_id: str) -> None:
    """The deterministic sequences' verdict (every run judges them), and what Schemathesis' walks found."""
    findings = run_sequences(ctx)
    ctx.failures.extend(findings.failures.get(requirement_id, []))
    run_schemathesis(ctx)
    run: SchemathesisRun = ctx.memo["schemathesis"]
    ctx.failures.extend(run.failures.get(requirement_id, []))
    if ctx.failures:
        return
    if run.fatal:
        raise UndecidedRequirement(run.fatal)
    if not findings.judged.get(requirement_id):
        raise SkipRequirement("no resource could be created and deleted, so none was used after its deletion")


REQUIREMENTS = (
    negative_input_rejected,
    positive_input_accepted,
    header_required,
    auth_not_ignored,
    method_not_allowed,
    use_after_free,
    resource_available,
)
