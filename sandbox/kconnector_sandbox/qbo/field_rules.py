r"""The documented field rules of each entity QuickBooks Online accepts writes on (data).

Each `FieldRule` names a field (a dotted path; a list is walked element by element, so
``Line.Description`` checks every line), what QuickBooks allows in it, and where Intuit documents
it. `check_fields` applies the rules of one entity to a document before it is stored, and
`check_amounts` the amount rules once the totals are computed; both raise the `QboFault`
QuickBooks answers.

Sources (the entity reference pages, "Business Rules" and each attribute's "Max length"):

- Customer: https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/customer
  "The DisplayName, Title, GivenName, MiddleName, FamilyName, Suffix, and PrintOnCheckName
  attributes must not contain colon (:), tab (\t), or newline (\n) characters"; "The
  PrimaryEmailAddress attribute must contain an at sign (@) and dot (.)"; DisplayName 500,
  Title 16, GivenName/MiddleName/FamilyName 100, Suffix 16, CompanyName 100, PrintOnCheckName
  110, Notes 2000, PrimaryEmailAddr.Address 100, phone numbers 30, ResaleNum 16, WebAddr.URI
  1000. A colon is refused with error 2040 "Invalid String" (the error quoted in the Q&A thread
  "Colon ':' symbol in Customer name cause error [QBO v3]": "ERROR CODE:2040, ERROR
  MESSAGE:Invalid String. The String may contain unsupported or illegal chars, ERROR
  DETAIL:Element contains invalid characters"; the colon is also listed as refused in
  https://docs.workato.com/en/connectors/quickbooks/quickbooks-troubleshooting-runtime.html).
  A bad e-mail: "Email Address does not conform to the syntax rules of RFC 822"
  (https://github.com/intuit/QuickBooks-V3-DotNET-SDK/issues/333).
- Item: https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/item
  Name 100, Sku 100, Description 4000; ``:`` separates the levels of FullyQualifiedName
  ("Parent:Child"), so a Name cannot carry it.
- Account: https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/account
  "Name must not contain double quotes (\") or colon (:)", Name 100.
- PaymentMethod: .../all-entities/paymentmethod, Name 31.
- SalesReceipt, Invoice, RefundReceipt, CreditMemo, Payment: .../all-entities/<entity>:
  DocNumber 21, PrivateNote 4000, CustomerMemo.value 1000, Line.Description 4000,
  BillEmail.Address 100 (EmailAddress, RFC 822), PaymentRefNum 21; TxnDate is an xs:date
  (``YYYY-MM-DD``, optionally with a zone) and must be a real calendar day.
- Deposit: .../all-entities/deposit: PrivateNote 4000 ("max of 4000 chars"), Line.Description
  4000, TxnDate an xs:date; its line, account and total rules are `kconnector_sandbox.qbo.deposits`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from kconnector_sandbox.qbo import fault_catalog

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping


class FieldKind(StrEnum):
    """What a field holds, beyond its length."""

    TEXT = "text"
    EMAIL = "email"
    DATE = "date"


NAME_SEPARATORS = ":\t\n"
"""Characters QuickBooks refuses in names: ``:`` is its hierarchy separator."""


@dataclass(frozen=True)
class FieldRule:
    """One documented constraint on one field of an entity."""

    path: str
    max_length: int | None = None
    forbidden: str = ""
    kind: FieldKind = FieldKind.TEXT


@dataclass(frozen=True)
class AmountRule:
    """An amount that QuickBooks refuses below `minimum`.

    A `computed` amount (a sales form's TotalAmt) is checked once QuickBooks' totals are
    computed; a supplied one (a Payment's TotalAmt) before anything is derived from it.
    """

    path: str
    minimum: Decimal = Decimal(0)
    computed: bool = True


def _name(path: str, max_length: int, forbidden: str = NAME_SEPARATORS) -> FieldRule:
    return FieldRule(path, max_length, forbidden)


def _text(path: str, max_length: int) -> FieldRule:
    return FieldRule(path, max_length)


_TRANSACTION: tuple[FieldRule, ...] = (
    _text("DocNumber", 21),
    _text("PrivateNote", 4000),
    FieldRule("TxnDate", kind=FieldKind.DATE),
)
_SALES_FORM: tuple[FieldRule, ...] = (
    *_TRANSACTION,
    _text("CustomerMemo.value", 1000),
    _text("Line.Description", 4000),
    FieldRule("BillEmail.Address", 100, kind=FieldKind.EMAIL),
    FieldRule("DueDate", kind=FieldKind.DATE),
    FieldRule("ShipDate", kind=FieldKind.DATE),
    _text("PaymentRefNum", 21),
)

FIELD_RULES: Mapping[str, tuple[FieldRule, ...]] = MappingProxyType(
    {
        "Customer": (
            _name("DisplayName", 500),
            _name("Title", 16),
            _name("GivenName", 100),
            _name("MiddleName", 100),
            _name("FamilyName", 100),
            _name("Suffix", 16),
            _name("PrintOnCheckName", 110),
            _text("CompanyName", 100),
            _text("Notes", 2000),
            _text("ResaleNum", 16),
            FieldRule("PrimaryEmailAddr.Address", 100, kind=FieldKind.EMAIL),
            _text("PrimaryPhone.FreeFormNumber", 30),
            _text("AlternatePhone.FreeFormNumber", 30),
            _text("Mobile.FreeFormNumber", 30),
            _text("Fax.FreeFormNumber", 30),
            _text("WebAddr.URI", 1000),
        ),
        "Item": (
            _name("Name", 100),
            _text("Sku", 100),
            _text("Description", 4000),
        ),
        "Account": (_name("Name", 100, forbidden=':"'),),
        "PaymentMethod": (_text("Name", 31),),
        "SalesReceipt": _SALES_FORM,
        "Invoice": _SALES_FORM,
        "RefundReceipt": _SALES_FORM,
        "CreditMemo": _SALES_FORM,
        "Payment": (*_TRANSACTION, _text("PaymentRefNum", 21)),
        "Deposit": (*_TRANSACTION, _text("Line.Description", 4000)),
    }
)

AMOUNT_RULES: Mapping[str, tuple[AmountRule, ...]] = MappingProxyType(
    {
        "SalesReceipt": (AmountRule("TotalAmt"),),
        "Invoice": (AmountRule("TotalAmt"),),
        "RefundReceipt": (AmountRule("TotalAmt"),),
        "CreditMemo": (AmountRule("TotalAmt"),),
        "Payment": (AmountRule("TotalAmt", computed=False),),
    }
)

_XS_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})(Z|[+-]\d{2}:\d{2})?")


def values_at(document: Mapping[str, Any], path: str) -> Iterator[tuple[str, object]]:
    """Every value found at a dotted `path`, with its element name (lists are walked)."""
    head, _, rest = path.partition(".")
    value = document.get(head)
    if value is None:
        return
    items = value if isinstance(value, list) else [value]
    for item in items:
        if not rest:
            yield path, item
        elif isinstance(item, dict):
            for element, found in values_at(item, rest):
                yield f"{head}.{element}", found


def is_real_date(text: str) -> bool:
    """Whether `text` is an xs:date naming a day that exists (2026-02-30 does not)."""
    match = _XS_DATE.fullmatch(text)
    if match is None:
        return False
    try:
        date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return False
    return True


def is_email(text: str) -> bool:
    """QuickBooks' documented e-mail test: an ``@`` and, after it, a ``.``."""
    local, at, domain = text.partition("@")
    return bool(at and local and "." in domain.strip("."))


def check_field(rule: FieldRule, element: str, value: object) -> None:
    """Raise the fault QuickBooks answers when `value` breaks `rule`.

    Raises:
        QboFault: 2040 (forbidden character, bad e-mail), 2050 (too long), 2010 (bad date).
    """
    if not isinstance(value, str):
        if rule.kind is FieldKind.DATE:
            raise fault_catalog.invalid_date(element)
        return
    if rule.max_length is not None and len(value) > rule.max_length:
        raise fault_catalog.invalid_string_length(element, rule.max_length, len(value))
    if rule.forbidden and any(char in value for char in rule.forbidden):
        raise fault_catalog.invalid_string(element)
    if rule.kind is FieldKind.EMAIL and value and not is_email(value):
        raise fault_catalog.invalid_email(element)
    if rule.kind is FieldKind.DATE and not is_real_date(value):
        raise fault_catalog.invalid_date(element)


def check_fields(entity: str, document: Mapping[str, Any]) -> None:
    """Apply every field rule of `entity` to `document` (before it is stored).

    Raises:
        QboFault: the first rule broken, as QuickBooks answers it.
    """
    for rule in FIELD_RULES.get(entity, ()):
        for element, value in values_at(document, rule.path):
            check_field(rule, element, value)


def check_amounts(entity: str, document: Mapping[str, Any], *, computed: bool) -> None:
    """Apply the amount rules of `entity` that are `computed` (or supplied) to `document`.

    Raises:
        QboFault: 6000 when an amount is below its documented minimum.
    """
    for rule in AMOUNT_RULES.get(entity, ()):
        if rule.computed is not computed:
            continue
        for element, value in values_at(document, rule.path):
            try:
                amount = Decimal(str(value))
            except InvalidOperation:
                raise fault_catalog.invalid_value(element, str(value)) from None
            if amount < rule.minimum:
                raise fault_catalog.negative_amount(element, rule.minimum)
