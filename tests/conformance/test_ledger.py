"""The ledger (conformance/ledger.py): every promise of the contract, accounted for.

The contract is enumerated here again, independently of the ledger's own walk, and the two are compared.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from conformance.catalogue import catalogue
from conformance.cli import main as kesk_conformance
from conformance.contract import Contract, bundled_contract
from conformance.ledger import KINDS, build_ledger, enumerate_promises, load_table
from conformance.trace import fault_breaks, faults_by_requirement

DOCUMENT = bundled_contract().document


def _pointer(parts: list[str]) -> str:
    return "".join("/" + part.replace("~", "~0").replace("/", "~1") for part in parts)


def _descriptions(node: Any, parts: list[str]) -> Iterator[str]:
    """Every described element (independently of the ledger): all but responses and the document's furniture."""
    if isinstance(node, dict):
        furniture = parts[:1] in (["tags"], ["servers"]) or parts[:2] in (["info", "contact"], ["info", "license"])
        response = (len(parts) == 5 and parts[0] == "paths" and parts[3] == "responses") or parts[:2] == [
            "components",
            "responses",
        ]
        if isinstance(node.get("description"), str) and parts not in ([], ["info"]) and not furniture and not response:
            yield "spec:" + _pointer(parts)
        for key, value in node.items():
            if not str(key).startswith("x-kesk-") and key not in ("example", "examples"):
                yield from _descriptions(value, [*parts, str(key)])
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _descriptions(value, [*parts, str(index)])


def _responses() -> Iterator[str]:
    for path, item in DOCUMENT["paths"].items():
        for method, operation in item.items():
            for status, response in operation["responses"].items():
                resolved = response
                if "$ref" in response:
                    resolved = DOCUMENT["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
                media = next(iter(resolved.get("content", {}).values()), {})
                codes = [media["example"]["code"]] if "code" in media.get("example", {}) else []
                codes += [example["value"]["code"] for example in media.get("examples", {}).values()]
                base = f"spec:{_pointer(['paths', path, method, 'responses', status])}"
                yield from ([f"{base}#{code}" for code in codes] if codes else [base])


def _sentences(text: str) -> int:
    # A sentence ends at '.' or ';' before a space (or the end of the text).
    return len(re.findall(r"[.;](?:\s|$)", " ".join(text.split())))


def test_the_ledger_holds_every_promise_of_the_contract_and_nothing_else() -> None:
    # Given the contract, enumerated independently: descriptions, documented answers, rule and info sentences
    wanted = {*_descriptions(DOCUMENT, []), *_responses()}
    wanted |= {
        f"spec:/x-kesk-rules/{index}/rule#{number}"
        for index, rule in enumerate(DOCUMENT["x-kesk-rules"])
        for number in range(1, _sentences(rule["rule"]) + 1)
    }
    wanted |= {f"spec:/info/description#{n}" for n in range(1, _sentences(DOCUMENT["info"]["description"]) + 1)}
    # When the ledger enumerates it
    found = [entry.source for entry in enumerate_promises(DOCUMENT)]
    # Then both hold the same promises, each once
    assert len(found) == len(set(found))
    assert set(found) ^ wanted == set()
    assert {entry.kind for entry in enumerate_promises(DOCUMENT)} == set(KINDS)


def test_every_promise_is_judged_or_says_why_not() -> None:
    ledger = build_ledger(bundled_contract(), catalogue(), faults_by_requirement(), fault_breaks=fault_breaks())
    assert [entry.source for entry in ledger.unaccounted()] == []
    assert ledger.percent >= 90.0, ledger.line()
    # and a reason is given only where nothing judges
    assert [entry.source for entry in ledger.entries if entry.judged and entry.reason] == []


def test_the_table_names_only_what_exists() -> None:
    ledger = build_ledger(bundled_contract(), catalogue(), faults_by_requirement())
    assert ledger.unused_rows == []
    assert ledger.unknown_requirements == []
    assert load_table()  # it is read


def test_a_description_added_to_the_contract_is_a_promise_the_ledger_lacks() -> None:
    # Given a contract with one more described field
    document = copy.deepcopy(DOCUMENT)
    document["components"]["schemas"]["UserEmailResponse"]["properties"]["nickname"] = {
        "type": "string",
        "description": "A name the user gave the address.",
    }
    # When its ledger is built
    ledger = build_ledger(Contract(document), catalogue(), faults_by_requirement())
    # Then the new promise is named as unaccounted
    assert [entry.source for entry in ledger.unaccounted() if entry.kind == "description"] == [
        "spec:/components/schemas/UserEmailResponse/properties/nickname"
    ]


def test_invariants_judge_the_descriptions_of_what_they_read() -> None:
    ledger = build_ledger(bundled_contract(), catalogue(), faults_by_requirement(), fault_breaks=fault_breaks())
    by_source = {entry.source: entry for entry in ledger.entries}
    entry = by_source["spec:/components/schemas/ProfileValidationResponse/properties/is_complete"]
    assert "VALIDATION-COMPLETE" in entry.judged_by
    assert "invariant_validation_complete" in entry.faults


def test_list_ledger_json_has_the_documented_shape(capsys: pytest.CaptureFixture[str]) -> None:
    assert kesk_conformance(["list", "--ledger", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows and all(
        {"source", "kind", "judged_by", "faults", "reason"} <= set(row)
        and row["source"].startswith("spec:/")
        and row["kind"] in KINDS
        and (row["judged_by"] or row["reason"])
        for row in rows
    )


def test_list_invariants_prints_each_rule_with_its_fault(capsys: pytest.CaptureFixture[str]) -> None:
    assert kesk_conformance(["list", "--invariants", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) >= 40
    assert all(row["rule"] and row["faults"] == ["invariant_" + row["id"].lower().replace("-", "_")] for row in rows)
