"""The three-way payout reconciliation: processor, QuickBooks Deposit, cleared documents (pure).

Each Deposit's ledger row keeps the payout's own figures (the `source` block of kind ``payout``:
charges, refunds, adjustments, fees, net; docs/payouts.md). For every payout, three figures
must agree to the cent:

1. the processor's net (what reached the bank), and the processor's own arithmetic
   ``charges + refunds - fees + adjustments`` (refunds signed: negative is money out);
2. the Deposit's ``TotalAmt`` as QuickBooks holds it now (read back, so a bookkeeper's edit or a
   deleted Deposit shows);
3. the books: Σ ``TotalAmt`` of the documents the Deposit clears from Undeposited Funds (its
   ``LinkedTxn`` lines, read from QuickBooks; a linked RefundReceipt counts negative) plus the
   payout's refunds, less its fees, plus its adjustments.

A payout whose figures disagree is listed with each residual; residuals are summed per gateway
and currency, and any residual makes `target-quickbooks-ops reconcile` exit 1.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from target_quickbooks.store.ledger import LedgerStatus

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from target_quickbooks.store.ledger import LedgerEntry

ZERO = Decimal(0)
PAYOUT_KIND = "payout"
DEPOSIT = "Deposit"
# Sign of a linked document's TotalAmt in the money a Deposit takes out of Undeposited Funds.
LINKED_SIGN: Mapping[str, int] = {"SalesReceipt": 1, "Payment": 1, "RefundReceipt": -1}
_AMOUNT_KEYS = ("charges", "refunds", "adjustments", "fees", "net")


@dataclass(frozen=True)
class PayoutFigures:
    """A payout's own figures (the Deposit's `source` block), typed."""

    canonical_id: str
    gateway: str
    currency: str
    local_date: str
    charges: Decimal
    refunds: Decimal
    adjustments: Decimal
    fees: Decimal
    net: Decimal

    @property
    def processor_arithmetic(self) -> Decimal:
        """``charges + refunds - fees + adjustments``: must equal `net`."""
        return self.charges + self.refunds - self.fees + self.adjustments


@dataclass(frozen=True)
class PayoutCheck:
    """One payout: the processor's figures, its Deposit in QuickBooks, the documents cleared."""

    payout: PayoutFigures
    external_id: str
    qbo_id: str
    deposit_total: Decimal | None  # None: the Deposit is not in QuickBooks any more
    cleared: Decimal | None  # Σ linked documents' TotalAmt; None when one is not found
    linked: int

    @property
    def books(self) -> Decimal | None:
        """The cleared documents plus refunds, less fees, plus adjustments."""
        if self.cleared is None:
            return None
        p = self.payout
        return self.cleared + p.refunds - p.fees + p.adjustments

    @property
    def deposit_residual(self) -> Decimal | None:
        """QuickBooks' Deposit total less the payout's net (None when the Deposit is missing)."""
        return None if self.deposit_total is None else self.deposit_total - self.payout.net

    @property
    def books_residual(self) -> Decimal | None:
        """The books' figure less the payout's net (None when a cleared document is missing)."""
        return None if self.books is None else self.books - self.payout.net

    @property
    def processor_residual(self) -> Decimal:
        """The processor's arithmetic less its own net (a payout record that does not add up)."""
        return self.payout.processor_arithmetic - self.payout.net

    @property
    def matches(self) -> bool:
        """All three figures agree to the cent and every document was found."""
        return (
            self.deposit_residual == ZERO
            and self.books_residual == ZERO
            and self.processor_residual == ZERO
        )

    @property
    def residual(self) -> Decimal:
        """The residual to report: the Deposit's, else the books', else the processor's.

        A missing Deposit counts its whole net as residual.
        """
        if self.deposit_residual is None:
            return -self.payout.net
        for value in (self.deposit_residual, self.books_residual, self.processor_residual):
            if value:
                return value
        return ZERO


@dataclass(frozen=True)
class GatewayResidual:
    """Payouts of one gateway and currency: how many, their net, how many are off, and by what."""

    gateway: str
    currency: str
    payouts: int
    net: Decimal
    differing: int
    residual: Decimal


def _amount(value: object) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def payout_figures(facts: Mapping[str, Any] | None) -> PayoutFigures | None:
    """The typed payout figures of a ledger row's `source_facts`, or None (not a payout's)."""
    if not facts or facts.get("kind") != PAYOUT_KIND:
        return None
    amounts = {key: _amount(facts.get(key)) for key in _AMOUNT_KEYS}
    texts = [facts.get(k) for k in ("canonical_id", "gateway", "currency", "local_date")]
    if any(a is None for a in amounts.values()) or not all(isinstance(t, str) and t for t in texts):
        return None
    canonical_id, gateway, currency, local_date = (str(t) for t in texts)
    return PayoutFigures(
        canonical_id=canonical_id,
        gateway=gateway,
        currency=currency,
        local_date=local_date,
        charges=amounts["charges"] or ZERO,
        refunds=amounts["refunds"] or ZERO,
        adjustments=amounts["adjustments"] or ZERO,
        fees=amounts["fees"] or ZERO,
        net=amounts["net"] or ZERO,
    )


def payout_entries(entries: Iterable[LedgerEntry]) -> list[LedgerEntry]:
    """Active Deposit rows carrying a payout's figures."""
    return [
        entry
        for entry in entries
        if entry.entity == DEPOSIT
        and entry.status is LedgerStatus.ACTIVE
        and payout_figures(entry.source_facts) is not None
    ]


def linked_documents(deposit: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(TxnType, TxnId) of every transaction a Deposit's lines clear."""
    found: list[tuple[str, str]] = []
    for line in deposit.get("Line") or []:
        if not isinstance(line, dict):
            continue
        found.extend(
            (str(link["TxnType"]), str(link["TxnId"]))
            for link in line.get("LinkedTxn") or []
            if isinstance(link, dict) and link.get("TxnType") and link.get("TxnId")
        )
    return found


def _cleared(
    links: list[tuple[str, str]], quickbooks: Mapping[tuple[str, str], Mapping[str, Any]]
) -> Decimal | None:
    total = ZERO
    for txn_type, txn_id in links:
        document = quickbooks.get((txn_type, txn_id))
        amount = _amount((document or {}).get("TotalAmt"))
        if amount is None or txn_type not in LINKED_SIGN:
            return None
        total += amount * LINKED_SIGN[txn_type]
    return total


def check_payouts(
    entries: Iterable[LedgerEntry], quickbooks: Mapping[tuple[str, str], Mapping[str, Any]]
) -> list[PayoutCheck]:
    """One check per payout Deposit in the ledger, sorted by day, gateway and payout.

    Args:
        entries: the company's ledger rows (only active Deposits with payout figures count).
        quickbooks: QuickBooks' current copy of the Deposits and of the documents they link
            to, by (entity, Id).
    """
    checks: list[PayoutCheck] = []
    for entry in payout_entries(entries):
        figures = payout_figures(entry.source_facts)
        if figures is None:  # pragma: no cover - payout_entries keeps only rows with figures
            continue
        deposit = quickbooks.get((DEPOSIT, entry.qbo_id))
        links = linked_documents(deposit) if deposit is not None else []
        checks.append(
            PayoutCheck(
                payout=figures,
                external_id=entry.external_id,
                qbo_id=entry.qbo_id,
                deposit_total=_amount(deposit.get("TotalAmt")) if deposit is not None else None,
                cleared=_cleared(links, quickbooks) if deposit is not None else None,
                linked=len(links),
            )
        )
    return sorted(
        checks, key=lambda c: (c.payout.local_date, c.payout.gateway, c.payout.canonical_id)
    )


def linked_ids(
    entries: Iterable[LedgerEntry], quickbooks: Mapping[tuple[str, str], Mapping[str, Any]]
) -> dict[str, list[str]]:
    """Ids per entity of the documents the payout Deposits link to (to read them back)."""
    wanted: dict[str, set[str]] = defaultdict(set)
    for entry in payout_entries(entries):
        deposit = quickbooks.get((DEPOSIT, entry.qbo_id))
        for txn_type, txn_id in linked_documents(deposit or {}):
            if (txn_type, txn_id) not in quickbooks:
                wanted[txn_type].add(txn_id)
    return {entity: sorted(ids) for entity, ids in sorted(wanted.items())}


def by_gateway(checks: Iterable[PayoutCheck]) -> list[GatewayResidual]:
    """Residuals per gateway and currency."""
    groups: dict[tuple[str, str], list[PayoutCheck]] = defaultdict(list)
    for check in checks:
        groups[check.payout.gateway, check.payout.currency].append(check)
    return [
        GatewayResidual(
            gateway=gateway,
            currency=currency,
            payouts=len(members),
            net=sum((m.payout.net for m in members), ZERO),
            differing=sum(1 for m in members if not m.matches),
            residual=sum((m.residual for m in members), ZERO),
        )
        for (gateway, currency), members in sorted(groups.items())
    ]


def within(
    checks: Iterable[PayoutCheck], since: str | None, until: str | None
) -> list[PayoutCheck]:
    """The payouts whose store-local day is between `since` and `until` (both included)."""
    return [
        c
        for c in checks
        if (since is None or c.payout.local_date >= since)
        and (until is None or c.payout.local_date <= until)
    ]
