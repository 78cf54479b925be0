"""One `kesk-conformance run` in-process, as a user would type it, with its results.json and terminal output."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from conformance.cli import main as kesk_conformance
from selftest.detection import PROFILES

CI = PROFILES["ci"]  # the budget the tests run at: the same as `python -m selftest.detection --profile ci`


@dataclass(slots=True)
class UserRun:
    exit_code: int
    results: dict[str, Any]
    output: str

    def outcomes(self) -> dict[str, str]:
        return {item["id"]: item["outcome"] for item in self.results["requirements"]}

    def requirement(self, requirement_id: str) -> dict[str, Any]:
        return next(item for item in self.results["requirements"] if item["id"] == requirement_id)


def run_cli(
    capsys: pytest.CaptureFixture[str],
    report_dir: Path,
    *faults: str,
    seed: int = CI.seed,
    select: Sequence[str] = (),
    extra: Sequence[str] = (),
    max_examples: int | None = CI.max_examples,
) -> UserRun:
    """`kesk-conformance run --seed S --max-examples N [--fault F] [--select ID] --report-dir DIR --quiet`.

    Without `select`, the full default catalogue; with `max_examples` None, the default budget (no flag).
    """
    argv = ["run", "--seed", str(seed), "--report-dir", str(report_dir)]
    if max_examples is not None:
        argv += ["--max-examples", str(max_examples)]
    for fault in faults:
        argv += ["--fault", fault]
    for requirement_id in select:
        argv += ["--select", requirement_id]
    capsys.readouterr()
    code = kesk_conformance([*argv, *extra, "--quiet"])
    output = capsys.readouterr().out
    results = json.loads((report_dir / "results.json").read_text(encoding="utf-8"))
    return UserRun(code, results, re.sub(r"\s+", " ", output))


def failure_operations(run: UserRun) -> dict[str, list[str]]:
    """The operations each failed requirement names, sorted: what two runs of one seed must share."""
    return {
        item["id"]: sorted(failure["operation"] for failure in item["failures"])
        for item in run.results["requirements"]
        if item["failures"]
    }
