"""`kesk-conformance replay RESULTS.json ID`: send a recorded failure's steps again and judge them again.

The steps come from results.json (``steps`` of a failed requirement, see :mod:`conformance.steps`). The
target is chosen as for ``run``: ``--base-url`` with ``--token``/``--token-b`` (or ``--test-support`` to
create users), or by default a fresh embedded reference server (``--fault`` allowed) whose test-support
contract gives the users. Each step is sent as the user its symbol names; a failing step's answer is
judged against the recorded expectation (the status, and the ErrorResponse code where one was recorded;
otherwise whether the answer is still the recorded failing one).

Exit status: 1 when a failing step still fails, 0 when every one passes now, 2 for a usage error, a
requirement without steps, or a target that does not answer.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from conformance.config import ConfigError, Settings, add_arguments, resolve
from conformance.contract import bundled_contract
from conformance.failures import UndecidedRequirement
from conformance.operations import OperationIndex
from conformance.redact import Redactor
from conformance.steps import AUTH_USER_A, AUTH_USER_B, FailureSteps, Step, authorization, fill, learn_ids, placeholder
from conformance.target import TargetClient
from conformance.users import CommandUserFactory, TestSupportUserFactory, User, UserFactory, UserFactoryError

__all__ = ["ReplayError", "ReplayOutcome", "load_steps", "replay", "replay_main"]

# The options of `run` that choose and reach a target; the others (selection, reports...) mean nothing here.
_TARGET_OPTIONS = {
    "--config",
    "--base-url",
    "--token",
    "--token-b",
    "--password",
    "--test-support",
    "--user-factory",
    "--timeout",
    "--rate-limit",
    "--fault",
    "--variant",
    "--spec",
}


class ReplayError(Exception):
    """Steps that cannot be replayed here; the message is the one line the user sees (exit 2)."""


@dataclass(slots=True)
class ReplayOutcome:
    requirement_id: str
    lines: list[str] = field(default_factory=list)  # one per step, redacted
    still_failing: list[int] = field(default_factory=list)  # numbers of the failing steps that still fail
    judged: int = 0  # failing steps judged
    warnings: list[str] = field(default_factory=list)

    @property
    def still_fails(self) -> bool:
        return bool(self.still_failing)


def load_steps(path: Path, requirement_id: str) -> FailureSteps:
    """The recorded steps of one failed requirement of a results.json."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ReplayError(f"cannot read {path}: {exc.strerror or exc}") from None
    except ValueError:
        raise ReplayError(f"{path} is not JSON; pass the results.json of a run") from None
    requirements = data.get("requirements") if isinstance(data, dict) else None
    if not isinstance(requirements, list):
        raise ReplayError(f"{path} is not a kesk-conformance results.json (no requirements list)")
    found = next((item for item in requirements if isinstance(item, dict) and item.get("id") == requirement_id), None)
    if found is None:
        raise ReplayError(f"{path} has no requirement {requirement_id!r}")
    steps = found.get("steps")
    if not isinstance(steps, dict) or not steps.get("requests"):
        raise ReplayError(
            f"{requirement_id} has no recorded steps in {path} (it is {found.get('outcome', 'unknown')}; "
            "only failures that name their request have steps)"
        )
    try:
        return FailureSteps.from_json(requirement_id, steps)
    except (KeyError, TypeError, ValueError) as exc:
        raise ReplayError(f"the steps of {requirement_id} in {path} are malformed: {exc}") from None


class _Users:
    """The tokens of the users the steps name, given or created on first use."""

    def __init__(self, settings: Settings, factory: UserFactory | None) -> None:
        self.factory = factory
        self.users: dict[str, User] = {}
        if settings.token:
            self.users[AUTH_USER_A] = User("A", settings.token, settings.password)
        if settings.token_b:
            self.users[AUTH_USER_B] = User("B", settings.token_b)
        self.password = settings.password

    def tokens_for(self, steps: Sequence[Step]) -> dict[str, str]:
        # User A is there in every run (the preflight reads its profile), so the replay has it too.
        for symbol in dict.fromkeys([AUTH_USER_A, *(step.auth for step in steps)]):
            if symbol in self.users or not (symbol in (AUTH_USER_A, AUTH_USER_B) or symbol.startswith("user:")):
                continue
            if self.factory is None:
                flag = {AUTH_USER_A: "--token", AUTH_USER_B: "--token-b"}.get(symbol, "--test-support URL")
                raise ReplayError(f"a step is sent as {symbol}: pass {flag} (or --test-support URL to create users)")
            try:
                self.users[symbol] = self.factory.create(symbol)
            except UserFactoryError as exc:
                raise ReplayError(str(exc)) from None
        return {symbol: user.token for symbol, user in self.users.items()}

    def known(self) -> dict[str, str]:
        password = self.password or (self.users[AUTH_USER_A].password if AUTH_USER_A in self.users else None)
        return {placeholder("password"): password} if password else {}


def replay(failure: FailureSteps, client: TargetClient, users: _Users) -> ReplayOutcome:
    """Send every step in order; judge the failing ones against their recorded expectation."""
    outcome = ReplayOutcome(failure.requirement_id)
    tokens = users.tokens_for(failure.steps)
    known = users.known()
    redactor = client.redactor
    redactor.add(*tokens.values(), *known.values())
    unfilled = sorted({name for step in failure.steps for name in step.secrets if placeholder(name) not in known})
    if unfilled:
        outcome.warnings.append(
            f"the results keep no secret: {', '.join(unfilled)} sent as placeholders (${{...}}), so the steps that "
            "need the real value may be answered differently"
        )
    if failure.note:
        outcome.warnings.append(failure.note)
    for number, step in enumerate(failure.steps, 1):
        headers = dict(step.headers)
        auth = authorization(step.auth, tokens)
        if auth is not None:
            redactor.add(auth.partition(" ")[2])
            headers["Authorization"] = auth
        path = str(fill(step.path, known))
        body: Any = fill(step.json_body, known) if step.json_body is not None else None
        exchange = client.request(
            step.method,
            path,
            headers=headers,
            json_body=body if step.content is None else None,
            content=step.content.encode() if step.content is not None else None,
            params=httpx.QueryParams(list(step.query)) if step.query else None,
        )
        answer = exchange.json()
        learn_ids(dict(step.ids), answer, known)
        line = f"{number:>3}. {step.method} {redactor.text(path)} as {step.auth} -> {exchange.status}"
        if step.expect is not None:
            outcome.judged += 1
            if step.expect.violated_by(exchange.status, answer):
                outcome.still_failing.append(number)
                line += f"  STILL FAILS (expected {step.expect.describe()})"
            else:
                line += f"  passes now (expected {step.expect.describe()})"
        outcome.lines.append(line)
    return outcome


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kesk-conformance replay",
        description="Send a recorded failure's steps again and say whether it still fails (exit 1) or passes (0).",
    )
    parser.add_argument("results", metavar="RESULTS.json", help="the results.json of a run")
    parser.add_argument("requirement", metavar="ID", help="a failed requirement of that run")
    full = argparse.ArgumentParser(add_help=False)
    add_arguments(full)
    # The target options of `run`, the same definitions (help, metavar); argparse has no public way to pick
    # some of another parser's actions, and `parents=` would bring in selection and report options too.
    for action in full._actions:
        if set(action.option_strings) & _TARGET_OPTIONS:
            parser._add_action(action)
    return parser


def _factory(settings: Settings, test_support: str | None, redactor: Redactor) -> UserFactory | None:
    if settings.user_factory:
        return CommandUserFactory(settings.user_factory, redactor)
    if test_support:
        return TestSupportUserFactory(test_support, redactor, timeout_s=settings.timeout)
    return None


def replay_main(argv: Sequence[str]) -> int:
    from conformance.runner import open_target

    args = _parser().parse_args(list(argv))
    try:
        settings = resolve(args)
        failure = load_steps(Path(args.results), args.requirement)
        redactor = Redactor()
        redactor.add(settings.token, settings.token_b, settings.password)
        with open_target(settings) as target:
            test_support = settings.test_support or (target.base_url if target.embedded else None)
            users = _Users(settings, _factory(settings, test_support, redactor))
            client = TargetClient(
                target.base_url,
                OperationIndex(bundled_contract().document),
                redactor,
                timeout_s=settings.timeout,
                rate_limit=settings.rate_limit,
            )
            try:
                outcome = replay(failure, client, users)
            finally:
                client.close()
            where = redactor.text(target.base_url) + (" (embedded reference server)" if target.embedded else "")
    except (ConfigError, ReplayError) as exc:
        print(f"kesk-conformance: {exc}", file=sys.stderr)
        return 2
    except UndecidedRequirement as exc:
        print(f"kesk-conformance: the target gave no usable answer: {exc}", file=sys.stderr)
        return 2
    print(f"replaying {failure.requirement_id} ({failure.kind}, {len(failure.steps)} requests) against {where}")
    for warning in outcome.warnings:
        print(f"  note: {warning}")
    for line in outcome.lines:
        print(line)
    if outcome.judged == 0:
        print(f"{failure.requirement_id}: no step carries a recorded expectation; nothing to judge", file=sys.stderr)
        return 2
    if outcome.still_fails:
        print(f"{failure.requirement_id} still fails: step(s) {', '.join(map(str, outcome.still_failing))}")
        return 1
    print(f"{failure.requirement_id} passes now: {outcome.judged} failing step(s) answered as expected")
    return 0
