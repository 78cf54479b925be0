"""CI in one line: the GitHub Action (action.yml) and the GitLab CI template run as their CI would run them.

The action's `run` steps and the template's `before_script`/`script` lines are read from the YAML files and
run in bash, in the order and with the environment the CI would give them (inputs and variables expanded the
way GitHub and GitLab expand them), against a reference server this test starts, with a user factory
(`kesk-conformance new-user`) and the test-support outbox as the inbox. The `uses:` steps (setup-python,
upload-artifact) are GitHub's own; here the interpreter is this one and the upload is checked by its path.

Installing the kit is real (pip builds and installs it from the repository into the CI's virtualenv), but
the virtualenv is made beforehand with a `.pth` line to this environment's site-packages, so that its
dependencies are found installed instead of downloaded: the test needs no network and takes seconds.
The GitLab job clones the kit with git from this repository, so it runs the committed files.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import sysconfig
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from reference_server.embedded import running_server

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
ACTION = ROOT / "action.yml"
TEMPLATE = ROOT / "ci" / "gitlab" / "kesk-conformance.yml"
RUN_SCRIPT = ROOT / "ci" / "run-conformance"
TEMPLATE_JOB = ".kesk-conformance"
# Quick requirements that need a user factory (disposable and second users) and an inbox.
SELECTION = "AUTH-401-MISSING BOLA-EXPORT-DOWNLOAD OTP-BRUTE-FORCE"
SELECTED = set(SELECTION.split())


def venv_reusing_this_environment(path: Path) -> Path:
    """A virtualenv whose dependencies are this environment's (a .pth line), so installing the kit downloads nothing."""
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True, timeout=120)
    purelib = subprocess.run(
        [str(path / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(purelib, "kesk-test-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    return path


def ci_environment(**extra: str) -> dict[str, str]:
    """The environment of a CI job: nothing of this session's KESK_* settings or virtualenv leaks in."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("KESK_", "GITHUB_", "CI_", "PYTEST_")) and key not in {"VIRTUAL_ENV", "PYTHONPATH"}
    }
    env["NO_COLOR"] = "1"
    env.update(extra)
    return env


def bash(script: str, *, cwd: Path, env: Mapping[str, str], timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-eo", "pipefail", "-c", script],
        cwd=cwd,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def junit_cases(path: Path) -> dict[str, str]:
    """requirement id (a testcase's name is "ID: title") -> outcome (passed, failure, error, skipped) of a junit.xml."""
    cases = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        outcome = next((child.tag for child in case if child.tag in ("failure", "error", "skipped")), "passed")
        cases[case.get("name", "").split(":")[0]] = outcome
    return cases


def outcomes(results: Path) -> dict[str, str]:
    return {item["id"]: item["outcome"] for item in json.loads(results.read_text(encoding="utf-8"))["requirements"]}


# ---- the GitHub Action ------------------------------------------------------------------------------------


_EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


@dataclass(slots=True)
class ActionRun:
    returncode: int
    log: str
    workspace: Path
    summary: str
    outputs: dict[str, str]
    uploaded: Path | None  # what upload-artifact would upload; None when the step would not run


@dataclass(slots=True)
class GitHubRunner:
    """Runs action.yml's steps as GitHub would, but in bash here: `run` steps for real, `uses` steps checked."""

    action: dict[str, Any]
    temp: Path  # runner.temp, where the install step leaves the kit's virtualenv
    base: Path
    installed: ActionRun | None = None

    def expand(self, value: object, inputs: Mapping[str, str]) -> str:
        def evaluate(match: re.Match[str]) -> str:
            expression = match.group(1)
            if expression == "github.action_path":
                return str(ROOT)
            if expression == "runner.temp":
                return str(self.temp)
            if expression.startswith("inputs."):
                return inputs[expression.removeprefix("inputs.")]
            if expression == "always() && inputs.artifact-name != ''":
                return "true" if inputs["artifact-name"] != "" else "false"
            raise AssertionError(f"action.yml uses an expression this test does not know: {expression!r}")

        return _EXPRESSION.sub(evaluate, str(value))

    def run(
        self, name: str, with_: Mapping[str, str], *, install: bool = False, only_install: bool = False
    ) -> ActionRun:
        """The action's steps with these inputs; its install step only when asked (the fixture runs it once)."""
        declared = self.action["inputs"]
        unknown = set(with_) - set(declared)
        assert not unknown, f"inputs action.yml does not declare: {unknown}"
        inputs = {key: str(spec.get("default", "")) for key, spec in declared.items()} | dict(with_)
        workspace = self.base / name
        workspace.mkdir()
        files = {key: workspace.parent / f"{name}.{key}" for key in ("summary", "output", "path")}
        for path in files.values():
            path.write_text("", encoding="utf-8")
        env = ci_environment(
            GITHUB_ACTIONS="true",
            GITHUB_ACTION_PATH=str(ROOT),
            GITHUB_WORKSPACE=str(workspace),
            GITHUB_STEP_SUMMARY=str(files["summary"]),
            GITHUB_OUTPUT=str(files["output"]),
            GITHUB_PATH=str(files["path"]),
            RUNNER_TEMP=str(self.temp),
        )
        log, returncode, uploaded = [], 0, None
        for step in self.action["runs"]["steps"]:
            installs = step.get("name", "").startswith("Install")
            if (installs and not (install or only_install)) or (only_install and not installs):
                continue
            if "if" in step and self.expand(step["if"], inputs) != "true":
                continue
            if returncode != 0 and "if" not in step:
                continue  # GitHub skips the remaining steps of a failed action, unless they say if: always()
            uses = step.get("uses", "")
            if uses.startswith("actions/setup-python@"):
                continue  # the interpreter is this test's
            if uses.startswith("actions/upload-artifact@"):
                uploaded = workspace / self.expand(step["with"]["path"], inputs)
                continue
            assert "run" in step, f"a step of action.yml this test cannot run: {step}"
            assert step["shell"] == "bash"
            step_env = env | {key: self.expand(value, inputs) for key, value in step.get("env", {}).items()}
            done = bash(self.expand(step["run"], inputs), cwd=workspace, env=step_env)
            log.append(done.stdout + done.stderr)
            returncode = returncode or done.returncode  # the first failing step decides
        outputs = dict(
            line.split("=", 1) for line in files["output"].read_text(encoding="utf-8").splitlines() if "=" in line
        )
        return ActionRun(returncode, "\n".join(log), workspace, files["summary"].read_text("utf-8"), outputs, uploaded)


@pytest.fixture(scope="module")
def github(tmp_path_factory: pytest.TempPathFactory) -> GitHubRunner:
    base = tmp_path_factory.mktemp("github")
    temp = base / "runner-temp"
    temp.mkdir()
    action = yaml.safe_load(ACTION.read_text(encoding="utf-8"))
    venv_reusing_this_environment(temp / "kesk-conformance-venv")
    runner = GitHubRunner(action=action, temp=temp, base=base)
    runner.installed = runner.run("install", {}, only_install=True)  # the action's install step
    return runner


@pytest.fixture(scope="module")
def preinstalled(tmp_path_factory: pytest.TempPathFactory) -> GitHubRunner:
    """A runner whose virtualenv already holds the kit (this environment, as a cached virtualenv would), so
    that only the first test pays for an install."""
    base = tmp_path_factory.mktemp("github-preinstalled")
    temp = base / "runner-temp"
    temp.mkdir()
    (temp / "kesk-conformance-venv").symlink_to(Path(sys.prefix), target_is_directory=True)
    return GitHubRunner(action=yaml.safe_load(ACTION.read_text(encoding="utf-8")), temp=temp, base=base)


@pytest.fixture(scope="module")
def clean_server() -> Iterator[str]:
    with running_server() as url:
        yield url


@pytest.fixture(scope="module")
def faulty_server() -> Iterator[str]:
    with running_server(faults=["auth_ignored"]) as url:  # AUTH-401-MISSING must fail
        yield url


def staging_inputs(url: str, kit_bin: Path, **more: str) -> dict[str, str]:
    """The inputs of a staging job: a base URL, a user factory and an inbox (no token)."""
    return {
        "base-url": url,
        "user-factory": f"{kit_bin / 'kesk-conformance'} new-user --base-url {url}",
        "inboxes": "test-support\n",
        "select": SELECTION,
        "args": f"--test-support {url} --max-examples 2 --seed 7",
    } | more


def test_the_action_installs_the_kit_runs_it_and_leaves_reports_and_a_summary(
    github: GitHubRunner, clean_server: str
) -> None:
    # Given a staging-shaped job against a conformant server
    kit_bin = github.temp / "kesk-conformance-venv" / "bin"

    # When the action's install step has run (once, in the fixture), then the other steps
    run = github.run("clean", staging_inputs(clean_server, kit_bin))

    # Then the kit was installed from this repository into the runner's virtualenv and found through GITHUB_PATH
    assert github.installed is not None and github.installed.returncode == 0, github.installed
    assert run.returncode == 0, run.log[-4000:]
    installed = subprocess.run(
        [str(kit_bin / "python"), "-c", "import conformance; print(conformance.__file__)"],
        cwd=github.temp,  # not the repository, whose conformance/ would come first on the path
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert str(github.temp) in installed, installed
    assert (github.base / "install.path").read_text(encoding="utf-8").strip() == str(kit_bin)
    # And the run passed every selected requirement and wrote the three reports where the upload step looks
    reports = run.workspace / "kesk-conformance-reports"
    assert run.uploaded == reports
    assert {p.name for p in reports.iterdir()} >= {"junit.xml", "results.json", "report.html"}
    assert outcomes(reports / "results.json") == dict.fromkeys(SELECTED, "passed")
    assert junit_cases(reports / "junit.xml") == dict.fromkeys(SELECTED, "passed")
    # And the job summary and the step's outputs say so
    assert "## Kesk conformance: passed" in run.summary
    assert run.outputs == {
        "exit-code": "0",
        "report-dir": "kesk-conformance-reports",
        "results": "kesk-conformance-reports/results.json",
    }


def test_the_action_fails_on_a_must_violation_and_still_uploads_the_reports(
    preinstalled: GitHubRunner, faulty_server: str
) -> None:
    # Given a server that answers without a token
    kit_bin = preinstalled.temp / "kesk-conformance-venv" / "bin"

    # When the action runs against it
    run = preinstalled.run("faulty", staging_inputs(faulty_server, kit_bin))

    # Then the step fails (exit 1) with an annotation, and the reports are there for the upload
    assert run.returncode == 1, run.log[-4000:]
    assert "::error title=AUTH-401-MISSING::" in run.log
    reports = run.workspace / "kesk-conformance-reports"
    assert run.uploaded == reports
    assert outcomes(reports / "results.json")["AUTH-401-MISSING"] == "failed"
    assert junit_cases(reports / "junit.xml")["AUTH-401-MISSING"] == "failure"
    assert "## Kesk conformance: failed (exit code 1)" in run.summary
    assert run.outputs["exit-code"] == "1"


def test_the_action_passes_known_failures_and_min_coverage_to_the_kit(
    preinstalled: GitHubRunner, faulty_server: str
) -> None:
    # Given the failure listed as known, and a coverage floor the small selection cannot reach
    kit_bin = preinstalled.temp / "kesk-conformance-venv" / "bin"
    known = preinstalled.base / "known.toml"
    known.write_text('[[known]]\nrequirement = "AUTH-401-MISSING"\nreason = "fixed next release"\n', "utf-8")

    # When the action runs with both
    run = preinstalled.run(
        "known", staging_inputs(faulty_server, kit_bin, **{"known-failures": str(known), "min-coverage": "99"})
    )

    # Then the failure is reported known, and the run fails for the coverage floor alone
    assert outcomes(run.workspace / "kesk-conformance-reports" / "results.json") == {
        "AUTH-401-MISSING": "known",
        "BOLA-EXPORT-DOWNLOAD": "passed",
        "OTP-BRUTE-FORCE": "passed",
    }
    assert run.returncode == 1, run.log[-4000:]
    assert "is below --min-coverage 99%" in run.log, run.log[-3000:]
    assert "::error title=AUTH-401-MISSING" not in run.log


def test_the_action_reports_a_configuration_mistake_in_the_summary(
    preinstalled: GitHubRunner, clean_server: str
) -> None:
    # Given a coverage floor that is not a percentage
    kit_bin = preinstalled.temp / "kesk-conformance-venv" / "bin"

    # When the action runs
    run = preinstalled.run("mistake", staging_inputs(clean_server, kit_bin, **{"min-coverage": "150"}))

    # Then it exits 2 with the kit's one line, writes no results, and the summary and an annotation say so
    assert run.returncode == 2
    assert "--min-coverage 150 must be a percentage" in run.log
    assert "Traceback" not in run.log
    assert not (run.workspace / "kesk-conformance-reports" / "results.json").exists()
    assert "## Kesk conformance: not run (exit code 2)" in run.summary
    assert "::error title=kesk-conformance::" in run.log
    assert run.outputs == {"exit-code": "2", "report-dir": "kesk-conformance-reports"}


# ---- the run script's own logic ---------------------------------------------------------------------------


def test_the_run_script_turns_inputs_into_arguments_and_keeps_secrets_in_the_environment(tmp_path: Path) -> None:
    # Given a stand-in for the kit that records how it was called
    record = tmp_path / "call.json"
    stub = tmp_path / "kesk-conformance"
    stub.write_text(
        f"#!{sys.executable}\nimport json, os, sys\n"
        f"json.dump({{'argv': sys.argv[1:], 'env': {{k: v for k, v in os.environ.items() if k.startswith('KESK_')}}}},"
        f" open({str(record)!r}, 'w'))\n",
        encoding="utf-8",
    )
    stub.chmod(0o755)
    env = ci_environment(
        KESK_CONFORMANCE=str(stub),
        KESK_INPUT_TOKEN="secret-token-a",
        KESK_TOKEN_B="",  # set but empty: not given
        KESK_INPUT_INBOXES="  email=maildev:http://127.0.0.1:1080\n\nsms=command:./read sms --fast  \n",
        KESK_INPUT_SELECT="AUTH-*\nEMAIL-*",
        KESK_INPUT_ARGS="--seed 7 --exclude 'AUTH-401-MALFORMED'",
        KESK_INPUT_MIN_COVERAGE="",
        KESK_MIN_COVERAGE="80",
        KESK_INPUT_REPORT_DIR="out",
    )

    # When the run script runs
    done = bash(shlex.quote(str(RUN_SCRIPT)), cwd=tmp_path, env=env)

    # Then each inbox line is one --inbox (spaces kept), the extra arguments are split as a shell would,
    # the settings travel as KESK_* variables, and the token is in the environment, never in the arguments
    call = json.loads(record.read_text(encoding="utf-8"))
    assert call["argv"] == [
        "run", "--report-dir", "out",
        "--inbox", "email=maildev:http://127.0.0.1:1080",
        "--inbox", "sms=command:./read sms --fast",
        "--seed", "7", "--exclude", "AUTH-401-MALFORMED",
    ]  # fmt: skip
    assert call["env"]["KESK_TOKEN"] == "secret-token-a"
    assert call["env"]["KESK_SELECT"] == "AUTH-*\nEMAIL-*"
    assert call["env"]["KESK_MIN_COVERAGE"] == "80"  # an empty input leaves the variable alone
    assert "KESK_TOKEN_B" not in call["env"] and "KESK_INBOXES" not in call["env"]
    assert not any("secret-token-a" in arg for arg in call["argv"])
    # And a stand-in that wrote no results exits 0 with nothing to upload: the script passes the status on
    assert done.returncode == 0, done.stderr


# ---- the GitLab CI template -------------------------------------------------------------------------------


def gitlab_expand(value: str, variables: Mapping[str, str]) -> str:
    """GitLab expands $VAR and ${VAR} in variables' values from the variables defined before them."""
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: variables.get(m.group(1) or m.group(2), m.group(0)), value)


def current_branch() -> str | None:
    done = subprocess.run(
        ["git", "-C", str(ROOT), "symbolic-ref", "--quiet", "--short", "HEAD"], capture_output=True, text=True
    )
    return done.stdout.strip() if done.returncode == 0 else None


def test_the_gitlab_template_clones_installs_and_runs_the_kit(tmp_path: Path, clean_server: str) -> None:
    # Given a project's job that extends the template, pointing at the kit's repository and a staging server
    job = yaml.safe_load(TEMPLATE.read_text(encoding="utf-8"))[TEMPLATE_JOB]
    project = tmp_path / "project"
    project.mkdir()
    predefined = {"CI_PROJECT_DIR": str(project), "CI_SERVER_URL": "https://gitlab.example.com", "CI": "true"}
    variables = dict(predefined)
    for key, value in job["variables"].items():
        variables[key] = gitlab_expand(str(value), variables)
    branch = current_branch()
    kit_venv = venv_reusing_this_environment(Path(variables["KESK_VENV"]))
    variables |= {
        # the project's own settings for the kit, as in the template's header
        "KESK_CONFORMANCE_REPO": str(ROOT),
        "KESK_CONFORMANCE_REF": branch or "main",
        "KESK_BASE_URL": clean_server,
        "KESK_USER_FACTORY": f"{kit_venv / 'bin' / 'kesk-conformance'} new-user --base-url {clean_server}",
        "KESK_INBOXES": "test-support",
        "KESK_SELECT": SELECTION,
        "KESK_ARGS": f"--test-support {clean_server} --max-examples 2 --seed 7",
    }
    if branch is None:  # a detached checkout has no branch to clone: use it as the kit's clone
        variables["KESK_CONFORMANCE_DIR"] = str(ROOT)

    # When its before_script and script lines run one after another in one shell, as the runner runs them
    lines = [*job["before_script"], *job["script"]]
    done = bash("\n".join(lines), cwd=project, env=ci_environment(**variables))

    # Then the kit was cloned and installed, the run passed, and the artifacts and the JUnit report exist
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    assert (Path(variables["KESK_CONFORMANCE_DIR"]) / "ci" / "run-conformance").is_file()
    for path in job["artifacts"]["paths"]:
        assert (project / path).exists(), path
    junit = project / job["artifacts"]["reports"]["junit"]
    assert junit_cases(junit) == dict.fromkeys(SELECTED, "passed")
    assert job["artifacts"]["when"] == "always"


# ---- the published schemas --------------------------------------------------------------------------------


def check_jsonschema(schema: str, *files: Path) -> subprocess.CompletedProcess[str]:
    """check-jsonschema with a schema it ships; proxies that lead nowhere prove it downloads nothing."""
    nowhere = "http://127.0.0.1:9"
    env = ci_environment(HTTP_PROXY=nowhere, HTTPS_PROXY=nowhere, http_proxy=nowhere, https_proxy=nowhere)
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, *map(str, files)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_the_action_and_the_template_follow_the_published_schemas(tmp_path: Path) -> None:
    # Given the action's metadata, the GitLab template, and its hidden job as a job of its own (the schema
    # lets hidden jobs hold anything), and each of the last two broken on purpose
    template_text = TEMPLATE.read_text(encoding="utf-8")
    as_job = tmp_path / "as-job.yml"
    as_job.write_text(template_text.replace(f"\n{TEMPLATE_JOB}:", f"\n{TEMPLATE_JOB[1:]}:"), "utf-8")
    broken_job = tmp_path / "broken-job.yml"
    broken_job.write_text(as_job.read_text("utf-8").replace("when: always", "when: sometimes"), "utf-8")
    broken_action = tmp_path / "broken-action.yml"
    broken_action.write_text(ACTION.read_text("utf-8").replace("using: composite", "using: compost"), "utf-8")

    # When check-jsonschema validates them against GitHub's and GitLab's schemas, offline
    valid = [
        check_jsonschema("vendor.github-actions", ACTION),
        check_jsonschema("vendor.gitlab-ci", TEMPLATE),
        check_jsonschema("vendor.gitlab-ci", as_job),
    ]
    refused = [
        check_jsonschema("vendor.gitlab-ci", broken_job),
        check_jsonschema("vendor.github-actions", broken_action),
    ]

    # Then the real files are valid, and the validation is real: the broken ones are refused
    for done in valid:
        assert done.returncode == 0, done.stdout + done.stderr
    for done in refused:
        assert done.returncode == 1 and "Schema validation errors" in done.stdout, done.stdout + done.stderr


def test_the_ci_examples_in_the_docs_follow_the_published_schemas(tmp_path: Path) -> None:
    # Given the workflow and the .gitlab-ci.yml the CI page shows
    page = (ROOT / "docs" / "ci.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```yaml\n(.*?)^```$", page, re.S | re.M)
    workflows = [b for b in blocks if "runs-on:" in b]
    gitlab = [b for b in blocks if "extends: .kesk-conformance" in b]
    assert workflows and gitlab, "docs/ci.md shows a GitHub workflow and a GitLab job"

    # When each is validated against its schema, offline
    results = []
    for index, block in enumerate(workflows):
        path = tmp_path / f"workflow-{index}.yml"
        path.write_text(block, encoding="utf-8")
        results.append(check_jsonschema("vendor.github-workflows", path))
    for index, block in enumerate(gitlab):
        path = tmp_path / f"gitlab-{index}.yml"
        path.write_text(block, encoding="utf-8")
        results.append(check_jsonschema("vendor.gitlab-ci", path))

    # Then every one is valid, and every input the workflows give is one action.yml declares
    for done in results:
        assert done.returncode == 0, done.stdout + done.stderr
    declared = set(yaml.safe_load(ACTION.read_text(encoding="utf-8"))["inputs"])
    for block in workflows:
        for step in yaml.safe_load(block)["jobs"]["conformance"]["steps"]:
            if "kesk-conformance@" in step.get("uses", ""):
                assert set(step.get("with", {})) <= declared, step
