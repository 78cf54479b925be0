"""Running checks on threads: what Python 3.11 needs for that.

CPython 3.11's ``ast.parse`` keeps its recursion bookkeeping per interpreter, not per thread, so two
threads parsing at once can fail with "SystemError: AST constructor recursion depth mismatch"
(fixed in 3.12). Hypothesis parses source (to describe lambdas) while it generates data, and the suite
runs Hypothesis machines and Schemathesis' workers on threads: on 3.11, parses take turns.

Hypothesis also builds its character tables on first use and memoizes them without a lock: they are
built once, before the threads start drawing text, on every Python.
"""

from __future__ import annotations

import ast
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


def _parse_in_turn(*args: Any, **kwargs: Any) -> Any:
    with _LOCK:
        return _ORIGINAL_PARSE(*args, **kwargs)


def make_ast_parse_thread_safe() -> None:
    """On Python 3.11, make ``ast.parse`` take turns between threads (idempotent; nothing on 3.12+)."""
    if sys.version_info < (3, 12):
        ast.parse = _parse_in_turn


def build_character_tables() -> None:
    """Build Hypothesis' character tables now, in this thread (idempotent).

    Which characters a codec encodes is computed on first use (about 1.5 s for utf-8 when Hypothesis'
    folder is new, as a run's report directory is) and memoized without a lock, so each thread that
    draws text before the first computation ends computes it again: 16 threads at once cost 30 s of CPU.
    """
    if _TABLES_BUILT.is_set():
        return
    from hypothesis import strategies as st

    with _TABLES_LOCK:
        if _TABLES_BUILT.is_set():  # built by another thread while this one waited
            return
        for codec in _CODECS:
            st.characters(codec=codec).validate()
        st.characters().validate()  # the Unicode categories table, for strategies without a codec
        _TABLES_BUILT.set()
