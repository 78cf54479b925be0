"""Mutation analysis: the suite and bare Schemathesis against the clean reference server and each seeded fault.

    python -m selftest.detection [--profile ci|full] [--out reports/detection.json] [--markdown]

For the clean server and for every fault of `reference_server.faults.CATALOGUE`:

- the suite: `execute(Settings(fault=[name], seed=S, max_examples=N))`, the full default catalogue
  against a fresh embedded reference server, as `kesk-conformance run --fault NAME` would run it.
  A fault is caught when every requirement it names failed; requests until caught is the smallest
  `request_number` among those failures (the position of the offending request in the run).
- bare Schemathesis: the documented `st run` (all checks, all phases, conformance/schemathesis.toml,
  the same `--max-examples` and `--seed`) against another fresh server with the same fault.
  Caught means exit status 1.

Runs go to a pool of worker processes (one suite run and one `st run` per task). Writes the JSON
report and, with --markdown, prints it as a markdown table (the measurements page of the docs quotes it).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from selftest.bare import REPO, run_bare_st
from selftest.servers import counting_server

__all__ = [
    "PROFILES",
    "Profile",
    "main",
    "render_table",
    "run_detection",
    "suite_verdict",
    "summarise",
]

CLEAN = "(clean)"


@dataclass(slots=True, frozen=True)
class Profile:
    name: str
    max_examples: int
    seed: int
    st_timeout_s: float
    description: str


PROFILES: dict[str, Profile] = {
    "full": Profile("full", 10, 1, 900.0, "the default budget of `kesk-conformance run` (--max-examples 10)"),
    "ci": Profile("ci", 5, 1, 600.0, "a smaller budget for CI (--max-examples 5)"),
}


# ---- one run of each tool ----------------------------------------------------------------------


def suite_verdict(run: dict[str, Any], named: Sequence[str]) -> dict[str, Any]:
    """Judge one results.json-shaped run against the requirement ids a fault names."""
    requirements = run["requirements"]
    by_id = {item["id"]: item for item in requirements}
    failed = [item["id"] for item in requirements if item["outcome"] == "failed"]
    errors = {item["id"]: item["reason"] for item in requirements if item["outcome"] == "error"}
    caught = bool(named) and all(by_id.get(rid, {}).get("outcome") == "failed" for rid in named)
    named_failures = [failure for rid in named for failure in by_id.get(rid, {}).get("failures", [])]
    numbers = [f["request_number"] for f in named_failures if isinstance(f.get("request_number"), int)]
    first = min(numbers) if caught and numbers else None
    sent_by, in_requirement = _window_of(requirements, first) if first is not None else (None, None)
    return {
        "caught": caught,
        "requests_until_caught": first,
        # The requirement whose check sent the offending request, and how many requests that check had
        # sent when it did (an observer such as SCHEMA-* judges requests an earlier check sent).
        "sent_by": sent_by,
        "requests_in_requirement": in_requirement,
        "curl": any(str(f.get("curl", "")).startswith("curl ") for f in named_failures),
        "extra_failures": sorted(set(failed) - set(named)),
        "errors": errors,
        "requests": run["summary"]["requests"],
        "exit_code": run["summary"]["exit_code"],
    }


def _window_of(requirements: Sequence[dict[str, Any]], number: int) -> tuple[str | None, int | None]:
    """Which requirement sent request `number`, and its position among that requirement's requests.

    Requests are numbered in the order sent: the preflight `GET /users/me` first, then each
    requirement's in run order (results.json lists them in that order with their request counts).
    """
    before = 1  # the preflight
    for item in requirements:
        if before < number <= before + item["requests"]:
            return item["id"], number - before
        before += item["requests"]
    return None, None


def clean_verdict(run: dict[str, Any]) -> dict[str, Any]:
    requirements = run["requirements"]
    must_not_passed = {
        item["id"]: item["outcome"]
        for item in requirements
        if item["level"] == "MUST" and item["outcome"] not in ("passed", "skipped")
    }
    skipped = {item["id"]: item["reason"] for item in requirements if item["outcome"] == "skipped"}
    return {
        "passed": sum(1 for item in requirements if item["outcome"] == "passed"),
        "failed": sorted(item["id"] for item in requirements if item["outcome"] == "failed"),
        "errors": {item["id"]: item["reason"] for item in requirements if item["outcome"] == "error"},
        "skipped": skipped,
        "skips_without_reason": sorted(rid for rid, reason in skipped.items() if not reason.strip()),
        "every_must_passed_or_skipped": not must_not_passed,
        "requirements": len(requirements),
        "requests": run["summary"]["requests"],
        "exit_code": run["summary"]["exit_code"],
    }


def _run_suite(fault: str | None, profile: Profile) -> tuple[dict[str, Any], float]:
    from conformance.config import Settings
    from conformance.runner import execute

    started = time.perf_counter()
    result = execute(
        Settings(fault=[fault] if fault else [], seed=profile.seed, max_examples=profile.max_examples, quiet=True)
    )
    return result.as_json(), time.perf_counter() - started


def _run_bare(fault: str | None, profile: Profile) -> dict[str, Any]:
    with counting_server([fault] if fault else []) as server:
        server.reset()
        bare = run_bare_st(
            server.base_url, max_examples=profile.max_examples, seed=profile.seed, timeout_s=profile.st_timeout_s
        )
        requests = server.api_requests
    return {
        "caught": bare.caught,
        "exit_code": bare.exit_code,
        "timed_out": bare.exit_code is None,
        "requests": requests,
        "duration_s": round(bare.duration_s, 1),
        **({} if bare.exit_code in (0, 1) else {"output_tail": bare.output_tail[-1500:]}),
    }


def run_task(fault: str | None, profile_name: str, with_bare: bool = True) -> dict[str, Any]:
    """One pool task: the suite, then bare `st run`, each against its own fresh server."""
    from reference_server.faults import CATALOGUE

    profile = PROFILES[profile_name]
    run, duration = _run_suite(fault, profile)
    if fault is None:
        suite = clean_verdict(run)
    else:
        named = next(item.requirements for item in CATALOGUE if item.name == fault)
        suite = suite_verdict(run, named)
    suite["duration_s"] = round(duration, 1)
    entry: dict[str, Any] = {"suite": suite}
    if with_bare:
        entry["schemathesis"] = _run_bare(fault, profile)
    return entry


# ---- the whole analysis ------------------------------------------------------------------------


def _median(values: Iterable[int]) -> float | None:
    found = list(values)
    return statistics.median(found) if found else None


def summarise(faults: Sequence[dict[str, Any]]) -> dict[str, Any]:
    total = len(faults)
    suite_caught = [f for f in faults if f["suite"]["caught"]]
    st_known = [f for f in faults if "schemathesis" in f]
    st_caught = [f for f in st_known if f["schemathesis"]["caught"]]
    numbers = [f["suite"]["requests_until_caught"] for f in suite_caught if f["suite"]["requests_until_caught"]]
    inside = [f["suite"]["requests_in_requirement"] for f in suite_caught if f["suite"]["requests_in_requirement"]]
    return {
        "faults": total,
        "suite_caught": len(suite_caught),
        "suite_detection_rate": round(len(suite_caught) / total, 3) if total else None,
        "suite_missed": [f["name"] for f in faults if not f["suite"]["caught"]],
        "suite_extra_failures": {
            f["name"]: f["suite"]["extra_failures"] for f in faults if f["suite"]["extra_failures"]
        },
        "suite_without_curl": [f["name"] for f in suite_caught if not f["suite"]["curl"]],
        "schemathesis_caught": len(st_caught),
        "schemathesis_detection_rate": round(len(st_caught) / len(st_known), 3) if st_known else None,
        "schemathesis_timed_out": [f["name"] for f in st_known if f["schemathesis"]["timed_out"]],
        "median_requests_until_caught": _median(numbers),
        "max_requests_until_caught": max(numbers) if numbers else None,
        "median_requests_in_requirement": _median(inside),
        "max_requests_in_requirement": max(inside) if inside else None,
    }


def run_detection(
    profile: Profile,
    *,
    workers: int = 2,
    faults: Sequence[str] | None = None,
    with_bare: bool = True,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    from reference_server.faults import CATALOGUE

    chosen = [item for item in CATALOGUE if faults is None or item.name in faults]
    started = time.perf_counter()
    tasks: list[str | None] = [None, *(item.name for item in chosen)]
    outcomes: dict[str | None, dict[str, Any]] = {}
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = {name: pool.submit(run_task, name, profile.name, with_bare) for name in tasks}
        for name, future in futures.items():
            outcomes[name] = future.result()
            entry = outcomes[name]
            st = entry.get("schemathesis", {})
            (log or _print)(
                f"{name or CLEAN:<30} suite {_caught_word(name, entry['suite'])}"
                f" ({entry['suite']['duration_s']} s)"
                + (f"  st exit {st['exit_code']} ({st['duration_s']} s)" if st else "")
            )
    fault_entries = [
        {
            "name": item.name,
            "description": item.description,
            "requirements": list(item.requirements),
            **outcomes[item.name],
        }
        for item in chosen
    ]
    return {
        "profile": profile.name,
        "profile_description": profile.description,
        "seed": profile.seed,
        "max_examples": profile.max_examples,
        "workers": workers,
        "wall_time_s": round(time.perf_counter() - started, 1),
        "machine": {
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "loadavg_at_end": [round(x, 2) for x in os.getloadavg()],
        },
        "clean": outcomes[None],
        "faults": fault_entries,
        "summary": summarise(fault_entries),
    }


def _print(line: str) -> None:
    print(line, flush=True)


def _caught_word(name: str | None, suite: dict[str, Any]) -> str:
    if name is None:
        return f"exit {suite['exit_code']}"
    return "caught" if suite["caught"] else "MISSED"


# ---- the markdown table --------------------------------------------------------------------------


def _yes_no(value: bool | None) -> str:
    return "n/a" if value is None else ("yes" if value else "**no**")


def render_table(report: dict[str, Any]) -> str:
    """The markdown section: fault | requirement | suite caught | requests until caught | bare Schemathesis caught."""
    summary = report["summary"]
    clean = report["clean"]
    st_clean = clean.get("schemathesis")
    lines = [
        f"Self-test (`python -m selftest.detection --profile {report['profile']}`): every seeded fault of the "
        f"reference server, one run each of the full default catalogue (`--seed {report['seed']} --max-examples "
        f"{report['max_examples']}`), and bare Schemathesis (`st run`, all checks, all phases, "
        "`conformance/schemathesis.toml`, the same seed and `--max-examples`) against the same fault.",
        "",
        "| fault | requirement | suite: caught | requests until caught | bare Schemathesis: caught |",
        "|---|---|---|---|---|",
    ]
    for fault in report["faults"]:
        suite = fault["suite"]
        st = fault.get("schemathesis")
        until = suite["requests_until_caught"]
        note = ""
        if suite["extra_failures"]:
            note = " (also failed: " + ", ".join(f"`{rid}`" for rid in suite["extra_failures"]) + ")"
        lines.append(
            f"| `{fault['name']}` | {', '.join(f'`{rid}`' for rid in fault['requirements'])} "
            f"| {_yes_no(suite['caught'])}{note} | {until if until is not None else '-'} "
            f"| {_yes_no(st['caught']) if st else 'not run'} |"
        )
    total = summary["faults"]
    st_rate = summary["schemathesis_detection_rate"]
    lines += [
        "",
        f"Caught: the suite {summary['suite_caught']}/{total}"
        + (f", bare Schemathesis {summary['schemathesis_caught']}/{total}" if st_rate is not None else "")
        + f". Requests until caught (the offending request's position in the run): median "
        f"{_fmt(summary['median_requests_until_caught'])}, max {_fmt(summary['max_requests_until_caught'])}.",
        f"Clean server: the suite {clean['suite']['passed']}/{clean['suite']['requirements']} requirements passed, "
        f"exit {clean['suite']['exit_code']}"
        + (f"; bare Schemathesis exit {st_clean['exit_code']}." if st_clean else "."),
    ]
    if summary["suite_missed"]:
        lines.append("Missed by the suite: " + ", ".join(f"`{name}`" for name in summary["suite_missed"]) + ".")
    should_only = [f["name"] for f in report["faults"] if f["suite"]["caught"] and f["suite"]["exit_code"] == 0]
    if should_only:
        lines.append(
            "Caught, but the run still exits 0 (the named requirement is a SHOULD; `--strict` makes it fail the run): "
            + ", ".join(f"`{name}`" for name in should_only)
            + "."
        )
    if summary["suite_extra_failures"]:
        lines.append(
            "Requirements that failed besides the named ones: "
            + "; ".join(
                f"`{name}`: " + ", ".join(f"`{rid}`" for rid in extra)
                for name, extra in summary["suite_extra_failures"].items()
            )
            + "."
        )
    if summary["median_requests_in_requirement"] is not None:
        lines.append(
            "Counted instead inside the check that sent the offending request (its own requests only, the "
            f"run's earlier checks left out): median {_fmt(summary['median_requests_in_requirement'])}, "
            f"max {_fmt(summary['max_requests_in_requirement'])} requests."
        )
    ci = PROFILES["ci"]
    lines += [
        "",
        f"Regenerate with `python -m selftest.detection --profile {report['profile']} --markdown` "
        f"(writes `reports/detection.json`; {report['wall_time_s'] / 60:.0f} min here, 2 worker processes). "
        f"`make test` runs a targeted self-test on every submission at the CI budget (`tests/selftest/`, "
        f"`--max-examples {ci.max_examples}`, seed {ci.seed}): each fault against the requirements that can see "
        "it (its named ones, and for an observer the suite's own active checks: `selftest/targeting.py`), which "
        "must fail with a curl line while no other selected MUST fails; the full catalogue against the clean "
        "server twice (every MUST passes, every skip has a reason, identical verdicts) and against a few "
        "representative faults. The bare Schemathesis column is not run in CI.",
    ]
    return "\n".join(lines)


def _fmt(value: float | int | None) -> str:
    if value is None:
        return "-"
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


# ---- command line ------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m selftest.detection", description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", choices=sorted(PROFILES), default="full")
    parser.add_argument("--out", default=str(REPO / "reports" / "detection.json"))
    parser.add_argument("--markdown", action="store_true", help="print the report as a markdown table")
    parser.add_argument("--from-report", action="store_true", help="only render the table from --out; run nothing")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--fault", action="append", help="only this fault (repeatable); default: the catalogue")
    parser.add_argument("--no-schemathesis", action="store_true", help="skip the bare `st run` baseline")
    args = parser.parse_args(argv)
    out = Path(args.out)
    if args.from_report:
        report = json.loads(out.read_text(encoding="utf-8"))
    else:
        report = run_detection(
            PROFILES[args.profile], workers=args.workers, faults=args.fault, with_bare=not args.no_schemathesis
        )
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(f"written: {out} ({report['wall_time_s']} s)")
    summary = report["summary"]
    print(
        f"suite {summary['suite_caught']}/{summary['faults']}, bare Schemathesis {summary['schemathesis_caught']}/"
        f"{summary['faults']}; requests until caught: median {_fmt(summary['median_requests_until_caught'])}, "
        f"max {_fmt(summary['max_requests_until_caught'])}"
    )
    if args.markdown:
        print(render_table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
