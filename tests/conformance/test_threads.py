"""The utf-8 character table the suite writes for Hypothesis: right, and the file Hypothesis reads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conformance._threads import UTF8_TABLE


def _encodes_and_round_trips(code_point: int) -> bool:
    char = chr(code_point)
    try:
        return char.encode("utf-8").decode("utf-8") == char
    except UnicodeError:
        return False


def test_the_utf8_table_is_what_hypothesis_would_compute() -> None:
    encodable, round_trip_failures = UTF8_TABLE
    assert round_trip_failures == []
    inside = [False] * (sys.maxunicode + 1)
    for low, high in encodable:
        inside[low : high + 1] = [True] * (high - low + 1)
    wrong = [hex(point) for point in range(sys.maxunicode + 1) if inside[point] != _encodes_and_round_trips(point)]
    assert wrong == []


# In a process of its own: Hypothesis memoizes the table for the life of the process.
READ_BACK = """
import gzip, json, sys
from hypothesis.internal.charmap import charmap_file, intervals_from_codec
from conformance._threads import UTF8_TABLE_NAME, write_utf8_table
if sys.argv[1] == "marker":  # a table no computation gives: seen only if Hypothesis reads the file
    path = charmap_file(UTF8_TABLE_NAME)
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.GzipFile(path, "wb") as table:
        table.write(json.dumps([[[65, 90]], []]).encode())
write_utf8_table()
print(json.dumps([list(map(list, part.intervals)) for part in intervals_from_codec("utf-8")]))
"""


def _read_back(home: Path, mode: str) -> object:
    env = {**os.environ, "HYPOTHESIS_STORAGE_DIRECTORY": str(home)}
    done = subprocess.run(
        [sys.executable, "-c", READ_BACK, mode], env=env, capture_output=True, text=True, check=True, timeout=60
    )
    return json.loads(done.stdout)


def test_hypothesis_reads_the_table_from_the_file_the_suite_writes(tmp_path: Path) -> None:
    assert _read_back(tmp_path / "marked", "marker") == [[[65, 90]], []]  # the file is read, and kept
    assert _read_back(tmp_path / "fresh", "fresh") == [list(UTF8_TABLE[0]), []]
