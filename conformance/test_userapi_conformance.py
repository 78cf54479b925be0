"""The suite as pytest items: one test per requirement (collected by `pytest --pyargs conformance`)."""

from __future__ import annotations

import pytest

from conformance.failures import format_failure
from conformance.requirements import Level, Requirement
from conformance.results import Outcome
from conformance.runner import RunSession


def test_requirement(kesk_session: RunSession, kesk_requirement: Requirement) -> None:
    result = kesk_session.run(kesk_requirement)
    if result.outcome is Outcome.SKIPPED:
        pytest.skip(result.reason)
    if result.outcome is Outcome.ERROR:
        pytest.fail(f"{kesk_requirement.id}: the suite could not decide: {result.reason}", pytrace=False)
    if result.outcome is Outcome.FAILED:
        text = "\n\n".join(
            format_failure(kesk_requirement.id, kesk_requirement.quote, failure, seed=kesk_session.ctx.seed)
            for failure in result.failures
        )
        if kesk_requirement.level is Level.SHOULD and not kesk_session.settings.strict:
            pytest.xfail(f"SHOULD requirement violated (fails only with --conformance-strict):\n{text}")
        pytest.fail(text, pytrace=False)
