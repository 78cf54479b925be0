"""The server takes every number of `x-kesk-limits` from the contract it is given, and from nowhere else."""

from __future__ import annotations

import ast
import asyncio
import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from rs_helpers import new_user, wrong_code
from starlette.applications import Starlette

import reference_server
from reference_server import create_app
from reference_server.contract import ContractError, Limits, bundled_contract, load_limits

SERVER = Path(reference_server.__file__).parent
SPEC = Path(__file__).parents[2] / "spec" / "openapi.yaml"


def _contract_limits() -> dict[str, Any]:
    document = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    return {key: value for key, value in document["x-kesk-limits"].items() if not key.startswith("x-")}


class _InProcess(httpx.BaseTransport):
    """A synchronous httpx transport into an ASGI app: no socket, no thread (lifespan is not run)."""

    def __init__(self, app: Starlette) -> None:
        self._asgi = httpx.ASGITransport(app=app)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        async def send() -> httpx.Response:
            response = await self._asgi.handle_async_request(request)
            return httpx.Response(response.status_code, headers=response.headers, content=await response.aread())

        return asyncio.run(send())


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., httpx.Client]]:
    """`serve(**create_app_kwargs)`: an httpx client on a fresh in-process server, closed after the test."""
    apps: list[Starlette] = []

    def start(**kwargs: Any) -> httpx.Client:
        app = create_app(export_dir=str(tmp_path / f"exports-{len(apps)}"), **kwargs)
        apps.append(app)
        return httpx.Client(transport=_InProcess(app), base_url="http://reference.test/v1/")

    yield start
    for app in apps:
        app.state.server.db.close()


def test_the_bundled_contract_is_the_source_tree_spec() -> None:
    assert bundled_contract().resolve() == SPEC.resolve()


def test_limits_have_one_field_per_key_of_the_contract() -> None:
    # A limit added to the contract must be obeyed by the server, or at least noticed here.
    assert {field.name for field in dataclasses.fields(Limits)} == set(_contract_limits())


def test_default_limits_are_the_contracts() -> None:
    assert dataclasses.asdict(load_limits()) == _contract_limits()


def test_no_limit_is_retyped_in_the_server() -> None:
    # Given the numbers only x-kesk-limits may state (5, 10, 20, 100... are too common to look for:
    # test_an_app_follows_edited_limits shows those are read from the limits)
    limits = _contract_limits()
    distinctive = {value for value in limits.values() if value > 100}
    assert distinctive
    for path in SERVER.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        # Then no module spells one out, nor keeps a constant named after a limit
        numbers = {node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and type(node.value) is int}
        assert not numbers & distinctive, path.name
        names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
        assert not names & {key.upper() for key in limits}, path.name


def test_an_app_follows_edited_limits(serve: Callable[..., httpx.Client]) -> None:
    # Given a server whose limits differ from the bundled contract's
    edited = dataclasses.replace(
        load_limits(), otp_max_attempts=3, per_page_max=50, per_page_default=7, deletion_grace_period_days=14
    )
    http = serve(limits=edited)
    user = new_user(http)
    # Then pages default to 7 items and stop at 50
    assert user.get("user/emails").json()["per_page"] == 7
    assert user.get("user/emails", params={"per_page": 50}).status_code == 200
    refused = user.get("user/emails", params={"per_page": 51})
    assert refused.status_code == 422
    assert refused.json()["details"] == [{"field": "per_page", "message": "must be between 1 and 50"}]
    # And an OTP allows 3 wrong attempts, then even the right one answers 429
    otp = user.request_otp("deletion")
    for _ in range(3):
        assert user.post("user/confirm-account-deletion", json={"otp": wrong_code(otp)}).status_code == 400
    assert user.post("user/confirm-account-deletion", json={"otp": otp}).status_code == 429
    # And the deletion announces the edited grace period
    pending = user.post("user/request-account-deletion", json={})
    assert pending.json()["grace_period_days"] == 14


def test_an_app_reads_the_contract_it_is_given(tmp_path: Path, serve: Callable[..., httpx.Client]) -> None:
    # Given an edited copy of the contract
    document = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    document["x-kesk-limits"]["otp_max_attempts"] = 2
    spec = tmp_path / "openapi.yaml"
    spec.write_text(yaml.safe_dump(document), encoding="utf-8")
    # When a server is built from it
    http = serve(spec=spec)
    user = new_user(http)
    otp = user.request_otp("export")
    # Then its limits are the edited contract's
    for _ in range(2):
        assert user.post("user/confirm-data-export", json={"otp": wrong_code(otp)}).status_code == 400
    assert user.post("user/confirm-data-export", json={"otp": otp}).status_code == 429


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda limits: limits.pop("otp_ttl_s"), "x-kesk-limits lacks otp_ttl_s"),
        (lambda limits: limits.update(otp_ttl_s=0), "otp_ttl_s must be a positive integer, not 0"),
        (lambda limits: limits.update(otp_ttl_s="600"), "otp_ttl_s must be a positive integer, not '600'"),
        (lambda limits: limits.update(per_page_default=101), "per_page_default (101) exceeds per_page_max (100)"),
    ],
    ids=["missing", "zero", "string", "default-above-max"],
)
def test_a_contract_with_unusable_limits_is_refused(tmp_path: Path, edit: Any, message: str) -> None:
    document = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    edit(document["x-kesk-limits"])
    spec = tmp_path / "openapi.yaml"
    spec.write_text(yaml.safe_dump(document), encoding="utf-8")
    with pytest.raises(ContractError) as raised:
        create_app(spec=spec)
    assert message in str(raised.value)


def test_a_missing_contract_is_refused_with_its_path(tmp_path: Path) -> None:
    with pytest.raises(ContractError, match=r"nowhere\.yaml"):
        load_limits(tmp_path / "nowhere.yaml")


def test_spec_and_limits_are_not_both_accepted() -> None:
    with pytest.raises(TypeError, match="not both"):
        create_app(spec=SPEC, limits=load_limits())
