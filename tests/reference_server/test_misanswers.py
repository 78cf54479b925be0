"""The faults generated from the contract (misanswers.py): one per documented stateless refusal, each changing
exactly that answer of that operation, on a real server as in memory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from rs_helpers import new_user

from reference_server import hooks
from reference_server.embedded import running_server
from reference_server.errors import ApiError
from reference_server.faults import CATALOGUE, Fault
from reference_server.hooks import Refusal, Switchboard
from reference_server.misanswers import KINDS, MISANSWERS, Misanswer, faults

SPEC = yaml.safe_load((Path(__file__).resolve().parents[2] / "spec" / "openapi.yaml").read_text(encoding="utf-8"))


def _resolve(node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = SPEC
        for part in node["$ref"][2:].split("/"):
            target = target[part]
        node = target
    return node


def _documented() -> set[tuple[str, int, str]]:
    """(operation, status, code) of every documented response the contract's examples give a code, read here
    independently of misanswers.py."""
    found = set()
    for item in SPEC["paths"].values():
        for operation in item.values():
            if not isinstance(operation, dict) or "operationId" not in operation:
                continue
            for status, response in operation["responses"].items():
                for media in _resolve(response).get("content", {}).values():
                    values = [media.get("example"), *(e["value"] for e in media.get("examples", {}).values())]
                    found |= {(operation["operationId"], int(status), v["code"]) for v in values if v}
    return found


# The generated faults the catalogue holds: those whose promise no fault written by hand breaks already
IN_CATALOGUE = [item for item in MISANSWERS if item.name in {fault.name for fault in CATALOGUE}]


def test_the_family_is_every_documented_answer_of_its_kinds() -> None:
    expected = {answer for answer in _documented() if (answer[1], answer[2]) in KINDS}
    assert {(item.operation, item.status, item.code) for item in MISANSWERS} == expected
    assert len(expected) == len(MISANSWERS)


def test_each_names_its_promise_and_the_requirement_that_sends_it() -> None:
    item = next(m for m in MISANSWERS if (m.operation, m.status) == ("verifyUserEmail", 415))
    assert item.breaks == "spec:/paths/~1user~1emails~1{email_id}~1verify/post/responses/415#unsupported_media_type"
    assert item.name == "verify_user_email_415_as_400"
    assert item.kind.requirement == "ANSWER-415-MEDIA-TYPE"
    assert len({m.name for m in MISANSWERS}) == len(MISANSWERS)


def test_the_catalogue_holds_those_no_written_fault_breaks() -> None:
    # Given a fault written by hand that breaks one of the promises
    taken = MISANSWERS[0]
    written = Fault("by_hand", "d", ("X-Y",), hooks.WEB_REFUSED_ANSWER, taken.apply, breaks=(taken.breaks,))
    # Then the family leaves that one out, and the catalogue holds every other one (no written fault breaks them)
    assert [f.name for f in faults(Fault, [written])] == [m.name for m in MISANSWERS[1:]]
    generated = {m.name for m in MISANSWERS}
    broken_by_hand = {promise for f in CATALOGUE if f.name not in generated for promise in f.breaks}
    assert {m.name for m in MISANSWERS if m.breaks not in broken_by_hand} == {m.name for m in IN_CATALOGUE}
    assert 0 < len(MISANSWERS) - len(IN_CATALOGUE) < 10  # a few promises are broken by written faults


@pytest.mark.parametrize("item", MISANSWERS, ids=lambda item: item.name)
def test_a_misanswer_changes_its_own_answer_of_its_own_route_only(item: Misanswer) -> None:
    board = Switchboard(f for f in faults(Fault, []) if f.name == item.name)
    documented = ApiError(item.status, item.code, "as raised")
    here, elsewhere = Refusal(item.method, item.route), Refusal(item.method, item.route + "/else")
    changed = board.at(hooks.WEB_REFUSED_ANSWER, documented, here)
    assert (changed.status, changed.code) == (item.kind.wrong_status, item.kind.wrong_code)
    assert board.at(hooks.WEB_REFUSED_ANSWER, documented, elsewhere) is documented
    other = ApiError(401, "unauthorized", "as raised")
    assert board.at(hooks.WEB_REFUSED_ANSWER, other, here) is other


# --- on a running server: one server, each fault switched on in turn ------------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[httpx.Client]:
    with running_server() as url, httpx.Client(base_url=url + "/", timeout=10) as http:
        yield http


def _path(item: Misanswer, overrides: dict[str, str]) -> str:
    samples = {"fcm_token": "never-registered", "filename": "kesk-export-" + "a" * 40 + ".json"}
    path = item.route
    for name in ("email_id", "phone_id", "id", "fcm_token", "filename"):
        path = path.replace("{" + name + "}", overrides.get(name, samples.get(name, "8999999999999999999")))
    return path.lstrip("/")


def _provoke(http: httpx.Client, item: Misanswer) -> httpx.Response:
    """A request the contract answers `item.status item.code` (as the reference server checks it)."""
    user = new_user(http)
    operation = SPEC["paths"][item.route][item.method.lower()]
    has_body = "requestBody" in operation
    json_type = {"Content-Type": "application/json"}
    if item.status == 415:
        return user.request(item.method, _path(item, {}), content=b"{}", headers={"Content-Type": "text/plain"})
    if item.status == 400 and has_body:
        return user.request(item.method, _path(item, {}), content=b'{"', headers=json_type)
    if item.status == 400 and "{" in item.route:
        return user.request(item.method, _path(item, {"email_id": "x", "phone_id": "x", "id": "x"}))
    if item.status == 400:
        return user.request(item.method, _path(item, {}), params={"page": "x"})
    if item.status == 422 and not has_body:
        return user.request(item.method, _path(item, {}), params={"per_page": 0})
    if item.status == 422:
        return user.request(item.method, _path(item, {}), json={"reason": 5, "format": "csv"})
    return user.request(item.method, _path(item, {}), json={"token": "123456"} if has_body else None)


@pytest.mark.parametrize("item", IN_CATALOGUE, ids=lambda item: item.name)
def test_a_server_with_the_fault_answers_otherwise_and_without_it_as_documented(
    server: httpx.Client, item: Misanswer
) -> None:
    assert server.put("_test/faults", json={"faults": [item.name]}).status_code == 200
    try:
        faulty = _provoke(server, item)
    finally:
        assert server.put("_test/faults", json={"faults": []}).status_code == 200
    clean = _provoke(server, item)
    assert (clean.status_code, clean.json()["code"]) == (item.status, item.code)
    assert (faulty.status_code, faulty.json()["code"]) == (item.kind.wrong_status, item.kind.wrong_code)
