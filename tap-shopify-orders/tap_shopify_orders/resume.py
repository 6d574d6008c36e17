"""Where an interrupted run stopped, kept in the state so that the next run continues from there.

Orders are emitted sorted by `updated_at` (paged reads ask Shopify for `sortKey: UPDATED_AT`,
bulk results are sorted after download), so a position in the run is the last `updated_at`
emitted plus the ids already emitted at that very second (several orders can share one). A run
writes it in a STATE message after every page (`page_size` orders; a bulk result is counted in
pages of the same size), so a resumed run emits at most one page again. A run that ends
normally removes it, so the next run starts from its bookmark minus the lookback as usual.
A STATE message per page is cheap: a Singer target keeps the latest and writes it only after it
has delivered what came before.

The position is a sort key, not a line offset: it stays right when the bulk result has to be
read from a new operation (the old one's URL expired) or when orders changed in between (a
changed order moves past the cursor and is read again, as it must be).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

RESUME_STATE_KEY = "resume"


@dataclass(frozen=True)
class ResumeCursor:
    """The last `updated_at` emitted and the ids emitted at that second."""

    updated_at: str
    ids: frozenset[str]

    @classmethod
    def read(cls, saved: object) -> ResumeCursor | None:
        """The cursor kept in the state, or None when the last run ended normally."""
        if not isinstance(saved, dict) or not isinstance(saved.get("updated_at"), str):
            return None
        ids = saved.get("ids")
        kept = frozenset(str(i) for i in ids) if isinstance(ids, list) else frozenset()
        return cls(saved["updated_at"], kept)

    def emitted(self, updated_at: str, record_id: str) -> bool:
        """Whether the interrupted run already emitted the record (it sorts at or before here)."""
        return updated_at < self.updated_at or (
            updated_at == self.updated_at and record_id in self.ids
        )

    def state(self) -> dict[str, Any]:
        """The cursor as a state value (ids sorted: the same position writes the same state)."""
        return {"updated_at": self.updated_at, "ids": sorted(self.ids)}
