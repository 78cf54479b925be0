"""Run settings from flags, ``KESK_*`` environment variables and a TOML file, in that order.

A bad value is a ConfigError whose message is the one line the user sees (exit 2).
"""

from __future__ import annotations

import argparse
import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

DEFAULT_CONFIG_FILE = "kesk-conformance.toml"
ORDERS = ("catalogue", "reverse", "shuffled")
# A race needs two requests at once; its lists are read in one page, which the contract's per_page_max bounds.
MIN_RACE_WIDTH, MAX_RACE_WIDTH = 2, 64


class ConfigError(Exception):
    """A usage or configuration mistake; str(exc) says what to fix."""


@dataclass(slots=True)
class Settings:
    base_url: str | None = None
    token: str | None = None
    token_b: str | None = None
    password: str | None = None
    inbox: list[str] = field(default_factory=list)  # CHANNEL=SPEC or a bare SPEC (conformance.inbox)
    inbox_pattern: str = r"\b(\d{6})\b"
    test_support: str | None = None
    user_factory: str | None = None
    real_time_expiry: bool = False  # wait lifetimes out on the wall clock (also on its own for lifetimes <= 60 s)
    select: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    strict: bool = False
    seed: int | None = None
    max_examples: int = 10
    workers: int | None = None  # None: auto, from the target's measured round trip (runner.auto_workers)
    maxfail: int | None = None  # stop starting requirements once this many MUST requirements failed
    shard: str | None = None  # "I/N": run part I of N of the selection (a CI matrix)
    order: str = "catalogue"  # catalogue | reverse | shuffled (by --seed): verdicts must not depend on it
    exitfirst: bool = False
    rate_limit: float | None = None
    timeout: float = 10.0
    allow_destructive: bool = False
    report_dir: str = "reports"
    min_coverage: float | None = None  # fail the run when spec coverage (conformance.coverage) is below this percent
    export_pytest: str | None = None  # write each failure as a standalone pytest file into this folder
    har: str | None = None  # write every exchange of the run, secrets redacted, as a HAR 1.2 file
    spec: str | None = None  # an edited copy of the contract (default: the bundled spec/openapi.yaml)
    fault: list[str] = field(default_factory=list)  # reference-server faults for the embedded target
    variant: list[str] = field(default_factory=list)  # reference-server variants for the embedded target
    quiet: bool = False
    known_failures: str | None = None  # TOML file of [[known]] failures that do not fail the run (known_failures.py)
    not_implemented: list[str] = field(default_factory=list)  # optional API groups the target leaves out
    race_width: int = 20  # requests each RACE-* requirement sends at once (conformance/checks/races/)


_SECRET_FIELDS = ("token", "token_b", "password")
_LIST_FIELDS = {"select", "exclude", "fault", "variant", "not_implemented", "inbox"}
# Several inboxes in one string (KESK_INBOX): split before each CHANNEL=, never inside a SPEC (a command's arguments).
_INBOX_SPLIT = re.compile(r"[\s,;]+(?=(?:email|sms)=)", re.IGNORECASE)


def _field_types() -> dict[str, str]:
    return {f.name: str(f.type) for f in fields(Settings)}


def _coerce(name: str, value: Any, origin: str) -> Any:
    kind = _field_types()[name]
    try:
        if name == "inbox":
            return _inbox_entries(value)
        if name in _LIST_FIELDS:
            if isinstance(value, str):
                return [part for part in re.split(r"[,\s]+", value) if part]
            if isinstance(value, list) and all(isinstance(v, str) for v in value):
                return value
            raise ValueError
        if kind == "bool":
            if isinstance(value, bool):
                return value
            if str(value).lower() in ("1", "true", "yes", "on"):
                return True
            if str(value).lower() in ("0", "false", "no", "off", ""):
                return False
            raise ValueError
        if name == "workers" and str(value).lower() == "auto":
            return None
        if kind.startswith("int"):
            return int(value)
        if kind.startswith("float"):
            return None if value in (None, "") else float(value)
        return None if value is None else str(value)
    except (TypeError, ValueError):
        shown = "[hidden]" if name in _SECRET_FIELDS else repr(value)
        raise ConfigError(f"{origin}: {name.replace('_', '-')} = {shown} is not a valid {kind}") from None


def _inbox_entries(value: Any) -> list[str]:
    """--inbox entries from a flag (a list), KESK_INBOX or the config file: one SPEC (the old form), several
    ``CHANNEL=SPEC`` in one string, a list of them, or a TOML table ``inbox = {email = "...", sms = "..."}``."""
    if isinstance(value, str):
        return [part.strip() for part in _INBOX_SPLIT.split(value.strip()) if part.strip()]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return [entry for item in value for entry in _inbox_entries(item)]
    if isinstance(value, dict) and all(isinstance(item, str) for item in value.values()):
        return [f"{channel}={spec}" for channel, spec in value.items()]
    raise ValueError


def _from_file(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read the config file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"the config file {path} is not valid TOML: {exc}") from None
    table = data.get("kesk-conformance", data)
    known = {name.replace("_", "-") for name in _field_types()}
    values = {}
    for key, value in table.items():
        if key not in known:
            raise ConfigError(f"{path}: unknown setting {key!r}; known settings: {', '.join(sorted(known))}")
        name = key.replace("-", "_")
        values[name] = _coerce(name, value, str(path))
    return values


def _from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    values = {}
    for name in _field_types():
        key = "KESK_" + name.upper()
        if key in environ:
            values[name] = _coerce(name, environ[key], f"environment variable {key}")
    return values


def _validate(settings: Settings) -> Settings:
    if settings.base_url is not None:
        parsed = urlparse(settings.base_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ConfigError(
                f"--base-url {settings.base_url!r} is not an http(s) URL; pass e.g. https://staging.example.com/v1"
            )
        if settings.token is None and settings.test_support is None and settings.user_factory is None:
            raise ConfigError(
                "--base-url needs a user: pass --token (or KESK_TOKEN), --test-support URL or --user-factory CMD"
            )
        if settings.fault:
            raise ConfigError("--fault applies to the bundled reference server only; drop it or drop --base-url")
        if settings.variant:
            raise ConfigError("--variant applies to the bundled reference server only; drop it or drop --base-url")
    if settings.inbox:
        from conformance.inbox import split_channels

        try:
            split_channels(settings.inbox)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
    if settings.max_examples < 1:
        raise ConfigError("--max-examples must be at least 1")
    if settings.workers is not None and settings.workers < 1:
        raise ConfigError("--workers must be at least 1 (or auto)")
    if settings.maxfail is not None and settings.maxfail < 1:
        raise ConfigError("--maxfail must be at least 1")
    if settings.exitfirst:
        settings.maxfail = 1
    if settings.order not in ORDERS:
        raise ConfigError(f"--order {settings.order!r} is not one of {', '.join(ORDERS)}")
    if settings.shard is not None:
        shard_of(settings)  # a malformed --shard is a usage error before the run
    if settings.rate_limit is not None and settings.rate_limit <= 0:
        raise ConfigError("--rate-limit must be a positive number of requests per second")
    if settings.timeout <= 0:
        raise ConfigError("--timeout must be a positive number of seconds")
    if not MIN_RACE_WIDTH <= settings.race_width <= MAX_RACE_WIDTH:
        raise ConfigError(f"--race-width must be between {MIN_RACE_WIDTH} and {MAX_RACE_WIDTH} (requests at once)")
    if settings.min_coverage is not None and not 0 <= settings.min_coverage <= 100:
        raise ConfigError(f"--min-coverage {settings.min_coverage:g} must be a percentage between 0 and 100")
    return settings


def shard_of(settings: Settings) -> tuple[int, int] | None:
    """--shard "I/N" as (I, N); None when the whole selection runs."""
    if settings.shard is None:
        return None
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", settings.shard)
    if not match or not 1 <= int(match.group(1)) <= int(match.group(2)):
        raise ConfigError(f"--shard {settings.shard!r} must be I/N with 1 <= I <= N, e.g. --shard 2/4")
    return int(match.group(1)), int(match.group(2))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--config", metavar="PATH", help=f"TOML settings file (default: ./{DEFAULT_CONFIG_FILE} when present)")
    add(
        "--base-url", metavar="URL", help="the API to test, with its /v1 prefix (default: the bundled reference server)"
    )
    add("--token", metavar="T", help="bearer token of user A (env KESK_TOKEN)")
    add("--token-b", metavar="T", help="bearer token of user B, for isolation checks (env KESK_TOKEN_B)")
    add("--password", metavar="P", help="user A's password, for permanent deletion (env KESK_PASSWORD)")
    add(
        "--inbox",
        metavar="[CHANNEL=]SPEC",
        action="append",
        help="where codes are read, once per channel (email, sms): test-support[:URL] | mailpit:URL | maildev:URL"
        " | command:CMD | fixed:CODE, e.g. --inbox email=maildev:URL --inbox sms=command:CMD; a bare SPEC serves"
        " every channel not named (a mail catcher e-mail only)",
    )
    add("--inbox-pattern", metavar="REGEX", help="how to find the code in a message (first group)")
    add("--test-support", metavar="URL", help="base URL of the test-support contract (spec/test-support.yaml)")
    add(
        "--user-factory",
        metavar="CMD",
        help='command printing {"token", "password", "email"} of a fresh user; told the kind wanted as '
        "KESK_USER_KIND and last argument (verified | unverified-email), exit 3 if it cannot make it",
    )
    add(
        "--real-time-expiry",
        action="store_const",
        const=True,
        help="wait the contract's lifetimes out on the wall clock, beside the rest of the run (on by itself when "
        "every lifetime in --spec is 60 s or less and there is no test clock)",
    )
    add("--select", metavar="GLOB", action="append", help="run only requirements whose id matches (repeatable)")
    add("--exclude", metavar="GLOB", action="append", help="skip requirements whose id matches (repeatable)")
    add("--strict", action="store_const", const=True, help="SHOULD violations fail the run too")
    add("--seed", metavar="N", help="make the run repeatable")
    add("--max-examples", metavar="N", help="generated examples per operation and mode (default 10)")
    add(
        "--workers",
        metavar="N|auto",
        help="requirements run at the same time, on threads (default auto: 2 for a server answering within 5 ms, "
        "else 8)",
    )
    add("--exitfirst", "-x", action="store_const", const=True, help="stop starting requirements after a failure")
    add("--maxfail", metavar="N", help="stop starting requirements after N MUST requirements failed")
    add("--order", metavar="ORDER", help="catalogue (default), reverse or shuffled (by --seed): the run order")
    add("--shard", metavar="I/N", help="run part I of N of the selection, balanced by measured cost (CI matrices)")
    add("--rate-limit", metavar="R", help="at most R requests per second")
    add("--timeout", metavar="S", help="per-request timeout in seconds (default 10)")
    add(
        "--allow-destructive",
        action="store_const",
        const=True,
        help="allow account deletion on users that are not disposable",
    )
    add("--report-dir", metavar="DIR", help="where junit.xml, results.json and report.html go (default reports/)")
    add("--min-coverage", metavar="P", help="fail the run when its spec coverage is below P percent (0-100)")
    add("--export-pytest", metavar="DIR", help="write each failure as a standalone pytest regression test into DIR")
    add("--har", metavar="FILE", help="write every exchange of the run as HAR 1.2, secrets redacted")
    add(
        "--spec",
        metavar="PATH",
        help="the contract to judge by: an edited copy of spec/openapi.yaml (default: bundled)",
    )
    add("--fault", metavar="NAME", action="append", help="reference-server fault to switch on (embedded target only)")
    add(
        "--variant",
        metavar="NAME",
        action="append",
        help="reference-server conformant variant to switch on (embedded target only)",
    )
    add(
        "--race-width",
        metavar="N",
        help=f"requests each RACE-* requirement sends at once ({MIN_RACE_WIDTH}-{MAX_RACE_WIDTH}, default 20); "
        "--exclude 'RACE-*' leaves the bursts out",
    )
    add("--quiet", action="store_const", const=True, help="no progress, only the summary")
    add(
        "--known-failures",
        metavar="FILE",
        help="TOML [[known]] failures: reported 'known', not failing the run; one that passes again fails it",
    )
    add(
        "--not-implemented",
        metavar="GROUP",
        action="append",
        help="an optional part of the API the target leaves out (identity, export, fcm): its requirements are "
        "reported 'not applicable' (repeatable)",
    )


def resolve(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> Settings:
    """Merge file < environment < flags into validated Settings."""
    environ = os.environ if environ is None else environ
    config_path = args.config or environ.get("KESK_CONFIG")
    values: dict[str, Any] = {}
    if config_path:
        values.update(_from_file(Path(config_path)))
    elif Path(DEFAULT_CONFIG_FILE).is_file():
        values.update(_from_file(Path(DEFAULT_CONFIG_FILE)))
    values.update(_from_env(environ))
    for name in _field_types():
        flag_value = getattr(args, name, None)
        if flag_value is not None:
            values[name] = _coerce(name, flag_value, f"--{name.replace('_', '-')}")
    return _validate(Settings(**values))


def parse(argv: Sequence[str], environ: Mapping[str, str] | None = None, *, prog: str) -> Settings:
    parser = argparse.ArgumentParser(prog=prog, description="Run the Kesk UserApi conformance suite.")
    add_arguments(parser)
    args = parser.parse_args(list(argv))  # argparse itself exits 2 with a one-line usage error
    return resolve(args, environ)
