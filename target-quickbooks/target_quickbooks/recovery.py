"""Find documents K-Connector already wrote, when the ledger does not know them.

The ledger can be lost (a new database) or lag behind QuickBooks (a crash after QuickBooks
committed a write, before the ledger recorded it, with a re-run that batches differently so the
batch ``requestid`` differs). Before creating, the target queries QuickBooks by the document's
DocNumber (else TxnDate; DisplayName and its suffixed variant for customers) and adopts a result
that carries the document's ``[kc:<external_id>]`` marker. PrivateNote itself is not filterable
in the query language, hence the two steps.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from target_quickbooks import payloads, query_language
from target_quickbooks.planning import rename_key

if TYPE_CHECKING:
    from target_quickbooks.client import QuickBooksClient
    from target_quickbooks.contract import MappedDocument

_LOOKUP_CHUNK = 30


def _query_all(
    client: QuickBooksClient, entity: str, field: str, values: list[str]
) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    start = 1
    while True:
        page = client.query(query_language.select_in(entity, field, values, start_position=start))
        found.extend(page)
        if len(page) < query_language.MAX_RESULTS:
            return found
        start += len(page)


def find_own_documents(
    client: QuickBooksClient, documents: list[MappedDocument]
) -> dict[str, dict[str, Any]]:
    """Documents already in QuickBooks with our marker, by external_id."""
    groups: dict[tuple[str, str], dict[str, list[MappedDocument]]] = {}
    for document in documents:
        for field, value in payloads.lookup_values(
            document.entity, document.body, rename_key(document)
        ):
            groups.setdefault((document.entity, field), {}).setdefault(value, []).append(document)
    lookups: list[tuple[str, str, list[str], list[str]]] = []
    for (entity, field), by_value in sorted(groups.items()):
        values = sorted(by_value)
        wanted = sorted({d.external_id for docs in by_value.values() for d in docs})
        lookups.extend(
            (entity, field, values[start : start + _LOOKUP_CHUNK], wanted)
            for start in range(0, len(values), _LOOKUP_CHUNK)
        )
    if not lookups:
        return {}
    # The lookups are independent: run them side by side (the client's limiter still caps
    # requests in flight and per window); a wave's queries then cost one round trip, not one
    # per 30 documents. Answers are merged in lookup order, so the outcome is deterministic.
    workers = max(1, min(client.max_concurrency, len(lookups)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="kc-recovery") as pool:
        answers = list(
            pool.map(lambda lookup: _query_all(client, lookup[0], lookup[1], lookup[2]), lookups)
        )
    found: dict[str, dict[str, Any]] = {}
    for (entity, _, _, wanted), candidates in zip(lookups, answers, strict=True):
        for candidate in candidates:
            for external_id in wanted:
                if external_id not in found and payloads.has_marker(entity, candidate, external_id):
                    found[external_id] = candidate
    return found
