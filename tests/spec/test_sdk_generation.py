"""An SDK author can generate a working Python client from spec/openapi.yaml.

Generates the client once per module with openapi-generator's `python` generator, then
imports it in a fresh interpreter (PYTHONPATH = the generated package) and checks the
operations and a few models built from the spec's own examples.
The generated client imports pydantic>=2, python-dateutil, urllib3 and typing-extensions.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SPEC_PATH = ROOT / "spec" / "openapi.yaml"
SEARCH_PATH = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def spec() -> dict:
    with SPEC_PATH.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


@pytest.fixture(scope="module")
def client_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("java") is None:
        pytest.skip("java is not installed (openapi-generator needs Java 17+)")
    generator = shutil.which("openapi-generator-cli", path=SEARCH_PATH)
    if generator is None:
        pytest.skip("openapi-generator-cli is not installed (pip install openapi-generator-cli)")
    out = tmp_path_factory.mktemp("kesk_client")
    proc = subprocess.run(
        [
            generator,
            "generate",
            "-g",
            "python",
            "-i",
            str(SPEC_PATH),
            "-o",
            str(out),
            "--package-name",
            "kesk_client",
            # Only the package is needed: no docs or generated test stubs.
            "--global-property",
            "apiDocs=false,modelDocs=false,apiTests=false,modelTests=false",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PATH": SEARCH_PATH},
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out


def run_in_client(client_dir: Path, code: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(client_dir)},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_generated_client_has_every_operation(client_dir: Path) -> None:
    # Given
    expected = sorted(snake(op["operationId"]) for item in spec()["paths"].values() for op in item.values())
    assert len(expected) == 30

    # When
    out = run_in_client(client_dir, "import json, kesk_client; print(json.dumps(dir(kesk_client.UserApi)))")

    # Then
    methods = set(json.loads(out))
    assert "add_favourite_product" in expected
    assert [name for name in expected if name not in methods] == []


@pytest.mark.parametrize(
    "model",
    [
        "UserEmailResponse",
        "UserPhoneNumberResponse",
        "GdprStatusResponse",
        "VerificationStatusResponse",
        "MyProfileResponse",
        "DataExportResponse",
        "AccountDeletionResponse",
        "NfcIdentityVerificationResponse",
        "PaginatedResponse_UserEmailResponse",
        "ErrorResponse",
    ],
)
def test_generated_models_parse_the_spec_examples(client_dir: Path, model: str) -> None:
    # Given: the example the spec gives for the model, as a server would send it
    example = spec()["components"]["schemas"][model]["example"]

    # When
    code = (
        "import json, sys, kesk_client\n"
        f"cls = getattr(kesk_client, {model.replace('_', '')!r}, None) or getattr(kesk_client, {model!r})\n"
        "obj = cls.from_json(sys.argv[1])\n"
        # model_dump, not to_dict: to_dict leaves out readOnly fields (it serialises requests).
        "print(json.dumps(obj.model_dump(mode='json', by_alias=True)))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, json.dumps(example)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(client_dir)},
    )

    # Then: the client accepts it and gives back the same document
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout) == example
