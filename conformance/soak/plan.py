"""What a soak is asked to do, read from the command line and checked before any request.

The options a soak shares with `run` (the target, users, inbox, contract, seed, timeout, report directory)
are read the same way, flags over ``KESK_*`` variables over the config file (conformance.config); the rest
are the soak's own. A mistake is a ConfigError whose message is the one line the user sees (exit 2).
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import re
import socket
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlparse

from conformance.config import ConfigError, Settings, resolve

__all__ = ["LIFECYCLE_NAMES", "ROLES", "SoakPlan", "is_loopback", "parse_duration", "parse_plan"]

LIFECYCLE_NAMES = ("emails", "phones", "favourites", "fcm", "deletion", "export")
ROLES = ("local", "master", "worker")
PLAN_VARIABLE = "KESK_SOAK_PLAN"  # how the Locust process gets the plan (JSON; it holds no secret)
_NO_USERS = "soak needs disposable users: pass --test-support URL or --user-factory CMD"
_DURATION = re.compile(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")


@dataclass(slots=True)
class SoakPlan:
    base_url: str
    test_support: str | None
    user_factory: str | None
    inbox: list[str]  # --inbox [CHANNEL=]SPEC entries, as `run` takes them
    inbox_pattern: str
    spec: str | None
    seed: int | None
    timeout_s: float
    report_dir: str
    users: int = 10
    spawn_rate: float = 10.0
    duration_s: int = 60
    lifecycles: list[str] = field(default_factory=lambda: list(LIFECYCLE_NAMES))
    role: str = "local"  # local | master | worker (Locust's distributed mode)
    master_host: str = "127.0.0.1"  # worker: the master to join
    master_port: int = 5557
    master_bind_host: str = "*"  # master: where workers connect
    master_bind_port: int = 5557
    expect_workers: int = 1  # master: workers to wait for before the load starts
    quiet: bool = False

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> SoakPlan:
        return cls(**json.loads(text))


def parse_duration(text: str) -> int:
    """'90', '90s', '10m', '1h30m' as seconds; ConfigError for anything else (or nothing)."""
    value = text.strip().lower()
    if value.isdigit():
        seconds = int(value)
    else:
        match = _DURATION.fullmatch(value)
        if not match or not any(match.groups()):
            raise ConfigError(f"--duration {text!r} is not a duration; write e.g. 30s, 10m or 1h30m")
        hours, minutes, secs = (int(part or 0) for part in match.groups())
        seconds = hours * 3600 + minutes * 60 + secs
    if seconds < 1:
        raise ConfigError("--duration must be at least 1 second")
    return seconds


def is_loopback(host: str) -> bool:
    """Whether every address `host` names is a loopback one (127.0.0.0/8, ::1); a name that does not resolve
    is not."""
    name = host.strip("[]")
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        pass
    try:
        found = socket.getaddrinfo(name, None)
    except OSError:
        return False
    return bool(found) and all(ipaddress.ip_address(str(info[4][0]).split("%")[0]).is_loopback for info in found)


def _arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kesk-conformance soak",
        description="Load the target with the lifecycles as Locust users, judging every answer as `run` does.",
    )
    add = parser.add_argument
    add("--config", metavar="PATH", help="TOML settings file (the settings it shares with `run`)")
    add("--base-url", metavar="URL", help="the API to load, with its /v1 prefix (required; only it gets load)")
    add("--test-support", metavar="URL", help="the test-support contract: disposable users and the outbox")
    add("--user-factory", metavar="CMD", help='command printing {"token", "password", "email"} of a fresh user')
    add(
        "--inbox",
        action="append",
        metavar="[CHANNEL=]SPEC",
        help="as for run, once per channel (email, sms): test-support | mailpit:URL | maildev:URL | command:CMD",
    )
    add("--inbox-pattern", metavar="REGEX", help="how to find the code in a message (first group)")
    add("--spec", metavar="PATH", help="the contract to judge by (default: bundled)")
    add("--seed", metavar="N", help="the seed of every user's walk")
    add("--timeout", metavar="S", help="per-request timeout in seconds (default 10)")
    add("--report-dir", metavar="DIR", help="where results.json and Locust's CSV and HTML go (default reports/)")
    add("--users", metavar="N", type=int, default=10, help="concurrent users, each a lifecycle on its own account")
    add("--spawn-rate", metavar="R", type=float, help="users started per second (default: all in the first second)")
    add("--duration", metavar="TIME", default="60s", help="how long the load lasts: 30s, 10m, 1h30m (default 60s)")
    add(
        "--lifecycle",
        metavar="NAME",
        action="append",
        choices=LIFECYCLE_NAMES,
        help=f"only these lifecycles (repeatable; default all: {', '.join(LIFECYCLE_NAMES)})",
    )
    add("--allow-remote-load", action="store_true", help="load a target that is not on this machine's loopback")
    add("--quiet", action="store_true", help="only the summary")
    group = parser.add_argument_group("distributed Locust (one master, workers on other machines)")
    group.add_argument("--master", action="store_true", help="run as Locust's master: workers send the load")
    group.add_argument("--master-bind-host", metavar="H", help="master: the interface workers connect to (*)")
    group.add_argument("--master-bind-port", metavar="P", type=int, help="master: the port workers connect to (5557)")
    group.add_argument("--expect-workers", metavar="N", type=int, help="master: wait for N workers (default 1)")
    group.add_argument("--worker", action="store_true", help="run as a Locust worker of --master-host")
    group.add_argument("--master-host", metavar="H", help="worker: the master's address (127.0.0.1)")
    group.add_argument("--master-port", metavar="P", type=int, help="worker: the master's port (5557)")
    return parser


def parse_plan(argv: Sequence[str], environ: Mapping[str, str] | None = None) -> SoakPlan:
    """The plan, or ConfigError with the one line that says what to fix (argparse's own exit 2 for syntax)."""
    args = _arguments().parse_args(list(argv))
    shared = _shared(args, environ)
    plan = SoakPlan(
        base_url=str(shared.base_url).rstrip("/"),
        test_support=shared.test_support,
        user_factory=shared.user_factory,
        inbox=shared.inbox,
        inbox_pattern=shared.inbox_pattern,
        spec=shared.spec,
        seed=shared.seed,
        timeout_s=shared.timeout,
        report_dir=shared.report_dir,
        users=args.users,
        spawn_rate=args.spawn_rate if args.spawn_rate is not None else float(args.users),
        duration_s=parse_duration(args.duration),
        lifecycles=list(dict.fromkeys(args.lifecycle or LIFECYCLE_NAMES)),
        role="master" if args.master else "worker" if args.worker else "local",
        quiet=args.quiet,
    )
    _distributed(args, plan)
    _check(plan, allow_remote_load=args.allow_remote_load)
    return plan


def _shared(args: argparse.Namespace, environ: Mapping[str, str] | None) -> Settings:
    """The settings a soak shares with `run`, resolved by the same rules (flags, KESK_*, the config file)."""
    names = ("config", "base_url", "test_support", "user_factory", "inbox", "inbox_pattern", "spec", "seed")
    values: dict[str, Any] = {name: getattr(args, name) for name in (*names, "timeout", "report_dir")}
    try:
        settings = resolve(argparse.Namespace(**values), environ)
    except ConfigError as exc:
        if str(exc).startswith("--base-url needs a user"):  # run's wording names --token, which a soak never uses
            raise ConfigError(_NO_USERS) from None
        raise
    if settings.base_url is None:
        raise ConfigError("soak needs --base-url URL (the server to load; `kesk-conformance serve` runs ours)")
    return settings


def _distributed(args: argparse.Namespace, plan: SoakPlan) -> None:
    if args.master and args.worker:
        raise ConfigError("--master and --worker exclude each other: a process is one or the other")
    master_only = {"--master-bind-host": args.master_bind_host, "--master-bind-port": args.master_bind_port}
    master_only["--expect-workers"] = args.expect_workers
    worker_only = {"--master-host": args.master_host, "--master-port": args.master_port}
    for flag, value in master_only.items():
        if value is not None and not args.master:
            raise ConfigError(f"{flag} applies to --master only")
    for flag, value in worker_only.items():
        if value is not None and not args.worker:
            raise ConfigError(f"{flag} applies to --worker only")
    plan.master_bind_host = args.master_bind_host or plan.master_bind_host
    plan.master_bind_port = args.master_bind_port or plan.master_bind_port
    plan.expect_workers = args.expect_workers if args.expect_workers is not None else plan.expect_workers
    plan.master_host = args.master_host or plan.master_host
    plan.master_port = args.master_port or plan.master_port
    for port in (plan.master_bind_port, plan.master_port):
        if not 0 < port < 65536:
            raise ConfigError(f"port {port} is not a TCP port (1-65535)")
    if plan.expect_workers < 1:
        raise ConfigError("--expect-workers must be at least 1")


def _check(plan: SoakPlan, *, allow_remote_load: bool) -> None:
    host = urlparse(plan.base_url).hostname or ""
    if not allow_remote_load and not is_loopback(host):
        raise ConfigError(
            f"--base-url {plan.base_url} is not on this machine's loopback; a soak sends load only where it is "
            "told to: pass --allow-remote-load to load it"
        )
    if plan.test_support is None and plan.user_factory is None:
        raise ConfigError(_NO_USERS)
    if plan.users < 1:
        raise ConfigError("--users must be at least 1")
    if plan.spawn_rate <= 0:
        raise ConfigError("--spawn-rate must be a positive number of users per second")


def missing_needs(plan: SoakPlan) -> dict[str, str]:
    """The chosen lifecycles that cannot run against this plan's target, and why (an inbox is missing)."""
    from conformance.checks.races.walks import LIFECYCLES
    from conformance.requirements import Need

    served = _served_channels(plan)
    missing: dict[str, str] = {}
    for lifecycle in LIFECYCLES:
        if lifecycle.name not in plan.lifecycles:
            continue
        if Need.INBOX in lifecycle.needs and "email" not in served:
            missing[lifecycle.name] = "needs an inbox for email codes: pass --inbox email=SPEC or --test-support URL"
        elif Need.SMS_INBOX in lifecycle.needs and "sms" not in served:
            missing[lifecycle.name] = "needs an inbox for sms codes: pass --inbox sms=SPEC or --test-support URL"
    return missing


def _served_channels(plan: SoakPlan) -> set[str]:
    """The channels an inbox serves, by run's rules (a bare mail catcher serves e-mail only)."""
    from conformance.inbox import CHANNELS, split_channels

    named, bare = split_channels(plan.inbox)
    served = set(named)
    if bare is not None:
        served |= {"email"} if bare.startswith(("maildev:", "mailpit:")) else set(CHANNELS)
    return set(CHANNELS) if plan.test_support else served


def user_class_name(lifecycle: str) -> str:
    """The Locust user class of a lifecycle (conformance.soak.engine): "fcm" -> "FcmUser"."""
    return lifecycle.capitalize() + "User"
