"""A payout's QuickBooks Deposit (per-order posting mode), decided from the payout record.

A payout is money the processor sends to the bank: the charges of many orders, less refunds,
chargebacks and the processor's fees, plus or minus adjustments and reserves. Each order's money
already sits in its gateway's deposit account (Undeposited Funds by default) on the order's
SalesReceipt or Payment, so the Deposit moves it from there to the bank (docs/payouts.md):

- a `charge` clears its order's document: a line with `LinkedTxn` to the SalesReceipt or Payment
  (by the same external ids `order_documents` gives them). QuickBooks deposits a linked document
  whole, so the charges of one payout that clear the same document are added into one line.
  When the gateway's deposit account is not Undeposited Funds (deposit_account_map names a
  clearing account), QuickBooks cannot link, so the line takes the charge from that account
  instead (`DepositLineDetail`);
- a `refund` or `chargeback` (and a `dispute_reversal`, the chargeback undone): a line from the
  same account, negative for money out (the refund's RefundReceipt paid it from there);
- the processor's fees: one negative line to `processor_fee_account`;
- `reserve`: `payout_reserve_account`; `payout_failure` / `payout_cancellation` (money of a failed
  payout coming back): the deposit account (the failed payout's Deposit was deleted, so its
  receipts are back in it); anything else: `payout_adjustment_account`.

The Deposit's total is the payout's net to the cent, or the payout becomes a
MAP-DEPOSIT-RESIDUAL dead letter naming the residual (a charge with no order to link).

Status: `paid` (and `in_transit`, which Shopify deprecates) books the Deposit; `scheduled` books
nothing yet (the payout is mapped again when paid); `failed` and `canceled` emit the Deposit with
`operation: delete`: nothing happens when it was never booked, and a Deposit booked while the
payout looked paid is deleted, which returns its receipts to Undeposited Funds (QuickBooks'
Deposit has no void; "delete" is its documented way out).

QuickBooks Deposit reference (Line.LinkedTxn with TxnId/TxnType/TxnLineId, DepositLineDetail
.AccountRef, DepositToAccountRef a Bank or Other Current Asset account):
https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/deposit
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from map_quickbooks import refs
from map_quickbooks.amounts import money_text
from map_quickbooks.contract import Expected, OutputRecord, document
from map_quickbooks.dates import txn_date
from map_quickbooks.errors import ErrorCode, MappingError
from map_quickbooks.order_documents import (
    UndepositedDocument,
    check_home_currency,
    payment_external_id,
    sales_receipt_external_id,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from map_quickbooks.contract import Operation, Source
    from map_quickbooks.refunds import OrderFacts
    from map_quickbooks.rules import Settings

PayoutStatus = Literal["scheduled", "in_transit", "paid", "failed", "canceled"]
UNDEPOSITED_FUNDS = "Undeposited Funds"  # QuickBooks' own name of the account (AccountSubType)
_PRIVATE_NOTE_MAX = 4000  # Deposit.PrivateNote: max 4000 characters
_DESCRIPTION_MAX = 4000  # Line.Description: max 4000 characters
_NAMED_MAX = 10  # charges named in a residual's message (the dead letter keeps the record)
_BOOKED: frozenset[str] = frozenset({"paid", "in_transit"})
_REMOVED: frozenset[str] = frozenset({"failed", "canceled"})
# Balance transaction types whose money goes back to (or out of) the gateway's deposit account.
_MONEY_BACK_TYPES = frozenset({"refund", "chargeback", "dispute_reversal"})
_FAILED_PAYOUT_TYPES = frozenset({"payout_failure", "payout_cancellation"})


@dataclass(frozen=True, slots=True)
class BalanceTransaction:
    """One balance transaction a payout settles (canonical `payouts.transactions[]`)."""

    transaction_id: str
    type: str
    amount: Decimal
    fee: Decimal
    order_id: str | None
    order_source_id: str | None
    order_transaction_id: str | None
    refund_id: str | None
    description: str | None

    @classmethod
    def from_record(cls, value: Mapping[str, Any]) -> BalanceTransaction:
        """Read a validated canonical balance transaction."""
        return cls(
            transaction_id=str(value["transaction_id"]),
            type=str(value["type"]),
            amount=Decimal(str(value["amount"]["amount"])),
            fee=Decimal(str(value["fee"]["amount"])),
            order_id=value.get("order_id"),
            order_source_id=value.get("order_source_id"),
            order_transaction_id=value.get("order_transaction_id"),
            refund_id=value.get("refund_id"),
            description=value.get("description"),
        )


@dataclass(frozen=True, slots=True)
class Payout:
    """A canonical payout (schema_version 2), as much of it as its Deposit needs."""

    id: str
    source_id: str
    basis: str
    gateway: str
    status: PayoutStatus
    issued_at: datetime
    store_timezone: str | None
    currency: str
    net: Decimal
    fees: Decimal
    transactions: tuple[BalanceTransaction, ...]

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Payout:
        """Read a validated canonical payout record."""
        return cls(
            id=str(record["id"]),
            source_id=str(record["source_id"]),
            basis=str(record["basis"]),
            gateway=str(record["gateway"]),
            status=record["status"],
            issued_at=datetime.fromisoformat(str(record["issued_at"])),
            store_timezone=record.get("store_timezone"),
            currency=str(record["currency"]),
            net=Decimal(str(record["net"]["amount"])),
            fees=Decimal(str(record["totals"]["fees"]["amount"])),
            transactions=tuple(BalanceTransaction.from_record(t) for t in record["transactions"]),
        )


def deposit_external_id(payout_id: str) -> str:
    """The external id of a payout's Deposit."""
    return f"{payout_id}#deposit"


def waiting_reason(payout: Payout) -> str | None:
    """Why the payout books nothing yet (None when it books or removes its Deposit)."""
    if payout.status in _BOOKED | _REMOVED:
        return None
    return f"payout {payout.status}: its Deposit is booked once the payout is paid"


def bank_account_name(gateway: str, settings: Settings) -> str:
    """The bank account a gateway's payouts reach (payout_bank_account)."""
    return settings.payout_bank_accounts.get(gateway, settings.payout_bank_account)


def gateway_title(gateway: str, settings: Settings) -> str:
    """The gateway as a person reads it: its payment method name (as `refs.payment_method`)."""
    return settings.payment_method_map.get(gateway) or gateway.replace("_", " ").title()


def _created_account(name: str, account_type: str, sub_type: str) -> refs.Ref:
    # The name as the setting gives it (an Account's Name: max 100 characters, the target
    # checks it); a colon would name a sub-account, which is the accountant's to create.
    create = {"Name": name, "AccountType": account_type, "AccountSubType": sub_type}
    return refs.ref("name", name, "Account", on_missing="create", create=create)


def fee_account(settings: Settings) -> refs.Ref:
    """processor_fee_account, created (Expense, BankCharges) when the company has none."""
    return _created_account(settings.processor_fee_account, "Expense", "BankCharges")


def adjustment_account(settings: Settings) -> refs.Ref:
    """payout_adjustment_account, created (Expense) when missing."""
    return _created_account(
        settings.payout_adjustment_account, "Expense", "OtherMiscellaneousServiceCost"
    )


def reserve_account(settings: Settings) -> refs.Ref:
    """payout_reserve_account: money the processor holds back is still the merchant's (asset)."""
    return _created_account(
        settings.payout_reserve_account, "Other Current Asset", "OtherCurrentAssets"
    )


def _account_line(amount: Decimal, currency: str, account: refs.Ref, text: str) -> dict[str, Any]:
    return {
        "Amount": money_text(amount, currency),
        "DetailType": "DepositLineDetail",
        "Description": text[:_DESCRIPTION_MAX],
        "DepositLineDetail": {"AccountRef": account},
    }


def _order_text(item: BalanceTransaction) -> str:
    order = item.order_source_id or item.order_id
    return f" of order {order}" if order else ""


@dataclass(frozen=True, slots=True)
class Link:
    """A charge's link: the symbolic TxnId and TxnType, and the document known to hold it."""

    txn_id: refs.Ref
    txn_type: str
    known: str | None  # the external id, when the order came through the same run


def _linked_document(
    item: BalanceTransaction, orders_seen: Mapping[str, OrderFacts]
) -> Link | None:
    """How a charge names the document that recorded it, or None when none can take it.

    The body names it the same way whether or not the order came through the same run, so a
    payout mapped again in a later run (its status re-read) gives the same Deposit and the
    target writes nothing: the order's SalesReceipt, with the transaction's Payment as its
    fallback. An order has one or the other, never both, so the target links whichever its
    ledger holds (and sets TxnType to it; docs/payouts.md). An order mapped in the same run
    only checks that the transaction recorded money, and says which document it is (`known`,
    for the Deposit's `links`: the target writes that document first).
    """
    if item.order_id is None:
        return None
    receipt = refs.document(sales_receipt_external_id(item.order_id), "SalesReceipt")
    facts = orders_seen.get(item.order_id)
    known: UndepositedDocument | None = None
    if facts is not None:
        documents = dict(facts.undeposited)
        if item.order_transaction_id is not None:
            known = documents.get(item.order_transaction_id)
        elif len(set(documents.values())) == 1:
            known = next(iter(documents.values()))  # one document holds all the order's money
            if known.document_type == "Payment":  # no transaction to name it by: exactly it
                txn_id = refs.document(known.external_id, "Payment")
                return Link(txn_id, "Payment", known.external_id)
        if known is None:
            return None
    if item.order_transaction_id is not None:
        receipt["fallback"] = refs.document(
            payment_external_id(item.order_id, item.order_transaction_id), "Payment"
        )
    return Link(receipt, "SalesReceipt", known.external_id if known else None)


@dataclass(frozen=True, slots=True)
class DepositLines:
    """The Deposit's lines and the charges no line could take (the residual)."""

    lines: tuple[dict[str, Any], ...]
    unlinked: tuple[BalanceTransaction, ...]
    known: tuple[str, ...] = ()  # documents of orders of the same run that the lines clear


def deposit_lines(
    payout: Payout, settings: Settings, orders_seen: Mapping[str, OrderFacts]
) -> DepositLines:
    """Every line of the payout's Deposit, in the payout's transaction order, fees last."""
    currency = payout.currency
    clearing_name = settings.deposit_account_map.get(
        payout.gateway, settings.default_deposit_account
    )
    clearing = refs.account(clearing_name)
    lines: list[dict[str, Any]] = []
    unlinked: list[BalanceTransaction] = []
    # A linked line deposits its document whole: the charges of one payout that clear the same
    # document (several captures on one SalesReceipt) become one line, at the first one's place.
    linked_lines: dict[str, dict[str, Any]] = {}
    known: list[str] = []
    for item in payout.transactions:
        label = f"{item.type.replace('_', ' ').capitalize()} {item.transaction_id}"
        if item.type == "charge":
            if clearing_name != UNDEPOSITED_FUNDS:
                text = f"{label}{_order_text(item)}"
                lines.append(_account_line(item.amount, currency, clearing, text))
                continue
            linked = _linked_document(item, orders_seen)
            if linked is None:
                unlinked.append(item)
                continue
            if linked.known is not None and linked.known not in known:
                known.append(linked.known)
            key = json.dumps(linked.txn_id, sort_keys=True)
            line = linked_lines.get(key)
            if line is not None:
                line["Amount"] = money_text(Decimal(line["Amount"]) + item.amount, currency)
                continue
            link = {"TxnId": linked.txn_id, "TxnType": linked.txn_type, "TxnLineId": "0"}
            line = {"Amount": money_text(item.amount, currency), "LinkedTxn": [link]}
            linked_lines[key] = line
            lines.append(line)
        elif item.type in _MONEY_BACK_TYPES | _FAILED_PAYOUT_TYPES:
            refund = f" (refund {item.refund_id})" if item.refund_id else ""
            text = f"{label}{_order_text(item)}{refund}"
            lines.append(_account_line(item.amount, currency, clearing, text))
        else:
            account = reserve_account(settings) if item.type == "reserve" else None
            account = account or adjustment_account(settings)
            reason = f": {item.description}" if item.description else ""
            lines.append(_account_line(item.amount, currency, account, f"{label}{reason}"))
    if payout.fees != 0:
        text = f"{gateway_title(payout.gateway, settings)} fees, payout {payout.source_id}"
        lines.append(_account_line(-payout.fees, currency, fee_account(settings), text))
    return DepositLines(tuple(lines), tuple(unlinked), tuple(known))


def _residual_error(
    payout: Payout, residual: Decimal, unlinked: tuple[BalanceTransaction, ...]
) -> MappingError:
    currency = payout.currency
    named = ", ".join(t.transaction_id for t in unlinked[:_NAMED_MAX])
    more = f" and {len(unlinked) - _NAMED_MAX} more" if len(unlinked) > _NAMED_MAX else ""
    return MappingError(
        ErrorCode.DEPOSIT_RESIDUAL,
        "transactions",
        f"the Deposit's lines come to {money_text(payout.net - residual, currency)} {currency} "
        f"but the payout's net is {money_text(payout.net, currency)}: a residual of "
        f"{money_text(residual, currency)} {currency} from charges with no order document to "
        f"clear ({named}{more})",
        "Sync the orders these charges belong to (or stop filtering them out: test orders, "
        "statuses, channels, created_after/before), then retry; a charge the store does not "
        "link to any order must be deposited by hand in QuickBooks.",
    )


def map_payout(
    payout: Payout,
    settings: Settings,
    source: Source,
    orders_seen: Mapping[str, OrderFacts] | None = None,
) -> list[OutputRecord]:
    """The payout's Deposit (nothing while it is scheduled).

    Raises:
        MappingError: MAP-CURRENCY-NOT-HOME, MAP-DEPOSIT-RESIDUAL.
    """
    if waiting_reason(payout) is not None:
        return []
    check_home_currency(payout.currency, settings)
    operation: Operation = "delete" if payout.status in _REMOVED else "upsert"
    built = deposit_lines(payout, settings, orders_seen or {})
    total = sum((Decimal(line["Amount"]) for line in built.lines), Decimal(0))
    residual = payout.net - total
    if operation == "upsert" and (residual != 0 or built.unlinked):
        raise _residual_error(payout, residual, built.unlinked)
    note = f"{gateway_title(payout.gateway, settings)} payout {payout.source_id}"
    if payout.basis == "estimate":
        note += " (estimate: the gateway's settled payments of the store-local day)"
    body: dict[str, Any] = {
        "DepositToAccountRef": refs.account(bank_account_name(payout.gateway, settings)),
        "TxnDate": txn_date(payout.issued_at, payout.store_timezone, settings.store_timezone),
        "PrivateNote": note[:_PRIVATE_NOTE_MAX],
        "Line": list(built.lines),
        "TotalAmt": money_text(payout.net, payout.currency),
    }
    if settings.multicurrency:
        body["CurrencyRef"] = refs.currency(payout.currency)
    return [
        document(
            "Deposit",
            external_id=deposit_external_id(payout.id),
            source=source,
            body=body,
            expected=Expected(payout.currency, payout.net, Decimal(0)),
            # The target writes linked documents first; links are not part of the body, so a
            # payout mapped again without its orders still gives the same document.
            links={"payout": payout.id}
            | {f"clears:{n}": external_id for n, external_id in enumerate(built.known, 1)},
            mapping_version=settings.mapping_version,
            operation=operation,
        )
    ]
