"""Running checks on threads: what Python 3.11 needs for that.

CPython 3.11's ``ast.parse`` keeps its recursion bookkeeping per interpreter, not per thread, so two
threads parsing at once can fail with "SystemError: AST constructor recursion depth mismatch"
(fixed in 3.12). Hypothesis parses source (to describe lambdas) while it generates data, and the suite
runs Hypothesis machines and Schemathesis' workers on threads: on 3.11, parses take turns.

Hypothesis also builds its character tables on first use and memoizes them without a lock: they are
built once, before the threads start drawing text, on every Python. The one that costs (utf-8: Hypothesis
tries all 1.1 million code points, 2.4 s of CPU in every new Hypothesis folder, which a run's report
directory is) is known without trying: it is written where Hypothesis looks for it first.
"""

from __future__ import annotations

import ast
import gzip
import json
import sys
import threading
from typing import Any

__all__ = ["build_character_tables", "make_ast_parse_thread_safe"]

_LOCK = threading.Lock()
_ORIGINAL_PARSE = ast.parse
# The codecs whose tables are drawn from: Schemathesis' default alphabet and its header values.
_CODECS = ("utf-8", "ascii")
_TABLES_BUILT = threading.Event()
_TABLES_LOCK = threading.Lock()
# utf-8 encodes every code point but the surrogates (U+D800-U+DFFF) and decodes each back to itself: the
# encodable intervals and the (empty) non-round-tripping ones, as Hypothesis stores them.
UTF8_TABLE: tuple[list[list[int]], list[list[int]]] = ([[0, 0xD7FF], [0xE000, 0x10FFFF]], [])
# Private to Hypothesis 6.x (hypothesis.internal.charmap): the name its utf-8 table is cached under. If a
# later Hypothesis names it otherwise, it ignores this file and computes the table (slower, still right);
# tests/conformance/test_threads.py pins that this file is the one read.
UTF8_TABLE_NAME = "codec-v2-utf-8"


def _parse_in_turn(*args: Any, **kwargs: Any) -> Any:
    with _LOCK:
        return _ORIGINAL_PARSE(*args, **kwargs)


def make_ast_parse_thread_safe() -> None:
    """On Python 3.11, make ``ast.parse`` take turns between threads (idempotent; nothing on 3.12+)."""
    if sys.version_info < (3, 12):
        ast.parse = _parse_in_turn


def build_character_tables() -> None:
    """Build Hypothesis' character tables now, in this thread (idempotent).

    Which characters a codec encodes is read from Hypothesis' folder, or computed on first use, and
    memoized without a lock, so each thread that draws text before the first computation ends computes
    it again (16 threads at once cost 30 s of CPU). utf-8's is written first, so that it is only read.
    """
    if _TABLES_BUILT.is_set():
        return
    from hypothesis import strategies as st

    with _TABLES_LOCK:
        if _TABLES_BUILT.is_set():  # built by another thread while this one waited
            return
        write_utf8_table()
        for codec in _CODECS:
            st.characters(codec=codec).validate()
        st.characters().validate()  # the Unicode categories table, for strategies without a codec
        _TABLES_BUILT.set()


def write_utf8_table() -> None:
    """Put the utf-8 table in Hypothesis' current folder, unless one is there (Hypothesis then only reads it)."""
    from hypothesis.internal.charmap import charmap_file

    path = charmap_file(UTF8_TABLE_NAME)
    if path.exists():
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with gzip.GzipFile(path, "wb", mtime=1) as table:
            table.write(json.dumps(UTF8_TABLE).encode())
    except OSError:
        pass  # a folder that cannot be written: Hypothesis computes the table, as it would have
