"""What the invariant observer costs: its share of the suite's CPU in a full default run.

The reference server runs as a subprocess, so this process's CPU time is the suite's alone. The run is the
default one (`kesk-conformance run --base-url ... --test-support ...`); the time the invariant judge spends
(`InvariantSet.judge`, measured with each thread's CPU clock) is compared with the run's whole CPU time.
Figures go to `--out` (reports/bench.json) under "invariants". A measurement, never a test.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from conformance import invariants
from conformance.cli import main as kesk_conformance
from reference_server.launcher import serve_in_process

__all__ = ["main"]


def _measured_run(base_url: str, seed: int, report_dir: Path) -> dict[str, Any]:
    judged = {"cpu_s": 0.0, "answers": 0}
    lock = threading.Lock()
    original = invariants.InvariantSet.judge

    def timed(self: invariants.InvariantSet, view: invariants.RequestView, value: Any) -> Any:
        started = time.thread_time()
        try:
            return original(self, view, value)
        finally:
            spent = time.thread_time() - started
            with lock:
                judged["cpu_s"] += spent
                judged["answers"] += 1

    invariants.InvariantSet.judge = timed  # type: ignore[method-assign]
    try:
        cpu, wall = time.process_time(), time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            target = ["--base-url", base_url, "--test-support", base_url]
            code = kesk_conformance(["run", *target, "--seed", str(seed), "--report-dir", str(report_dir), "--quiet"])
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    finally:
        invariants.InvariantSet.judge = original  # type: ignore[method-assign]
    return {
        "exit_code": code,
        "wall_s": round(wall, 1),
        "suite_cpu_s": round(cpu, 2),
        "invariant_cpu_s": round(judged["cpu_s"], 2),
        "answers_judged": judged["answers"],
        "share": round(judged["cpu_s"] / cpu, 3) if cpu else None,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.invariants", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("reports/bench.json"))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args(argv)
    runs = []
    for index in range(args.runs):
        print(f"invariants bench: run {index + 1} of {args.runs}", file=sys.stderr)
        with serve_in_process() as server, tempfile.TemporaryDirectory() as reports:
            runs.append(_measured_run(server.base_url, args.seed, Path(reports)))
    figures = {
        "python": sys.version.split()[0],
        "runs": runs,
        "share_max": max(run["share"] or 0 for run in runs),
        "target_share": 0.10,
    }
    existing = json.loads(args.out.read_text(encoding="utf-8")) if args.out.is_file() else {}
    existing["invariants"] = figures
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(existing, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
