"""The documentation: the MkDocs site builds strictly and offline, its reference pages are generated from the
kit's commands, and the README stays a short guide.

The strict build is what `make docs` runs; a broken link, a missing anchor or a page left out of the nav
fails it (proven on a copy of the site with one broken link).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
README = ROOT / "README.md"
NOWHERE = "http://127.0.0.1:9"  # a closed port: anything the build tried to download would fail

pytestmark = pytest.mark.slow


def load_hook() -> ModuleType:
    spec = importlib.util.spec_from_file_location("generated_pages", DOCS / "_hooks" / "generated_pages.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


hook = load_hook()


def mkdocs_build(config: Path, site: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KESK_")}
    env |= {
        "NO_MKDOCS_2_WARNING": "1",
        **dict.fromkeys(("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"), NOWHERE),
        "NO_PROXY": "",
        "no_proxy": "",
    }
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(config), "--site-dir", str(site)],
        cwd=config.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def nav_paths(nav: list[Any]) -> Iterator[str]:
    for entry in nav:
        value = next(iter(entry.values())) if isinstance(entry, dict) else entry
        if isinstance(value, list):
            yield from nav_paths(value)
        else:
            yield value


def mkdocs_config() -> dict[str, Any]:
    # mkdocs.yml is plain YAML (no !!python tags), so the safe loader reads it
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("site")
    done = mkdocs_build(ROOT / "mkdocs.yml", folder)
    assert done.returncode == 0, done.stderr[-4000:]
    assert "WARNING" not in done.stderr, done.stderr[-4000:]
    return folder


def test_the_site_builds_strictly_and_offline_with_every_page_generated_ones_complete(site: Path) -> None:
    # Given the strict build, with every download bound to fail
    # Then every page of the nav was built, generated ones included
    for path in nav_paths(mkdocs_config()["nav"]):
        name = path.removesuffix(".md")
        built = site / "index.html" if name == "index" else site / name / "index.html"
        assert built.is_file(), path
    # And no page asks a browser for web fonts or analytics
    pages = list(site.rglob("*.html"))
    assert len(pages) > 10
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert "fonts.googleapis.com" not in text and "fonts.gstatic.com" not in text, page
        assert "googletagmanager" not in text and "google-analytics" not in text, page
    # And each requirement, fault and variant the kit's commands list has its anchor on its generated page
    requirements = kit_json("list", "--json")
    faults = kit_json("faults", "--json")
    variants = kit_json("variants", "--json")
    names = ("requirements", "trace", "faults", "variants")
    reference = {name: (site / "reference" / name / "index.html").read_text("utf-8") for name in names}
    for item in requirements:
        assert f'id="{item["id"]}"' in reference["requirements"], item["id"]
    for fault in faults:
        assert f'id="{fault["name"]}"' in reference["faults"], fault["name"]
    for variant in variants:
        assert f'id="{variant["name"]}"' in reference["variants"], variant["name"]
    assert f"{len(requirements)} requirements" in reference["requirements"]
    assert f"{len(faults)} faults" in reference["faults"]
    assert f"{len(variants)} variants" in reference["variants"]
    assert "EMAIL-PRIMARY-UNIQUE" in reference["trace"] and "x-kesk-rules" in reference["trace"]


def test_a_broken_link_fails_the_build(tmp_path: Path) -> None:
    # Given a copy of the site with one link to a page that does not exist
    shutil.copytree(DOCS, tmp_path / "docs")
    shutil.copy(ROOT / "mkdocs.yml", tmp_path / "mkdocs.yml")
    page = tmp_path / "docs" / "ci.md"
    page.write_text(page.read_text(encoding="utf-8") + "\nSee [the missing page](missing.md).\n", "utf-8")

    # When it is built strictly
    done = mkdocs_build(tmp_path / "mkdocs.yml", tmp_path / "site")

    # Then the build fails and names the link
    assert done.returncode != 0
    assert "missing.md" in done.stderr, done.stderr[-3000:]


def kit_json(*args: str) -> Any:
    done = subprocess.run(
        [sys.executable, "-m", "conformance.cli", *args], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout)


def test_generated_pages_are_in_the_nav_and_never_files() -> None:
    nav = set(nav_paths(mkdocs_config()["nav"]))
    for page in hook.PAGES:
        assert page.path in nav, f"{page.path} is generated but not in mkdocs.yml's nav"
        assert not (DOCS / page.path).exists(), f"docs/{page.path} is generated: it may not exist as a file"


def test_a_page_renders_what_the_command_prints() -> None:
    # Given a kit that lists one requirement with a need the page does not know, and one fault
    listed = [
        {
            "id": "X-ONE",
            "level": "SHOULD",
            "area": "auth",
            "title": "Something | with a pipe",
            "quote": "The quote.",
            "cites": ["rule:X"],
            "operations": ["getMyProfile"],
            "needs": ["unverified_user"],
            "observes": False,
            "faults": ["x_fault"],
        }
    ]

    def kesk(*args: str) -> str:
        return {
            ("list", "--json"): json.dumps(listed),
            ("faults", "--json"): json.dumps(
                [{"name": "x_fault", "description": "It breaks.", "requirements": ["X-ONE"]}]
            ),
        }[args]

    # When the pages are rendered from it
    requirements = hook.render_requirements(kesk)
    faults = hook.render_faults(kesk)

    # Then the page shows what was listed, escaped for tables, linked both ways, the unknown need by name
    assert "### X-ONE {#X-ONE}" in requirements
    assert "Something \\| with a pipe" in requirements
    assert "| `unverified_user` | (see the skip reason) | 1 |" in requirements
    assert "[`x_fault`](faults.md#x_fault)" in requirements
    assert '<a id="x_fault"></a>`x_fault` | [`X-ONE`](requirements.md#X-ONE) | It breaks. |' in faults
    assert "1 requirements (0 MUST, 1 SHOULD)" in requirements


def test_a_failing_command_fails_the_build_with_its_reason() -> None:
    # Given a command that fails
    with pytest.raises(hook.GenerationError, match=r"`kesk-conformance no-such-command` exited 2"):
        hook.run_kesk("no-such-command")


# ---- the README --------------------------------------------------------------------------------------------


def test_the_readme_is_a_short_guide_whose_links_lead_somewhere() -> None:
    text = README.read_text(encoding="utf-8")
    # Under 150 lines, with the two commands, staging, CI, and no hand-kept tables between markers
    assert len(text.splitlines()) < 150
    for needed in (
        "make run",
        "make test",
        "--user-factory",
        "--inbox email=",
        "--inbox sms=",
        "action.yml",
        "ci/gitlab/kesk-conformance.yml",
    ):
        assert needed in text, needed
    assert not re.search(r"<!--\s*[\w-]+:(start|end)\s*-->", text)
    # And every relative link points at a file of the repository (docs pages included)
    links = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text)
    local = [link for link in links if not re.match(r"\w+://", link)]
    assert local, "the README links into the docs"
    for link in local:
        assert (ROOT / link).exists(), f"README links to {link}, which does not exist"
