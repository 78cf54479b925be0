"""`kesk-conformance soak`: check the plan, run Locust in a process of its own, report what it wrote.

Locust patches the standard library for gevent when it is imported; the suite's threads (the live judge,
the cleanup pool) must not run under that patch, and Locust's master/worker mode is a process anyway. So
this command never imports Locust: it checks everything it can before any request (one line and exit 2
for a mistake), creates one disposable user and reads its profile (the target answers, the user factory
works), then runs `python -m locust` on conformance/soak/locustfile.py with the plan in the environment,
and prints the summary of the results.json the Locust process wrote. Exit status: 0 when no MUST
requirement failed or stayed undecided, 1 when one did, 2 for a usage or configuration error, 130 when
interrupted (the reports are still written).
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from conformance.config import ConfigError
from conformance.contract import Contract, bundled_contract
from conformance.operations import OperationIndex
from conformance.redact import Redactor
from conformance.runner import TargetUnreachable
from conformance.runner import _preflight as preflight
from conformance.runner_cli import _check_writable
from conformance.soak.plan import PLAN_VARIABLE, SoakPlan, missing_needs, parse_plan, user_class_name
from conformance.soak.report import write_not_run
from conformance.target import TargetClient
from conformance.users import CommandUserFactory, TestSupportUserFactory, UserFactory, UserFactoryError

__all__ = ["LOCUSTFILE", "locust_command", "soak_main"]

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
LOG_NAME = "locust.log"
STOP_TIMEOUT_S = 10


def soak_main(argv: Sequence[str]) -> int:
    try:
        plan = parse_plan(argv)
        if importlib.util.find_spec("locust") is None:
            raise ConfigError("soak runs on Locust, which is not installed: pip install 'kesk-conformance[soak]'")
        folder = _writable(Path(plan.report_dir))
        gaps = missing_needs(plan)
        runnable = [name for name in plan.lifecycles if name not in gaps]
        if not runnable:
            raise ConfigError(f"no lifecycle can run: {', '.join(f'{n} {why}' for n, why in gaps.items())}")
        if plan.role != "master":  # the master sends no load: its workers check their own target
            _preflight(plan)
    except ConfigError as exc:
        print(f"kesk-conformance soak: {exc}", file=sys.stderr)
        return 2
    command = locust_command(plan, runnable)
    if not plan.quiet:
        what = "worker of" if plan.role == "worker" else f"{plan.users} users for {plan.duration_s} s against"
        print(
            f"soak: {what} {plan.base_url if plan.role != 'worker' else plan.master_host}; Locust's log: "
            f"{folder / LOG_NAME}",
            flush=True,
        )
    code, interrupted = _run_locust(command, plan, folder)
    if plan.role == "worker":
        return 0 if code in (0, 1) or interrupted else _failed(code, folder)
    results = folder / "results.json"
    if not results.is_file() and interrupted:  # stopped before Locust had started: nothing was judged
        write_not_run(plan, _contract(plan), "not run: the soak was interrupted before its load started")
    if not results.is_file():
        return _failed(code, folder)
    data = json.loads(results.read_text(encoding="utf-8"))
    if interrupted:  # Locust cannot tell a stop it was asked for from the end of its --duration
        data["summary"].update(interrupted=True, exit_code=130)
        results.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    _summary(data, folder)
    if interrupted:
        return 130
    exit_code: int = data["summary"]["exit_code"]
    return exit_code


def locust_command(plan: SoakPlan, lifecycles: Sequence[str]) -> list[str]:
    """`python -m locust` for this plan: headless, its CSV and HTML in the report directory."""
    folder = Path(plan.report_dir).resolve()
    command = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "-H", plan.base_url, "--loglevel", "WARNING"]
    command += ["--stop-timeout", str(STOP_TIMEOUT_S)]  # a round under way ends before its user stops
    if plan.role == "worker":
        command += ["--worker", "--master-host", plan.master_host, "--master-port", str(plan.master_port)]
    else:
        command += ["--headless", "-u", str(plan.users), "-r", f"{plan.spawn_rate:g}", "-t", f"{plan.duration_s}s"]
        command += ["--csv", str(folder / "locust"), "--html", str(folder / "locust.html"), "--only-summary"]
        if plan.role == "master":
            command += ["--master", "--master-bind-host", plan.master_bind_host]
            command += ["--master-bind-port", str(plan.master_bind_port), "--expect-workers", str(plan.expect_workers)]
    return command + [user_class_name(name) for name in lifecycles]


def _contract(plan: SoakPlan) -> Contract:
    return Contract.load(Path(plan.spec)) if plan.spec else bundled_contract()


def _writable(folder: Path) -> Path:
    _check_writable(folder)
    return folder.resolve()


def _preflight(plan: SoakPlan) -> None:
    """A disposable user whose profile the target shows, checked as `run` checks its target."""
    redactor = Redactor()
    factory: UserFactory
    if plan.user_factory:
        factory = CommandUserFactory(plan.user_factory, redactor)
    else:
        assert plan.test_support is not None
        factory = TestSupportUserFactory(plan.test_support, redactor, timeout_s=plan.timeout_s)
    try:
        user = factory.create("soak-preflight")
    except UserFactoryError as exc:
        raise ConfigError(str(exc)) from None
    operations = OperationIndex(_contract(plan).document)
    client = TargetClient(plan.base_url, operations, redactor, timeout_s=plan.timeout_s)
    try:
        preflight(client, user)
    except TargetUnreachable as exc:
        raise ConfigError(str(exc)) from None
    finally:
        client.close()


def _run_locust(command: list[str], plan: SoakPlan, folder: Path) -> tuple[int, bool]:
    """Run Locust to its end. A first Ctrl-C or SIGTERM asks it to stop (its users stop, it cleans up and writes
    its reports); a second one ends it at once."""
    env = {**os.environ, PLAN_VARIABLE: plan.to_json()}
    interrupted: list[int] = []
    with (folder / LOG_NAME).open("w", encoding="utf-8") as log:
        # A session of its own: the terminal's Ctrl-C reaches this process only, which passes it on once.
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=folder, start_new_session=True
        )

        def forward(signum: int, frame: FrameType | None) -> None:
            if not interrupted:
                process.send_signal(signal.SIGTERM)  # headless Locust's own way to stop: users, cleanup, reports
            else:
                process.kill()  # asked twice: stop now, whatever is left undone
            interrupted.append(signum)

        previous = {signum: signal.signal(signum, forward) for signum in (signal.SIGINT, signal.SIGTERM)}
        try:
            code = process.wait()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
    return code, bool(interrupted)


def _failed(code: int, folder: Path) -> int:
    log = folder / LOG_NAME
    lines = [line for line in log.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip()]
    last = lines[-1] if lines else "no output"
    print(f"kesk-conformance soak: Locust ended with exit {code} and no results: {last} (see {log})", file=sys.stderr)
    return 2


def _summary(data: dict[str, Any], folder: Path) -> None:
    soak = data.get("soak", {})
    print(
        f"soak: {soak.get('requests', 0)} requests in {data['summary']['duration_s']:.0f} s "
        f"({soak.get('throughput_rps', 0)} requests/s), {soak.get('violations', 0)} violation(s), "
        f"{soak.get('undecided', 0)} undecided round(s)"
    )
    for name, row in soak.get("operations", {}).items():
        latency = row["latency_ms"]
        print(
            f"  {name:<28} {row['requests']:>7} requests  p50 {latency['p50']} ms  p95 {latency['p95']} ms  "
            f"p99 {latency['p99']} ms"
        )
    for item in data["requirements"]:
        if item["outcome"] in ("failed", "error"):
            print(f"  {item['outcome']:<7} {item['id']}: {item['reason']}")
            for failure in item["failures"][:1]:
                print(f"      expected: {failure['expected']}")
                print(f"      actual:   {failure['actual'][:400]}")
                print(f"      Reproduce with: {failure['curl']}")
    summary = data["summary"]
    print(f"reports: {folder}/results.json, report.html, junit.xml, violations.jsonl, locust.html, locust_stats.csv")
    print(", ".join(f"{summary[key]} {key}" for key in ("passed", "failed", "skipped", "error")))
