"""Document dates: a UTC instant as the store's local calendar day (QuickBooks TxnDate)."""

from __future__ import annotations

from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

if TYPE_CHECKING:
    from datetime import datetime


def local_date(instant: datetime, zone: str | None, fallback_zone: str) -> str:
    """`YYYY-MM-DD` of `instant` in `zone` (an unknown zone falls back to `fallback_zone`)."""
    try:
        tz = ZoneInfo(zone) if zone else ZoneInfo(fallback_zone)
    except (ZoneInfoNotFoundError, ValueError):
        tz = ZoneInfo(fallback_zone)
    return instant.astimezone(tz).date().isoformat()


def utc_text(instant: datetime) -> str:
    """RFC 3339 UTC text ending in Z, as canonical records write it."""
    return instant.strftime("%Y-%m-%dT%H:%M:%S") + (
        f".{instant.microsecond:06d}Z" if instant.microsecond else "Z"
    )
