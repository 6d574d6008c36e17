"""A refund's QuickBooks document, decided from the refund record alone.

Rule (pure, stable): a refund that returned money (successful `refund` transactions) is a
RefundReceipt: income is reversed and the money leaves the gateway's deposit account, whatever
document the order became (a paid invoice has no open balance left to credit, so a CreditMemo
would leave a customer credit in receivables and the bank overstated). A refund that returned no
money (it reduced what an unpaid or partly paid invoice order still owes, or it was given as
store credit) is a CreditMemo, applied to the order's invoice (`links.applies_to`) when
invoice_on is `order`. For an order paid at checkout (a SalesReceipt), every refund that returns
money is therefore a RefundReceipt, and an Invoice order's balance reduction a CreditMemo.

A refund never exceeds what was paid: the money it returned must not exceed its own total, and,
when the order was among the last orders of the same input (`OrderFacts`), must not exceed what
the order's payments still cover after its other refunds, and its value must not exceed the
order's total; otherwise it becomes a MAP-REFUND-EXCEEDS-PAID dead letter. The order's own list
of refund transactions counts as "its other refunds" only when it names this refund's
transactions too: a list under other ids (or listing only the sale) is no identity to count a
refund by, and would count a refund twice. The check over every refund of an order, each counted
once by its identity, across runs and whatever the arrival order, is the target's
(target_quickbooks/refund_guard.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, NoReturn

from map_quickbooks import refs
from map_quickbooks.contract import Expected, OutputRecord, Source, document
from map_quickbooks.customers import order_customer_alias
from map_quickbooks.dates import txn_date
from map_quickbooks.errors import ErrorCode, MappingError
from map_quickbooks.lines import (
    RenderOptions,
    charges_rate_tax_lines,
    refund_charges,
    render_lines,
)
from map_quickbooks.order_documents import (
    UndepositedDocument,
    check_doc_number,
    check_home_currency,
)
from map_quickbooks.tax import document_tax_fields

if TYPE_CHECKING:
    from kconnector_canonical.model import Refund, Transaction
    from map_quickbooks.rules import Settings

_PAYMENT_REF_MAX = 21


@dataclass(frozen=True, slots=True)
class OrderFacts:
    """What a refund's guard needs from its order, when the order was seen in the same run."""

    total: Decimal
    paid: Decimal
    refunds: tuple[tuple[str, Decimal], ...]  # (transaction id, amount) of successful refunds
    # (transaction id, document) of each payment: what a payout's Deposit links (deposits.py)
    undeposited: tuple[tuple[str, UndepositedDocument], ...] = ()

    def refundable(self, refund_transaction_ids: frozenset[str]) -> Decimal:
        """Paid money not yet returned by the order's other refunds.

        A refund with transactions that the order's list does not name shows the list uses
        other ids (or lists only the sale): a refund in it cannot be told from this one, so the
        list does not count.
        """
        listed = {tid for tid, _ in self.refunds}
        if refund_transaction_ids and not refund_transaction_ids & listed:
            return self.paid
        others = sum(
            (amount for tid, amount in self.refunds if tid not in refund_transaction_ids),
            Decimal(0),
        )
        return self.paid - others


def money_returned(refund: Refund) -> list[Transaction]:
    """The refund's successful refund transactions."""
    return [t for t in refund.transactions if t.kind == "refund" and t.status == "success"]


def _exceeds(field: str, message: str, guidance: str) -> NoReturn:
    raise MappingError(ErrorCode.REFUND_EXCEEDS_PAID, field, message, guidance)


def _guard(refund: Refund, facts: OrderFacts | None) -> None:
    total = refund.totals.total.amount
    currency = refund.currency
    if total < 0:
        raise MappingError(
            ErrorCode.NEGATIVE_TOTAL,
            "totals.total.amount",
            f"the refund total {total} is negative",
            "Check the refund's adjustments in the store; then retry.",
        )
    returned = sum((t.amount.amount for t in money_returned(refund)), Decimal(0))
    if returned > total:
        msg = f"the refund returned {returned} {currency} but is worth {total}"
        hint = "Check the refund in the store (its transactions and lines disagree); then retry."
        _exceeds("transactions", msg, hint)
    if facts is None:
        return
    refundable = facts.refundable(frozenset(t.transaction_id for t in refund.transactions))
    if returned > refundable:
        msg = (
            f"the refund returned {returned} {currency} but only {refundable} of the order's "
            "payments is left to refund"
        )
        hint = (
            "Check the order's payments and refunds in the store (a payment may be missing); "
            "then retry."
        )
        _exceeds("transactions", msg, hint)
    if total > facts.total:
        msg = f"the refund is worth {total} {currency}, more than the order's {facts.total}"
        _exceeds("totals.total.amount", msg, "Check the refund in the store; then retry.")


def refund_doc_number(refund: Refund, settings: Settings) -> str:
    """The refund document's DocNumber from refund_doc_number_template."""
    number = settings.refund_doc_number_template.format(
        prefix=settings.doc_number_prefix,
        refund_id=refund.source_id,
        order_source_id=refund.order_source_id,
    )
    return check_doc_number(number, "refund_doc_number_template")


def map_refund(
    refund: Refund, settings: Settings, source: Source, facts: OrderFacts | None = None
) -> list[OutputRecord]:
    """The refund's RefundReceipt or CreditMemo (none for a refund worth nothing).

    Raises:
        MappingError: a data error (dead letter) with its code and guidance.
    """
    check_home_currency(refund.currency, settings)
    _guard(refund, facts)
    charges = refund_charges(refund, settings.refund_goods_item)
    if refund.totals.total.amount == 0 and all(c.amount == 0 for c in charges):
        return []
    returned = money_returned(refund)
    customer_alias = order_customer_alias(refund.order_id)
    when = refund.processed_at or refund.created_at
    body: dict[str, Any] = {
        "CustomerRef": refs.ref(
            "external_id",
            customer_alias,
            "Customer",
            on_missing="error",
            guidance=(
                "The refund's order has not been written to QuickBooks yet; it is retried "
                "after the order's documents."
            ),
        ),
        "TxnDate": txn_date(when, refund.store_timezone, settings.store_timezone),
        "DocNumber": refund_doc_number(refund, settings),
        "PrivateNote": (
            f"K-Connector {refund.id} refund of {refund.order_id}"
            + (f". Note: {refund.note}" if refund.note else "")
        )[:4000],
    }
    if settings.multicurrency:
        body["CurrencyRef"] = refs.currency(refund.currency)
    body["Line"] = render_lines(
        charges,
        settings,
        RenderOptions(
            currency=refund.currency,
            prices_include_tax=refund.prices_include_tax,
            fold_discounts=True,
            discount_note="",
        ),
    )
    body.update(
        document_tax_fields(
            refund.totals.tax.amount,
            refund.currency,
            settings,
            prices_include_tax=refund.prices_include_tax,
            tax_lines=charges_rate_tax_lines(
                charges,
                settings,
                currency=refund.currency,
                prices_include_tax=refund.prices_include_tax,
            ),
        )
    )
    links = {"customer": customer_alias, "order": refund.order_id}
    if returned:
        main = max(returned, key=lambda t: t.amount.amount)
        body["PaymentMethodRef"] = refs.payment_method(main.gateway, settings)
        body["DepositToAccountRef"] = refs.deposit_account(main.gateway, settings)
        body["PaymentRefNum"] = main.transaction_id[:_PAYMENT_REF_MAX]
    elif settings.invoice_on == "order":
        links["applies_to"] = f"{refund.order_id}#invoice"
    return [
        document(
            "RefundReceipt" if returned else "CreditMemo",
            external_id=f"{refund.order_id}#refund:{refund.source_id}",
            source=source,
            body=body,
            expected=Expected(
                refund.currency, refund.totals.total.amount, refund.totals.tax.amount
            ),
            links=links,
            mapping_version=settings.mapping_version,
        )
    ]
