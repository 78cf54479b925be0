"""The kit installs as a package: what `pip install kesk-conformance` gives works outside the repo.

Builds the sdist and, from it, the wheel with `python -m build` (isolated: the build backend comes
from the registry, as in a release), installs the wheel into a fresh virtualenv (dependencies
from the registry too), and from a folder outside the repo, with no PYTHONPATH, runs
`kesk-conformance serve`, a small `kesk-conformance run` against the bundled default target,
and draws an example from `strategies`. One build and one virtualenv serve every test here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from reference_server.launcher import serve_in_process

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
# What the installed kit reads at run time, beside its modules (the lookups in conformance/_spec.py,
# reference_server/contract.py, conformance/checks/schemathesis_engine.py, shards.py, ledger.py).
WHEEL_DATA = (
    "conformance/_spec/openapi.yaml",
    "conformance/_spec/test-support.yaml",
    "conformance/schemathesis.toml",
    "conformance/costs.json",
    "conformance/ledger.toml",
    "conformance/expectations.json",
    "strategies/py.typed",
)
SELECTION = "AUTH-401-*"  # a few quick requirements: enough to prove the run works, not the suite


@dataclass(slots=True, frozen=True)
class Installed:
    wheel: Path
    sdist: Path
    venv: Path
    outside: Path  # a working folder with nothing of the repo in it

    def bin(self, name: str) -> str:
        return str(self.venv / ("Scripts" if os.name == "nt" else "bin") / name)

    @property
    def env(self) -> dict[str, str]:
        # No PYTHONPATH and no VIRTUAL_ENV of the outer run: only the installed copy may be found.
        env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"}}
        return {**env, "PATH": os.pathsep.join([str(Path(self.bin("python")).parent), env.get("PATH", "")])}

    def run(self, *command: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            list(command), cwd=self.outside, env=self.env, capture_output=True, text=True, timeout=timeout
        )


def check(proc: subprocess.CompletedProcess[str], what: str) -> None:
    assert proc.returncode == 0, (
        f"{what} failed (exit {proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    pytest.importorskip("build", reason="the `build` package is in the test extras: pip install -e '.[test]'")
    base = tmp_path_factory.mktemp("packaging")
    dist, venv, outside = base / "dist", base / "venv", base / "outside"
    outside.mkdir()

    built = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(dist), str(ROOT)], capture_output=True, text=True, timeout=600
    )
    check(built, "python -m build")
    (wheel,) = dist.glob("*.whl")
    (sdist,) = dist.glob("*.tar.gz")

    # A bare virtualenv filled by this interpreter's pip (`pip --python`): ensurepip would add 10 s
    # for a pip the tests never use. --no-compile: only the modules a test imports get compiled.
    check(
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], capture_output=True, text=True),
        "venv",
    )
    kit = Installed(wheel=wheel, sdist=sdist, venv=venv, outside=outside)
    pip = [sys.executable, "-m", "pip", "--python", kit.bin("python"), "install", "--quiet", "--no-compile"]
    check(kit.run(*pip, "--disable-pip-version-check", str(wheel)), "pip install the wheel")
    return kit


def test_wheel_carries_the_contract_and_the_suites_data(installed: Installed) -> None:
    # When
    with zipfile.ZipFile(installed.wheel) as wheel:
        names = set(wheel.namelist())
    with tarfile.open(installed.sdist) as sdist:
        members = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}

    # Then
    assert [name for name in WHEEL_DATA if name not in names] == []
    assert not any(name.startswith(("tests/", "spec/", "clients/")) for name in names)
    assert {"spec/openapi.yaml", "spec/test-support.yaml", "clients/typescript/package-lock.json"} <= members


def test_installed_kit_reads_its_packaged_contract(installed: Installed) -> None:
    # Given
    code = (
        "import json, conformance, reference_server, strategies\n"
        "from conformance._spec import spec_path\n"
        "from reference_server.contract import bundled_contract\n"
        "print(json.dumps([conformance.__file__, reference_server.__file__, strategies.__file__,"
        " str(spec_path()), str(spec_path('test-support.yaml')), str(bundled_contract())]))\n"
    )

    # When
    proc = installed.run(installed.bin("python"), "-c", code)

    # Then: every module and spec file comes from the virtualenv, none from the repo
    check(proc, "import")
    paths = [Path(p).resolve() for p in json.loads(proc.stdout)]
    assert [p for p in paths if not p.is_relative_to(installed.venv.resolve())] == []
    assert paths[3].parent.name == "_spec"


def test_serve_prints_its_base_url_and_answers(installed: Installed) -> None:
    # When
    with serve_in_process([installed.bin("kesk-conformance"), "serve"], cwd=installed.outside, env=installed.env) as s:
        created = httpx.post(f"{s.base_url}/_test/users", json={}, timeout=10)
        profile = httpx.get(f"{s.base_url}/users/me", headers={"Authorization": "Bearer nope"}, timeout=10)

    # Then
    assert s.base_url.startswith("http://127.0.0.1:") and s.base_url.endswith("/v1")
    assert created.status_code == 201
    assert profile.status_code == 401


def test_run_against_the_bundled_target_passes(installed: Installed) -> None:
    # Given
    reports = installed.outside / "reports"

    # When
    proc = installed.run(
        installed.bin("kesk-conformance"), "run", "--select", SELECTION, "--quiet", "--report-dir", str(reports)
    )

    # Then
    check(proc, f"kesk-conformance run --select {SELECTION}")
    assert (reports / "results.json").is_file()
    assert (reports / "junit.xml").is_file()


def test_strategies_draw_examples(installed: Installed) -> None:
    # Given
    code = (
        "import json, warnings\n"
        "from hypothesis.errors import NonInteractiveExampleWarning\n"
        "import strategies\n"
        "warnings.simplefilter('ignore', NonInteractiveExampleWarning)\n"
        "print(json.dumps([strategies.e164_phone_numbers().example(), strategies.user_email_responses().example()]))\n"
    )

    # When
    proc = installed.run(installed.bin("python"), "-c", code)

    # Then
    check(proc, "strategies")
    phone, email = json.loads(proc.stdout)
    assert phone.startswith("+")
    assert "@" in email["email"]
