"""The contract as the suite reads it: rules (`x-kesk-rules`), limits (`x-kesk-limits`), citations.

Every number the suite judges by comes from :class:`Limits`, read from the contract it was given;
every requirement's quote is taken from the clause it cites (see :meth:`Contract.quote`). The
reference server reads the same document with its own loader: the suite never imports it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import cache, cached_property
from pathlib import Path
from typing import Any

from conformance._spec import SpecError, load_spec, spec_path

__all__ = ["Citation", "Contract", "Limits", "Rule", "bundled_contract"]

# How a requirement cites its source: "rule:OTP" (an x-kesk-rules id), "seed:addUserEmail" (the
# upstream reference's description of an operation, transcribed verbatim in the contract) or
# "spec:/components/securitySchemes/bearerAuth" (a JSON pointer to any other element of the contract),
# or "rfc:9110#15.5.6" for the few HTTP rules the contract takes for granted (quoted below, once).
Citation = str
_KINDS = ("rule", "seed", "spec", "rfc")
_RFC_CLAUSES = {
    "9110#15.5.6": "An origin server MUST generate an Allow header field in a 405 response containing a list of "
    "the target resource's currently supported methods.",
}


@dataclass(slots=True, frozen=True)
class Limits:
    """`x-kesk-limits`: the only copy of every number the suite judges by."""

    verification_token_ttl_s: int
    verification_token_max_attempts: int
    otp_ttl_s: int
    otp_max_attempts: int
    deletion_grace_period_days: int
    export_file_ttl_s: int
    per_page_default: int
    per_page_max: int
    gdpr_recent_exports_max: int


@dataclass(slots=True, frozen=True)
class Rule:
    id: str
    text: str
    source: str  # "seed" or "assumption"
    operations: tuple[str, ...]


class Contract:
    """One parsed contract document with typed access to its rules, limits and operations."""

    def __init__(self, document: dict[str, Any], path: Path | None = None) -> None:
        self.document = document
        self.path = path or spec_path()  # what Schemathesis reads
        self.rules = {
            str(item["id"]): Rule(
                str(item["id"]), str(item["rule"]), str(item.get("source", "")), tuple(item.get("operations", ()))
            )
            for item in document.get("x-kesk-rules", [])
        }
        self.operations: dict[str, dict[str, Any]] = {
            str(op["operationId"]): op
            for item in document.get("paths", {}).values()
            for op in item.values()
            if isinstance(op, dict) and "operationId" in op
        }

    @cached_property
    def limits(self) -> Limits:
        return _limits(self.document.get("x-kesk-limits"))

    @classmethod
    def load(cls, path: Path | None = None) -> Contract:
        return cls(load_spec(path), path)

    def require_consistent(self) -> None:
        """SpecError when x-kesk-limits and the schemas that restate a limit disagree (an edit done halfway)."""
        restated = (
            ("PerPage", "maximum", self.limits.per_page_max),
            ("PerPage", "x-kesk-default", self.limits.per_page_default),
            ("PerPageField", "maximum", self.limits.per_page_max),
        )
        for schema, name, stated in restated:
            found = self.schema(schema).get(name, stated)
            if found != stated:
                raise SpecError(
                    f"{self.path}: components/schemas/{schema} {name} is {found} but x-kesk-limits says {stated}; "
                    "edit both"
                )

    def require_same_api(self, reference: Contract) -> None:
        """SpecError unless this contract has the reference's operations (an edited copy, not another API)."""
        missing = sorted(set(reference.operations) - set(self.operations))
        unknown = sorted(set(self.operations) - set(reference.operations))
        if missing or unknown:
            shown = ", ".join([*(f"-{op}" for op in missing[:3]), *(f"+{op}" for op in unknown[:3])])
            raise SpecError(
                f"{self.path} is not the Kesk UserApi contract (operations differ: {shown}); "
                "pass an edited copy of spec/openapi.yaml"
            )

    def schema(self, name: str) -> dict[str, Any]:
        """A schema of components/schemas ({} when the contract has none of that name)."""
        found = self.document.get("components", {}).get("schemas", {}).get(name, {})
        return found if isinstance(found, dict) else {}

    # --- citations ---------------------------------------------------------------------------
    def resolve(self, citation: Citation) -> tuple[str, str]:
        """(the cited text, a label naming where it stands); SpecError when the citation points nowhere."""
        kind, _, ref = citation.partition(":")
        if kind not in _KINDS or not ref:
            raise SpecError(f"citation {citation!r} must be one of {', '.join(k + ':...' for k in _KINDS)}")
        if kind == "rule":
            if ref not in self.rules:
                raise SpecError(f"citation {citation!r}: the contract has no x-kesk-rules rule {ref!r}")
            return self.rules[ref].text, f"spec, {ref}"
        if kind == "rfc":
            if ref not in _RFC_CLAUSES:
                raise SpecError(f"citation {citation!r}: no such RFC clause is quoted in conformance.contract")
            return _RFC_CLAUSES[ref], f"RFC {ref.replace('#', ' ')}"
        if kind == "seed":
            if ref not in self.operations:
                raise SpecError(f"citation {citation!r}: the contract has no operation {ref!r}")
            return str(self.operations[ref].get("description", "")).strip(), f"seed, {ref}"
        node: Any = self.document
        for part in ref.strip("/").split("/"):
            key = part.replace("~1", "/").replace("~0", "~")
            if isinstance(node, list) and key.isdigit() and int(key) < len(node):
                node = node[int(key)]
            elif isinstance(node, dict) and key in node:
                node = node[key]
            else:
                raise SpecError(f"citation {citation!r}: no element {key!r} in the contract")
        if isinstance(node, dict):  # an element without a description is quoted by its members
            names = list(node)
            text = node.get("description") or ", ".join(names[:8]) + (", ..." if len(names) > 8 else "")
        else:
            text = node
        return " ".join(str(text).split()), f"spec, {ref}"

    def quote(self, citations: tuple[Citation, ...]) -> str:
        return "; ".join(f"{text} ({label})" for text, label in map(self.resolve, citations))

    def source(self, citations: tuple[Citation, ...]) -> str:
        """'seed' when a citation is the upstream reference's sentence (or a rule restating one)."""
        for citation in citations:
            kind, _, ref = citation.partition(":")
            if kind == "seed" or (kind == "rule" and self.rules.get(ref, Rule("", "", "", ())).source == "seed"):
                return "seed"
        return "spec"


def _limits(raw: object) -> Limits:
    if not isinstance(raw, dict):
        raise SpecError("the contract has no x-kesk-limits; the suite takes every number from there")
    values: dict[str, int] = {}
    for item in fields(Limits):
        value = raw.get(item.name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise SpecError(f"x-kesk-limits.{item.name} must be a positive integer, found {value!r}")
        values[item.name] = value
    return Limits(**values)


@cache
def bundled_contract() -> Contract:
    """The contract shipped with the kit (spec/openapi.yaml)."""
    return Contract.load()
