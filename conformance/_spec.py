"""Find and load the contract (spec/openapi.yaml) wherever the kit is installed."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

_PACKAGED = Path(__file__).resolve().parent / "_spec"
_SOURCE = Path(__file__).resolve().parent.parent / "spec"


class SpecError(Exception):
    """The spec file is missing or unreadable; the message says which file and why."""


def spec_path(name: str = "openapi.yaml") -> Path:
    """Path of a contract document: the wheel's copy, else the source tree's ``spec/``."""
    for folder in (_PACKAGED, _SOURCE):
        candidate = folder / name
        if candidate.is_file():
            return candidate
    raise SpecError(f"cannot find {name}: looked in {_PACKAGED} and {_SOURCE}; reinstall kesk-conformance")


@cache
def _load(path: Path) -> dict[str, Any]:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SpecError(f"cannot read the spec {path}: {reason}") from None
    if not isinstance(document, dict) or "paths" not in document:
        raise SpecError(f"{path} is not an OpenAPI document (no 'paths'); pass a valid spec file")
    return document


def load_spec(path: Path | None = None) -> dict[str, Any]:
    """The parsed OpenAPI document (cached per path; callers must not mutate it)."""
    return _load((path or spec_path()).resolve())
