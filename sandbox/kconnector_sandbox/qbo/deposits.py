"""QuickBooks Online's Deposit rules: which money can be deposited, where, and the total (pure).

Sources: the Deposit entity reference
(https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/deposit; its
attribute texts are mirrored in the typed SDK at
https://github.com/pbrink231/quickbooks-node-promise/blob/master/src/qbTypes.ts, ``Deposit``):

- ``DepositToAccountRef`` is required and names an account "where Account.AccountType is Other
  Current Asset or Bank". A deposit into another account is refused with the business validation
  error QuickBooks gives when no bank account is selected, "Select a bank account for this
  deposit" (https://github.com/routablehq/python-quickbooks/issues/391). Undeposited Funds itself
  is an Other Current Asset, but depositing it into itself moves nothing: refused the same way.
- ``Line`` is required. A line either links an existing transaction (``LinkedTxn`` with
  ``TxnId``, ``TxnType`` and ``TxnLineId``, "Required for Deposit and Bill entities") or is a
  ``DepositLineDetail`` line with a required ``AccountRef`` (optional ``Entity``,
  ``PaymentMethodRef``, ``CheckNum``). A linked line sent with ``DetailType: DepositLineDetail``
  and no ``AccountRef`` is refused with 2020 "Required parameter Line.DepositLineDetail.AccountRef
  is missing" (https://github.com/routablehq/python-quickbooks/issues/329).
- Linkable transactions: "Transfer, Payment, SalesReceipt, RefundReceipt, JournalEntry", and only
  when the money sits in Undeposited Funds ("Select UndepositedFunds account on the existing
  transaction to make it available for the Deposit"). The emulator serves Payment, SalesReceipt
  and RefundReceipt; the other two are refused as unknown references.
- ``TotalAmt`` is "Calculated by QuickBooks business logic; any value you supply is over-written":
  Σ ``Line.Amount``.
- An update must carry the whole object: QuickBooks does not honour ``sparse`` on a Deposit and
  answers "DepositToAccountRef missing" to a sparse body
  (https://github.com/intuit/quickbooks-online-mcp-server/pull/124); see `EntitySpec.sparse_update`.

Emulator choices where Intuit is silent, stricter than the documented minimum (each one a
mistake a client could make against the real service without noticing):

- one ``LinkedTxn`` per line, and its ``Amount`` equal to the linked transaction's ``TotalAmt``
  (negative for a RefundReceipt, money out of Undeposited Funds): QuickBooks' deposit form
  deposits a received payment whole;
- a transaction is deposited at most once (linked to one Deposit, one line); deleting the Deposit
  frees it; a deposited transaction cannot be deleted or voided until its Deposit is;
- every linked transaction and the deposit account are in the deposit's currency.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from kconnector_sandbox.qbo import fault_catalog
from kconnector_sandbox.qbo.sales_tax import ZERO, round_cents

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    Document = dict[str, Any]

DOCUMENTED_LINKABLE = frozenset(
    {"Transfer", "Payment", "SalesReceipt", "RefundReceipt", "JournalEntry"}
)
"""``Line.LinkedTxn.TxnType`` values Intuit documents for a Deposit."""

DEPOSIT_TO_ACCOUNT_TYPES = frozenset({"Bank", "Other Current Asset"})
UNDEPOSITED_FUNDS_SUBTYPE = "UndepositedFunds"
_LINKED_SIGN = {"Payment": 1, "SalesReceipt": 1, "RefundReceipt": -1}
_ENTITY_TYPES = frozenset({"Customer"})  # Vendor and Employee are not served by the emulator


@dataclass(frozen=True)
class Books:
    """What the deposit rules read from the company (callables, so the rules stay pure).

    Attributes:
        find: the stored document of (entity, Id), or None.
        resolve: (ref name, entity, Id) -> the active document, or the QBO fault.
        deposits: every stored Deposit.
        home_currency: the company's home currency.
    """

    find: Callable[[str, str], Document | None]
    resolve: Callable[[str, str, str], Document]
    deposits: Callable[[], Iterable[Document]]
    home_currency: str


def _fault_select_bank() -> fault_catalog.QboFault:
    return fault_catalog.business_validation(
        "Select a bank account for this deposit.", "DepositToAccountRef"
    )


def _ref_value(container: dict[str, Any], key: str) -> str | None:
    ref = container.get(key)
    if ref is None:
        return None
    if not isinstance(ref, dict) or ref.get("value") in (None, ""):
        raise fault_catalog.invalid_value(name=key, value=str(ref))
    return str(ref["value"])


def _amount(line: dict[str, Any]) -> Decimal:
    value = line.get("Amount")
    if value is None:
        raise fault_catalog.required_param(name="Line.Amount")
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        raise fault_catalog.invalid_value(name="Line.Amount", value=str(value))
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise fault_catalog.invalid_value(name="Line.Amount", value=str(value)) from None
    if not number.is_finite():
        raise fault_catalog.invalid_value(name="Line.Amount", value=str(value))
    return round_cents(number)


def deposited_by(books: Books, txn_type: str, txn_id: str) -> str | None:
    """The Id of the Deposit holding (txn_type, txn_id), or None."""
    return _holders(books).get((txn_type, txn_id))


def _holders(books: Books) -> dict[tuple[str, str], str]:
    """(TxnType, TxnId) -> the Id of the Deposit holding it, over every stored Deposit.

    Built once per Deposit checked, not once per linked line: a payout's Deposit links
    hundreds of receipts, and a company holds a Deposit per payout.
    """
    holders: dict[tuple[str, str], str] = {}
    for deposit in books.deposits():
        for line in deposit.get("Line") or []:
            for link in line.get("LinkedTxn") or []:
                key = (str(link.get("TxnType")), str(link.get("TxnId")))
                holders.setdefault(key, str(deposit["Id"]))
    return holders


def in_undeposited_funds(books: Books, document: Document) -> bool:
    """Whether a received transaction's money sits in Undeposited Funds.

    A SalesReceipt or Payment without ``DepositToAccountRef`` goes to Undeposited Funds (the
    SalesReceipt and Payment references: "If you do not specify this account, payment is applied
    to the Undeposited Funds account").
    """
    account_id = _ref_value(document, "DepositToAccountRef")
    if account_id is None:
        return True
    account = books.find("Account", account_id)
    return account is not None and account.get("AccountSubType") == UNDEPOSITED_FUNDS_SUBTYPE


def _check_deposit_account(books: Books, doc: dict[str, Any], currency: str) -> None:
    account_id = _ref_value(doc, "DepositToAccountRef")
    if account_id is None:
        raise fault_catalog.required_param(name="DepositToAccountRef")
    account = books.resolve("DepositToAccountRef", "Account", account_id)
    if (
        account.get("AccountType") not in DEPOSIT_TO_ACCOUNT_TYPES
        or account.get("AccountSubType") == UNDEPOSITED_FUNDS_SUBTYPE
    ):
        raise _fault_select_bank()
    account_currency = _ref_value(account, "CurrencyRef") or books.home_currency
    if account_currency != currency:
        detail = (
            f"The deposit's currency ({currency}) must match the currency of the account "
            f"{account_id} ({account_currency})."
        )
        raise fault_catalog.business_validation(detail, "CurrencyRef")


def _linked_target(
    books: Books, line: dict[str, Any], seen: set[tuple[str, str]]
) -> tuple[str, str, Document]:
    """The one transaction a linked line deposits, checked for shape and uniqueness."""
    links = line["LinkedTxn"]
    if not isinstance(links, list) or len(links) != 1 or not isinstance(links[0], dict):
        raise fault_catalog.invalid_value(
            name="Line.LinkedTxn", value="one linked transaction per line"
        )
    if line.get("DetailType") == "DepositLineDetail":
        detail = line.get("DepositLineDetail")
        if not isinstance(detail, dict) or _ref_value(detail, "AccountRef") is None:
            raise fault_catalog.required_param(name="Line.DepositLineDetail.AccountRef")
    link = links[0]
    for key in ("TxnId", "TxnType", "TxnLineId"):
        if link.get(key) in (None, ""):
            raise fault_catalog.required_param(name=f"Line.LinkedTxn.{key}")
    txn_type, txn_id = str(link["TxnType"]), str(link["TxnId"])
    if txn_type not in DOCUMENTED_LINKABLE:
        raise fault_catalog.invalid_value(name="Line.LinkedTxn.TxnType", value=txn_type)
    target = books.find(txn_type, txn_id) if txn_type in _LINKED_SIGN else None
    if target is None:
        raise fault_catalog.invalid_reference(
            ref_name="Line.LinkedTxn.TxnId", entity=txn_type, entity_id=txn_id
        )
    if (txn_type, txn_id) in seen:
        detail_text = f"{txn_type} {txn_id} is listed more than once in this deposit."
        raise fault_catalog.business_validation(detail_text, "Line.LinkedTxn")
    seen.add((txn_type, txn_id))
    return txn_type, txn_id, target


def _check_link(
    books: Books,
    line: dict[str, Any],
    *,
    currency: str,
    seen: set[tuple[str, str]],
    holders: dict[tuple[str, str], str],
) -> None:
    txn_type, txn_id, target = _linked_target(books, line, seen)
    if not in_undeposited_funds(books, target):
        detail = (
            f"{txn_type} {txn_id} was not received into Undeposited Funds; only money in "
            "Undeposited Funds can be deposited."
        )
        raise fault_catalog.business_validation(detail, "Line.LinkedTxn")
    holder = holders.get((txn_type, txn_id))  # other Deposits only
    if holder is not None:
        detail = f"{txn_type} {txn_id} has already been deposited (Deposit {holder})."
        raise fault_catalog.business_validation(detail, "Line.LinkedTxn")
    target_currency = _ref_value(target, "CurrencyRef") or books.home_currency
    if target_currency != currency:
        detail = f"{txn_type} {txn_id} is in {target_currency}; this deposit is in {currency}."
        raise fault_catalog.business_validation(detail, "CurrencyRef")
    due = round_cents(Decimal(str(target.get("TotalAmt", ZERO))) * _LINKED_SIGN[txn_type])
    if line["Amount"] != due:
        detail = (
            f"The amount deposited from {txn_type} {txn_id} ({line['Amount']}) must be its "
            f"total ({due})."
        )
        raise fault_catalog.business_validation(detail, "Line.Amount")


def _check_detail_line(books: Books, line: dict[str, Any]) -> None:
    detail_type = line.get("DetailType")
    if not detail_type:
        raise fault_catalog.required_param(name="Line.DetailType")
    if detail_type != "DepositLineDetail":
        raise fault_catalog.invalid_value(name="Line.DetailType", value=str(detail_type))
    detail = line.get("DepositLineDetail")
    if not isinstance(detail, dict):
        raise fault_catalog.required_param(name="Line.DepositLineDetail.AccountRef")
    account_id = _ref_value(detail, "AccountRef")
    if account_id is None:
        raise fault_catalog.required_param(name="Line.DepositLineDetail.AccountRef")
    books.resolve("Line.DepositLineDetail.AccountRef", "Account", account_id)
    method_id = _ref_value(detail, "PaymentMethodRef")
    if method_id is not None:
        books.resolve("Line.DepositLineDetail.PaymentMethodRef", "PaymentMethod", method_id)
    entity = detail.get("Entity")
    if entity is not None:
        entity_id = _ref_value(detail, "Entity")
        entity_type = str(entity.get("type") or "Customer")
        if entity_type not in _ENTITY_TYPES or entity_id is None:
            raise fault_catalog.invalid_value(
                name="Line.DepositLineDetail.Entity", value=entity_type
            )
        books.resolve("Line.DepositLineDetail.Entity", entity_type, entity_id)
    check_num = detail.get("CheckNum")
    if check_num is not None and not isinstance(check_num, str):
        raise fault_catalog.invalid_value(
            name="Line.DepositLineDetail.CheckNum", value=str(check_num)
        )


def prepare_deposit(books: Books, doc: dict[str, Any], deposit_id: str) -> None:
    """Check a Deposit as QuickBooks does and compute its lines' ids and ``TotalAmt``.

    Args:
        books: what the company holds.
        doc: the Deposit body (changed in place: line amounts, Ids, TotalAmt).
        deposit_id: the Id the Deposit has or will have.

    Raises:
        QboFault: the first rule broken, as QuickBooks answers it.
    """
    currency = _ref_value(doc, "CurrencyRef") or books.home_currency
    _check_deposit_account(books, doc, currency)
    raw_lines = doc.get("Line")
    if not isinstance(raw_lines, list) or not raw_lines:
        raise fault_catalog.required_param(name="Line")
    total = ZERO
    seen: set[tuple[str, str]] = set()
    holders = {key: held for key, held in _holders(books).items() if held != deposit_id}
    for number, raw in enumerate(raw_lines, start=1):
        if not isinstance(raw, dict):
            raise fault_catalog.invalid_value(name=f"Line[{number - 1}]", value=str(raw))
        amount = _amount(raw)
        raw["Amount"] = amount
        if raw.get("LinkedTxn"):
            _check_link(books, raw, currency=currency, seen=seen, holders=holders)
        else:
            _check_detail_line(books, raw)
        raw["Id"] = str(number)
        raw["LineNum"] = number
        total += amount
    doc["TotalAmt"] = total  # supplied values are overwritten, as the reference says


def refuse_if_deposited(books: Books, entity: str, entity_id: str, verb: str) -> None:
    """Refuse to delete or void a transaction a Deposit holds.

    Raises:
        QboFault: 6000 naming the Deposit to delete first.
    """
    if entity not in _LINKED_SIGN:
        return
    holder = deposited_by(books, entity, entity_id)
    if holder is not None:
        detail = (
            f"This transaction is included in Deposit {holder} and can't be {verb}. "
            "Remove it from the deposit first."
        )
        raise fault_catalog.business_validation(detail)
