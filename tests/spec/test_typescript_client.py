"""A TypeScript SDK author can generate a working client from spec/openapi.yaml.

Generates openapi-generator's `typescript-fetch` client into tmp_path, compiles it with
clients/typescript/drive.ts under `tsc --strict` (TypeScript pinned by
clients/typescript/package-lock.json, installed with `npm ci`), and runs the driver with node
against the reference server: it calls all 30 operations through the client and checks that
each answer reads into the client's models. Needs Java 17 (openapi-generator) and Node >= 18.

Generator options, each for a reason that is not a defect of the contract:
- `--schema-mappings NullValue=null`: NullValue is the contract's OAS 3.0 device for a nullable
  reference (`anyOf: [$ref, NullValue]`, see GdprStatusResponse). The generator folds it into
  `AccountDeletionResponse | null` where it is used, but would also emit NullValue itself as a
  model it cannot type ("Null schema found", an import of a missing `NULL_SCHEMA_ERR`). The
  mapping says what NullValue is in TypeScript, `null`, so no such model is emitted.
- `importFileExtension=.js`: the generated sources import `./runtime.js`, which both
  `moduleResolution: bundler` (TypeScript 7 has no `node`) and Node's ESM loader resolve.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from reference_server.embedded import running_server

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SPEC_PATH = ROOT / "spec" / "openapi.yaml"
CLIENT_SOURCES = ROOT / "clients" / "typescript"
SEARCH_PATH = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
MIN_NODE_MAJOR = 18  # global fetch; TypeScript 7 itself needs 16.20
GENERATOR_OPTIONS = (
    "--schema-mappings",
    "NullValue=null",
    "--additional-properties",
    "importFileExtension=.js",
    # Only the sources are needed: no docs or generated test stubs.
    "--global-property",
    "apiDocs=false,modelDocs=false,apiTests=false,modelTests=false",
)
# Generator warnings that do not concern the contract, as (regex, why it is ignored). None so far:
# every WARN/ERROR line the generator prints about spec/openapi.yaml fails the test.
IGNORED_WARNINGS: tuple[tuple[str, str], ...] = ()


def missing_tool(reason: str) -> None:
    # .ci/run installs java, node and npm, so in CI a missing tool is a broken setup, not a skip.
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; .ci/run should have installed it")
    pytest.skip(reason)


def operation_ids(spec: dict[str, Any]) -> dict[str, set[int]]:
    """operationId -> the 2xx statuses the contract documents for it."""
    return {
        op["operationId"]: {int(code) for code in op["responses"] if str(code).startswith("2")}
        for item in spec["paths"].values()
        for op in item.values()
        if isinstance(op, dict) and "operationId" in op
    }


@dataclass(slots=True, frozen=True)
class Toolchain:
    generator: str
    node: str
    modules: Path  # node_modules installed by `npm ci` from clients/typescript/package-lock.json


@dataclass(slots=True, frozen=True)
class Build:
    warnings: list[str]  # the generator's WARN/ERROR lines, minus IGNORED_WARNINGS
    generator_output: str
    tsc: subprocess.CompletedProcess[str]
    script: Path  # dist/drive.js


@dataclass(slots=True, frozen=True)
class Drive:
    returncode: int
    operations: dict[str, dict[str, int]]
    failure: dict[str, str] | None
    stderr: str


def run(command: list[str], cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PATH": SEARCH_PATH},
    )


@pytest.fixture(scope="module")
def toolchain(tmp_path_factory: pytest.TempPathFactory) -> Toolchain:
    if shutil.which("java") is None:
        missing_tool("java is not installed (openapi-generator needs Java 17+)")
    generator = shutil.which("openapi-generator-cli", path=SEARCH_PATH)
    if generator is None:
        missing_tool("openapi-generator-cli is not installed (pip install -e '.[test]')")
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        missing_tool("node and npm are not installed (apt-get install nodejs npm)")
    assert generator is not None and node is not None and npm is not None
    version = run([node, "--version"], ROOT, 30).stdout.strip()
    if int(version.lstrip("v").split(".")[0]) < MIN_NODE_MAJOR:
        missing_tool(f"node {version} is too old: the driver needs Node {MIN_NODE_MAJOR}+ (global fetch)")

    # Given: the pinned TypeScript, installed from the lock file and nowhere near the repo
    deps = tmp_path_factory.mktemp("ts_deps")
    for name in ("package.json", "package-lock.json"):
        shutil.copy(CLIENT_SOURCES / name, deps / name)
    # --ignore-scripts: nothing in the lock file needs an install script.
    proc = run([npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"], deps, 300)
    assert proc.returncode == 0, f"npm ci failed:\n{proc.stdout[-2000:]}{proc.stderr[-3000:]}"
    return Toolchain(generator=generator, node=node, modules=deps / "node_modules")


def build(toolchain: Toolchain, spec: Path, work: Path) -> Build:
    """Generate the client from `spec` into work/generated and compile it with the driver."""
    for name in ("package.json", "tsconfig.json", "drive.ts"):
        shutil.copy(CLIENT_SOURCES / name, work / name)
    (work / "node_modules").symlink_to(toolchain.modules, target_is_directory=True)
    command = [
        toolchain.generator,
        "generate",
        "-g",
        "typescript-fetch",
        "-i",
        str(spec),
        "-o",
        str(work / "generated"),
    ]
    generated = run([*command, *GENERATOR_OPTIONS], work, 600)
    output = generated.stdout + generated.stderr
    assert generated.returncode == 0, output[-5000:]
    warnings = [
        line
        for line in output.splitlines()
        if re.search(r"\b(WARN|ERROR)\b", line) and not any(re.search(p, line) for p, _ in IGNORED_WARNINGS)
    ]
    # tsconfig.json says strict too; the flag makes the test's promise independent of that file.
    tsc = run([str(toolchain.modules / ".bin" / "tsc"), "-p", "tsconfig.json", "--strict"], work, 300)
    return Build(warnings=warnings, generator_output=output, tsc=tsc, script=work / "dist" / "drive.js")


def drive(toolchain: Toolchain, script: Path, base_url: str) -> Drive:
    proc = run([toolchain.node, str(script), base_url], script.parent, 120)
    lines = proc.stdout.strip().splitlines()
    assert lines, f"the driver printed no summary (exit {proc.returncode}):\n{proc.stderr[-3000:]}"
    summary = json.loads(lines[-1])
    return Drive(proc.returncode, summary["operations"], summary["failure"], proc.stderr)


@pytest.fixture(scope="module")
def client(toolchain: Toolchain, tmp_path_factory: pytest.TempPathFactory) -> Build:
    return build(toolchain, SPEC_PATH, tmp_path_factory.mktemp("ts_client"))


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with running_server() as url:
        yield url


def test_generator_has_no_warnings_about_the_contract(client: Build) -> None:
    # Then (the client was generated from spec/openapi.yaml by the fixture)
    assert client.warnings == [], "\n".join(client.warnings)
    assert "not generated due to schema mapping" in client.generator_output  # NullValue, see the module docstring


def test_generated_client_compiles_under_strict(client: Build) -> None:
    # Then
    assert client.tsc.returncode == 0, client.tsc.stdout[-5000:] + client.tsc.stderr[-2000:]
    assert client.script.is_file()


def test_driver_calls_every_operation_through_the_client(client: Build, toolchain: Toolchain, server: str) -> None:
    # Given
    assert client.tsc.returncode == 0, client.tsc.stdout[-3000:]
    documented = operation_ids(yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8")))
    assert len(documented) == 30

    # When
    result = drive(toolchain, client.script, server)

    # Then: every operation answered a documented 2xx that the client's models read
    assert result.failure is None, result.failure
    assert result.returncode == 0, result.stderr[-3000:]
    assert sorted(result.operations) == sorted(documented)
    wrong = {op: seen["status"] for op, seen in result.operations.items() if seen["status"] not in documented[op]}
    assert wrong == {}


def test_a_contract_change_that_breaks_the_client_fails(toolchain: Toolchain, server: str, tmp_path: Path) -> None:
    # Given: a contract whose UserEmailResponse renames is_primary, which the server still sends
    spec = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    model = spec["components"]["schemas"]["UserEmailResponse"]
    model["properties"]["primary"] = model["properties"].pop("is_primary")
    model["required"] = ["primary" if name == "is_primary" else name for name in model["required"]]
    model.pop("example", None)
    edited = tmp_path / "openapi.yaml"
    edited.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    work = tmp_path / "client"
    work.mkdir()

    # When
    broken = build(toolchain, edited, work)
    assert broken.tsc.returncode == 0, broken.tsc.stdout[-3000:]
    result = drive(toolchain, broken.script, server)

    # Then: the driver stops at the first operation whose answer the client cannot read, and names it
    assert result.returncode == 1
    assert result.failure is not None
    assert result.failure["operation"] == "addUserEmail"
    assert "is_primary" in result.failure["message"]
    assert "FAILED addUserEmail" in result.stderr
