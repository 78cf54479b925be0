"""Output for CI: GitHub Actions annotations and the job's step summary (markdown).

Under GitHub Actions (``GITHUB_ACTIONS=true``) each requirement that fails the run becomes an
``::error title=ID::message`` line (a SHOULD violation that does not fail it, a ``::warning``), which
GitHub shows on the run's page, and a markdown summary is appended to the file ``$GITHUB_STEP_SUMMARY``
names. Both read the same (already redacted) RunResult as every other report.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from conformance.reporting.junit import failure_message
from conformance.results import Outcome, RequirementResult, RunResult

__all__ = ["github_annotations", "in_github_actions", "markdown_summary", "write_step_summary"]


def in_github_actions(environ: Mapping[str, str]) -> bool:
    return environ.get("GITHUB_ACTIONS", "").lower() == "true"


def _data(text: str) -> str:
    # GitHub's workflow-command escaping: the message may not hold a raw newline.
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def _message(result: RequirementResult, run: RunResult) -> str:
    if result.stale or result.outcome is not Outcome.FAILED:
        return f"{result.requirement.title}: {result.reason}"
    first = result.failures[0] if result.failures else None
    where = f" [{first.operation}]" if first and first.operation else ""
    return f"{result.requirement.title}{where}: {failure_message(result, strict=run.strict)}"


def github_annotations(run: RunResult) -> list[str]:
    """One workflow command per requirement that failed (errors) or was violated leniently (warnings)."""
    lines = []
    for result in run.results:
        if result.fails_run(strict=run.strict):
            kind = "error"
        elif result.outcome is Outcome.FAILED:
            kind = "warning"  # a SHOULD violation without --strict
        else:
            continue
        lines.append(f"::{kind} title={_property(result.requirement.id)}::{_data(_message(result, run))}")
    return lines


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")[:300]


def markdown_summary(run: RunResult) -> str:
    """The run for a person reading the CI job page: verdict, totals, then every requirement that needs a look."""
    verdict = "passed" if run.exit_code == 0 else f"failed (exit code {run.exit_code})"
    counts = ", ".join(f"{run.count(outcome)} {outcome.value.replace('_', ' ')}" for outcome in Outcome)
    lines = [
        f"## Kesk conformance: {verdict}",
        "",
        f"Target `{run.target.get('base_url', '(unknown)')}` · {counts} · "
        f"{run.requests} requests in {run.duration_s:.1f} s · seed `{run.seed}`",
        "",
    ]
    left_out = run.target.get("not_implemented")
    if isinstance(left_out, dict) and left_out:
        lines += [f"Left out as not implemented: {', '.join(sorted(map(str, left_out)))}.", ""]
    attention = [r for r in run.results if r.stale or r.outcome in (Outcome.FAILED, Outcome.ERROR, Outcome.KNOWN)]
    if attention:
        lines += ["| Requirement | Level | Outcome | Operation | Detail |", "|---|---|---|---|---|"]
        for result in attention:
            first = result.failures[0] if result.failures else None
            outcome = "stale known failure" if result.stale else result.outcome.value
            if result.outcome is Outcome.FAILED and not result.fails_run(strict=run.strict):
                outcome = "failed (SHOULD, not failing the run)"
            detail = result.reason
            if first and not result.stale:
                detail = f"Expected: {first.expected}; Actual: {first.actual}"
            lines.append(
                f"| `{result.requirement.id}` | {result.requirement.level.value} | {outcome} | "
                f"{f'`{_cell(first.operation)}`' if first and first.operation else ''} | {_cell(detail)} |"
            )
        lines.append("")
    lines.append(f"Reproduce with `kesk-conformance run --seed {run.seed}` and the same selection.")
    return "\n".join(lines) + "\n"


def write_step_summary(run: RunResult, path: Path) -> None:
    """Append (GitHub concatenates the step's summaries) the markdown summary to $GITHUB_STEP_SUMMARY."""
    with path.open("a", encoding="utf-8") as summary:
        summary.write(markdown_summary(run))
