"""An order's QuickBooks documents: its customer, a SalesReceipt or Invoice(s), and Payments.

Emission order (dependencies first): Customer, then the SalesReceipt or Invoice(s), then the
Payments applied to them.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any, Literal

from map_quickbooks import refs
from map_quickbooks.amounts import money_text
from map_quickbooks.contract import Expected, OutputRecord, Source, document
from map_quickbooks.customers import CustomerDocument, address, customer_for
from map_quickbooks.dates import txn_date
from map_quickbooks.document_type import change_given, decide, payments, primary_gateway
from map_quickbooks.errors import ErrorCode, MappingError
from map_quickbooks.lines import (
    Charge,
    RenderOptions,
    charges_rate_tax_lines,
    charges_tax,
    charges_total,
    order_charges,
    render_lines,
    slice_charge,
)
from map_quickbooks.rules import DOC_NUMBER_MAX_LENGTH
from map_quickbooks.tax import document_tax_fields

if TYPE_CHECKING:
    from collections.abc import Sequence

    from kconnector_canonical.model import Order
    from map_quickbooks.contract import Operation
    from map_quickbooks.rules import Settings

_PRIVATE_NOTE_MAX = 4000  # PrivateNote: max 4000 characters (SalesReceipt/Invoice reference)
_PAYMENT_REF_MAX = 21  # PaymentRefNum: max 21 characters (SalesReceipt/Payment reference)


def sales_receipt_external_id(order_id: str) -> str:
    """The external id of an order's SalesReceipt (the one naming rule; deposits link it)."""
    return f"{order_id}#sales_receipt"


def payment_external_id(order_id: str, transaction_id: str) -> str:
    """The external id of the Payment of one order transaction (deposits link it too)."""
    return f"{order_id}#payment:{transaction_id}"


@dataclass(frozen=True, slots=True)
class UndepositedDocument:
    """The document that put one order transaction's money into its deposit account."""

    external_id: str
    document_type: Literal["SalesReceipt", "Payment"]


def undeposited_documents(order: Order, settings: Settings) -> dict[str, UndepositedDocument]:
    """Per successful sale/capture transaction id, the document `map_order` records it with.

    A SalesReceipt order's payments all sit on its receipt; an Invoice order's each on its own
    Payment. A voided order records no money (nothing is returned).
    """
    decision = decide(order, settings)
    if decision.void:
        return {}
    if decision.kind == "sales_receipt":
        receipt = UndepositedDocument(sales_receipt_external_id(order.id), "SalesReceipt")
        return {t.transaction_id: receipt for t in payments(order)}
    return {
        t.transaction_id: UndepositedDocument(
            payment_external_id(order.id, t.transaction_id), "Payment"
        )
        for t in payments(order)
        if t.amount.amount - change_given(order, t.transaction_id) > 0
    }


@dataclass(frozen=True, slots=True)
class InvoicePart:
    """One invoice of an order: its role, number suffix and charges."""

    role: str
    doc_suffix: str
    charges: tuple[Charge, ...]


def check_doc_number(number: str, setting: str) -> str:
    """The DocNumber, if QuickBooks accepts its length.

    Raises:
        MappingError: MAP-DOCNUMBER-TOO-LONG.
    """
    if len(number) > DOC_NUMBER_MAX_LENGTH:
        raise MappingError(
            ErrorCode.DOC_NUMBER_TOO_LONG,
            "order_number",
            f"DocNumber {number!r} has {len(number)} characters; QuickBooks allows "
            f"{DOC_NUMBER_MAX_LENGTH}",
            f"Shorten doc_number_prefix or {setting}; then retry.",
        )
    return number


def order_doc_number(order: Order, settings: Settings) -> str:
    """The order's DocNumber from doc_number_template."""
    return settings.doc_number_template.format(
        prefix=settings.doc_number_prefix,
        order_number=order.order_number,
        name=order.name,
        source_id=order.source_id,
    )


def exchange_rate(order: Order, settings: Settings) -> Decimal | None:
    """Home-currency units per store-currency unit, when the record shows one.

    Only when the customer paid in the company's home currency (presentment totals): the rate
    the store charged. Otherwise QuickBooks applies its own rate for the TxnDate.
    """
    if not settings.multicurrency or order.currency == settings.home_currency:
        return None
    presented = order.presentment_totals
    if (
        presented is None
        or order.presentment_currency != settings.home_currency
        or order.totals.total.amount == 0
    ):
        return None
    rate = presented.total.amount / order.totals.total.amount
    return rate.quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)


def currency_fields(order: Order, settings: Settings) -> dict[str, Any]:
    """CurrencyRef and ExchangeRate for a multicurrency company."""
    if not settings.multicurrency:
        return {}
    fields: dict[str, Any] = {"CurrencyRef": refs.currency(order.currency)}
    rate = exchange_rate(order, settings)
    if rate is not None:
        fields["ExchangeRate"] = format(rate, "f")
    return fields


def private_note(order: Order) -> str:
    """Where the document came from (and the customer's note), for the bookkeeper."""
    parts = [f"K-Connector {order.id} ({order.name})"]
    presented = order.presentment_totals
    if order.presentment_currency and presented is not None:
        parts.append(
            f"Customer paid {money_text(presented.total.amount, order.presentment_currency)} "
            f"{order.presentment_currency}"
        )
    if order.note:
        parts.append(f"Note: {order.note}")
    return ". ".join(parts)[:_PRIVATE_NOTE_MAX]


def _header(order: Order, settings: Settings, customer: CustomerDocument) -> dict[str, Any]:
    body: dict[str, Any] = {
        "CustomerRef": customer.ref,
        "TxnDate": txn_date(order.created_at, order.store_timezone, settings.store_timezone),
        "PrivateNote": private_note(order),
    }
    body.update(currency_fields(order, settings))
    if not customer.is_walk_in:
        bill = address(order.customer.billing_address)
        if bill is not None:
            body["BillAddr"] = bill
        if order.customer.email:
            body["BillEmail"] = {"Address": order.customer.email[:100]}
    ship = address(order.customer.shipping_address)
    if ship is not None:
        body["ShipAddr"] = ship  # automated sales tax reads the destination from ShipAddr
    return body


def _discount_note(order: Order) -> str:
    names = [d.code or d.title or d.kind for d in order.discounts if d.target == "line_item"]
    return ("Discount: " + ", ".join(dict.fromkeys(names)))[:4000] if names else "Discount"


def _render(order: Order, settings: Settings, charges: tuple[Charge, ...], *, fold: bool) -> Any:  # noqa: ANN401
    options = RenderOptions(
        currency=order.currency,
        prices_include_tax=order.prices_include_tax,
        fold_discounts=fold or order.prices_include_tax,
        discount_note=_discount_note(order),
    )
    return render_lines(charges, settings, options)


def _invoice_parts(order: Order, settings: Settings, charges: list[Charge]) -> list[InvoicePart]:
    if settings.invoice_on == "order":
        return [InvoicePart("invoice", "", tuple(charges))]
    shipments = sorted(
        (f for f in order.fulfillments if f.status == "success"),
        key=lambda f: (f.created_at, f.fulfillment_id),
    )
    shipped_lines = {line_id for f in shipments for line_id, _ in f.line_quantities}
    by_line = {
        line.line_id: charge
        for line, charge in zip(order.line_items, charges, strict=False)
        if charge.kind in {"product", "gift_card"}
    }
    first_extra = [
        c
        for line, c in zip(order.line_items, charges, strict=False)
        if line.line_id not in shipped_lines and not line.requires_shipping
    ] + [c for c in charges if c.kind not in {"product", "gift_card"}]
    consumed: dict[str, int] = {}
    parts: list[InvoicePart] = []
    for index, shipment in enumerate(shipments):
        sliced: list[Charge] = []
        for line_id, quantity in shipment.line_quantities:
            charge = by_line[line_id]
            start = consumed.get(line_id, 0)
            stop = min(start + quantity, charge.quantity)
            consumed[line_id] = stop
            if stop > start:
                sliced.append(slice_charge(charge, start, stop, order.currency))
        if index == 0:
            sliced.extend(first_extra)
        if sliced:
            parts.append(
                InvoicePart(f"invoice:{shipment.fulfillment_id}", f"-{index + 1}", tuple(sliced))
            )
    return parts


def _apply(
    amount: Decimal, balances: list[Decimal], invoice_ids: list[str], currency: str
) -> list[dict[str, Any]]:
    """Apply `amount` to the open invoice balances, first in first out (updates `balances`)."""
    applications: list[dict[str, Any]] = []
    left = amount
    for index, open_amount in enumerate(balances):
        if left <= 0 or open_amount <= 0:
            continue
        applied = min(left, open_amount)
        balances[index] = open_amount - applied
        left -= applied
        linked = {"TxnId": refs.document(invoice_ids[index], "Invoice"), "TxnType": "Invoice"}
        applications.append({"Amount": money_text(applied, currency), "LinkedTxn": [linked]})
    return applications


def _payment_records(
    order: Order,
    settings: Settings,
    customer: CustomerDocument,
    invoices: list[tuple[str, Decimal]],
    source: Source,
) -> list[OutputRecord]:
    """One Payment per successful sale/capture, applied first-in first-out to the invoices.

    Money beyond the invoices' balances stays on the Payment unapplied (a customer credit).
    """
    invoice_ids = [external_id for external_id, _ in invoices]
    balances = [total for _, total in invoices]
    ordered = sorted(
        payments(order),
        key=lambda t: (t.processed_at or order.created_at, t.transaction_id),
    )
    records: list[OutputRecord] = []
    for transaction in ordered:
        amount = transaction.amount.amount - change_given(order, transaction.transaction_id)
        if amount <= 0:
            continue
        applications = _apply(amount, balances, invoice_ids, order.currency)
        body: dict[str, Any] = {
            "CustomerRef": customer.ref,
            "TxnDate": txn_date(
                transaction.processed_at or order.created_at,
                order.store_timezone,
                settings.store_timezone,
            ),
            "TotalAmt": money_text(amount, order.currency),
            "PaymentMethodRef": refs.payment_method(transaction.gateway, settings),
            "DepositToAccountRef": refs.deposit_account(transaction.gateway, settings),
            "PaymentRefNum": transaction.transaction_id[:_PAYMENT_REF_MAX],
            "PrivateNote": (
                f"K-Connector {order.id} ({order.name}) transaction {transaction.transaction_id}"
            ),
            "Line": applications,
        }
        body.update(currency_fields(order, settings))
        links = {"customer": customer.external_id, "order": order.id}
        if applications:
            links["applies_to"] = applications[0]["LinkedTxn"][0]["TxnId"]["value"]
        records.append(
            document(
                "Payment",
                external_id=payment_external_id(order.id, transaction.transaction_id),
                source=source,
                body=body,
                expected=Expected(order.currency, amount, Decimal(0)),
                links=links,
                mapping_version=settings.mapping_version,
            )
        )
    return records


def check_home_currency(currency: str, settings: Settings) -> None:
    """Without multicurrency, QuickBooks records only the home currency.

    Raises:
        MappingError: MAP-CURRENCY-NOT-HOME.
    """
    if (
        settings.home_currency is not None
        and not settings.multicurrency
        and currency != settings.home_currency
    ):
        raise MappingError(
            ErrorCode.CURRENCY_NOT_HOME,
            "currency",
            f"the record is in {currency}; the company's home currency is "
            f"{settings.home_currency} and multicurrency is off",
            "Turn on multicurrency in QuickBooks and set multicurrency: true, or use a company "
            "in the store's currency; then retry.",
        )


def _check_currency(order: Order, settings: Settings) -> None:
    check_home_currency(order.currency, settings)
    if order.totals.total.amount < 0:
        raise MappingError(
            ErrorCode.NEGATIVE_TOTAL,
            "totals.total.amount",
            "the order total is negative; QuickBooks sales documents cannot be",
            "Correct the order in the store (negative fees larger than the sale); then retry.",
        )


def _sales_receipt(
    order: Order, settings: Settings, header: dict[str, Any], charges: list[Charge]
) -> dict[str, Any]:
    body = dict(header)
    body["DocNumber"] = check_doc_number(order_doc_number(order, settings), "doc_number_template")
    body["Line"] = _render(order, settings, tuple(charges), fold=_fold(settings))
    body.update(
        document_tax_fields(
            order.totals.tax.amount,
            order.currency,
            settings,
            prices_include_tax=order.prices_include_tax,
            tax_lines=_rate_tax_lines(order, settings, charges),
        )
    )
    gateway = primary_gateway(order)
    if gateway:
        body["PaymentMethodRef"] = refs.payment_method(gateway, settings)
        body["DepositToAccountRef"] = refs.deposit_account(gateway, settings)
    received = payments(order)
    if received:
        body["PaymentRefNum"] = received[0].transaction_id[:_PAYMENT_REF_MAX]
    return body


def _invoice(
    order: Order, settings: Settings, header: dict[str, Any], part: InvoicePart
) -> tuple[dict[str, Any], Expected]:
    body = dict(header)
    number = order_doc_number(order, settings) + part.doc_suffix
    body["DocNumber"] = check_doc_number(number, "doc_number_template")
    # Per-fulfillment invoices carry slices of lines: discounts are folded into their prices.
    fold = _fold(settings) or bool(part.doc_suffix)
    body["Line"] = _render(order, settings, part.charges, fold=fold)
    total = charges_total(part.charges, prices_include_tax=order.prices_include_tax)
    tax = charges_tax(part.charges)
    body.update(
        document_tax_fields(
            tax,
            order.currency,
            settings,
            prices_include_tax=order.prices_include_tax,
            tax_lines=_rate_tax_lines(order, settings, part.charges),
        )
    )
    return body, Expected(order.currency, total, tax)


def _rate_tax_lines(
    order: Order, settings: Settings, charges: Sequence[Charge]
) -> list[dict[str, Any]] | None:
    return charges_rate_tax_lines(
        charges,
        settings,
        currency=order.currency,
        prices_include_tax=order.prices_include_tax,
    )


def _fold(settings: Settings) -> bool:
    # In tax_codes mode QuickBooks computes the tax from the lines; a discount line would be
    # spread by QuickBooks, not as the store allocated it, so each line carries its own
    # discount instead (docs/mapping.md, "Discounts").
    return settings.discount_mode == "reduced_unit_price" or settings.tax_mode == "tax_codes"


def map_order(order: Order, settings: Settings, source: Source) -> list[OutputRecord]:
    """Every document of one order, dependencies first.

    Raises:
        MappingError: a data error (dead letter) with its code and guidance.
    """
    _check_currency(order, settings)
    decision = decide(order, settings)
    customer = customer_for(order, settings)
    charges = order_charges(order)
    header = _header(order, settings, customer)
    operation: Operation = "void" if decision.void else "upsert"
    links = {"customer": customer.external_id, "order": order.id}
    records: list[OutputRecord] = []
    if not decision.void:
        records.append(
            document(
                "Customer",
                external_id=customer.external_id,
                source=source,
                body=customer.body,
                expected=Expected(order.currency, Decimal(0), Decimal(0)),
                links={},
                mapping_version=settings.mapping_version,
            )
        )
    if decision.kind == "sales_receipt":
        receipt = _sales_receipt(order, settings, header, charges)
        if not receipt["Line"]:
            return []  # nothing was sold (every line removed): QuickBooks needs one line
        records.append(
            document(
                "SalesReceipt",
                external_id=sales_receipt_external_id(order.id),
                source=source,
                body=receipt,
                expected=Expected(
                    order.currency, order.totals.total.amount, order.totals.tax.amount
                ),
                links=links,
                mapping_version=settings.mapping_version,
                operation=operation,
            )
        )
        return records
    invoices: list[tuple[str, Decimal]] = []
    for part in _invoice_parts(order, settings, charges):
        body, expected = _invoice(order, settings, header, part)
        if not body["Line"]:
            continue
        external_id = f"{order.id}#{part.role}"
        invoices.append((external_id, expected.total))
        records.append(
            document(
                "Invoice",
                external_id=external_id,
                source=source,
                body=body,
                expected=expected,
                links=links,
                mapping_version=settings.mapping_version,
                operation=operation,
            )
        )
    if not decision.void:
        records.extend(_payment_records(order, settings, customer, invoices, source))
    return records
