"""One write per customer per run (pure).

The mapper emits an order's customer with every order (docs/mapping.md, "Customers"), and each
copy carries that order's billing and shipping addresses. In a backfill a customer with ten
orders would be written ten times: a create, then an update each time an order's addresses
differ from the last. Addresses are the customer's defaults in QuickBooks; every document keeps
its own order's addresses, so those re-sends change nothing a bookkeeper reads.

`CustomerWrites` remembers what the run wrote for each customer. A later copy of the same
customer in the same run is written only if it really changed: a field other than the per-order
addresses differs from what the run wrote (a new name, e-mail, phone, company...). Otherwise the
ledger takes the newer copy's hash and time without a write, so a re-run of the same input finds
every copy unchanged or older and writes nothing; a copy in a later run that differs is an
update as usual.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from target_quickbooks.request_ids import content_hash

if TYPE_CHECKING:
    from target_quickbooks.contract import MappedDocument

# The fields of a Customer body that come from the order it was emitted with.
PER_ORDER_FIELDS = ("BillAddr", "ShipAddr")


def _identity_hash(document: MappedDocument) -> str:
    body = {k: v for k, v in document.body.items() if k not in PER_ORDER_FIELDS}
    return content_hash({"operation": document.operation.value, "body": body})


class CustomerWrites:
    """The customers this run wrote, by external_id, as hashes of their non-address fields."""

    def __init__(self) -> None:
        """Start a run: nothing written yet."""
        self._written: dict[str, str] = {}

    def remember(self, document: MappedDocument) -> None:
        """Note a customer the run wrote (other entities are ignored)."""
        if document.entity == "Customer":
            self._written[document.external_id] = _identity_hash(document)

    def covers(self, document: MappedDocument) -> bool:
        """Whether the run already wrote this customer as it is, addresses aside."""
        if document.entity != "Customer":
            return False
        written = self._written.get(document.external_id)
        return written is not None and written == _identity_hash(document)
