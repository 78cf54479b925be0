"""Report writers: one module per format, all reading the same (already redacted) RunResult.

- ``junit.py``: ``junit.xml``, a testcase per requirement, a testsuite per area;
- ``json_report.py``: ``results.json``, exactly ``RunResult.as_json()``;
- ``html.py``: ``report.html``, a self-contained requirement matrix and status coverage;
- ``terminal.py``: the rich summary printed at the end of a run.

The writers add nothing the RunResult does not hold, so redaction happens once, upstream.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from conformance.reporting.html import render_html
from conformance.reporting.json_report import render_json
from conformance.reporting.junit import render_junit
from conformance.reporting.terminal import render_summary
from conformance.results import RunResult

__all__ = ["render_html", "render_json", "render_junit", "render_summary", "write_reports"]

JUNIT_NAME = "junit.xml"
JSON_NAME = "results.json"
HTML_NAME = "report.html"


def _write(path: Path, data: bytes) -> Path:
    # Write then rename, so a CI job or a browser never reads a half-written report.
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(data)
    os.replace(partial, path)
    return path


def write_reports(
    result: RunResult, directory: Path, *, documented_statuses: Mapping[str, Sequence[str]]
) -> dict[str, Path]:
    """Write junit.xml, results.json and report.html into directory (created if needed)."""
    directory.mkdir(parents=True, exist_ok=True)
    return {
        "junit": _write(directory / JUNIT_NAME, render_junit(result)),
        "json": _write(directory / JSON_NAME, render_json(result).encode("utf-8")),
        "html": _write(
            directory / HTML_NAME,
            render_html(result, documented_statuses=documented_statuses).encode("utf-8"),
        ),
    }
