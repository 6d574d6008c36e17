"""Compare QuickBooks documents field by field (pure)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from target_quickbooks.request_ids import content_hash

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

# Fields QuickBooks changes on every write or derives; never a sign of someone else's edit.
VOLATILE_FIELDS = frozenset({"SyncToken", "MetaData", "sparse", "domain", "time"})


def changed_fields(
    before: Mapping[str, Any], after: Mapping[str, Any], fields: Iterable[str]
) -> list[str]:
    """The top-level fields among `fields` whose values differ between two documents."""
    return sorted(
        name
        for name in set(fields) - VOLATILE_FIELDS
        if content_hash(before.get(name)) != content_hash(after.get(name))
    )
