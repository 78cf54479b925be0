"""Cleanup removes everything a run left, whatever order the creations were recorded in."""

from __future__ import annotations

import httpx
import pytest

from conformance._spec import load_spec
from conformance.context import CheckContext
from conformance.operations import OperationIndex
from conformance.redact import Redactor
from conformance.runner import _cleanup
from conformance.target import TargetClient
from conformance.users import User
from reference_server.embedded import running_server


@pytest.mark.parametrize("workers", [1, 4])
def test_a_removal_refused_for_now_is_tried_again_after_the_others(workers: int) -> None:
    with running_server() as base_url:
        made = httpx.post(f"{base_url}/_test/users", json={}, timeout=10).json()
        headers = {"Authorization": f"Bearer {made['token']}"}
        phones = [
            httpx.post(
                f"{base_url}/user/phones",
                json={"phone_number": number, "country_code": "FI"},
                headers=headers,
                timeout=10,
            ).json()["id"]
            for number in ("0401234567", "0407654321")
        ]
        operations = OperationIndex(load_spec())
        client = TargetClient(base_url, operations, Redactor())
        ctx = CheckContext(
            client=client,
            operations=operations,
            redactor=Redactor(),
            user_a=User("A", made["token"], made["password"]),
            user_b=None,
            inbox=None,
            clock=None,
            factory=None,
            allow_destructive=False,
            max_examples=1,
            seed=1,
        )
        # Given the first phone (the primary, which the server removes only last) recorded as the newest creation
        for phone_id in reversed(phones):
            ctx.remove_later(ctx.user_a, "removeUserPhone", phone_id=phone_id)

        # When the run cleans up
        _cleanup(ctx, workers)
        client.close()
        held = httpx.get(f"{base_url}/user/phones", headers=headers, timeout=10).json()

    # Then both phones are gone: the primary's 409 was tried again once the other phone was removed
    assert held["items"] == []
    assert ctx.resources.created == []
