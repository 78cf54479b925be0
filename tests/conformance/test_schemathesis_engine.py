"""The Schemathesis-backed requirements against the embedded reference server.

Clean server: every Schemathesis requirement passes, and every request Schemathesis sent
reached the suite (observers, per-operation counts) for all 30 operations. Faulty server:
the requirement the fault names fails, and its reproduction carries no secret.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest

from conformance import users
from conformance._spec import load_spec
from conformance.catalogue import catalogue
from conformance.checks.auth import ALL_OPERATIONS
from conformance.checks.schemathesis_engine import CHECK_REQUIREMENTS, SchemathesisRun, run_schemathesis
from conformance.checks.stateful_sequences import SequenceFindings
from conformance.context import CheckContext
from conformance.failures import SkipRequirement
from conformance.operations import OperationIndex
from conformance.redact import Redactor
from conformance.target import Exchange, TargetClient
from conformance.users import User, UserFactory
from reference_server.embedded import running_server

pytestmark = pytest.mark.slow

SCHEMATHESIS_REQUIREMENTS = (
    "INPUT-NEGATIVE-REJECTED",
    "INPUT-POSITIVE-ACCEPTED",
    "AUTH-HEADER-REQUIRED",
    "AUTH-IGNORED",
    "HTTP-METHOD-NOT-ALLOWED",
    "STATEFUL-USE-AFTER-FREE",
    "STATEFUL-RESOURCE-AVAILABLE",
)
MAX_EXAMPLES = 5
SEED = 1  # with a fresh server the run is deterministic; this seed reaches successful DELETEs in the stateful phase


def _new_user(base_url: str) -> dict[str, str]:
    answer = httpx.post(f"{base_url}/_test/users", timeout=10)
    answer.raise_for_status()
    data: dict[str, str] = answer.json()
    return data


@dataclass
class CleanRun:
    ctx: CheckContext
    token: str
    seen: list[Exchange] = field(default_factory=list)
    outcomes: dict[str, str] = field(default_factory=dict)


def _run_requirements(base_url: str, *, workers: int, factory: UserFactory | None) -> Iterator[CleanRun]:
    """The seven requirements run the way runner.py runs them, with an observer counting exchanges."""
    user = _new_user(base_url)
    operations = OperationIndex(load_spec())
    redactor = Redactor()
    client = TargetClient(base_url, operations, redactor)
    ctx = CheckContext(
        client=client,
        operations=operations,
        redactor=redactor,
        user_a=User("A", user["token"], user["password"]),
        user_b=None,
        inbox=None,
        clock=None,
        factory=factory,
        allow_destructive=False,
        max_examples=MAX_EXAMPLES,
        seed=SEED,
        workers=workers,
    )
    run = CleanRun(ctx, user["token"])
    client.observers.append(run.seen.append)
    try:
        for requirement_id in SCHEMATHESIS_REQUIREMENTS:
            ctx.failures = []
            try:
                catalogue().get(requirement_id).check(ctx)
            except SkipRequirement as exc:
                run.outcomes[requirement_id] = f"skipped: {exc}"
                continue
            run.outcomes[requirement_id] = (
                "failed: " + "; ".join(f"{f.operation}: {f.actual}" for f in ctx.failures) if ctx.failures else "passed"
            )
        yield run
    finally:
        client.close()


@pytest.fixture(scope="module")
def clean() -> Iterator[CleanRun]:
    with running_server() as base_url:
        yield from _run_requirements(base_url, workers=1, factory=None)


def test_every_schemathesis_check_has_a_registered_requirement() -> None:
    assert set(CHECK_REQUIREMENTS.values()) <= {item.id for item in catalogue()}
    for requirement_id in SCHEMATHESIS_REQUIREMENTS:
        item = catalogue().get(requirement_id)
        assert item.area == "schemathesis" and set(item.operations) == set(ALL_OPERATIONS)


def test_clean_reference_server_passes_every_schemathesis_requirement(clean: CleanRun) -> None:
    # Then nothing failed and nothing was skipped: every phase ran and every check judged something
    assert clean.outcomes == dict.fromkeys(SCHEMATHESIS_REQUIREMENTS, "passed")
    run = clean.ctx.memo["schemathesis"]
    assert isinstance(run, SchemathesisRun)
    assert run.phases == dict.fromkeys(("examples", "coverage", "fuzzing", "stateful"), "ran")
    assert run.fatal is None


def test_schemathesis_ran_once_for_all_requirements(clean: CleanRun) -> None:
    # When a requirement asks again, the memoized run is reused: no new request
    sent = clean.ctx.client.sent
    run_schemathesis(clean.ctx)
    assert clean.ctx.client.sent == sent


def test_observers_saw_every_schemathesis_request_for_all_30_operations(clean: CleanRun) -> None:
    run: SchemathesisRun = clean.ctx.memo["schemathesis"]
    sequences: SequenceFindings = clean.ctx.memo["stateful-sequences"]
    # Every relayed request reached the observers and the client's totals (beside the stateful requirements'
    # own create/delete sequences)
    assert run.requests > 30 * MAX_EXAMPLES
    assert sequences.requests > 0
    assert len(clean.seen) == run.requests + sequences.requests == clean.ctx.client.sent
    stats = clean.ctx.client.stats
    assert set(stats) == set(ALL_OPERATIONS)
    assert all(stats[op].requests > 0 for op in ALL_OPERATIONS)
    assert sum(item.requests for item in stats.values()) == sum(1 for ex in clean.seen if ex.operation_id)
    # And what they saw includes Schemathesis' negative and unauthenticated traffic, not only happy paths
    statuses = {ex.status for ex in clean.seen}
    assert {200, 201, 401, 404, 422} <= statuses


def test_exchanges_show_no_secret(clean: CleanRun) -> None:
    for exchange in clean.seen:
        assert clean.token not in exchange.curl


class _RecordingFactory(users.TestSupportUserFactory):
    """The test-support factory, keeping the users it made."""

    made: list[User]

    def create(self, label: str) -> User:
        user = super().create(label)
        self.made = [*getattr(self, "made", []), user]
        return user


def test_across_a_network_fuzzing_and_stateful_run_beside_coverage_on_a_user_of_their_own() -> None:
    # When the engine runs on many workers (a remote target) and a user factory is offered
    with running_server() as base_url:
        factory = _RecordingFactory(base_url, Redactor())
        split = next(_run_requirements(base_url, workers=8, factory=factory))

    # Then every phase still runs and every requirement passes (use-after-free too: whether a random walk reaches
    # a successful DELETE is chance on eight threads, but the create/delete sequences always judge one)
    for requirement_id, outcome in split.outcomes.items():
        assert outcome == "passed", (requirement_id, outcome)
    assert set(split.outcomes) == set(SCHEMATHESIS_REQUIREMENTS)
    run: SchemathesisRun = split.ctx.memo["schemathesis"]
    assert run.phases == dict.fromkeys(("examples", "coverage", "fuzzing", "stateful"), "ran")
    # and the engine's requests went out under two users: user A (coverage) and a fresh user (the other phases);
    # the stateful requirements' create/delete sequences had a fresh user of their own
    assert len(factory.made) == 2
    sent_as = Counter(exchange.request_headers.get("Authorization", "") for exchange in split.seen)
    assert sent_as[f"Bearer {split.token}"] > 0
    assert all(sent_as[f"Bearer {user.token}"] > 0 for user in factory.made)
