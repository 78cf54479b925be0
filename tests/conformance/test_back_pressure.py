"""429 done right: documented back-pressure is waited out and re-sent; too_many_attempts is an answer."""

from __future__ import annotations

import json

import httpx
import pytest

from conformance._spec import load_spec
from conformance.failures import UndecidedRequirement
from conformance.operations import OperationIndex
from conformance.redact import Redactor
from conformance.target import TargetClient, is_back_pressure


def _answers(*bodies: tuple[int, str | None, str]) -> tuple[list[httpx.Request], httpx.MockTransport]:
    """A transport answering in turn (status, Retry-After, code); the last answer repeats."""
    sent: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        status, retry_after, code = bodies[min(len(sent), len(bodies) - 1)]
        sent.append(request)
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        return httpx.Response(status, headers=headers, json={"code": code, "message": code})

    return sent, httpx.MockTransport(handle)


def _client(transport: httpx.MockTransport, **kwargs: float) -> TargetClient:
    client = TargetClient(
        "http://target.test/v1", OperationIndex(load_spec()), Redactor(), transport=transport, **kwargs
    )
    client.wait_out = lambda delay: None  # type: ignore[method-assign]  # the test measures waits, not time
    return client


def test_rate_limited_is_waited_out_and_sent_again() -> None:
    # Given a target that answers two documented 429 rate_limited, then the answer
    sent, transport = _answers((429, "1", "rate_limited"), (429, "2", "rate_limited"), (400, None, "invalid_code"))
    client = _client(transport)
    # When a code submission is sent
    answer = client.call("confirmAccountDeletion", token="t", json_body={"otp": "123456"})
    # Then the suite sees the answer, not the back-pressure, and the waits are accounted for
    assert answer.status == 400 and len(sent) == 3
    assert (client.back_pressure_retries, client.back_pressure_waited_s) == (2, 3.0)


def test_too_many_attempts_is_an_answer_returned_at_once() -> None:
    sent, transport = _answers((429, "1", "too_many_attempts"))
    answer = _client(transport).call("confirmAccountDeletion", token="t", json_body={"otp": "123456"})
    assert answer.status == 429 and len(sent) == 1


def test_the_runs_budget_of_waiting_bounds_every_request_together() -> None:
    # Given a target that always asks to slow down, and a run budget of 5 s of waiting
    _, transport = _answers((429, "2", "rate_limited"))
    client = _client(transport, max_total_wait_s=5.0)
    # When two requests are sent
    for _ in range(2):
        with pytest.raises(UndecidedRequirement, match="kept answering 429"):
            client.call("getMyProfile", token="t")
    # Then the waits stopped at the budget, and what was cut is counted
    assert client.back_pressure_waited_s <= 5.0
    assert client.back_pressure_cut >= 1


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (429, {"code": "rate_limited"}, True),
        (429, None, True),
        (429, {"code": "too_many_attempts"}, False),
        (400, {"code": "rate_limited"}, False),
    ],
)
def test_back_pressure_is_told_apart_from_a_verdict(status: int, body: object, expected: bool) -> None:
    assert is_back_pressure(status, json.dumps(body).encode() if body is not None else b"") is expected
