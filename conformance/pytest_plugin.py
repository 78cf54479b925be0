"""pytest plugin: `pytest --pyargs conformance --base-url URL` runs the suite inside a team's pytest.

Registered through the ``pytest11`` entry point, so it loads in every pytest run; it stays
inert unless the ``conformance`` package's own test module is collected. Options mirror
`kesk-conformance run` (``--kesk-base-url`` plus ``--kesk-*``) and fall back to ``KESK_*`` variables.

``--base-url`` belongs to pytest-base-url when that plugin is installed (two plugins defining one option
is an argparse error in every pytest run): the suite then reads its value (``--base-url``,
``PYTEST_BASE_URL`` or the ``base_url`` ini setting) when ``--kesk-base-url`` is not given. Without
pytest-base-url, this plugin defines ``--base-url`` itself, as a synonym of ``--kesk-base-url``.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance._spec import SpecError, load_spec
from conformance.adoption import Adoption
from conformance.config import ConfigError, Settings, resolve
from conformance.operations import OperationIndex

_OPTIONS = (
    # (flag, settings field, help)
    ("--kesk-token", "token", "bearer token of user A (env KESK_TOKEN)"),
    ("--kesk-token-b", "token_b", "bearer token of user B (env KESK_TOKEN_B)"),
    ("--kesk-password", "password", "user A's password (env KESK_PASSWORD)"),
    ("--kesk-test-support", "test_support", "base URL of the test-support contract"),
    ("--kesk-user-factory", "user_factory", "command printing a fresh user's JSON (told KESK_USER_KIND)"),
    ("--kesk-known-failures", "known_failures", "TOML [[known]] failures: xfail, not fail; a listed pass fails"),
    ("--kesk-spec", "spec", "the contract to judge by: an edited copy of spec/openapi.yaml"),
    ("--kesk-seed", "seed", "make the run repeatable"),
    ("--kesk-max-examples", "max_examples", "generated examples per operation"),
    ("--kesk-rate-limit", "rate_limit", "at most R requests per second"),
    ("--kesk-report-dir", "report_dir", "write junit.xml, results.json and report.html here"),
    ("--kesk-config", "config", "TOML settings file"),
)


_REPEATABLE = (
    ("--kesk-select", "select", "requirement id glob (repeatable)"),
    ("--kesk-exclude", "exclude", "requirement id glob (repeatable)"),
    ("--kesk-inbox", "inbox", "[CHANNEL=]SPEC, once per channel: email=maildev:URL, sms=command:CMD, ..."),
    ("--kesk-not-implemented", "not_implemented", "an optional group the target leaves out: identity, export, fcm"),
)
_SWITCHES = (
    ("--conformance-strict", "strict", "SHOULD violations fail too"),
    ("--kesk-allow-destructive", "allow_destructive", "allow account deletion on users that are not disposable"),
    ("--kesk-real-time-expiry", "real_time_expiry", "wait the contract's lifetimes out on the wall clock"),
)


def _dest(flag: str) -> str:
    return flag.lstrip("-").replace("-", "_")


def _pytest_base_url_loads(pluginmanager: pytest.PytestPluginManager) -> bool:
    """Whether pytest-base-url will define --base-url in this run (it may not have registered yet)."""
    if pluginmanager.has_plugin("base_url"):
        return True
    if pluginmanager.is_blocked("base_url") or os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
        return False  # an explicit `-p pytest_base_url.plugin` after this plugin is not foreseen here
    return importlib.util.find_spec("pytest_base_url") is not None


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    group = parser.getgroup("kesk-conformance", "Kesk UserApi conformance suite")
    where = "the API to test, with its /v1 prefix (default: the bundled reference server)"
    group.addoption("--kesk-base-url", default=None, metavar="URL", help=f"{where}; env KESK_BASE_URL")
    if not _pytest_base_url_loads(pluginmanager):
        with contextlib.suppress(ValueError):  # defined twice in one group: already ours
            group.addoption("--base-url", default=None, metavar="URL", help="same as --kesk-base-url")
    for flag, _, text in _OPTIONS:
        group.addoption(flag, default=None, help=text)
    for flag, _, text in _REPEATABLE:
        group.addoption(flag, action="append", default=None, help=text)
    for flag, _, text in _SWITCHES:
        group.addoption(flag, action="store_const", const=True, default=None, help=text)


def settings_from(config: pytest.Config) -> Settings:
    """Settings from pytest options; a mistake is a usage error, not a traceback."""
    namespace = argparse.Namespace(
        # pytest-base-url's value (or our own --base-url's) when --kesk-base-url is not given
        base_url=config.getoption("kesk_base_url") or config.getoption("base_url", default=None),
    )
    for flag, name, _ in (*_OPTIONS, *_REPEATABLE, *_SWITCHES):
        setattr(namespace, name, config.getoption(_dest(flag)))
    if namespace.seed is None:
        # Under pytest-xdist every worker runs its share with the seed the controller chose (see below).
        namespace.seed = getattr(config, "workerinput", {}).get("kesk_seed") or config.stash.get(_SEED, None)
    try:
        return resolve(namespace)
    except ConfigError as exc:
        raise pytest.UsageError(str(exc)) from None


def adoption_from(config: pytest.Config, settings: Settings) -> Adoption:
    """The known failures and left-out groups, read and checked once: a mistake is a usage error."""
    found = config.stash.get(_ADOPTION, None)
    if found is None:
        from conformance.catalogue import catalogue
        from conformance.runner import contract_for

        try:
            contract = contract_for(settings)
            found = Adoption.of(settings, contract, catalogue().select(settings.select, settings.exclude))
        except (ConfigError, SpecError) as exc:
            raise pytest.UsageError(str(exc)) from None
        config.stash[_ADOPTION] = found
    return found


def _kesk_options_given(config: pytest.Config) -> bool:
    # pytest-base-url's --base-url (or PYTEST_BASE_URL) is a team's own setting: alone it does not mean the suite.
    names = [] if config.pluginmanager.has_plugin("base_url") else ["base_url"]
    names += ["kesk_base_url", *(_dest(flag) for flag, _, _ in (*_OPTIONS, *_REPEATABLE, *_SWITCHES))]
    return any(config.getoption(name) is not None for name in names)


_SEED = pytest.StashKey[str]()
_ADOPTION = pytest.StashKey[Adoption]()
_STARTED = pytest.StashKey[float]()
_WORKERS_DIR = ".workers"  # under the report dir: one results.json per pytest-xdist worker, merged at the end


def pytest_configure(config: pytest.Config) -> None:
    # One seed for the whole session, so that pytest-xdist workers give the verdicts one process would.
    config.stash[_SEED] = str(random.SystemRandom().randrange(2**31))
    config.stash[_STARTED] = time.time()  # workers' results older than this are another session's
    # Check our options up front (a clean one-line usage error); a pytest run that does not use the
    # suite is left alone even when KESK_* variables are set.
    if _kesk_options_given(config):
        adoption_from(config, settings_from(config))


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """pytest-xdist: hand each worker the controller's seed."""
    node.workerinput["kesk_seed"] = node.config.getoption("kesk_seed") or node.config.stash[_SEED]


def pytest_sessionfinish(session: pytest.Session) -> None:
    """pytest-xdist's controller: join the workers' results into one results.json, junit.xml, report.html."""
    if hasattr(session.config, "workerinput"):
        return
    try:
        folder = Path(settings_from(session.config).report_dir)
    except pytest.UsageError:
        return
    started = session.config.stash[_STARTED]
    parts = sorted(path for path in (folder / _WORKERS_DIR).glob("*/results.json") if path.stat().st_mtime >= started)
    if not parts:
        return
    from conformance.merge import merge
    from conformance.reporting import write_reports

    result = merge(parts)
    documented = {op.operation_id: list(op.responses()) for op in OperationIndex(load_spec())}
    write_reports(result, folder, documented_statuses=documented)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "kesk_requirement" not in metafunc.fixturenames:
        return
    from conformance.runner import selected_requirements

    try:
        items = selected_requirements(settings_from(metafunc.config))
    except ConfigError as exc:
        raise pytest.UsageError(str(exc)) from None
    metafunc.parametrize("kesk_requirement", items, ids=[item.id for item in items])


@pytest.fixture(scope="session")
def kesk_settings(pytestconfig: pytest.Config) -> Settings:
    return settings_from(pytestconfig)


@pytest.fixture(scope="session")
def kesk_adoption(kesk_settings: Settings, pytestconfig: pytest.Config) -> Adoption:
    """--kesk-known-failures and --kesk-not-implemented, with `kesk-conformance run`'s meaning."""
    return adoption_from(pytestconfig, kesk_settings)


@pytest.fixture(scope="session")
def kesk_session(kesk_settings: Settings, kesk_adoption: Adoption, pytestconfig: pytest.Config) -> Iterator[object]:
    """One run session (target, users, client) shared by every requirement of this process."""
    from hypothesis.configuration import set_hypothesis_home_dir

    from conformance.reporting import write_reports
    from conformance.runner import TargetUnreachable, open_session

    # The suite's Hypothesis caches go under its report dir, not the team's working directory.
    set_hypothesis_home_dir(Path(kesk_settings.report_dir) / ".hypothesis")
    try:
        with open_session(kesk_settings) as session:
            yield session
            result = session.result()
    except (ConfigError, TargetUnreachable) as exc:
        pytest.exit(f"kesk-conformance: {exc}", returncode=2)
    kesk_adoption.apply(result)  # the reports say known, stale and not applicable, as `run`'s do
    documented = {op.operation_id: list(op.responses()) for op in OperationIndex(load_spec())}
    set_hypothesis_home_dir(None)  # back to Hypothesis' own default for the team's other tests
    folder = Path(kesk_settings.report_dir)
    # This process's own xdist role (an environment variable could be inherited from an outer pytest).
    worker = getattr(pytestconfig, "workerinput", {}).get("workerid")
    write_reports(result, folder / _WORKERS_DIR / worker if worker else folder, documented_statuses=documented)
