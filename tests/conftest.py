"""The kit's own tests write only under reports/: Hypothesis keeps its database there, however pytest is started."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis.configuration import set_hypothesis_home_dir


def pytest_configure(config: pytest.Config) -> None:
    set_hypothesis_home_dir(Path(config.rootpath) / "reports" / ".hypothesis")
