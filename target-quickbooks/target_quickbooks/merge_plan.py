"""Prepare the three-way merge of a write and turn its result into a write (pure, no I/O).

`merge.three_way_merge` needs the three versions in the same terms (docs/conflicts.md): every
reference resolved, and the ownership marker (``[kc:<external_id> v<version>]`` in the note
field, see `payloads.marker`) out of the way, since its version changes with every store change
and is not an edit of anyone's. This module strips the marker from QuickBooks' copy, picks the
merge base from the ledger, and builds the update of a merge, with the marker put back after
the note that wins.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

from target_quickbooks import payloads
from target_quickbooks.merge import SERVER_FIELDS, MergeResult, Side, comparable

if TYPE_CHECKING:
    from collections.abc import Mapping

    from target_quickbooks.store.ledger import LedgerEntry


def _marker_pattern(external_id: str) -> re.Pattern[str]:
    # The marker as `payloads.marker` writes it, with the newline `payloads` puts before it.
    return re.compile(r"\n?" + re.escape(f"[kc:{external_id}") + r"(?: v[0-9a-f]+)?\]")


def without_marker(entity: str, document: Mapping[str, Any], external_id: str) -> dict[str, Any]:
    """A copy of a QuickBooks document whose note field no longer carries our marker.

    A note that was only the marker is removed, as the body K-Connector pushed had none.
    """
    copy = dict(document)
    if entity not in payloads.MARKER_FIELDS:
        return copy
    name, _ = payloads.MARKER_FIELDS[entity]
    note = copy.get(name)
    if not isinstance(note, str):
        return copy
    stripped = _marker_pattern(external_id).sub("", note).strip("\n")
    if stripped:
        copy[name] = stripped
    else:
        del copy[name]
    return copy


def merge_base(entry: LedgerEntry, ours: Mapping[str, Any]) -> dict[str, Any]:
    """The merge's base: the resolved body last pushed.

    Rows written before schema 0002 have no pushed body; their snapshot (QuickBooks' answer to
    our last write, marker stripped) projected onto the fields the store writes stands in for it.
    """
    if entry.pushed_body is not None:
        return dict(entry.pushed_body)
    snapshot = without_marker(entry.entity, entry.snapshot or {}, entry.external_id)
    return comparable(snapshot, shape_of=(ours,))


def diverged(entry: LedgerEntry) -> bool:
    """Whether QuickBooks' copy (as last seen) differs from what we pushed, on our fields.

    True after a merge kept edits made in QuickBooks: a later full update would silently
    overwrite them, so such a document is updated through the merge as well.
    """
    if entry.pushed_body is None or entry.snapshot is None:
        return False
    theirs = without_marker(entry.entity, entry.snapshot, entry.external_id)
    return comparable(theirs, shape_of=(entry.pushed_body,)) != comparable(entry.pushed_body)


def source_time(text: str) -> datetime:
    """The record's ``source_updated_at`` as a datetime (``Z`` accepted)."""
    return datetime.fromisoformat(text)


def merged_payload(  # noqa: PLR0913 - the merge, the versions and the identity
    entity: str,
    result: MergeResult,
    ours: Mapping[str, Any],
    theirs: Mapping[str, Any],
    external_id: str,
    *,
    sync_token: str,
    version: str,
) -> dict[str, Any]:
    """The update writing a merge over QuickBooks' current document.

    Name-list entities (Customer) get the merge's sparse body: only the fields to change. A
    transaction gets a full update (`payloads.update_payload`) built from QuickBooks' current
    document with the fields the merge took from the store laid over it: a full update clears
    every field it leaves out, so starting from QuickBooks' copy keeps what only the bookkeeper
    set (CustomerMemo, ClassRef, custom fields), while a sparse update that replaces the lines
    could leave a stale tax detail behind. When the store's lines win, its tax detail goes with
    them, so QuickBooks recomputes (or keeps the store's stated) tax for the new lines.

    The note field is always sent, so the marker carries the new content version: the store's
    note when the merge took it, otherwise QuickBooks' (marker stripped) unchanged.

    Args:
        entity: the QuickBooks entity.
        result: the merge (outcome ``take_ours`` or ``merged``).
        ours: the store's resolved body.
        theirs: QuickBooks' current document, marker stripped (`without_marker`).
        external_id: the document's external_id.
        sync_token: QuickBooks' current SyncToken.
        version: the content version for the marker.

    Returns:
        The update body, amounts as JSON numbers.
    """
    if entity in payloads.SPARSE_ENTITIES:
        fields = dict(result.body or {})
    else:
        fields = {k: v for k, v in theirs.items() if k not in SERVER_FIELDS}
        taken = {d.field for d in result.field_decisions if d.side is Side.OURS}
        if "Line" in taken:
            taken.add("TxnTaxDetail")
        for name in taken:
            if name in ours:
                fields[name] = ours[name]
            else:
                fields.pop(name, None)
    if entity in payloads.MARKER_FIELDS:
        name, _ = payloads.MARKER_FIELDS[entity]
        if name not in fields and isinstance(theirs.get(name), str):
            fields[name] = theirs[name]
    return payloads.update_payload(
        entity,
        fields,
        external_id,
        qbo_id=str(theirs["Id"]),
        sync_token=sync_token,
        version=version,
    )
