"""The benchmark's pure parts: wrk report parsing, percentiles, the pacer's schedule, raw HTTP framing.

No load is generated here: these run in milliseconds.
"""

from __future__ import annotations

import itertools
import json
import math
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # bench/ is a package at the repository root, next to the ones it measures
    sys.path.insert(0, str(ROOT))

from bench.bench_load import (  # noqa: E402
    RequestFactory,
    build_request,
    parse_response_head,
    percentile,
    schedule_offsets,
    summarise,
)
from bench.bench_wrk import parse_duration_ms, parse_wrk_output  # noqa: E402

# Recorded from wrk 4.1.0 (Debian) against the reference server: add-email, all 201.
WRK_ADD_EMAIL = """\
Running 2s test @ http://127.0.0.1:37489/v1/user/emails
  1 threads and 4 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     3.00ms    1.86ms  14.42ms   87.32%
    Req/Sec     1.44k   562.33     2.28k    50.00%
  Latency Distribution
     50%    2.39ms
     75%    2.96ms
     90%    5.45ms
     99%   11.10ms
  2871 requests in 2.01s, 0.87MB read
Requests/sec:   1429.52
Transfer/sec:    443.81KB
"""

# Recorded the same way with a wrong token: every answer a 401, latencies in microseconds.
WRK_ALL_401 = """\
Running 1s test @ http://127.0.0.1:37489/v1/users/me
  1 threads and 4 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     0.88ms  171.03us   3.84ms   94.21%
    Req/Sec     4.59k   155.49     4.89k    80.00%
  Latency Distribution
     50%  848.00us
     75%    0.90ms
     90%    0.96ms
     99%    1.39ms
  4566 requests in 1.00s, 1.22MB read
  Non-2xx or 3xx responses: 4566
Requests/sec:   4562.18
Transfer/sec:      1.22MB
"""


def test_wrk_report_is_parsed() -> None:
    result = parse_wrk_output(WRK_ADD_EMAIL)
    assert result["requests"] == 2871
    assert result["elapsed_s"] == 2.01
    assert result["rps"] == 1429.52
    assert (result["p50_ms"], result["p75_ms"], result["p90_ms"], result["p99_ms"]) == (2.39, 2.96, 5.45, 11.1)
    assert result["errors"] == 0
    assert result["socket_errors"] == {"connect": 0, "read": 0, "write": 0, "timeout": 0}


def test_wrk_non_2xx_answers_are_errors_and_microseconds_convert() -> None:
    result = parse_wrk_output(WRK_ALL_401)
    assert result["non_2xx"] == 4566
    assert result["errors"] == 4566
    assert result["p50_ms"] == 0.848


def test_wrk_socket_errors_are_counted() -> None:
    text = WRK_ADD_EMAIL.replace(
        "0.87MB read\n", "0.87MB read\n  Socket errors: connect 1, read 2, write 0, timeout 3\n"
    )
    result = parse_wrk_output(text)
    assert result["socket_errors"] == {"connect": 1, "read": 2, "write": 0, "timeout": 3}
    assert result["errors"] == 6


def test_wrk_report_without_latency_distribution_is_refused() -> None:
    without = "\n".join(line for line in WRK_ADD_EMAIL.splitlines() if "%" not in line or "Latency " in line)
    with pytest.raises(ValueError, match="--latency"):
        parse_wrk_output(without)
    with pytest.raises(ValueError, match="totals"):
        parse_wrk_output("")


@pytest.mark.parametrize(
    ("text", "ms"),
    [("812.00us", 0.812), ("4.51ms", 4.51), ("1.02s", 1020.0), ("1.00m", 60_000.0)],
)
def test_wrk_durations(text: str, ms: float) -> None:
    assert parse_duration_ms(text) == pytest.approx(ms)


def test_percentile_interpolates_like_numpy() -> None:
    values = [5.0, 1.0, 4.0, 2.0, 3.0]  # unsorted on purpose
    assert percentile(values, 0) == 1.0
    assert percentile(values, 50) == 3.0
    assert percentile(values, 100) == 5.0
    assert percentile(values, 25) == 2.0
    assert percentile(values, 90) == pytest.approx(4.6)
    assert percentile([7.0], 99) == 7.0
    assert math.isnan(percentile([], 50))
    with pytest.raises(ValueError):
        percentile(values, 101)


def test_p99_of_a_hundred_values() -> None:
    values = [float(i) for i in range(1, 101)]
    assert percentile(values, 99) == pytest.approx(99.01)
    assert summarise([v / 1000 for v in values])["p99_ms"] == pytest.approx(99.01)
    assert summarise([v / 1000 for v in values])["max_ms"] == 100.0


def test_schedule_is_evenly_spaced_at_the_rate() -> None:
    offsets = schedule_offsets(200, 10)
    assert len(offsets) == 2000
    assert offsets[0] == 0.0
    assert offsets[1] == pytest.approx(0.005)
    assert offsets[-1] == pytest.approx(9.995)
    gaps = {round(b - a, 9) for a, b in itertools.pairwise(offsets)}
    assert gaps == {0.005}


def test_schedule_counts_whole_requests_only() -> None:
    assert len(schedule_offsets(3, 1.5)) == 4  # 4.5 -> 4 sends, at 0, 1/3, 2/3, 1
    assert len(schedule_offsets(0.1 * 3, 10)) == 3  # float rounding must not lose a send
    with pytest.raises(ValueError):
        schedule_offsets(0, 10)


def test_request_bytes_and_unique_emails() -> None:
    raw = build_request("GET", "/v1/users/me", "127.0.0.1:8000", {"Authorization": "Bearer t"})
    assert raw == b"GET /v1/users/me HTTP/1.1\r\nHost: 127.0.0.1:8000\r\nAuthorization: Bearer t\r\n\r\n"
    factory = RequestFactory("add_email", "h:1", "/v1", "t", "px")
    first, second = factory.next(), factory.next()
    head, _, body = first.partition(b"\r\n\r\n")
    assert head.startswith(b"POST /v1/user/emails HTTP/1.1\r\n")
    assert b"Content-Type: application/json" in head
    assert f"Content-Length: {len(body)}".encode() in head
    assert json.loads(body) == {"email": "px-1@example.com"}
    assert json.loads(second.partition(b"\r\n\r\n")[2]) == {"email": "px-2@example.com"}


def test_response_head_parsing() -> None:
    head = parse_response_head(b"HTTP/1.1 201 Created\r\ncontent-length: 42\r\nlocation: /x\r\n\r\n")
    assert (head.status, head.content_length, head.keep_alive) == (201, 42, True)
    closing = parse_response_head(b"HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
    assert (closing.status, closing.keep_alive) == (401, False)
    assert parse_response_head(b"HTTP/1.1 204 No Content\r\n\r\n").content_length == 0
    with pytest.raises(ValueError):
        parse_response_head(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    with pytest.raises(ValueError):
        parse_response_head(b"garbage\r\n\r\n")
