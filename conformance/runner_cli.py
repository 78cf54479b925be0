"""`kesk-conformance run` and `kesk-conformance list`."""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from hypothesis.configuration import set_hypothesis_home_dir
from rich.console import Console

from conformance._spec import SpecError, load_spec
from conformance.catalogue import catalogue
from conformance.config import ConfigError, Settings, parse
from conformance.contract import Contract, bundled_contract
from conformance.coverage import spec_coverage
from conformance.expectations import expectation_coverage
from conformance.invariants import load_invariants
from conformance.ledger import Ledger, build_ledger
from conformance.ledger import markdown as ledger_markdown
from conformance.operations import OperationIndex
from conformance.requirements import Requirement
from conformance.results import Outcome, RequirementResult, RunResult
from conformance.sightings import Sighting
from conformance.steps import RunRecorder
from conformance.trace import fault_breaks, faults_by_requirement, markdown, trace

_OUTCOME_STYLE = {
    Outcome.PASSED: "green",
    Outcome.FAILED: "red",
    Outcome.SKIPPED: "yellow",
    Outcome.ERROR: "magenta",
    Outcome.KNOWN: "cyan",
    Outcome.NOT_APPLICABLE: "dim",
}


def _console() -> Console:
    """A terminal gets rich's output at its width; anything else (a CI log, a file) gets lines that never wrap
    and no cursor movement, so one event stays on one line and the log reads the same at any width."""
    if sys.stdout.isatty():
        return Console(highlight=False)
    return Console(highlight=False, soft_wrap=True, width=100_000)


def _error(message: str) -> int:
    print(f"kesk-conformance: {message}", file=sys.stderr)
    return 2


def _check_writable(folder: Path, flag: str = "--report-dir") -> None:
    """Before any request: the reports must have somewhere to go."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".kesk-write-probe"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(f"cannot write reports to {folder}: {exc.strerror or exc}; pass a writable {flag}") from None


def run_main(argv: Sequence[str]) -> int:
    from conformance.adoption import Adoption
    from conformance.reporting import render_summary, write_reports
    from conformance.runner import TargetUnreachable, contract_for, execute, selected_requirements

    console = _console()
    try:
        settings = parse(argv, prog="kesk-conformance run")
        _check_writable(Path(settings.report_dir))
        if settings.har:
            _check_writable(Path(settings.har).parent, "--har")
        if settings.export_pytest:
            _check_writable(Path(settings.export_pytest), "--export-pytest")
        contract = contract_for(settings)
        # known failures and left-out groups, checked against the catalogue before any request
        adoption = Adoption.of(settings, contract, catalogue().select(settings.select, settings.exclude))
        settings.exclude += sorted(adoption.not_applicable)  # not applicable: reported, not run
        # Hypothesis keeps caches in ./.hypothesis unless told: a run writes only to its report directory.
        set_hypothesis_home_dir(Path(settings.report_dir) / ".hypothesis")
        total = len(selected_requirements(settings))
        done = 0

        def progress(item: Requirement, result: RequirementResult | None) -> None:
            nonlocal done
            if settings.quiet:
                return
            if result is None:
                return  # requirements run concurrently: each is reported when its verdict is known
            done += 1
            style = _OUTCOME_STYLE[result.outcome]
            cost = f"{result.requests} requests" + (f", judged {result.judged}" if item.observes else "")
            console.print(
                f"[dim]{done:>3}/{total}[/dim] [{style}]{result.outcome.value:<7}[/{style}] {item.id}"
                f" [dim]({cost}, {result.finished_s:.1f} s)[/dim]",
                soft_wrap=True,
            )
            if result.failures and item.id not in sighted:  # shown already when first seen; in full at the end
                first = result.failures[0]
                _expected_actual(console, first.expected, first.actual)

        sighted: set[str] = set()

        def on_sighting(item: Requirement, sighting: Sighting) -> None:
            """A violation, printed the moment it is seen: long before its requirement's verdict, often."""
            sighted.add(item.id)
            if settings.quiet:
                return
            console.print(
                f"[dim]  !  [/dim][bold red]failing[/bold red] {item.id}"
                f" [dim](first seen at request {sighting.request_number}, {sighting.at_s:.1f} s)[/dim]",
                soft_wrap=True,
            )
            _expected_actual(console, sighting.expected, sighting.actual)

        recorder = RunRecorder()
        result = execute(
            settings,
            progress=progress,
            on_session=lambda session: recorder.attach(session.ctx),
            on_sighting=on_sighting,
            excused=adoption.excused,
        )
    except (ConfigError, SpecError, TargetUnreachable) as exc:
        return _error(str(exc))
    adoption.apply(result)
    _add_records(result, recorder, contract, settings)
    documented = {op.operation_id: list(op.responses()) for op in OperationIndex(contract.document)}
    paths = write_reports(result, Path(settings.report_dir), documented_statuses=documented)
    paths.update(_write_records(result, recorder, settings))
    _github_actions(result)
    if result.coverage_shortfall:  # --min-coverage: the one line saying why a run with no failure fails
        print(f"kesk-conformance: {result.coverage_shortfall}", file=sys.stderr)
    render_summary(result, console, reports=list(paths.values()))  # its last line: the one-line summary
    return result.exit_code


def _expected_actual(console: Console, expected: str, actual: str) -> None:
    console.print(f"      expected: {expected}", soft_wrap=True, markup=False, highlight=False)
    console.print(f"      actual:   {actual}", soft_wrap=True, markup=False, highlight=False)


def _github_actions(result: RunResult) -> None:
    """Under GitHub Actions: an annotation line per failure, and the markdown summary of the job's step."""
    from conformance.reporting.ci import github_annotations, in_github_actions, write_step_summary

    if not in_github_actions(os.environ):
        return
    for line in github_annotations(result):
        print(line, flush=True)
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        try:
            write_step_summary(result, Path(summary))
        except OSError as exc:  # the reports are written; a summary GitHub cannot take is not worth a traceback
            print(f"kesk-conformance: cannot write $GITHUB_STEP_SUMMARY ({summary}): {exc.strerror}", file=sys.stderr)


def _add_records(result: RunResult, recorder: RunRecorder, contract: Contract, settings: Settings) -> None:
    """Spec coverage (and --min-coverage) and the steps of every failure, from what the recorder saw."""
    decided = ("passed", "failed", "known")  # a verdict on what the requirement checks ("known": a known failure)
    result.coverage = spec_coverage(
        contract,
        statuses={op: stats.statuses for op, stats in result.operations.items()},
        exchanges=recorder.exchanges,
        verdicts=[(item.requirement, item.outcome.value in decided) for item in result.results],
    )
    result.expectations = expectation_coverage(
        contract.document,
        result.expectation_log,
        [item.requirement.id for item in result.results if item.outcome.value in decided],
    )
    result.min_coverage = settings.min_coverage
    for item in result.results:
        if item.failures:
            steps = recorder.steps(item.requirement.id, item.failures)
            if steps is not None:
                result.steps[item.requirement.id] = steps


def _selected(judges: Sequence[str], include: Sequence[str], exclude: Sequence[str]) -> bool:
    """A ledger entry is shown when one of its judges matches --select (all, without it) and none --exclude."""
    if not include and not exclude:
        return True
    chosen = [rid for rid in judges if not include or any(fnmatch.fnmatchcase(rid, glob) for glob in include)]
    return bool(chosen) and not any(fnmatch.fnmatchcase(rid, glob) for rid in judges for glob in exclude)


def _list_invariants(contract: Contract, breaks: Mapping[str, tuple[str, ...]], *, as_json: bool) -> None:
    by_source = {source: name for name, sources in breaks.items() for source in sources}
    rows = [
        {**item.as_json(), "faults": [by_source[f"spec:{item.pointer}"]] if f"spec:{item.pointer}" in by_source else []}
        for item in load_invariants(contract.document)
    ]
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    console = Console(highlight=False)
    for row in rows:
        console.print(f"[bold]{row['id']}[/bold] ({row['schema']}) {row['message']}")
        console.print(f"    [dim]{row['rule']}[/dim]")
        console.print(f"    faults: {', '.join(row['faults']) or 'none'}")  # type: ignore[arg-type]
    console.print(f"{len(rows)} invariants on {len({row['schema'] for row in rows})} schemas")


def _write_records(result: RunResult, recorder: RunRecorder, settings: Settings) -> dict[str, Path]:
    """--har FILE and --export-pytest DIR, when asked for."""
    from conformance.export_pytest import export_pytest
    from conformance.har import write_har

    written: dict[str, Path] = {}
    if settings.har:
        written["har"] = write_har(Path(settings.har), recorder, base_url=str(result.target.get("base_url", "")))
    if settings.export_pytest:
        folder = Path(settings.export_pytest)
        files = export_pytest(result, folder)
        if files:
            written["pytest"] = folder
    return written


def list_main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="kesk-conformance list", description="List the requirement catalogue.")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--select", action="append", default=[], metavar="GLOB")
    parser.add_argument("--exclude", action="append", default=[], metavar="GLOB")
    shown = parser.add_mutually_exclusive_group()
    shown.add_argument(
        "--trace", action="store_true", help="only the trace: rule -> requirements -> faults, as a markdown table"
    )
    shown.add_argument(
        "--ledger",
        action="store_true",
        help="only the ledger: every promise of the contract and what judges it (markdown; with --json an array)",
    )
    shown.add_argument(
        "--invariants", action="store_true", help="only the contract's x-kesk-invariants (CEL), with their faults"
    )
    parser.add_argument(
        "--transitions",
        action="store_true",
        help="only the lifecycles' transition tables: state x action -> answer, next state, requirement",
    )
    args = parser.parse_args(list(argv))
    if args.transitions:
        return _list_transitions(as_json=args.json)
    try:
        operation_ids = OperationIndex(load_spec()).ids()
    except SpecError as exc:
        return _error(str(exc))
    selected = catalogue().select(args.select, args.exclude)
    uncovered = catalogue().uncovered(operation_ids)
    faults = faults_by_requirement()
    contract = bundled_contract()
    promises = build_ledger(contract, catalogue(), faults, fault_breaks=fault_breaks())
    if args.ledger:
        entries = [entry for entry in promises.entries if _selected(entry.judged_by, args.select, args.exclude)]
        if args.json:
            print(json.dumps([entry.as_json() for entry in entries], indent=2))
        else:
            print(ledger_markdown(Ledger(entries, promises.unused_rows, promises.unknown_requirements)))
    elif args.invariants:
        _list_invariants(contract, fault_breaks(), as_json=args.json)
    elif args.trace:
        print(markdown(trace(contract, selected, faults)))
    elif args.json:
        print(json.dumps([{**item.as_json(), "faults": list(faults.get(item.id, ()))} for item in selected], indent=2))
    else:
        console = Console(highlight=False)
        for item in selected:
            console.print(
                f"[bold]{item.id}[/bold] [{'red' if item.level.value == 'MUST' else 'yellow'}]"
                f"{item.level.value}[/] {item.title}"
            )
            console.print(f"    [dim]{item.quote}[/dim]")
            console.print(f"    cites: {', '.join(item.cites)}; faults: {', '.join(faults.get(item.id, ())) or 'none'}")
            console.print(f"    operations: {', '.join(item.operations)}")
        rows = trace(contract, selected, faults)
        console.print("\n[bold]Trace[/bold] (rule -> requirements -> faults that must make them fail)")
        for row in rows:
            if not row.requirements and (args.select or args.exclude):
                continue  # a rule the selection left out
            requirements, faults_named = ", ".join(row.requirements) or "NONE", ", ".join(row.faults) or "none"
            console.print(f"  {row.rule or '(no rule)'} -> {requirements} -> {faults_named}")
        console.print(f"{len(selected)} requirements; operations covered by none: {', '.join(uncovered) or 'none'}")
        console.print(promises.line())
        console.print(
            f"expectations: {promises.expected} of {promises.expectable} documented answers required by a check "
            "in the default run (conformance/expectations.json)"
        )
    if uncovered:
        print(f"kesk-conformance: no requirement covers {', '.join(uncovered)}", file=sys.stderr)
        return 1
    return 0


def _list_transitions(*, as_json: bool) -> int:
    """`list --transitions`: every lifecycle machine's table (every reachable pair runs in every run)."""
    from conformance.checks.lifecycles import MACHINES

    if as_json:
        print(json.dumps([spec.table.as_json() for spec in MACHINES], indent=2))
        return 0
    for spec in MACHINES:
        table = spec.table
        print(f"{table.machine}: {len(table.rows)} pairs, {len(table.states)} states, starts in {table.initial}")
        for line in table.lines():
            print(f"  {line}")
        print()
    return 0
