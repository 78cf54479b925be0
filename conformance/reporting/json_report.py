"""results.json: the machine-readable verdict, exactly RunResult.as_json() (DESIGN's shape)."""

from __future__ import annotations

import json

from conformance.results import RunResult


def render_json(result: RunResult) -> str:
    # ensure_ascii=False keeps quotes and server text readable; the file is written as UTF-8.
    return json.dumps(result.as_json(), indent=2, ensure_ascii=False) + "\n"
