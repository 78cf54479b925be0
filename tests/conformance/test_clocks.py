"""Which clock ages codes and files, and how the wall clock's waits are scheduled."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from bench.staging import short_lifetimes
from conformance.checks.lifecycles._base import Due, Lifecycle, MachineSpec, owned, run_once
from conformance.checks.lifecycles._table import Row, Table, row
from conformance.config import parse
from conformance.context import CheckContext, TestClock, WallClock
from conformance.contract import Contract, bundled_contract
from conformance.failures import RunInterrupted
from conformance.redact import Redactor
from conformance.requirements import Need, Sharing
from conformance.runner import AUTO_REAL_TIME_MAX_S, choose_clock, lifetimes
from conformance.users import User

SPEC = Path(__file__).parents[2] / "spec" / "openapi.yaml"


def _contract(tmp_path: Path, seconds: int) -> Contract:
    return Contract.load(short_lifetimes(SPEC, tmp_path / f"openapi-{seconds}.yaml", seconds))


def test_lifetimes_are_the_contracts_ttl_limits() -> None:
    limits = bundled_contract().limits
    assert lifetimes(bundled_contract()) == {
        "verification_token_ttl_s": limits.verification_token_ttl_s,
        "otp_ttl_s": limits.otp_ttl_s,
        "export_file_ttl_s": limits.export_file_ttl_s,
    }


def test_the_clock_is_the_one_named_then_test_support_then_short_lifetimes(tmp_path: Path) -> None:
    halted = threading.Event()

    def clock(argv: list[str], test_support: str | None, contract: Contract) -> Any:
        return choose_clock(parse(argv, {}, prog="t"), test_support, contract, halted)

    short, long = _contract(tmp_path, AUTO_REAL_TIME_MAX_S), _contract(tmp_path, AUTO_REAL_TIME_MAX_S + 1)
    # --real-time-expiry: the wall clock, even with test support
    assert isinstance(clock(["--real-time-expiry"], "http://ts/v1", bundled_contract()), WallClock)
    # test support named: its clock, even for short lifetimes
    assert isinstance(clock([], "http://ts/v1", short), TestClock)
    # no test support: the wall clock on its own when every lifetime is short enough to wait out
    auto = clock([], None, short)
    assert isinstance(auto, WallClock) and f"{AUTO_REAL_TIME_MAX_S} s or less" in auto.description
    # else no clock: the requirements that need one are skipped
    assert clock([], None, long) is None
    assert clock([], None, bundled_contract()) is None


def test_a_wall_clock_wait_ends_at_once_when_the_run_is_interrupted() -> None:
    halted = threading.Event()
    clock = WallClock(halted)
    threading.Timer(0.1, halted.set).start()
    started = time.monotonic()
    with pytest.raises(RunInterrupted):
        clock.advance(60)
    assert time.monotonic() - started < 5
    assert not clock.shared and not clock.instant and clock.margin_s(20) == 5


# --- the wall clock's lifetimes run beside the machine's examples ---------------------------------------------
_EXPIRY = owned(
    "VERIFY-TOKEN-EXPIRY",
    cites=("rule:VERIFY-TOKEN",),
    needs=[Need.CLOCK],
    title="t",
    operations=(),
    doc="d",
)
_FLOW = owned("VERIFY-TOKEN-BURNT", cites=("rule:VERIFY-TOKEN",), title="t", operations=(), doc="d")


# One state, one action that sends nothing: the covering path takes it once.
_IDLE = Table("idle", "idle", [row("idle", "step", None, "idle", "VERIFY-TOKEN-BURNT")])


class _Handshake(Lifecycle):
    """The paths and the lifetimes' check each wait for the other: they finish only if they run at once."""

    table = _IDLE
    lifetimes_set_up = threading.Event()
    example_ran = threading.Event()

    def state(self) -> str:
        return "idle"

    def act_step(self, row: Row) -> None:
        if not self.lifetimes_set_up.wait(10):
            self.violation("VERIFY-TOKEN-BURNT", expected="the lifetimes set up while the examples run", actual="no")
        self.example_ran.set()

    def lifetimes(self) -> list[Due]:
        self.lifetimes_set_up.set()

        def check() -> None:
            if not self.example_ran.wait(10):
                self.violation(_EXPIRY, expected="an example ran during the wait", actual="none did")

        return [Due(1, check, judges=_EXPIRY.id)]


def _context(factory: Any, clock: Any) -> CheckContext:
    client = SimpleNamespace(sent=0)
    user = User("A", "token-a")
    return CheckContext(
        client=client,  # type: ignore[arg-type]
        operations=None,  # type: ignore[arg-type]
        redactor=Redactor(),
        user_a=user,
        user_b=None,
        inbox=None,
        clock=clock,
        factory=factory,
        allow_destructive=False,
        max_examples=1,
        seed=1,
        workers=2,
    )


def test_the_wall_clocks_wait_runs_beside_the_examples_on_a_user_of_its_own() -> None:
    # Given a machine whose examples and whose lifetimes' check each need the other to have run
    spec = MachineSpec(
        "handshake",
        _Handshake,
        requirements=(_EXPIRY, _FLOW),
        table=_IDLE,
        steps=1,
        max_examples=1,
        sharing=Sharing.ALONE,
        lifetimes=_Handshake.lifetimes,
    )
    factory = SimpleNamespace(description="f", create=lambda label, kind=None: User(label, f"token-{label}"))
    ctx = _context(factory, WallClock(threading.Event()))
    # When it runs on the wall clock with a user factory
    outcome = run_once(ctx, spec)
    # Then both finished (no violation, no error): the wait ran beside the examples
    assert outcome.violations == {} and outcome.error == "" and outcome.error_of == {} and outcome.skip_of == {}


class _Week(Lifecycle):
    table = _IDLE

    def state(self) -> str:
        return "idle"

    def act_step(self, row: Row) -> None:
        """Sends nothing."""

    def lifetimes(self) -> list[Due]:
        def never() -> None:
            raise AssertionError("a week is not waited out")

        return [Due(7 * 86400 + 1, never, judges="VERIFY-TOKEN-EXPIRY")]


def test_a_lifetime_longer_than_the_wall_clock_waits_is_skipped_saying_so() -> None:
    spec = MachineSpec(
        "week", _Week, requirements=(_EXPIRY, _FLOW), table=_IDLE, steps=1, max_examples=1, lifetimes=_Week.lifetimes
    )
    factory = SimpleNamespace(description="f", create=lambda label, kind=None: User(label, f"token-{label}"))
    outcome = run_once(_context(factory, WallClock(threading.Event())), spec)
    assert outcome.violations == {} and "longer than --real-time-expiry waits (900 s)" in outcome.skip_of[_EXPIRY.id]
