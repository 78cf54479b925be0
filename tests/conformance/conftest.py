"""Sample RunResults for the report writers: one requirement per outcome, hostile text included; MailDev for the
tests of the real mail path."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator

import pytest

from bench.staging import MailDev, MailDevUnavailable, running_maildev
from conformance.failures import FailureDetail
from conformance.requirements import Level, Requirement
from conformance.results import Outcome, RequirementResult, RunResult
from conformance.stats import OperationStats

SCRIPT = "<script>alert('pwned')</script>"


def _never_called(ctx: object) -> None:
    raise AssertionError("the report writers never run checks")


def make_requirement(
    id: str, *, level: Level = Level.MUST, area: str = "auth", title: str = "", operations: tuple[str, ...] = ()
) -> Requirement:
    return Requirement(
        id=id,
        level=level,
        area=area,
        title=title or f"{id.lower()} holds",
        quote=f"The server {level.value} do what {id} says.",
        source="spec",
        operations=operations,
        needs=frozenset(),
        check=_never_called,
    )


@pytest.fixture
def hostile() -> str:
    """Server text the sample failure carries; reports must show it, never run it."""
    return SCRIPT


@pytest.fixture
def documented_statuses() -> dict[str, list[str]]:
    return {
        "getMyProfile": ["200", "401"],
        "addUserEmail": ["201", "400", "401", "409"],
        "removeUserEmail": ["204", "401", "404"],
        "requestDataExport": ["202", "4XX"],
        "confirmDataExport": ["200", "401"],  # documented but never called in the sample run
    }


@pytest.fixture
def run_result() -> RunResult:
    """Six requirements over three areas: passed, failed MUST (two violations), failed SHOULD, skipped, error."""
    email_failure = FailureDetail(
        operation="addUserEmail",
        expected="409 when the address is already registered",
        actual=f'201 with body {{"email": "{SCRIPT}@example.com"}}',
        hint="Check uniqueness before inserting the address.",
        curl="curl -X POST 'http://127.0.0.1:8000/v1/users/me/emails' -H 'Authorization: Bearer [REDACTED]'",
        steps=("state = EmailMachine()", "state.add_email(email='a@example.com')"),
    )
    second_failure = FailureDetail(
        operation="removeUserEmail",
        expected="404 for an unknown email id",
        actual="500 Internal Server Error",
        curl="curl -X DELETE 'http://127.0.0.1:8000/v1/users/me/emails/999' -H 'Authorization: Bearer [REDACTED]'",
    )
    results = [
        RequirementResult(
            make_requirement("AUTH-401", operations=("getMyProfile", "addUserEmail"), title="Missing token is 401"),
            Outcome.PASSED,
            requests=30,
            duration_s=0.41,
        ),
        RequirementResult(
            make_requirement(
                "EMAIL-PRIMARY-UNIQUE",
                area="email",
                title="Exactly one primary email",
                operations=("addUserEmail", "removeUserEmail"),
            ),
            Outcome.FAILED,
            failures=[email_failure, second_failure],
            requests=12,
            duration_s=1.2,
        ),
        RequirementResult(
            make_requirement("EMAIL-LIST-ORDER", level=Level.SHOULD, area="email", operations=("addUserEmail",)),
            Outcome.FAILED,
            failures=[FailureDetail("addUserEmail", "newest first", "oldest first", hint="Sort by created_at desc.")],
            requests=3,
            duration_s=0.05,
        ),
        RequirementResult(
            make_requirement("EMAIL-VERIFY-TOKEN", area="email", operations=("addUserEmail",)),
            Outcome.PASSED,
            requests=5,
            duration_s=0.2,
        ),
        RequirementResult(
            make_requirement("GDPR-OTP-SINGLE-USE", area="gdpr", operations=("requestDataExport",)),
            Outcome.SKIPPED,
            reason="needs an inbox; pass --inbox",
        ),
        RequirementResult(
            make_requirement("GDPR-EXPORT-OWNER", area="gdpr", operations=("requestDataExport",)),
            Outcome.ERROR,
            reason="connection reset by the target after 3 retries",
            requests=1,
        ),
    ]
    operations = {
        "getMyProfile": OperationStats(requests=20, statuses=Counter({200: 5, 401: 15})),
        "addUserEmail": OperationStats(requests=25, statuses=Counter({201: 20, 401: 5})),  # 400, 409 never seen
        "removeUserEmail": OperationStats(requests=5, statuses=Counter({204: 4, 500: 1})),
        "requestDataExport": OperationStats(requests=1, statuses=Counter({429: 1})),
    }
    return RunResult(
        target={"base_url": "http://127.0.0.1:8000/v1", "embedded_reference_server": True, "faults": [], "inbox": None},
        seed=4242,
        strict=False,
        results=results,
        operations=operations,
        duration_s=3.25,
    )


@pytest.fixture(scope="module")
def maildev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MailDev]:
    """MailDev from the project's lock file (bench/staging.py). Without it the test skips, saying what to install;
    `KESK_REQUIRE_MAILDEV=1` (set by .ci/run) makes it fail instead, so CI cannot pass without having run it."""
    try:
        with running_maildev(tmp_path_factory.mktemp("maildev")) as running:
            yield running
    except MailDevUnavailable as exc:
        if os.environ.get("KESK_REQUIRE_MAILDEV") == "1":
            pytest.fail(f"{exc}; KESK_REQUIRE_MAILDEV=1 forbids skipping this test", pytrace=False)
        pytest.skip(str(exc))
