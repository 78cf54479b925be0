"""The kit's own tests write only under reports/: Hypothesis keeps its database there, however pytest is started."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis.configuration import set_hypothesis_home_dir


def pytest_configure(config: pytest.Config) -> None:
    set_hypothesis_home_dir(Path(config.rootpath) / "reports" / ".hypothesis")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The whole-catalogue runs go first (pytest-xdist hands tests out in this order): started last, one of
    them would end the session on one worker while the other waits."""
    items.sort(key=lambda item: item.get_closest_marker("full_run") is None)
