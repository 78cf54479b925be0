#!/usr/bin/env python3
# ruff: noqa  (vendored: kept line for line with the shared copy so it can be re-synced)
"""Check that an OpenAPI document transcribes the upstream UserApi reference.

Vendored from the project's shared tools (shared/tools/seed_fidelity.py). Changes from
that copy: the default --seed is this repo's spec/upstream/UserApi.md (an unchanged copy
of shared/seed/UserApi.md), resolved from the repo root (the parent of tools/).
The comparison itself is unchanged.

The upstream reference (spec/upstream/UserApi.md) is the `markdown` output of
openapi-generator with its markup stripped. This tool renders the given
OpenAPI document with the same generator, strips the markup the same way,
and compares the two operation by operation, field by field.

Usage: tools/seed_fidelity.py SPEC [--seed PATH] [--generator CMD]
Needs: Java 17+ and the PyPI package `openapi-generator-cli` (which bundles the jar).
Exit status 0 only when every compared field matches. Last line: the score.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SEED = REPO_ROOT / "spec" / "upstream" / "UserApi.md"
SECTION_WORDS = ("Parameters", "Return type", "Authorization", "HTTP request headers")


def strip_markup(md: str) -> list[str]:
    """Turn generator markdown into the plain lines the seed is made of."""
    out = []
    for line in md.splitlines():
        if line.startswith("<a name="):
            continue
        line = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", line)  # links -> their text
        line = line.replace("**", "").replace("\\_", "_").replace("*", "")
        line = re.sub(r"^(#+|>)\s*", "", line).strip()
        if line:
            out.append(line)
    return out


def cells(row: str) -> list[str]:
    return [c.strip() for c in row.strip().strip("|").split("|") if c.strip()]


def parse(lines: list[str]) -> dict:
    """Parse the plain seed format into {op: {field: value}} plus the base URL."""
    doc: dict = {"ops": {}, "base": None}
    i = 0
    while i < len(lines) and not lines[i].startswith("| Method"):
        if lines[i].startswith("All URIs are relative to"):
            doc["base"] = lines[i].split("to", 1)[1].strip()
        i += 1
    i += 2  # header + separator
    table = {}
    while i < len(lines) and lines[i].startswith("|"):
        c = cells(lines[i])
        method, path = c[1].split(" ", 1)
        table[c[0]] = {"method": method, "path": path, "summary": c[2] if len(c) > 2 else ""}
        i += 1
    names = set(table)
    current = None
    section = None
    while i < len(lines):
        line = lines[i]
        if line in names and (i + 1 < len(lines)) and re.search(r"\b%s\(" % re.escape(line), lines[i + 1]):
            current = dict(table[line], signature=lines[i + 1], description=[], params=[],
                           return_type="", content_type="", accept="")
            doc["ops"][line] = current
            section = "head"
            i += 2
            continue
        if current is None:
            i += 1
            continue
        if line in SECTION_WORDS:
            section = line
        elif section == "head":
            current["description"].append(line)
        elif section == "Parameters":
            if line.startswith("|") and not re.match(r"^\|\s*-", line) and not re.match(r"^\|\s*Name\b", line):
                current["params"].append(cells(line))
        elif section == "Return type":
            current["return_type"] = line
        elif section == "HTTP request headers":
            m = re.match(r"-\s*(Content-Type|Accept):\s*(.*)", line)
            if m:
                current["content_type" if m.group(1) == "Content-Type" else "accept"] = m.group(2).strip()
        i += 1
    for op in doc["ops"].values():
        # the first plain line after the signature is the summary; the rest is the description
        desc = op["description"]
        op["summary_line"] = desc[0] if desc else ""
        op["description"] = " ".join(desc[1:])
    table_only = names - set(doc["ops"])
    for name in table_only:
        doc["ops"][name] = dict(table[name], signature=None)
    return doc


def render(spec: Path, generator: str) -> list[str]:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = generator.split() + ["generate", "-g", "markdown", "-i", str(spec), "-o", tmp,
                                    "--skip-validate-spec"]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        apis = sorted(Path(tmp, "Apis").glob("*.md")) if Path(tmp, "Apis").exists() else []
        if proc.returncode != 0 or not apis:
            sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-3000:])
            raise SystemExit("openapi-generator could not render %s" % spec)
        if len(apis) > 1:
            print("note: generator made %d API files (%s); the seed has one (UserApi): "
                  "tag every operation the same" % (len(apis), ", ".join(a.stem for a in apis)))
        lines: list[str] = []
        for api in apis:
            part = strip_markup(api.read_text())
            lines.extend(part if not lines else part[1:])
        return lines


def compare(seed: dict, got: dict) -> tuple[int, int, list[str]]:
    fields = ["method", "path", "summary", "signature", "summary_line", "description",
              "params", "return_type", "content_type", "accept"]
    total = ok = 0
    problems = []
    total += 1
    if seed["base"] == got["base"]:
        ok += 1
    else:
        problems.append("base URL: seed %r, spec %r" % (seed["base"], got["base"]))
    for name, want in sorted(seed["ops"].items()):
        have = got["ops"].get(name)
        for f in fields:
            if f == "return_type" and not want.get(f):
                continue  # the seed lost most return-type lines with their links
            total += 1
            if have is not None and have.get(f) == want.get(f):
                ok += 1
            else:
                problems.append("%s.%s: seed %r, spec %r" % (name, f, want.get(f), None if have is None else have.get(f)))
    for name in sorted(set(got["ops"]) - set(seed["ops"])):
        total += 1
        problems.append("%s: in the spec, not in the seed" % name)
    return ok, total, problems


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("spec", type=Path)
    ap.add_argument("--seed", type=Path, default=DEFAULT_SEED)
    ap.add_argument("--generator", default=os.environ.get("OPENAPI_GENERATOR", "openapi-generator-cli"))
    args = ap.parse_args()
    if not shutil.which(args.generator.split()[0]):
        raise SystemExit("no %r on PATH: pip install openapi-generator-cli (needs Java)" % args.generator)
    seed = parse([l.strip() for l in args.seed.read_text().splitlines() if l.strip()])
    got = parse(render(args.spec, args.generator))
    ok, total, problems = compare(seed, got)
    for p in problems:
        print("MISMATCH " + p)
    print("seed fidelity: %d/%d fields match (%d operations in the seed)" % (ok, total, len(seed["ops"])))
    return 0 if ok == total else 1


if __name__ == "__main__":
    sys.exit(main())
