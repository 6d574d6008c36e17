"""Find documents K-Connector already wrote, when the ledger does not know them.

The ledger can be lost (a new database) or lag behind QuickBooks (a crash after QuickBooks
committed a write, before the ledger recorded it, with a re-run that batches differently so the
batch ``requestid`` differs). Before creating, the target queries QuickBooks by the document's
DocNumber (else TxnDate; DisplayName and its suffixed variant for customers) and adopts a result
that carries the document's ``[kc:<external_id>]`` marker. PrivateNote itself is not filterable
in the query language, hence the two steps.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from target_quickbooks import payloads
from target_quickbooks.lookups import RunLookups
from target_quickbooks.planning import rename_key

if TYPE_CHECKING:
    from target_quickbooks.client import QuickBooksClient
    from target_quickbooks.contract import MappedDocument


def lookup_keys(document: MappedDocument) -> list[tuple[str, str, str]]:
    """(entity, field, value) look-ups that find a copy of this document in QuickBooks."""
    return [
        (document.entity, field, value)
        for field, value in payloads.lookup_values(
            document.entity, document.body, rename_key(document)
        )
    ]


def find_own_documents(
    client: QuickBooksClient,
    documents: list[MappedDocument],
    lookups: RunLookups | None = None,
) -> dict[str, dict[str, Any]]:
    """Documents already in QuickBooks with our marker, by external_id.

    Args:
        client: QuickBooks.
        documents: documents the ledger does not know.
        lookups: the run's look-ups (`lookups.RunLookups`); without one, this call's own
            queries, 30 values each.
    """
    lookups = lookups or RunLookups(client, remember=False)
    groups: dict[tuple[str, str], dict[str, list[MappedDocument]]] = {}
    for document in documents:
        for entity, field, value in lookup_keys(document):
            groups.setdefault((entity, field), {}).setdefault(value, []).append(document)
    found: dict[str, dict[str, Any]] = {}
    for (entity, field), by_value in sorted(groups.items()):
        wanted = sorted({d.external_id for docs in by_value.values() for d in docs})
        for candidate in lookups.select_in(entity, field, by_value):
            for external_id in wanted:
                if external_id not in found and payloads.has_marker(entity, candidate, external_id):
                    found[external_id] = candidate
    return found
