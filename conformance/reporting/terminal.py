"""The end-of-run summary on the terminal: a requirement table, each failure, the totals."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from conformance.failures import format_failure
from conformance.requirements import Level
from conformance.results import Outcome, RequirementResult, RunResult

OUTCOME_STYLE = {
    Outcome.PASSED: "green",
    Outcome.FAILED: "bold red",
    Outcome.SKIPPED: "yellow",
    Outcome.ERROR: "magenta",
    Outcome.KNOWN: "cyan",
    Outcome.NOT_APPLICABLE: "dim",
}
_ALWAYS_COUNTED = (Outcome.PASSED, Outcome.FAILED, Outcome.SKIPPED, Outcome.ERROR)


def totals_line(result: RunResult) -> str:
    """Outcome counts: passed, failed, skipped, error always; known, not applicable, stale when there are any."""
    parts = [
        f"{result.count(outcome)} {outcome.value.replace('_', ' ')}"
        for outcome in Outcome
        if outcome in _ALWAYS_COUNTED or result.count(outcome)
    ]
    stale = sum(1 for item in result.results if item.stale)
    if stale:
        parts.append(f"{stale} stale known failure(s)")
    return ", ".join(parts)


def summary_line(result: RunResult) -> str:
    """The run on one line, the seed included: what a CI log shows last."""
    return f"{totals_line(result)}  ({result.requests} requests in {result.duration_s:.1f}s, seed {result.seed})"


def requests_cell(item: RequirementResult) -> str:
    """What a requirement cost: the requests it sent; for an observer also the run's exchanges it judged."""
    if not item.requirement.observes:
        return str(item.requests)
    return f"{item.requests}, judged {item.judged}" if item.requests else f"judged {item.judged}"


def _outcome_cell(item: RequirementResult, *, strict: bool) -> Text:
    if item.stale:
        return Text(f"{item.outcome.value} (stale)", style="bold red")
    if item.outcome is Outcome.FAILED and not item.fails_run(strict=strict):
        # A SHOULD violation without --strict: visible, but not the red of a run-breaking failure.
        return Text("failed (SHOULD)", style="yellow")
    return Text(item.outcome.value.replace("_", " "), style=OUTCOME_STYLE[item.outcome])


def _reason(item: RequirementResult) -> str:
    if item.reason or not item.failures:
        return item.reason
    return f"{len(item.failures)} violation(s), see below"


def render_summary(result: RunResult, console: Console, *, reports: Sequence[object] = ()) -> None:
    """The table, each failure, notes, the report paths, and last the one-line summary (a CI log's last line)."""
    # Every cell is a Text, never markup: server text like "[REDACTED]" or "[1, 2]" must print as is.
    table = Table(title="Conformance results", title_justify="left", expand=False)
    table.add_column("Requirement", no_wrap=True)
    table.add_column("Level")
    table.add_column("Outcome", no_wrap=True)
    table.add_column("Requests", justify="right")
    table.add_column("Reason", overflow="fold")
    for item in result.results:
        level = item.requirement.level
        table.add_row(
            Text(item.requirement.id),
            Text(level.value, style="red" if level is Level.MUST else "yellow"),
            _outcome_cell(item, strict=result.strict),
            Text(requests_cell(item)),
            Text(_reason(item)),
        )
    console.print(table)

    failed = [item for item in result.results if item.outcome is Outcome.FAILED]
    for item in failed:
        for failure in item.failures:
            console.print()
            text = format_failure(item.requirement.id, item.requirement.quote, failure, seed=result.seed)
            console.print(Text(text, style="red" if item.fails_run(strict=result.strict) else "yellow"))
    console.print()

    lenient = sum(1 for item in failed if not item.fails_run(strict=result.strict))
    if lenient:
        console.print(
            Text(
                f"{lenient} SHOULD violation(s) reported without failing the run; --strict makes them fail it.",
                style="yellow",
            )
        )
    for item in result.results:
        if item.stale:
            console.print(Text(f"{item.requirement.id}: {item.reason}", style="bold red"))
    left_out = result.target.get("not_implemented")
    if isinstance(left_out, dict) and left_out:
        console.print(Text(f"not implemented by the target (not applicable): {', '.join(map(str, left_out))}"))
    if result.coverage is not None:  # what the run exercised of the contract (conformance.coverage)
        console.print(Text(result.coverage.line(), style="bold red" if result.coverage_shortfall else ""))
    if result.expectations is not None:
        console.print(Text(result.expectations.line()))
    if reports:
        console.print(Text(f"reports: {', '.join(str(path) for path in reports)}"))
    totals = Text(totals_line(result), style="bold red" if result.exit_code else "bold green")
    totals.append(summary_line(result).removeprefix(totals_line(result)), style="dim")
    console.print(totals)
