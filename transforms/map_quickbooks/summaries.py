"""Summary posting (`posting_mode`): many orders' documents as one summary set (pure).

In `payout_summary` and `daily_summary` modes the mapper still maps every order and refund to
its per-order documents first (the exact figures), then adds them up: the SalesReceipts of the
orders a summary covers become one summary SalesReceipt, their refunds' RefundReceipts one
summary RefundReceipt, both made out to one customer per store (`summary_customer_name`), and
the payout's Deposit clears the summary SalesReceipt instead of each order's. Because a summary
is the sum of the per-order documents, line by line (per item and tax code, per discount account,
per TaxRate), its totals equal the per-order totals to the cent by construction (docs/payouts.md,
"Summary posting").

A summary document says which orders and refunds it covers (its `source` block, kind `summary`).
The per-order documents of those orders are emitted after it too, as *alternatives* linked to it
(`links.summary`): the target's posting-mode guard writes either the summary or, when one of its
orders is already in QuickBooks per order (the posting mode was switched), the per-order
documents; never both (target-quickbooks `posting_mode_guard`).

What a summary covers: an order whose documents are exactly one SalesReceipt (paid at checkout by
one transaction, no exchange rate of its own) and a refund written as one RefundReceipt. An
Invoice order (paid later, in parts) stays per order: its Payments are what a payout clears.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from map_quickbooks import refs
from map_quickbooks.amounts import money_text
from map_quickbooks.contract import Expected, OutputRecord, Source, document
from map_quickbooks.names import name_limit, valid_name
from map_quickbooks.order_documents import sales_receipt_external_id

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from map_quickbooks.contract import DocumentType
    from map_quickbooks.rules import Settings

HeldKind = Literal["order", "refund"]
SUMMARY_SALES_ROLE = "summary_sales"
SUMMARY_REFUNDS_ROLE = "summary_refunds"
SUMMARY_DEPOSIT_ROLE = "summary_deposit"
SUMMARY_CUSTOMER_PREFIX = "customer:summary:"
_PRIVATE_NOTE_MAX = 4000  # PrivateNote: max 4000 characters (SalesReceipt reference)
_NAMED_MAX = 20  # order numbers named in a summary's PrivateNote
# Header fields every document of one summary shares (else they make two summaries).
_SHARED_FIELDS = ("DepositToAccountRef", "PaymentMethodRef", "CurrencyRef", "GlobalTaxCalculation")
_SUMMARY_ROLES: tuple[tuple[HeldKind, str], ...] = (
    ("order", SUMMARY_SALES_ROLE),
    ("refund", SUMMARY_REFUNDS_ROLE),
)
_ENTITY_OF_KIND: dict[HeldKind, DocumentType] = {
    "order": "SalesReceipt",
    "refund": "RefundReceipt",
}


@dataclass(frozen=True, slots=True)
class Held:
    """An order or refund whose documents a summary may replace.

    Attributes:
        kind: "order" or "refund".
        source_id: the canonical id of the order or refund.
        order_id: the canonical id of the order (itself for an order).
        platform: the record's platform.
        store: the record's store.
        gateway: the gateway that took (or returned) the money, if the record names one.
        local_date: the store-local day of the record (its `source` block).
        label: how a person names it (the document's DocNumber).
        receipt: the SalesReceipt or RefundReceipt record.
        records: every record the record maps to, in emission order.
    """

    kind: HeldKind
    source_id: str
    order_id: str
    platform: str
    store: str
    gateway: str | None
    local_date: str
    label: str
    receipt: OutputRecord
    records: tuple[OutputRecord, ...]

    @property
    def total(self) -> Decimal:
        """The receipt's total (its `expected.total`)."""
        return Decimal(self.receipt.record["expected"]["total"])

    @property
    def currency(self) -> str:
        """The receipt's currency."""
        return str(self.receipt.record["expected"]["currency"])


def held_of(kind: HeldKind, records: Sequence[OutputRecord], gateway: str | None) -> Held | None:
    """The record as a summary candidate, or None when a summary cannot take it.

    A candidate maps to exactly one SalesReceipt (order) or RefundReceipt (refund) to create or
    update, with no exchange rate of its own (a summary has one rate), plus customers.
    """
    entity = _ENTITY_OF_KIND[kind]
    documents = [r for r in records if r.record.get("document_type") != "Customer"]
    if len(documents) != 1:
        return None
    receipt = documents[0]
    fields = receipt.record
    if (
        fields.get("document_type") != entity
        or fields.get("operation") != "upsert"
        or "ExchangeRate" in fields["body"]
        or not isinstance(fields.get("source"), dict)
    ):
        return None
    facts = fields["source"]
    platform, store, _ = str(facts["order_id"]).split(":", 2)
    return Held(
        kind=kind,
        source_id=str(facts["canonical_id"]),
        order_id=str(facts["order_id"]),
        platform=platform,
        store=store,
        gateway=gateway,
        local_date=str(facts["local_date"]),
        label=str(fields["body"].get("DocNumber") or facts["canonical_id"]),
        receipt=receipt,
        records=tuple(records),
    )


def summary_customer_id(platform: str, store: str, currency: str, settings: Settings) -> str:
    """The external id of a store's summary customer (per currency with multicurrency)."""
    suffix = f":{currency}" if settings.multicurrency else ""
    return f"{SUMMARY_CUSTOMER_PREFIX}{platform}:{store}{suffix}"


def _summary_customer(
    platform: str, store: str, currency: str, settings: Settings, source: Source
) -> tuple[OutputRecord, refs.Ref]:
    external_id = summary_customer_id(platform, store, currency, settings)
    name = settings.summary_customer_name.format(platform=platform.title(), store=store)
    if settings.multicurrency and currency != settings.home_currency:
        name = f"{name} {currency}"
    name = valid_name(name, name_limit("Customer", "DisplayName"))
    body: dict[str, Any] = {"DisplayName": name, "Notes": "K-Connector summary customer"}
    if settings.multicurrency:
        body["CurrencyRef"] = refs.currency(currency)
    ref = refs.ref(
        "external_id",
        external_id,
        "Customer",
        on_missing="create",
        create=body,
        fallback=refs.ref("name", name, "Customer"),
    )
    record = document(
        "Customer",
        external_id=external_id,
        source=Source(source.source_id, source.updated_at),
        body=body,
        expected=Expected(currency, Decimal(0), Decimal(0)),
        links={},
        mapping_version=settings.mapping_version,
    )
    return record, ref


def _key(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def shared_key(held: Held) -> str:
    """What the documents of one summary must share (accounts, currency, tax treatment)."""
    body = held.receipt.record["body"]
    detail = body.get("TxnTaxDetail") or {}
    shared = {name: body.get(name) for name in _SHARED_FIELDS}
    shared["TxnTaxCodeRef"] = detail.get("TxnTaxCodeRef")
    shared["currency"] = held.currency  # without multicurrency no CurrencyRef tells them apart
    return _key(shared)


def _add(target: dict[str, Any], name: str, value: str | None, currency: str) -> None:
    if value is None:
        return
    before = Decimal(str(target.get(name, "0")))
    target[name] = money_text(before + Decimal(value), currency)


def summary_lines(bodies: Iterable[Mapping[str, Any]], currency: str) -> list[dict[str, Any]]:
    """The documents' sales lines added up per item and tax code, then per discount account.

    Quantities and unit prices are left out (a summary line is an amount: QuickBooks then needs
    no Qty x UnitPrice arithmetic), and so are subtotal lines (QuickBooks computes them).
    """
    items: dict[str, dict[str, Any]] = {}
    discounts: dict[str, dict[str, Any]] = {}
    for body in bodies:
        for line in body.get("Line", []):
            kind = line.get("DetailType")
            if kind == "SalesItemLineDetail":
                detail = line["SalesItemLineDetail"]
                key = _key([detail.get("ItemRef"), detail.get("TaxCodeRef")])
                summed = items.get(key)
                if summed is None:
                    summed = {
                        "Amount": "0",
                        "Description": line.get("Description") or "",
                        "DetailType": kind,
                        "SalesItemLineDetail": {
                            k: copy.deepcopy(v)
                            for k, v in detail.items()
                            if k in {"ItemRef", "TaxCodeRef"}
                        },
                    }
                    items[key] = summed
                _add(summed, "Amount", line.get("Amount"), currency)
                _add(
                    summed["SalesItemLineDetail"],
                    "TaxInclusiveAmt",
                    detail.get("TaxInclusiveAmt"),
                    currency,
                )
            elif kind == "DiscountLineDetail":
                detail = line["DiscountLineDetail"]
                key = _key(detail.get("DiscountAccountRef"))
                summed = discounts.get(key)
                if summed is None:
                    summed = {
                        "Amount": "0",
                        "Description": "Discounts",
                        "DetailType": kind,
                        "DiscountLineDetail": copy.deepcopy(dict(detail)),
                    }
                    discounts[key] = summed
                _add(summed, "Amount", line.get("Amount"), currency)
    return [*items.values(), *discounts.values()]


def summary_tax_detail(bodies: Iterable[Mapping[str, Any]], currency: str) -> dict[str, Any]:
    """`TxnTaxDetail`: TotalTax added up, and each TaxRate's TaxLine added up (amount, net)."""
    total = Decimal(0)
    code: Any = None
    rates: dict[str, dict[str, Any]] = {}
    for body in bodies:
        detail = body.get("TxnTaxDetail") or {}
        total += Decimal(str(detail.get("TotalTax", "0")))
        code = code or detail.get("TxnTaxCodeRef")
        for line in detail.get("TaxLine", []):
            rate = line["TaxLineDetail"]
            key = _key(rate.get("TaxRateRef"))
            summed = rates.get(key)
            if summed is None:
                summed = copy.deepcopy(dict(line))
                summed["Amount"] = "0"
                summed["TaxLineDetail"]["NetAmountTaxable"] = "0"
                rates[key] = summed
            _add(summed, "Amount", line.get("Amount"), currency)
            net = rate.get("NetAmountTaxable")
            _add(summed["TaxLineDetail"], "NetAmountTaxable", net, currency)
    out: dict[str, Any] = {"TotalTax": money_text(total, currency)}
    if code is not None:
        out["TxnTaxCodeRef"] = code
    if rates:
        out["TaxLine"] = list(rates.values())
    return out


@dataclass(frozen=True, slots=True)
class SummaryFacts:
    """The `source` block of a summary document: what it covers and what it adds up to."""

    canonical_id: str
    mode: str
    local_date: str
    currency: str
    total: Decimal
    tax: Decimal
    customer: str
    covers_orders: tuple[str, ...]
    covers_refunds: tuple[str, ...]
    refund_orders: tuple[str, ...]

    def to_record(self) -> dict[str, Any]:
        """The `source` object (kind `summary`)."""
        return {
            "kind": "summary",
            "canonical_id": self.canonical_id,
            "mode": self.mode,
            "local_date": self.local_date,
            "currency": self.currency,
            "total": money_text(self.total, self.currency),
            "tax": money_text(self.tax, self.currency),
            "customer": self.customer,
            "covers_orders": list(self.covers_orders),
            "covers_refunds": list(self.covers_refunds),
            "refund_orders": list(self.refund_orders),
        }


@dataclass(frozen=True, slots=True)
class Summary:
    """One summary document of a group, with the records it replaces."""

    external_id: str
    kind: HeldKind
    covered: tuple[Held, ...]
    record: OutputRecord

    @property
    def total(self) -> Decimal:
        """The summary's total."""
        return sum((h.total for h in self.covered), Decimal(0))


def _note(title: str, covered: Sequence[Held]) -> str:
    labels = [h.label for h in covered[:_NAMED_MAX]]
    more = f" and {len(covered) - _NAMED_MAX} more" if len(covered) > _NAMED_MAX else ""
    what = "orders" if covered and covered[0].kind == "order" else "refunds"
    text = f"K-Connector summary of {title}: {len(covered)} {what} ({', '.join(labels)}{more})"
    return text[:_PRIVATE_NOTE_MAX]


@dataclass(frozen=True, slots=True)
class Group:
    """Who a summary is for: its id (the payout, or the store-local day and gateway)."""

    canonical_id: str
    title: str
    txn_date: str
    updated_at: str


def summarise(
    group: Group, held: Sequence[Held], settings: Settings
) -> tuple[list[OutputRecord], list[Summary]]:
    """The summary documents of one group: the customer(s), SalesReceipt(s), RefundReceipt(s).

    Candidates that differ in what a document must share (deposit account, payment method,
    currency, tax treatment) make one summary each: `<group>#summary_sales`, then
    `...#summary_sales:2`, and so on, in order of first appearance.
    """
    records: list[OutputRecord] = []
    summaries: list[Summary] = []
    customers: set[str] = set()
    for kind, role in _SUMMARY_ROLES:
        parts: dict[str, list[Held]] = {}
        for item in held:
            if item.kind == kind:
                parts.setdefault(shared_key(item), []).append(item)
        for number, covered in enumerate(parts.values(), 1):
            suffix = "" if number == 1 else f":{number}"
            external_id = f"{group.canonical_id}#{role}{suffix}"
            summary_source = Source(group.canonical_id, group.updated_at)
            first = covered[0]
            customer, customer_ref = _summary_customer(
                first.platform, first.store, first.currency, settings, summary_source
            )
            if customer.record["external_id"] not in customers:
                customers.add(customer.record["external_id"])
                records.append(customer)
            record = _summary_record(
                external_id,
                kind,
                group=group,
                covered=covered,
                customer_ref=customer_ref,
                customer=customer,
                settings=settings,
            )
            records.append(record)
            summaries.append(Summary(external_id, kind, tuple(covered), record))
    return records, summaries


def _summary_record(  # noqa: PLR0913 - the summary and what it is made of
    external_id: str,
    kind: HeldKind,
    *,
    group: Group,
    covered: Sequence[Held],
    customer_ref: refs.Ref,
    customer: OutputRecord,
    settings: Settings,
) -> OutputRecord:
    currency = covered[0].currency
    bodies = [h.receipt.record["body"] for h in covered]
    first = bodies[0]
    body: dict[str, Any] = {
        "CustomerRef": customer_ref,
        "TxnDate": group.txn_date,
        "PrivateNote": _note(group.title, covered),
        "Line": summary_lines(bodies, currency),
        "TxnTaxDetail": summary_tax_detail(bodies, currency),
    }
    body.update({name: first[name] for name in _SHARED_FIELDS if name in first})
    total = sum((h.total for h in covered), Decimal(0))
    tax = sum((Decimal(h.receipt.record["expected"]["tax"]) for h in covered), Decimal(0))
    facts = SummaryFacts(
        canonical_id=group.canonical_id,
        mode=settings.posting_mode,
        local_date=group.txn_date,
        currency=currency,
        total=total,
        tax=tax,
        customer=str(customer.record["external_id"]),
        covers_orders=tuple(sorted({h.order_id for h in covered if h.kind == "order"})),
        covers_refunds=tuple(sorted(h.source_id for h in covered if h.kind == "refund")),
        refund_orders=tuple(sorted({h.order_id for h in covered if h.kind == "refund"})),
    )
    return document(
        _ENTITY_OF_KIND[kind],
        external_id=external_id,
        source=Source(group.canonical_id, group.updated_at, facts),
        body=body,
        expected=Expected(currency, total, tax),
        links={"customer": str(customer.record["external_id"])},
        mapping_version=settings.mapping_version,
    )


def alternatives(summary: Summary) -> list[OutputRecord]:
    """The per-order documents a summary replaces, linked to it (`links.summary`).

    Their customers are left out: each document's CustomerRef creates its customer when the
    target writes it (only when the summary is not written). The link makes the target write
    the summary first and then decide (target-quickbooks `posting_mode_guard`).
    """
    out: list[OutputRecord] = []
    for item in summary.covered:
        record = copy.deepcopy(item.receipt.record)
        record["links"] = dict(sorted({**record["links"], "summary": summary.external_id}.items()))
        out.append(OutputRecord(item.receipt.stream, record))
    return out


def group_digest(ids: Iterable[str]) -> str:
    """A short digest of the ids a daily summary covers (part of its external id)."""
    text = "\n".join(sorted(ids))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def summary_deposit(
    per_order: OutputRecord, summaries: Sequence[Summary], settings: Settings
) -> OutputRecord | None:
    """The payout's Deposit clearing the summary SalesReceipts, from its per-order Deposit.

    Each summary SalesReceipt whose orders' charges all sit in this Deposit (and add up to it)
    replaces their linked lines by one linked line at the first one's place; an order of a
    summary only part of which this payout settles cannot be linked (QuickBooks deposits a
    document whole): its line takes the money from Undeposited Funds instead, where the summary
    put it. Refund, fee and adjustment lines stay as they are. None when nothing changes.
    """
    record = copy.deepcopy(per_order.record)
    body = record["body"]
    currency = record["expected"]["currency"]
    replaced, used = _replacements(body["Line"], currency, summaries, settings)
    if not replaced:
        return None
    lines = []
    for index, line in enumerate(body["Line"]):
        if index not in replaced:
            lines.append(line)
        elif (new := replaced[index]) is not None:
            lines.append(new)
    body["Line"] = lines
    covered = {sales_receipt_external_id(h.order_id) for s in summaries for h in s.covered}
    kept = [v for k, v in sorted(record["links"].items()) if k.startswith("clears:")]
    clears = [*used, *(v for v in kept if v not in covered)]
    links = {k: v for k, v in record["links"].items() if not k.startswith("clears:")}
    links |= {f"clears:{n}": v for n, v in enumerate(clears, 1)}
    record["links"] = dict(sorted(links.items()))
    payout = str(record["external_id"]).rsplit("#", 1)[0]
    record["external_id"] = f"{payout}#{SUMMARY_DEPOSIT_ROLE}"
    return OutputRecord(per_order.stream, record)


def _replacements(
    lines: Sequence[Mapping[str, Any]],
    currency: str,
    summaries: Sequence[Summary],
    settings: Settings,
) -> tuple[dict[int, dict[str, Any] | None], list[str]]:
    """Per Deposit line index, its replacement (None: removed); the summaries linked."""
    by_receipt: dict[str, int] = {}
    for index, line in enumerate(lines):
        for link in line.get("LinkedTxn", []):
            by_receipt[str(link["TxnId"]["value"])] = index
    replaced: dict[int, dict[str, Any] | None] = {}
    used: list[str] = []
    for summary in summaries:
        if summary.kind != "order":
            continue
        indexes = [by_receipt.get(sales_receipt_external_id(h.order_id)) for h in summary.covered]
        found = sorted(i for i in indexes if i is not None)
        amount = sum((Decimal(lines[i]["Amount"]) for i in found), Decimal(0))
        if len(found) != len(indexes) or amount != summary.total:
            for index in found:
                replaced[index] = _undeposited_line(lines[index], summary, settings)
            continue
        link = {
            "TxnId": refs.document(summary.external_id, "SalesReceipt"),
            "TxnType": "SalesReceipt",
            "TxnLineId": "0",
        }
        replaced[found[0]] = {"Amount": money_text(amount, currency), "LinkedTxn": [link]}
        replaced.update(dict.fromkeys(found[1:]))
        used.append(summary.external_id)
    return replaced, used


def _undeposited_line(
    line: Mapping[str, Any], summary: Summary, settings: Settings
) -> dict[str, Any]:
    what = str(line["LinkedTxn"][0]["TxnId"]["value"]).split("#", 1)[0]
    body = summary.record.record["body"]
    account = body.get("DepositToAccountRef") or refs.account(settings.default_deposit_account)
    return {
        "Amount": line["Amount"],
        "DetailType": "DepositLineDetail",
        "Description": f"Charge of order {what} (in {summary.external_id})"[:4000],
        "DepositLineDetail": {"AccountRef": copy.deepcopy(account)},
    }
