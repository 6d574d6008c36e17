"""Clocks and QuickBooks Online's timestamp format.

Everything time-dependent (token lifetimes, rate-limit windows, requestid retention, MetaData
timestamps) reads one injectable clock returning epoch seconds, so tests can move time forward
without sleeping.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

Clock = Callable[[], float]
"""Returns the current time as epoch seconds (``time.time`` in production)."""

# QuickBooks Online stamps responses and MetaData in the Pacific time zone with its offset, e.g.
# "2017-09-29T09:17:31.892-07:00" in the fault example of
# https://developer.intuit.com/app/developer/qbo/docs/develop/troubleshooting/handling-common-errors
_PACIFIC = ZoneInfo("America/Los_Angeles")


def system_clock() -> float:
    """The wall clock, in epoch seconds."""
    return time.time()


def qbo_timestamp(epoch_seconds: float) -> str:
    """A response ``time`` value, with milliseconds and the Pacific offset."""
    moment = datetime.fromtimestamp(epoch_seconds, tz=_PACIFIC)
    return moment.isoformat(timespec="milliseconds")


def metadata_timestamp(epoch_seconds: float) -> str:
    """A ``MetaData.CreateTime``/``LastUpdatedTime`` value (seconds, Pacific offset)."""
    moment = datetime.fromtimestamp(epoch_seconds, tz=_PACIFIC)
    return moment.isoformat(timespec="seconds")


def parse_timestamp(text: str) -> datetime | None:
    """Parse an ISO date or date-time as QBO accepts in queries; naive values are read as UTC."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


def txn_date(epoch_seconds: float) -> str:
    """Today's date in the company's (Pacific) zone, the default ``TxnDate``."""
    return datetime.fromtimestamp(epoch_seconds, tz=_PACIFIC).date().isoformat()
