"""Running checks on threads: what Python 3.11 needs for that.

CPython 3.11's ``ast.parse`` keeps its recursion bookkeeping per interpreter, not per thread, so two
threads parsing at once can fail with "SystemError: AST constructor recursion depth mismatch"
(fixed in 3.12). Hypothesis parses source (to describe lambdas) while it generates data, and the suite
runs Hypothesis machines and Schemathesis' workers on threads: on 3.11, parses take turns.
"""

from __future__ import annotations

import ast
import sys
import threading
from typing import Any

__all__ = ["make_ast_parse_thread_safe"]

_LOCK = threading.Lock()
_ORIGINAL_PARSE = ast.parse


def _parse_in_turn(*args: Any, **kwargs: Any) -> Any:
    with _LOCK:
        return _ORIGINAL_PARSE(*args, **kwargs)


def make_ast_parse_thread_safe() -> None:
    """On Python 3.11, make ``ast.parse`` take turns between threads (idempotent; nothing on 3.12+)."""
    if sys.version_info < (3, 12):
        ast.parse = _parse_in_turn
