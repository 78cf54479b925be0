"""Building blocks shared by the model strategies: ids, timestamps, uuids, human messages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from strategies._tokens import INT64_MAX

__all__ = ["format_timestamp", "later", "messages", "moments", "resource_ids", "timestamps", "uuids"]

_EARLIEST = datetime(2020, 1, 1)
_LATEST = datetime(2035, 12, 31)


def resource_ids() -> SearchStrategy[int]:
    """Server-assigned ids: int64, at least 1, as servers hand them out: anywhere in the range,
    and often just past 2**31 and 2**32 (32-bit overflows), past 2**53 (beyond exact IEEE 754
    doubles) or near 2**63 - 1. Each is drawn on its own, so ids drawn together leave gaps."""
    return st.one_of(
        st.integers(min_value=1, max_value=INT64_MAX),
        st.integers(min_value=2**31 - 8, max_value=2**32 + 2**16),
        st.integers(min_value=2**53 - 8, max_value=2**53 + 2**16),
        st.integers(min_value=INT64_MAX - 2**16, max_value=INT64_MAX),
    )


def moments() -> SearchStrategy[datetime]:
    """Aware UTC datetimes between 2020 and 2035, at millisecond precision."""
    return st.datetimes(min_value=_EARLIEST, max_value=_LATEST).map(
        lambda moment: moment.replace(microsecond=moment.microsecond // 1000 * 1000, tzinfo=UTC)
    )


def format_timestamp(moment: datetime) -> str:
    """RFC 3339 section 5.6 ``date-time`` in UTC with a ``Z``, milliseconds only when non-zero."""
    text = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond // 1000:03d}"
    return text + "Z"


def timestamps() -> SearchStrategy[str]:
    """RFC 3339 UTC timestamps, as the contract's ``date-time`` fields carry them."""
    return moments().map(format_timestamp)


def later(moment: datetime, *, max_seconds: int = 30 * 86400) -> SearchStrategy[datetime]:
    """A moment at or after ``moment`` (at most ``max_seconds`` later)."""
    return st.integers(0, max_seconds).map(lambda s: moment + timedelta(seconds=s))


def uuids() -> SearchStrategy[str]:
    """RFC 9562 UUIDs (version 4), in the canonical lowercase form."""
    return st.uuids(version=4).map(str)


def messages() -> SearchStrategy[str]:
    """Human-readable messages: any non-empty text."""
    return st.text(min_size=1, max_size=80)
