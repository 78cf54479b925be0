"""The end-of-run summary on the terminal: a requirement table, each failure, the totals."""

from __future__ import annotations

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
}


def totals_line(result: RunResult) -> str:
    return ", ".join(f"{result.count(outcome)} {outcome.value}" for outcome in Outcome)


def _outcome_cell(item: RequirementResult, *, strict: bool) -> Text:
    if item.outcome is Outcome.FAILED and not item.fails_run(strict=strict):
        # A SHOULD violation without --strict: visible, but not the red of a run-breaking failure.
        return Text("failed (SHOULD)", style="yellow")
    return Text(item.outcome.value, style=OUTCOME_STYLE[item.outcome])


def _reason(item: RequirementResult) -> str:
    if item.reason or not item.failures:
        return item.reason
    return f"{len(item.failures)} violation(s), see below"


def render_summary(result: RunResult, console: Console) -> None:
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
            Text(str(item.requests)),
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

    totals = Text(totals_line(result), style="bold red" if result.exit_code else "bold green")
    totals.append(f"  ({result.requests} requests in {result.duration_s:.1f}s, seed {result.seed})", style="dim")
    console.print(totals)
    lenient = sum(1 for item in failed if not item.fails_run(strict=result.strict))
    if lenient:
        console.print(
            Text(
                f"{lenient} SHOULD violation(s) reported without failing the run; --strict makes them fail it.",
                style="yellow",
            )
        )
