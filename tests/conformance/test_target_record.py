"""TargetClient's public seams for another engine: exchange(), record() and pace().

The client's own requests and another engine's (Schemathesis) are counted by the same code:
one sequence of request numbers, one set of per-operation counts, the same observers.
"""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from conformance._spec import load_spec
from conformance.operations import OperationIndex
from conformance.redact import Redactor
from conformance.target import Exchange, TargetClient

BASE_URL = "http://target.invalid/api"
TOKEN = "secret-token-value-1234567890"


def _answer(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"id": 1, "email": "a@example.com"})


@pytest.fixture
def client() -> TargetClient:
    redactor = Redactor()
    redactor.add(TOKEN)
    return TargetClient(BASE_URL, OperationIndex(load_spec()), redactor, transport=httpx.MockTransport(_answer))


def _foreign(client: TargetClient, *, status: int = 201, body: bytes = b"{}") -> Exchange:
    """An exchange another engine sent: POST /user/emails with user A's token."""
    return client.exchange(
        "POST",
        f"{BASE_URL}/user/emails",
        "/user/emails",
        request_headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
        request_body=b'{"email": "a@example.com"}',
        status=status,
        headers=[("Content-Type", "application/json"), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")],
        body=body,
        elapsed_s=0.01,
    )


def test_an_exchange_is_resolved_cut_and_redacted_but_not_yet_recorded(client: TargetClient) -> None:
    exchange = _foreign(client, body=b"x" * (512 * 1024))
    assert exchange.operation_id == "addUserEmail" and exchange.path == "/user/emails"
    assert len(exchange.body) == 256 * 1024  # what the suite keeps of a body
    assert exchange.headers.get_list("set-cookie") == ["a=1", "b=2"]
    assert TOKEN not in exchange.curl and exchange.curl.startswith("curl ")
    assert exchange.sequence == 0 and client.sent == 0 and client.stats == {}


def test_the_clients_requests_and_another_engines_share_one_record(client: TargetClient) -> None:
    seen: list[Exchange] = []
    client.observers.append(seen.append)
    own = client.call("listUserEmails", token=TOKEN)
    foreign = _foreign(client)
    client.record(foreign)
    again = client.call("addUserEmail", token=TOKEN, json_body={"email": "b@example.com"})
    assert [own.sequence, foreign.sequence, again.sequence] == [1, 2, 3] and client.sent == 3
    assert seen == [own, foreign, again]
    assert client.stats["addUserEmail"].requests == 2
    assert client.stats["addUserEmail"].statuses == {201: 1, 200: 1}
    assert client.stats["listUserEmails"].requests == 1


def test_an_exchange_can_be_counted_without_being_observed(client: TargetClient) -> None:
    seen: list[Exchange] = []
    client.observers.append(seen.append)
    exchange = _foreign(client)
    client.record(exchange, observe=False)
    assert exchange.sequence == 1 and client.stats["addUserEmail"].requests == 1 and seen == []


def test_an_exchange_of_no_operation_is_numbered_but_counted_under_none(client: TargetClient) -> None:
    exchange = client.exchange(
        "GET",
        f"{BASE_URL}/",
        "/",
        request_headers={},
        request_body=None,
        status=404,
        headers=httpx.Headers(),
        body=b"",
        elapsed_s=0.0,
    )
    client.record(exchange)
    assert exchange.operation_id is None and exchange.sequence == 1 and client.stats == {}


def test_concurrent_records_are_numbered_once_each_and_observed_in_order(client: TargetClient) -> None:
    seen: list[int] = []
    client.observers.append(lambda exchange: seen.append(exchange.sequence))

    def send_many() -> None:
        for _ in range(200):
            client.record(_foreign(client))

    threads = [threading.Thread(target=send_many) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert client.sent == 800 and client.stats["addUserEmail"].requests == 800
    assert seen == list(range(1, 801))


def test_pace_keeps_one_clock_for_every_engine() -> None:
    client = TargetClient(BASE_URL, OperationIndex(load_spec()), Redactor(), rate_limit=20.0)
    started = time.monotonic()
    for _ in range(4):
        client.pace()
    assert time.monotonic() - started >= 3 / 20.0 * 0.9  # four requests: three intervals of 50 ms


def test_without_a_rate_limit_pace_does_not_wait() -> None:
    client = TargetClient(BASE_URL, OperationIndex(load_spec()), Redactor())
    started = time.monotonic()
    for _ in range(100):
        client.pace()
    assert time.monotonic() - started < 0.5
