"""`run --export-pytest DIR`: each failure as a standalone pytest file, failing on the faulty server only."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from reference_server.embedded import running_server

FAULT = "auth_ignored"  # getProfileValidation answers without a token: AUTH-401-MISSING


def kesk(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "conformance.cli", *args], capture_output=True, text=True, timeout=600, check=False
    )


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("export")
    done = kesk(
        "run", "--fault", FAULT, "--select", "AUTH-401-*", "--report-dir", str(folder), "--export-pytest",
        str(folder / "regressions"), "--quiet",
    )  # fmt: skip
    assert done.returncode == 1, done.stderr + done.stdout
    return folder / "regressions"


def run_exported(path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The exported file run as a server team would: its own pytest, no kesk-conformance on its path."""
    clean_env = {key: value for key, value in os.environ.items() if not key.startswith(("KESK_", "PYTEST_"))}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:kesk_conformance", path.name],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=path.parent,
        env={**clean_env, **env},
    )


def test_only_failed_requirements_are_exported(exported: Path) -> None:
    assert sorted(path.name for path in exported.iterdir()) == ["test_auth_401_missing.py"]


def test_the_exported_file_needs_only_httpx_and_pytest(exported: Path) -> None:
    # Given
    source = (exported / "test_auth_401_missing.py").read_text()
    # Then
    imports = {line.split()[1] for line in source.splitlines() if line.startswith(("import ", "from "))}
    assert imports <= {"__future__", "os", "typing", "httpx", "pytest"}
    compile(source, "test_auth_401_missing.py", "exec")


@pytest.mark.parametrize(("faults", "returncode"), [([FAULT], 1), ([], 0)])
def test_the_exported_test_fails_on_the_faulty_server_and_passes_on_a_clean_one(
    exported: Path, faults: list[str], returncode: int
) -> None:
    # Given: a server with a user on it, as any server under test has
    with running_server(faults=faults) as url:
        token = httpx.post(f"{url}/_test/users", json={}, timeout=10).json()["token"]
        # When
        done = run_exported(exported / "test_auth_401_missing.py", {"KESK_BASE_URL": url, "KESK_TOKEN": token})
    # Then
    assert done.returncode == returncode, done.stdout + done.stderr
    if returncode:
        assert "AUTH-401-MISSING still fails" in done.stdout
        assert "GET /user/profile-validation as none answered 200; expected no Authorization header: status 401" in (
            done.stdout
        )
        assert token not in done.stdout


def test_without_a_base_url_the_exported_test_skips(exported: Path) -> None:
    # When
    done = run_exported(exported / "test_auth_401_missing.py", {})
    # Then
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 skipped" in done.stdout
