"""What one run holds back in a summary posting mode, and when it lets it go (no I/O).

`per_order` needs nothing of this: every record's documents go out as they are mapped. In
`payout_summary` and `daily_summary` the mapper cannot know, when an order arrives, whether a
summary will cover it, so `SummaryPosting` holds the summary candidates (`summaries.held_of`):

- `payout_summary`: a paid payout takes the held orders and refunds it settles in full (its
  charges naming an order add up to the order's SalesReceipt; its refund lines to the refund's
  RefundReceipt) into one summary set and its Deposit; what no payout of the run takes goes out
  per order at the end of the input.
- `daily_summary`: at the end of the input, the held orders (refunds) of one store-local day
  that share their accounts, payment method and tax treatment make one summary; the payouts,
  held too, then clear them.

The mapper holds the run's STATE until the end as well, so no STATE passes records still held
(a run killed before the end is read again; the target's ledger makes that cost nothing).
Memory grows with the run's candidates (the per-order records of each): a backfill of N orders
holds about N of them until their payouts arrive.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from kconnector_canonical import upcast
from map_quickbooks import summaries
from map_quickbooks.deposits import Payout, gateway_title

if TYPE_CHECKING:
    from collections.abc import Sequence

    from map_quickbooks.contract import OutputRecord
    from map_quickbooks.mapping import InputStream, MappingResult
    from map_quickbooks.rules import Settings

_KIND: dict[str, summaries.HeldKind] = {"orders": "order", "refunds": "refund"}
_CHARGE = "charge"
_MONEY_BACK = frozenset({"refund", "chargeback"})


class SummaryPosting:
    """The held candidates and payouts of one run in a summary posting mode."""

    def __init__(self, settings: Settings) -> None:
        """Start with nothing held."""
        self.settings = settings
        self._held: dict[str, summaries.Held] = {}  # by canonical id, in arrival order
        self._payouts: list[tuple[Payout, OutputRecord, tuple[OutputRecord, ...]]] = []

    @property
    def held_count(self) -> int:
        """How many orders and refunds are held."""
        return len(self._held)

    def take(
        self, stream: InputStream, record: dict[str, object], result: MappingResult
    ) -> tuple[OutputRecord, ...]:
        """What to emit now for one mapped record (the rest is held)."""
        if self.settings.posting_mode == "per_order":
            return result.records
        if stream in _KIND:
            held = summaries.held_of(_KIND[stream], result.records, None)
            if held is None:
                return result.records
            self._held.pop(held.source_id, None)  # a later version of the record replaces it
            self._held[held.source_id] = held
            return ()
        deposit = _booked_deposit(result.records)
        if deposit is None:
            return result.records
        payout = Payout.from_record(upcast(dict(record), "payouts"))
        if self.settings.posting_mode == "daily_summary":
            self._payouts.append((payout, deposit, result.records))
            return ()
        return tuple(self._payout_summary(payout, deposit, result.records))

    def finish(self) -> list[OutputRecord]:
        """Everything still held, at the end of the input: summaries (daily) or per order."""
        out: list[OutputRecord] = []
        found: list[summaries.Summary] = []
        if self.settings.posting_mode == "daily_summary":
            out, found = self._daily_summaries()
        for payout, deposit, records in self._payouts:
            out.extend(self._with_summaries(deposit, records, found, payout))
        self._payouts.clear()
        for held in self._held.values():
            out.extend(held.records)
        self._held.clear()
        return out

    # ------------------------------------------------------------------ payout_summary

    def _settled(self, payout: Payout) -> list[summaries.Held]:
        """The held orders and refunds this payout settles in full."""
        charged: dict[str, Decimal] = {}
        returned: dict[str, Decimal] = {}
        for item in payout.transactions:
            if item.type == _CHARGE and item.order_id is not None:
                charged[item.order_id] = charged.get(item.order_id, Decimal(0)) + item.amount
            elif item.type in _MONEY_BACK and item.refund_id is not None:
                returned[item.refund_id] = returned.get(item.refund_id, Decimal(0)) - item.amount
        settled = []
        for held in self._held.values():
            if held.currency != payout.currency:
                continue
            amounts = charged if held.kind == "order" else returned
            if amounts.get(held.source_id) == held.total:
                settled.append(held)
        return settled

    def _payout_summary(
        self, payout: Payout, deposit: OutputRecord, records: tuple[OutputRecord, ...]
    ) -> list[OutputRecord]:
        covered = self._settled(payout)
        if not covered:
            return list(records)
        group = summaries.Group(
            canonical_id=payout.id,
            title=f"{gateway_title(payout.gateway, self.settings)} payout {payout.source_id}",
            txn_date=str(deposit.record["body"]["TxnDate"]),
            updated_at=str(deposit.record["source_updated_at"]),
        )
        out, found = summaries.summarise(group, covered, self.settings)
        for held in covered:
            del self._held[held.source_id]
        for summary in found:
            out.extend(summaries.alternatives(summary))
        out.extend(self._with_summaries(deposit, records, found, payout))
        return out

    # ------------------------------------------------------------------ daily_summary

    def _daily_summaries(self) -> tuple[list[OutputRecord], list[summaries.Summary]]:
        groups: dict[tuple[str, str, str], list[summaries.Held]] = {}
        for held in self._held.values():
            key = (held.local_date, held.kind, summaries.shared_key(held))
            groups.setdefault(key, []).append(held)
        out: list[OutputRecord] = []
        found: list[summaries.Summary] = []
        for (day, _, shared), covered in sorted(groups.items()):
            first = covered[0]
            digest = summaries.group_digest([shared, *(h.source_id for h in covered)])
            method = first.receipt.record["body"].get("PaymentMethodRef") or {}
            title = f"{method.get('value', 'sales')} on {day}"
            group = summaries.Group(
                canonical_id=f"summary:{first.platform}:{first.store}:{day}:{digest}",
                title=title,
                txn_date=day,
                updated_at=max(str(h.receipt.record["source_updated_at"]) for h in covered),
            )
            records, made = summaries.summarise(group, covered, self.settings)
            out.extend(records)
            for summary in made:
                out.extend(summaries.alternatives(summary))
            found.extend(made)
            for held in covered:
                del self._held[held.source_id]
        return out, found

    # ------------------------------------------------------------------ the Deposit

    def _with_summaries(
        self,
        deposit: OutputRecord,
        records: Sequence[OutputRecord],
        found: Sequence[summaries.Summary],
        payout: Payout,
    ) -> list[OutputRecord]:
        """The payout's records with its summary Deposit, and the per-order one as alternative."""
        del payout
        replaced = summaries.summary_deposit(deposit, found, self.settings)
        if replaced is None:
            return list(records)
        alternative = dict(deposit.record)
        used = sorted(v for k, v in replaced.record["links"].items() if k.startswith("clears:"))
        summary_links = {
            f"summary:{n}": v for n, v in enumerate((u for u in used if "#summary_" in u), 1)
        }
        summary_links["summary_deposit"] = str(replaced.record["external_id"])
        alternative["links"] = dict(sorted({**deposit.record["links"], **summary_links}.items()))
        others = [r for r in records if r is not deposit]
        return [*others, replaced, type(deposit)(deposit.stream, alternative)]


def _booked_deposit(records: Sequence[OutputRecord]) -> OutputRecord | None:
    for output in records:
        if (
            output.record.get("document_type") == "Deposit"
            and output.record.get("operation") == "upsert"
        ):
            return output
    return None
