"""Full batch requests across dependency waves (pure).

QuickBooks admits 40 batch requests of up to 30 operations per minute and company
(https://developer.intuit.com/app/developer/qbo/docs/learn/limits-and-throttles), so a batch
request sent with fewer than 30 operations wastes part of the minute's ceiling of 1,200
documents. Delivery goes in dependency waves (a customer before its receipt, an invoice before
its payment), and the last batch of each wave used to go out partly empty.

`held_back` picks the documents of a wave to keep for the next wave so that every batch request
of this wave is full: first the wave's last writes that no queued document depends on (receipts
without payments, payments, refunds...), then, when those are too few (a wave of customers
only), the last customers themselves, whose dependents then wait one wave more. Held documents
join the next wave, which the documents this wave unblocks are joining too. A wave holds
nothing when nothing else can come (the final flush's last wave), and the engine never holds a
whole wave in a final flush, so every flush ends; at most the final flush's last batch request
is partly empty.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from target_quickbooks.contract import Operation

if TYPE_CHECKING:
    from collections.abc import Collection, Sequence

    from target_quickbooks.contract import MappedDocument


def batched(document: MappedDocument) -> bool:
    """Whether the document's write goes in a batch request (a void goes alone)."""
    return document.operation is not Operation.VOID


def held_back(
    writes: Sequence[MappedDocument],
    needed_later: Collection[str],
    *,
    batch_size: int,
) -> list[MappedDocument]:
    """The documents to keep for the next wave so this wave's batch requests are all full.

    Args:
        writes: the wave's documents that need a write, in arrival order.
        needed_later: external_ids that documents still queued depend on: held last, since
            holding one holds back its dependents by a wave too.
        batch_size: operations per batch request.

    Returns:
        ``len(batchable writes) % batch_size`` documents: the latest-arriving of those no
        queued document depends on, then (when they are too few) the latest-arriving others.
    """
    sent = [document for document in writes if batched(document)]
    spare = len(sent) % batch_size
    if spare == 0:
        return []
    needed = [document for document in sent if document.external_id in needed_later]
    leaves = [document for document in sent if document.external_id not in needed_later]
    candidates = needed + leaves  # taken from the end: leaves first, then the latest needed
    return candidates[len(candidates) - spare :]
