"""Deterministic QuickBooks ``requestid`` values and content hashes.

QuickBooks answers a repeated ``requestid`` with the original response instead of performing
the operation again; ids are unique per company, at most 50 characters, and at most 36 on the
batch endpoint (https://blogs.intuit.com/2015/04/06/15346/ , "Idempotency using RequestId").
A UUID in its canonical text form is exactly 36 characters, so one format fits both.

The id is a uuid5 over (realm, entity, external_id, operation, payload hash): a retry after a
timeout and a re-run after a crash send the same id for the same write, and a changed document
(or a new SyncToken) gets a new one.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import TYPE_CHECKING, Any

from target_quickbooks import qbo_json

if TYPE_CHECKING:
    from collections.abc import Iterable

MAX_REQUEST_ID_LENGTH = 50
MAX_BATCH_REQUEST_ID_LENGTH = 36

# Fixed namespace for K-Connector request ids (uuid5 of the product name in the URL namespace).
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://k-connector.dev/target-quickbooks/requestid")


def content_hash(value: Any) -> str:  # noqa: ANN401 - any JSON value
    """SHA-256 (hex) of the canonical JSON of a value (sorted keys, Decimals verbatim)."""
    return hashlib.sha256(qbo_json.dumps(value, sort_keys=True).encode()).hexdigest()


def write_request_id(  # noqa: PLR0913 - the parts of a write's identity
    realm_id: str,
    entity: str,
    external_id: str,
    operation: str,
    payload_hash: str,
    *,
    refusals: int = 0,
) -> str:
    """The ``requestid`` of one write (36 characters).

    Args:
        realm_id: the company.
        entity: the QuickBooks entity written.
        external_id: the document's identity.
        operation: create, update, void or delete.
        payload_hash: `content_hash` of the request body.
        refusals: how many times QuickBooks definitively refused this document before (a
            validation fault or a stale SyncToken: nothing was written). QuickBooks replays the
            first answer to a repeated requestid, refusals included, so a retry after the user
            fixed the cause in QuickBooks needs a fresh id; a write that may have been committed
            (a timeout) never increments it.
    """
    name = f"{realm_id}\x1f{entity}\x1f{external_id}\x1f{operation}\x1f{payload_hash}"
    if refusals:
        name += f"\x1frefused:{refusals}"
    return str(uuid.uuid5(NAMESPACE, name))


def batch_request_id(realm_id: str, item_request_ids: Iterable[str]) -> str:
    """The ``requestid`` of a batch: derived from its items' ids, in order (36 characters)."""
    name = "\x1f".join(("batch", realm_id, *item_request_ids))
    return str(uuid.uuid5(NAMESPACE, name))
