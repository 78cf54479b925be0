"""The SDK examples of the documentation (docs/sdk.md) run as written and pass.

Takes the python code blocks between `<!-- sdk-examples:start -->` and `<!-- sdk-examples:end -->`
in docs/sdk.md, writes each to its own test file and runs pytest on them in a fresh interpreter,
with the python client generated from spec/openapi.yaml (as tests/spec/test_sdk_generation.py
generates it) and this project on the path.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from test_sdk_generation import client_dir  # noqa: F401 - the module-scoped generation fixture

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "sdk.md"

pytestmark = pytest.mark.slow


def sdk_examples() -> list[str]:
    text = PAGE.read_text(encoding="utf-8")
    section = re.search(r"<!-- sdk-examples:start -->(.*?)<!-- sdk-examples:end -->", text, re.S)
    assert section is not None, "docs/sdk.md has no sdk-examples markers"
    return re.findall(r"^```python\n(.*?)^```$", section.group(1), re.S | re.M)


def test_the_sdk_page_shows_the_two_examples() -> None:
    # Given the SDK section, Then it holds a model round trip and a faults example, with no placeholder names
    blocks = sdk_examples()
    assert len(blocks) == 2
    assert "server_responses" in blocks[0] and "from_dict" in blocks[0]
    assert "/_test/faults" in blocks[1]
    assert not re.search(r"\bMy[A-Z]\w*|\.\.\.$|your SDK", "\n".join(blocks), re.M)


def test_the_sdk_page_examples_pass(client_dir: Path, tmp_path: Path) -> None:  # noqa: F811
    # Given each example as its own test file
    for index, code in enumerate(sdk_examples()):
        (tmp_path / f"test_docs_sdk_example_{index}.py").write_text(code, encoding="utf-8")

    # When pytest runs them with the generated client and this project importable
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(client_dir), str(ROOT)])},
    )

    # Then every test of every example passed
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert re.search(r"\b\d+ passed\b", proc.stdout) and " failed" not in proc.stdout, proc.stdout[-2000:]
