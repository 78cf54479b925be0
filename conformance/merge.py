"""`kesk-conformance merge RESULTS.json...`: shard results joined into one results.json, junit.xml and report.html.

Each shard (`run --shard I/N`) writes its own results.json; merged, they read as one run of the whole
selection: every requirement once, per-operation traffic added up, the longest shard's duration. The
exit status is the merged run's (1 when a MUST requirement failed), so a CI job can gate on it.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from conformance.catalogue import catalogue
from conformance.contract import bundled_contract
from conformance.failures import FailureDetail
from conformance.operations import OperationIndex
from conformance.results import Outcome, RequirementResult, ResultsFileError, RunResult, load_results_file
from conformance.stats import OperationStats

__all__ = ["MergeError", "merge", "merge_main"]

# When shards overlap, the more decisive verdict stands.
# A requirement in several shards keeps its worst verdict (known: a listed failure, still a failure).
_RANK = {
    Outcome.FAILED: 4,
    Outcome.KNOWN: 3,
    Outcome.ERROR: 2,
    Outcome.PASSED: 1,
    Outcome.SKIPPED: 0,
    Outcome.NOT_APPLICABLE: 0,
}


class MergeError(ResultsFileError):
    """Results that cannot be one run; the message says which file and why."""


def _result(item: dict[str, Any], path: Path) -> RequirementResult:
    known = catalogue()
    if item.get("id") not in known:
        raise MergeError(f"{path}: requirement {item.get('id')!r} is not in this kit's catalogue")
    return RequirementResult(
        known.get(item["id"]),
        Outcome(item["outcome"]),
        reason=str(item.get("reason", "")),
        failures=[
            FailureDetail(**{**failure, "steps": tuple(failure.get("steps", ()))}) for failure in item["failures"]
        ],
        requests=int(item.get("requests", 0)),
        duration_s=float(item.get("duration_s", 0.0)),
        finished_s=float(item.get("finished_s", 0.0)),
        first_failure_s=None if item.get("first_failure_s") is None else float(item["first_failure_s"]),
        first_failure_request=None if item.get("first_failure_request") is None else int(item["first_failure_request"]),
        stale=bool(item.get("stale", False)),  # a known failure that passed: it fails the merged run too
    )


def merge(paths: Sequence[Path]) -> RunResult:
    documents = [(path, load_results_file(path)) for path in paths]
    seeds = {document["seed"] for _, document in documents}
    if len(seeds) != 1:
        raise MergeError(f"the shards ran with different seeds ({', '.join(map(str, sorted(seeds)))}); use one --seed")
    chosen: dict[str, RequirementResult] = {}
    operations: dict[str, OperationStats] = {}
    for path, document in documents:
        for item in document["requirements"]:
            result = _result(item, path)
            known = chosen.get(result.requirement.id)
            if known is None or _RANK[result.outcome] > _RANK[known.outcome]:
                chosen[result.requirement.id] = result
        for operation_id, stats in document.get("operations", {}).items():
            total = operations.setdefault(operation_id, OperationStats())
            total.requests += int(stats["requests"])
            total.statuses += Counter({int(code): int(n) for code, n in stats["statuses"].items()})
    order = {item.id: index for index, item in enumerate(catalogue())}
    first = documents[0][1]
    return RunResult(
        target={**first["target"], "shards": [str(path) for path, _ in documents]},
        seed=int(first["seed"]),
        strict=any(bool(document.get("strict")) for _, document in documents),
        results=sorted(chosen.values(), key=lambda result: order[result.requirement.id]),
        operations=operations,
        duration_s=max(float(document["summary"]["duration_s"]) for _, document in documents),
        # every request the shards sent, those to no documented operation included
        sent=sum(int(document["summary"]["requests"]) for _, document in documents),
        # a machine runs in one shard (its requirements go together): each shard's machines, side by side
        transitions={
            name: machine for _, document in documents for name, machine in document.get("transitions", {}).items()
        },
    )


def merge_main(argv: Sequence[str]) -> int:
    from conformance.reporting import write_reports

    parser = argparse.ArgumentParser(
        prog="kesk-conformance merge", description="Join the results.json of shards into one run's reports."
    )
    parser.add_argument("results", nargs="+", type=Path, metavar="RESULTS.json")
    parser.add_argument("--report-dir", default="reports", type=Path, metavar="DIR")
    args = parser.parse_args(list(argv))
    try:
        result = merge(args.results)
    except ResultsFileError as exc:
        print(f"kesk-conformance merge: {exc}", file=sys.stderr)
        return 2
    documented = {op.operation_id: list(op.responses()) for op in OperationIndex(bundled_contract().document)}
    paths = write_reports(result, args.report_dir, documented_statuses=documented)
    counts = ", ".join(f"{result.count(outcome)} {outcome.value}" for outcome in Outcome)
    print(f"{counts}  ({len(args.results)} shards, seed {result.seed}); reports: {', '.join(map(str, paths.values()))}")
    return result.exit_code
