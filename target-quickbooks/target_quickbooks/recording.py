"""Collect what a wave of deliveries writes to the store, and write it in one go."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from target_quickbooks.store.audit import AuditEntry

if TYPE_CHECKING:
    from target_quickbooks.store import Store
    from target_quickbooks.store.dead_letters import DeadLetter
    from target_quickbooks.store.ledger import LedgerEntry


@dataclass
class Records:
    """Ledger entries, audit rows, dead letters and delivered external_ids of one step."""

    ledger: list[LedgerEntry] = field(default_factory=list)
    audit: list[AuditEntry] = field(default_factory=list)
    letters: list[DeadLetter] = field(default_factory=list)
    delivered: list[str] = field(default_factory=list)

    def commit(self, store: Store, realm_id: str) -> None:
        """Write everything collected (ledger first: it is what makes a re-run a no-op)."""
        store.ledger.put_many(self.ledger)
        store.audit.append(self.audit)
        if self.delivered:
            store.dead_letters.resolve(realm_id, self.delivered)
        store.dead_letters.record(self.letters)
        self.ledger, self.audit, self.letters, self.delivered = [], [], [], []


__all__ = ["AuditEntry", "Records"]
