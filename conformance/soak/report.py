"""A soak's reports: results.json, junit.xml and report.html as a run writes them, plus what the load did.

Each requirement the soak judged gets its verdict: the walk of each lifecycle soaked (RACE-WALK-*: failed on
a round no order explains, an error when a round could not be decided, passed once rounds were judged) and
every observer of conformance.checks.responses. results.json gets a ``soak`` section: the load (users, spawn
rate, duration), the throughput, and per operation the requests, Locust's failures and the latency
percentiles. violations.jsonl holds every violation, one per line, each with its curl line; results.json the
first ones of each requirement. Locust's own CSV and HTML files sit beside them.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from conformance.catalogue import catalogue
from conformance.checks.races.walks import LIFECYCLES
from conformance.checks.responses import RULES
from conformance.contract import Contract
from conformance.operations import OperationIndex
from conformance.reporting import JSON_NAME, write_reports
from conformance.results import Outcome, RequirementResult, RunResult
from conformance.soak.plan import SoakPlan, missing_needs
from conformance.soak.tally import Tally

__all__ = ["PERCENTILES", "VIOLATIONS_NAME", "SoakReport", "latency_table", "write_not_run"]

VIOLATIONS_NAME = "violations.jsonl"
PERCENTILES = (0.5, 0.9, 0.95, 0.99)
_KEPT = 100  # violations per requirement in results.json (violations.jsonl keeps every one)


class SoakReport:
    def __init__(
        self, plan: SoakPlan, seed: int, contract: Contract, tally: Tally, environment: Any, started: float
    ) -> None:
        self.plan = plan
        self.seed = seed
        self.contract = contract
        self.tally = tally
        self.stats = getattr(environment.runner, "stats", None) or environment.stats
        self.workers = len(tally.workers)
        self.duration_s = time.time() - started

    def write(self) -> None:
        folder = Path(self.plan.report_dir)
        folder.mkdir(parents=True, exist_ok=True)
        result = self.result()
        documented = {op.operation_id: list(op.responses()) for op in OperationIndex(self.contract.document)}
        write_reports(result, folder, documented_statuses=documented)
        data = json.loads((folder / JSON_NAME).read_text(encoding="utf-8"))
        data["soak"] = self.load()
        _write(folder / JSON_NAME, json.dumps(data, indent=2) + "\n")
        lines = (json.dumps({"requirement": rid, **failure.as_json()}) + "\n" for rid, failure in self.tally.violations)
        _write(folder / VIOLATIONS_NAME, "".join(lines))

    def result(self) -> RunResult:
        by_id = {item.id: item for item in catalogue()}
        gaps = missing_needs(self.plan)
        results = []
        for lifecycle in LIFECYCLES:
            if lifecycle.name in self.plan.lifecycles:
                results.append(self._verdict(by_id[lifecycle.requirement_id], gaps.get(lifecycle.name, "")))
        results += [self._verdict(by_id[rid], "") for rid in RULES]
        return RunResult(
            target={
                "base_url": self.plan.base_url,
                "test_support": self.plan.test_support,
                "soak": True,
                "workers": self.workers,
            },
            seed=self.seed,
            strict=False,
            results=results,
            operations=self.tally.operations,
            duration_s=self.duration_s,
            sent=int(self.stats.total.num_requests) if self.stats is not None else None,
        )

    def _verdict(self, item: Any, missing: str) -> RequirementResult:
        rid = item.id
        failures = [failure for found, failure in self.tally.violations if found == rid]
        judged = self.tally.judged[rid]
        what = "answers" if item.observes else "rounds"
        if missing:
            return RequirementResult(item, Outcome.SKIPPED, reason=missing)
        if failures:
            outcome, reason = Outcome.FAILED, f"{len(failures)} violation(s) in {judged} {what} judged"
        elif self.tally.undecided[rid]:
            count = self.tally.undecided[rid]
            outcome, reason = Outcome.ERROR, f"undecided {count} time(s): {self.tally.reasons.get(rid, '')}"
        elif judged:
            outcome, reason = Outcome.PASSED, f"{judged} {what} judged under load, no violation"
        elif item.observes or self.tally.started[rid]:
            outcome, reason = Outcome.SKIPPED, f"no {what} judged: the soak ended before any"
        else:
            lifecycles = len(self.plan.lifecycles)
            outcome, reason = (
                Outcome.SKIPPED,
                f"no user walked it ({self.plan.users} users for {lifecycles} lifecycles)",
            )
        return RequirementResult(
            item, outcome, reason=reason, failures=failures[:_KEPT], judged=judged if item.observes else 0
        )

    def load(self) -> dict[str, Any]:
        """What the load was and did: from Locust's statistics (every worker's, on a master)."""
        plan = self.plan
        section: dict[str, Any] = {
            "users": plan.users,
            "spawn_rate": plan.spawn_rate,
            "duration_s": plan.duration_s,
            "lifecycles": plan.lifecycles,
            "role": plan.role,
            "workers": self.workers,
            "violations": len(self.tally.violations),
            "undecided": sum(self.tally.undecided.values()),
            "violations_file": VIOLATIONS_NAME,
            "locust": {"csv": "locust_stats.csv", "html": "locust.html"},
        }
        if self.stats is None:
            return section
        total = self.stats.total
        section["requests"] = int(total.num_requests)
        section["throughput_rps"] = round(float(total.total_rps), 2)
        section["operations"] = latency_table(self.stats.entries.values())
        return section


def write_not_run(plan: SoakPlan, contract: Contract, reason: str) -> None:
    """The reports of a soak stopped before Locust judged anything: every requirement skipped, with why."""
    by_id = {item.id: item for item in catalogue()}
    ids = [lifecycle.requirement_id for lifecycle in LIFECYCLES if lifecycle.name in plan.lifecycles]
    results = [RequirementResult(by_id[rid], Outcome.SKIPPED, reason=reason) for rid in [*ids, *RULES]]
    target: dict[str, object] = {"base_url": plan.base_url, "test_support": plan.test_support, "soak": True}
    result = RunResult(target, plan.seed or 0, False, results, {}, 0.0, interrupted=True)
    documented = {op.operation_id: list(op.responses()) for op in OperationIndex(contract.document)}
    write_reports(result, Path(plan.report_dir), documented_statuses=documented)


def latency_table(entries: Iterable[Any]) -> dict[str, dict[str, Any]]:
    """Per operation (Locust's request name): requests, failures, requests per second, latency in ms."""
    table: dict[str, dict[str, Any]] = {}
    for entry in sorted(entries, key=lambda entry: str(entry.name)):
        if not entry.num_requests:
            continue
        latency = {f"p{int(p * 100)}": entry.get_response_time_percentile(p) for p in PERCENTILES}
        latency.update(avg=round(float(entry.avg_response_time), 1), max=entry.max_response_time)
        table[str(entry.name)] = {
            "requests": int(entry.num_requests),
            "failures": int(entry.num_failures),
            "rps": round(float(entry.total_rps), 2),
            "latency_ms": latency,
        }
    return table


def _write(path: Path, text: str) -> None:
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)
