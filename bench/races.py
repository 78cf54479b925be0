"""What the RACE-* requirements cost the default run: its wall time before and after them, at 0 and 50 ms.

Two source trees (`--before`, e.g. an export of the commit before the races, and `--after`, this one) are
measured alternately in one process, each run with its own tree on PYTHONPATH for the suite and for the
reference server behind bench.latency's delaying proxy, so that the ratios compare runs of the same
moment on a shared machine. Figures go to `--out` under "races". A measurement, never a test.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.latency import DelayProxy
from reference_server.launcher import serve_command, serve_in_process, serve_in_thread

__all__ = ["main"]


def _full_run(tree: Path, delay_ms: int, seed: int, timeout_s: float) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    with serve_in_process(serve_command(), cwd=tree, env=env) as server:
        proxy = DelayProxy(server.base_url.removesuffix("/v1"), delay_ms / 1000)
        with serve_in_thread(proxy, name="kesk-delay-proxy") as base_url, tempfile.TemporaryDirectory() as folder:
            command = [sys.executable, "-m", "conformance.cli", "run", "--base-url", base_url, "--test-support"]
            command += [base_url, "--report-dir", folder, "--quiet", "--seed", str(seed)]
            started = time.perf_counter()
            subprocess.run(command, capture_output=True, timeout=timeout_s, check=False, cwd=folder, env=env)
            wall = time.perf_counter() - started
            results = json.loads((Path(folder) / "results.json").read_text(encoding="utf-8"))
    races = [item for item in results["requirements"] if item["id"].startswith("RACE-")]
    return {
        "wall_s": round(wall, 2),
        "requests": results["summary"]["requests"],
        "race_requirements": len(races),
        "not_passed": sorted(i["id"] for i in results["requirements"] if i["outcome"] in ("failed", "error")),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.races", description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True, help="source tree without the RACE-* requirements")
    parser.add_argument("--after", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("--out", type=Path, default=Path("reports/bench.json"))
    parser.add_argument("--delays", default="0,50", help="milliseconds, comma-separated")
    parser.add_argument("--rounds", type=int, default=2, help="before/after pairs per delay")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=900.0)
    args = parser.parse_args(argv)
    figures: dict[str, Any] = {"rounds": args.rounds, "seed": args.seed, "delays": {}}
    for delay in [int(value) for value in args.delays.split(",") if value]:
        runs: dict[str, list[dict[str, Any]]] = {"before": [], "after": []}
        for round_ in range(args.rounds):
            order = ("before", "after") if round_ % 2 == 0 else ("after", "before")
            for which in order:
                tree = args.before if which == "before" else args.after
                print(f"races bench: {delay} ms, {which}, round {round_ + 1}", file=sys.stderr)
                runs[which].append(_full_run(tree, delay, args.seed, args.timeout))
        before = statistics.median(run["wall_s"] for run in runs["before"])
        after = statistics.median(run["wall_s"] for run in runs["after"])
        figures["delays"][str(delay)] = {
            **runs,
            "median_before_s": before,
            "median_after_s": after,
            "ratio": round(after / before, 3),
        }
    existing = json.loads(args.out.read_text(encoding="utf-8")) if args.out.is_file() else {}
    existing["races"] = figures
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(existing, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
