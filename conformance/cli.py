"""`kesk-conformance`: the kit's one command.

Subcommands: run (the suite), list (requirements), spec (validate and outline the
contract), serve / new-user / faults (the bundled reference server). Usage errors exit 2
with one line; nothing a user can get wrong ends in a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import NoReturn

from rich.console import Console
from rich.table import Table

from conformance._spec import SpecError
from conformance.spec_summary import status_histogram, summarise

USAGE = """usage: kesk-conformance COMMAND [options]

commands:
  run        run the conformance suite (default target: the bundled reference server)
  soak       load a server with the lifecycles as Locust users, judging every answer (docs/soak.md)
  list       list the requirement catalogue
  merge      join the results.json of shards (run --shard I/N) into one run's reports
  replay     send a recorded failure's steps (results.json) again: does it still fail?
  baseline   print a known-failures file (for run --known-failures) from a run's results.json
  diff       compare two runs' results.json: regressed, fixed, new, removed (exit 1 on a regression)
  spec       validate the contract (spec/openapi.yaml) and print its outline
  serve      run the reference server
  new-user   create a disposable user through the test-support contract
  faults     list the reference server's seeded faults
  variants   list the reference server's conformant variants (behaviour the contract allows)

`kesk-conformance COMMAND --help` describes a command's options."""


def _spec_main(argv: Sequence[str]) -> int:
    if argv and argv[0] in ("-h", "--help"):
        print("usage: kesk-conformance spec\n\nValidate spec/openapi.yaml and print its operations.")
        return 0
    if argv:
        print(
            f"kesk-conformance spec: unexpected argument {argv[0]!r}; it takes no arguments; "
            "see `kesk-conformance spec --help`",
            file=sys.stderr,
        )
        return 2
    try:
        summary = summarise()
    except SpecError as exc:
        print(f"kesk-conformance: {exc}", file=sys.stderr)
        return 2
    console = Console(width=None if sys.stdout.isatty() else 160)
    table = Table(title=f"{summary.title} {summary.version} ({', '.join(summary.servers)})")
    for column in ("operationId", "method", "path", "documented statuses"):
        table.add_column(column, no_wrap=column != "documented statuses")
    for op in summary.operations:
        table.add_row(op.operation_id, op.method, op.path, " ".join(op.statuses))
    console.print(table)
    histogram = ", ".join(f"{code}: {n}" for code, n in sorted(status_histogram(summary).items()))
    console.print(
        f"valid OpenAPI; {len(summary.operations)} operations, {summary.schemas} schemas, "
        f"{summary.rules} business rules, {summary.assumptions} elements marked as assumptions"
    )
    console.print(f"statuses documented per operation: {histogram}")
    return 0


def _reference_server(name: str) -> Callable[[Sequence[str]], int]:
    """Commands of the bundled reference server, imported only when asked for."""

    def command(argv: Sequence[str]) -> int:
        from reference_server import cli as server_cli

        entry: Callable[[list[str]], int] = getattr(server_cli, name)
        return entry(list(argv))

    return command


def _run_main(argv: Sequence[str]) -> int:
    from conformance.runner_cli import run_main

    return run_main(argv)


def _soak_main(argv: Sequence[str]) -> int:
    from conformance.soak.cli import soak_main

    return soak_main(argv)


def _merge_main(argv: Sequence[str]) -> int:
    from conformance.merge import merge_main

    return merge_main(argv)


def _baseline_main(argv: Sequence[str]) -> int:
    from conformance.known_failures import baseline_main

    return baseline_main(argv)


def _diff_main(argv: Sequence[str]) -> int:
    from conformance.diff import diff_main

    return diff_main(argv)


def _replay_main(argv: Sequence[str]) -> int:
    from conformance.replay import replay_main

    return replay_main(argv)


def _list_main(argv: Sequence[str]) -> int:
    from conformance.runner_cli import list_main

    return list_main(argv)


COMMANDS: dict[str, Callable[[Sequence[str]], int]] = {
    "run": _run_main,
    "soak": _soak_main,
    "list": _list_main,
    "merge": _merge_main,
    "replay": _replay_main,
    "baseline": _baseline_main,
    "diff": _diff_main,
    "spec": _spec_main,
    "serve": _reference_server("serve_main"),
    "new-user": _reference_server("new_user_main"),
    "faults": _reference_server("faults_main"),
    "variants": _reference_server("variants_main"),
}


def _one_line_error(parser: argparse.ArgumentParser, message: str) -> NoReturn:
    """argparse's usage error as one line and a pointer to --help, not the whole usage block."""
    parser.exit(2, f"{parser.prog}: {message}; see `{parser.prog} --help`\n")


@contextlib.contextmanager
def _one_line_usage_errors() -> Iterator[None]:
    """While a subcommand parses its arguments, every argparse parser (ours and the reference server's)
    reports a usage mistake in one line. Scoped to the dispatch, so a library user's parsers are untouched."""
    original = argparse.ArgumentParser.error
    argparse.ArgumentParser.error = _one_line_error  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        argparse.ArgumentParser.error = original  # type: ignore[method-assign]


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(USAGE)
        return 0 if args else 2
    command = COMMANDS.get(args[0])
    if command is None:
        print(f"kesk-conformance: unknown command {args[0]!r}; choose one of {', '.join(COMMANDS)}", file=sys.stderr)
        return 2
    try:
        with _one_line_usage_errors():
            return command(args[1:])
    except SystemExit as exc:  # argparse: --help (0) or a usage mistake (2, already said in one line)
        if exc.code is None:
            return 0
        return exc.code if isinstance(exc.code, int) else 2
    except KeyboardInterrupt:
        print("kesk-conformance: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
