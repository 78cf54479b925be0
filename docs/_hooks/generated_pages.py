"""MkDocs hook: the reference pages that are generated from the kit's own commands at every build.

Nothing in these pages is typed by hand: each is rendered from the JSON (or markdown) that a
`kesk-conformance` command prints, so the site cannot drift from the code. A page is one `GeneratedPage`
in `PAGES`: where it goes under docs/ (no file may exist there) and a function that renders it from
`kesk`, which runs `kesk-conformance ARGS...` and returns what it printed. To add a page, write its render
function, add one line to `PAGES` and place the path in mkdocs.yml's `nav`.

A command that fails (say `list` finding an operation no requirement covers) fails the build.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mkdocs.config.defaults import MkDocsConfig
    from mkdocs.structure.files import Files

ROOT = Path(__file__).resolve().parents[2]

Kesk = Callable[..., str]  # kesk("list", "--json") -> what `kesk-conformance list --json` printed

# What a requirement may need beyond user A's token, and what gives it that (a requirement whose need is
# not met is reported skipped with the reason, never passed). A need the code adds later is shown by name.
NEEDS = {
    "inbox": "an inbox for out-of-band codes: `--inbox` (one per channel)",
    "second_user": "a second user, for isolation: `--token-b` or a user factory",
    "destructive": "disposable users (a user factory) or `--allow-destructive`",
    "password": "user A's password (`--password`) or a user factory",
    "clock": "a test clock (`--test-support`) or lifetimes waited out (`--real-time-expiry`)",
}

GENERATED_NOTE = (
    '!!! note "Generated"\n'
    "    This page is generated at every build from `kesk-conformance {command}`; edit the code, not the page.\n"
)


class GenerationError(Exception):
    """A command behind a generated page failed; the message says which and why."""


@dataclass(slots=True, frozen=True)
class GeneratedPage:
    path: str  # under docs/, e.g. "reference/faults.md"
    render: Callable[[Kesk], str]


def run_kesk(*args: str) -> str:
    """`kesk-conformance ARGS` with this interpreter (the one MkDocs runs in), from the repository root."""
    done = subprocess.run(
        [sys.executable, "-m", "conformance.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise GenerationError(
            f"`kesk-conformance {' '.join(args)}` exited {done.returncode}: {done.stderr.strip()[-500:]}"
        )
    return done.stdout


def _cell(text: str) -> str:
    """Text as one markdown table cell."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _code_list(names: Iterable[str], link: Callable[[str], str] | None = None) -> str:
    shown = [f"[`{name}`]({link(name)})" if link else f"`{name}`" for name in names]
    return ", ".join(shown) or "none"


def _requirement_link(page: str) -> Callable[[str], str]:
    return lambda rid: f"{page}#{rid}"


def _fault_link(page: str) -> Callable[[str], str]:
    return lambda name: f"{page}#{name}"


def _operations(operations: Sequence[str], every: frozenset[str]) -> str:
    if len(every) > 1 and frozenset(operations) == every:
        return f"all {len(every)} operations"
    return _code_list(operations)


def render_requirements(kesk: Kesk) -> str:
    requirements: list[dict[str, Any]] = json.loads(kesk("list", "--json"))
    every_operation = frozenset(op for item in requirements for op in item["operations"])
    levels = {level: sum(1 for r in requirements if r["level"] == level) for level in ("MUST", "SHOULD")}
    areas: dict[str, list[dict[str, Any]]] = {}
    for item in requirements:
        areas.setdefault(item["area"], []).append(item)
    needs_seen = sorted({need for item in requirements for need in item["needs"]})
    lines = [
        "# Requirement catalogue",
        "",
        GENERATED_NOTE.format(command="list --json"),
        f"{len(requirements)} requirements ({levels['MUST']} MUST, {levels['SHOULD']} SHOULD), in the order "
        "they run, grouped by area. A MUST violation fails the run; a SHOULD violation is reported and fails it "
        "only with `--strict`. Each requirement quotes the sentence of the contract (`spec`) or of the upstream "
        "reference (`seed`) it enforces, and names the seeded faults of the reference server that must make it "
        "fail ([faults](faults.md)). Select with `--select`/`--exclude` globs over the ids.",
        "",
        "What a requirement needs beyond user A's token; without it, it is reported skipped with the reason:",
        "",
        "| need | what gives it | requirements |",
        "|---|---|---|",
    ]
    for need in needs_seen:
        count = sum(1 for item in requirements if need in item["needs"])
        lines.append(f"| `{need}` | {_cell(NEEDS.get(need, '(see the skip reason)'))} | {count} |")
    lines += ["", "| requirement | level | what it checks | needs |", "|---|---|---|---|"]
    for item in requirements:
        lines.append(
            f"| [`{item['id']}`](#{item['id']}) | {item['level']} | {_cell(item['title'])} "
            f"| {', '.join(item['needs']) or '-'} |"
        )
    for area, items in areas.items():
        lines += ["", f"## {area}", ""]
        for item in items:
            faults = item.get("faults", [])
            lines += [
                f"### {item['id']} {{#{item['id']}}}",
                "",
                f"**{item['level']}**: {item['title']}.",
                "",
                f"> {_cell(item['quote'])}",
                "",
                f"- cites: {_code_list(item['cites'])}",
                f"- operations: {_operations(item['operations'], every_operation)}",
                f"- needs: {', '.join(f'`{need}`' for need in item['needs']) or 'nothing more'}"
                + (" (judges every answer of the run)" if item.get("observes") else ""),
                f"- faults that must make it fail: {_code_list(faults, _fault_link('faults.md'))}",
                "",
            ]
    return "\n".join(lines).rstrip() + "\n"


def render_trace(kesk: Kesk) -> str:
    lines = [
        "# Trace: rules, requirements, faults",
        "",
        GENERATED_NOTE.format(command="list --trace"),
        "Every rule of the contract's `x-kesk-rules` has a requirement, every requirement cites what it "
        "enforces, and every requirement has a fault that must make it fail (`tests/conformance/test_catalogue.py` "
        "fails otherwise). Requirements that enforce a sentence of the upstream reference or an element of the "
        "spec rather than a rule are on the last row.",
        "",
        kesk("list", "--trace").strip(),
    ]
    return "\n".join(lines) + "\n"


def render_faults(kesk: Kesk) -> str:
    faults: list[dict[str, Any]] = json.loads(kesk("faults", "--json"))
    lines = [
        "# Seeded faults",
        "",
        GENERATED_NOTE.format(command="faults --json"),
        f"{len(faults)} faults: behaviour the contract forbids, each switched on with `kesk-conformance serve "
        "--fault NAME` (or `PUT /v1/_test/faults`), each naming the requirements that must fail on it. The "
        "self-test (`tests/selftest/test_selftest_faults.py`) runs each fault against the requirements that can "
        "see it and asserts that exactly its named requirements fail, with a curl line and no token shown; one "
        "runs against the full catalogue, twice with one seed.",
        "",
        "| fault | requirements that must fail | the bug |",
        "|---|---|---|",
    ]
    for fault in faults:
        lines.append(
            f'| <a id="{fault["name"]}"></a>`{fault["name"]}` '
            f"| {_code_list(fault['requirements'], _requirement_link('requirements.md'))} "
            f"| {_cell(fault['description'])} |"
        )
    return "\n".join(lines) + "\n"


def render_variants(kesk: Kesk) -> str:
    variants: list[dict[str, Any]] = json.loads(kesk("variants", "--json"))
    lines = [
        "# Conformant variants",
        "",
        GENERATED_NOTE.format(command="variants --json"),
        f"{len(variants)} variants: behaviour the contract allows that the reference server does not show by "
        "default, switched on with `kesk-conformance serve --variant NAME` (or `PUT /v1/_test/variants`). They "
        "mirror the [faults](faults.md): on every one of them the suite must pass. The self-test "
        "(`tests/selftest/test_selftest_variants.py`) runs the full catalogue against all of them: exit 0, no "
        "MUST failed or undecided.",
        "",
        "| variant | what the server does | allowed by |",
        "|---|---|---|",
    ]
    for variant in variants:
        lines.append(
            f'| <a id="{variant["name"]}"></a>`{variant["name"]}` | {_cell(variant["description"])} '
            f"| {_cell(variant['allowed_by'])} |"
        )
    return "\n".join(lines) + "\n"


def render_ledger(kesk: Kesk) -> str:
    entries: list[dict[str, Any]] = json.loads(kesk("list", "--ledger", "--json"))
    kinds = ("description", "response", "rule", "general")
    judged = sum(1 for entry in entries if entry["judged_by"])
    lines = [
        "# Ledger: every promise of the contract",
        "",
        GENERATED_NOTE.format(command="list --ledger --json"),
        f"{len(entries)} promises of `spec/openapi.yaml`, enumerated by code ([the oracle](../oracle.md)); "
        f"{judged} ({100 * judged / len(entries):.1f}%) are judged by an invariant or a requirement, each of the rest "
        "says why nothing outside the server can judge it.",
        "",
        "| kind | promises | judged |",
        "|---|---|---|",
    ]
    for kind in kinds:
        of_kind = [entry for entry in entries if entry["kind"] == kind]
        lines.append(f"| {kind} | {len(of_kind)} | {sum(1 for entry in of_kind if entry['judged_by'])} |")
    for kind in kinds:
        header = "| source | promise | judged by | faults | why not judged |"
        lines += ["", f"## {kind}", "", header, "|---|---|---|---|---|"]
        for entry in (entry for entry in entries if entry["kind"] == kind):
            lines.append(
                f"| `{_cell(entry['source'])}` | {_cell(entry['text'])} | {_code_list(entry['judged_by'])} "
                f"| {_code_list(entry['faults'], _fault_link('faults.md'))} | {_cell(entry['reason'] or '')} |"
            )
    return "\n".join(lines) + "\n"


def render_invariants(kesk: Kesk) -> str:
    invariants: list[dict[str, Any]] = json.loads(kesk("list", "--invariants", "--json"))
    lines = [
        "# Invariants",
        "",
        GENERATED_NOTE.format(command="list --invariants --json"),
        f"{len(invariants)} `x-kesk-invariants` of the contract, in CEL ([the oracle](../oracle.md)): "
        "`SCHEMA-INVARIANTS` judges every object of every answer against the invariants of its schema. Each has "
        "a seeded fault that breaks it.",
        "",
        "| invariant | schema | rule | promise | fault |",
        "|---|---|---|---|---|",
    ]
    for item in invariants:
        lines.append(
            f'| <a id="{item["id"]}"></a>`{item["id"]}` | `{item["schema"]}` | `{_cell(item["rule"])}` '
            f"| {_cell(item['message'])} | {_code_list(item['faults'], _fault_link('faults.md'))} |"
        )
    return "\n".join(lines) + "\n"


def render_transitions(kesk: Kesk) -> str:
    tables: list[dict[str, Any]] = json.loads(kesk("list", "--transitions", "--json"))
    pairs = sum(len(table["rows"]) for table in tables)
    lines = [
        "# Transitions: every state x action",
        "",
        GENERATED_NOTE.format(command="list --transitions --json"),
        f"{len(tables)} lifecycle machines, {pairs} pairs "
        "([the oracle](../oracle.md#transitions-every-state-x-action)). "
        "Every pair a run's capabilities reach is executed in every run, on covering paths planned from these tables; "
        "a requirement one of whose pairs did not run is not reported as passed.",
    ]
    for table in tables:
        lines += [
            "",
            f"## {table['machine']}",
            "",
            f"Starts in `{table['initial']}`; {len(table['states'])} states, {len(table['rows'])} pairs.",
            "",
            "| state | action | the contract's answer | next state | judged by | needs |",
            "|---|---|---|---|---|---|",
        ]
        for row in table["rows"]:
            answers = (
                " or ".join(f"{a['status']}" + (f" {a['code']}" if a["code"] else "") for a in row["answers"])
                or "(no request)"
            )
            lines.append(
                f"| `{row['state']}` | `{row['action']}` | {answers} | `{row['next']}` | `{row['requirement']}` "
                f"| {', '.join(row['needs'])} |"
            )
    return "\n".join(lines) + "\n"


PAGES: tuple[GeneratedPage, ...] = (
    GeneratedPage("reference/requirements.md", render_requirements),
    GeneratedPage("reference/trace.md", render_trace),
    GeneratedPage("reference/faults.md", render_faults),
    GeneratedPage("reference/variants.md", render_variants),
    GeneratedPage("reference/ledger.md", render_ledger),
    GeneratedPage("reference/invariants.md", render_invariants),
    GeneratedPage("reference/transitions.md", render_transitions),
)


def render_all(kesk: Kesk = run_kesk) -> dict[str, str]:
    """Every generated page as {path under docs/: markdown}; each command runs once."""
    once: Kesk = cache(kesk)
    return {page.path: page.render(once) for page in PAGES}


# ---- the MkDocs hook ------------------------------------------------------------------------------------


def on_files(files: Files, config: MkDocsConfig) -> Files:
    """Add the generated pages to the build (MkDocs calls this before it reads the nav)."""
    from mkdocs.exceptions import PluginError
    from mkdocs.structure.files import File

    try:
        pages = render_all()
    except GenerationError as exc:
        raise PluginError(str(exc)) from None
    for path, content in pages.items():
        if files.get_file_from_path(path) is not None or (Path(config["docs_dir"]) / path).exists():
            raise PluginError(f"docs/{path} is generated at build time; remove the file of that name")
        files.append(File.generated(config, path, content=content))
    return files
