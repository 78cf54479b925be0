"""The suite as pytest items: one test per requirement (collected by `pytest --pyargs conformance`).

Known failures (`--kesk-known-failures`) and optional groups (`--kesk-not-implemented`) mean what they mean
to `kesk-conformance run`: a listed failure is an expected failure (xfail), a listed requirement that passes
fails as stale, and a requirement of a left-out group is skipped as not applicable without being run.
"""

from __future__ import annotations

import pytest

from conformance.adoption import Adoption
from conformance.failures import format_failure
from conformance.requirements import Level, Requirement
from conformance.results import Outcome
from conformance.runner import RunSession


def test_requirement(kesk_session: RunSession, kesk_adoption: Adoption, kesk_requirement: Requirement) -> None:
    if kesk_requirement.id in kesk_adoption.not_applicable:
        pytest.skip(f"not applicable: {kesk_adoption.not_applicable_reason(kesk_requirement)}")
    result = kesk_adoption.judge(kesk_session.run(kesk_requirement))
    if result.stale:
        pytest.fail(f"{kesk_requirement.id}: {result.reason}", pytrace=False)
    if result.outcome is Outcome.KNOWN:
        pytest.xfail(result.reason)
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
        pytest.fail(f"{result.reason}\n\n{text}" if "known failure" in result.reason else text, pytrace=False)
