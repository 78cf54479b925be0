"""The contract the server implements: the numbers of `x-kesk-limits`, read from the OpenAPI file.

The contract is the only copy of every limit: `create_app` reads them from the
spec it is given (by default the bundled spec/openapi.yaml) and the handlers
take them from `ServerState.limits`. This loader is the server's own; the server
never imports the suite, so that a bug shared by both cannot go unseen.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from functools import cache
from pathlib import Path
from typing import Any

import yaml

__all__ = ["ContractError", "Limits", "bundled_contract", "load_limits"]

_ROOT = Path(__file__).resolve().parent.parent
# Where the contract is, in the order `conformance/_spec.py` looks: an installed wheel ships it
# under conformance/_spec/ (pyproject's force-include); a source checkout has it in spec/.
# Read as a file, not imported: the server depends on nothing of the suite.
_CANDIDATES = (_ROOT / "conformance" / "_spec" / "openapi.yaml", _ROOT / "spec" / "openapi.yaml")


class ContractError(Exception):
    """The contract is missing, unreadable, or its `x-kesk-limits` is incomplete; the message says which."""


@dataclass(slots=True, frozen=True)
class Limits:
    """The contract's `x-kesk-limits`, one field per key."""

    verification_token_ttl_s: int
    verification_token_max_attempts: int
    otp_ttl_s: int
    otp_max_attempts: int
    deletion_grace_period_days: int
    export_file_ttl_s: int
    per_page_default: int
    per_page_max: int
    gdpr_recent_exports_max: int

    def __post_init__(self) -> None:
        for spec in fields(self):
            value = getattr(self, spec.name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ContractError(f"x-kesk-limits.{spec.name} must be a positive integer, not {value!r}")
        if self.per_page_default > self.per_page_max:
            raise ContractError(
                f"x-kesk-limits.per_page_default ({self.per_page_default}) exceeds per_page_max ({self.per_page_max})"
            )

    @property
    def deletion_grace_period_s(self) -> int:
        return self.deletion_grace_period_days * 86400

    @classmethod
    def from_contract(cls, document: Mapping[str, Any], *, source: str = "the contract") -> Limits:
        """The limits of a parsed OpenAPI document; keys the server does not know are ignored."""
        section = document.get("x-kesk-limits")
        if not isinstance(section, Mapping):
            raise ContractError(f"{source} has no x-kesk-limits mapping")
        missing = [spec.name for spec in fields(cls) if spec.name not in section]
        if missing:
            raise ContractError(f"{source}: x-kesk-limits lacks {', '.join(missing)}")
        return cls(**{spec.name: section[spec.name] for spec in fields(cls)})


def bundled_contract() -> Path:
    """The spec/openapi.yaml that ships with the kit."""
    for candidate in _CANDIDATES:
        if candidate.is_file():
            return candidate
    raise ContractError(f"cannot find openapi.yaml: looked for {' and '.join(map(str, _CANDIDATES))}")


def load_limits(path: str | os.PathLike[str] | None = None) -> Limits:
    """The limits of the contract at `path` (default: the bundled one)."""
    resolved = Path(path).resolve() if path is not None else bundled_contract()
    try:
        stat = resolved.stat()
    except OSError as exc:
        raise ContractError(f"cannot read the contract {resolved}: {exc.strerror}") from None
    return _load_limits(resolved, stat.st_mtime_ns, stat.st_size)


@cache
def _load_limits(path: Path, mtime_ns: int, size: int) -> Limits:
    """Parsed once per file version: every app a test run creates reads the same contract."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
    except (OSError, yaml.YAMLError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ContractError(f"cannot read the contract {path}: {reason}") from None
    if not isinstance(document, Mapping):
        raise ContractError(f"{path} is not an OpenAPI document")
    return Limits.from_contract(document, source=str(path))
