from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest
from rs_helpers import User, new_user

from reference_server.embedded import running_server


@pytest.fixture(scope="session")
def base_url() -> Iterator[str]:
    """One clean reference server for the whole session (each test makes its own users)."""
    with running_server() as url:
        yield url


@pytest.fixture(scope="session")
def http(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url + "/", timeout=10) as client:
        yield client


@pytest.fixture
def make_user(http: httpx.Client) -> Callable[[], User]:
    return lambda: new_user(http)


@pytest.fixture
def alice(make_user: Callable[[], User]) -> User:
    return make_user()


@pytest.fixture
def bob(make_user: Callable[[], User]) -> User:
    return make_user()
