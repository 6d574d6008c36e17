"""Document dates: a UTC instant as the store's local calendar day (QuickBooks TxnDate).

Every date the mapper writes goes through `txn_date`, so every document of a record (SalesReceipt,
Invoice per order or per shipment, Payment, RefundReceipt, CreditMemo, and the void of any of
them) is dated in the same zone. The zone, first found wins:

1. the `store_timezone` setting, when it is set: an explicit override (e.g. the QuickBooks
   company books in another zone, or a store whose records carry no zone, as WooCommerce's);
2. the record's own `store_timezone` (orders and refunds both carry it, docs/canonical-model.md);
3. UTC.

Canonical timestamps are UTC (`...Z`, the schema's pattern), so a record's zone is its
`store_timezone`; there is no other offset to read. A zone name that is not a known IANA zone
falls to the next rule.
"""

from __future__ import annotations

from datetime import UTC, tzinfo
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

if TYPE_CHECKING:
    from datetime import datetime


def _zone(name: str | None) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def document_zone(record_zone: str | None, override: str | None) -> tzinfo:
    """The zone of a record's document dates: the override, else the record's zone, else UTC."""
    return _zone(override) or _zone(record_zone) or UTC


def txn_date(instant: datetime, record_zone: str | None, override: str | None) -> str:
    """`YYYY-MM-DD` of `instant` in the document zone (see `document_zone`).

    Args:
        instant: an aware datetime (canonical timestamps are UTC).
        record_zone: the record's own `store_timezone` (None when it has none).
        override: the `store_timezone` setting (None when not set).
    """
    return instant.astimezone(document_zone(record_zone, override)).date().isoformat()


def utc_text(instant: datetime) -> str:
    """RFC 3339 UTC text ending in Z, as canonical records write it."""
    return instant.strftime("%Y-%m-%dT%H:%M:%S") + (
        f".{instant.microsecond:06d}Z" if instant.microsecond else "Z"
    )
