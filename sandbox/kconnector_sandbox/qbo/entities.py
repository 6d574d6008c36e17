"""Which QuickBooks Online entities the emulator serves, and what QBO allows on each (data).

Operations per entity follow the API reference
(https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/invoice and its
sibling pages): name-list entities (Customer, Item, Account, PaymentMethod) are never deleted,
they are made inactive (``Active: false``); TaxCode and TaxRate are read-only through the
Accounting API; transactions can be deleted (``?operation=delete``) and SalesReceipt, Invoice and
Payment can be voided (``?operation=void``). Text limits: DocNumber 21 characters
(QBO error 2050 "Min:0 Max:21", https://www.chargebee.com/docs/billing/2.0/kb/accounting/qbo-error-code2050),
PrivateNote 4000, DisplayName 500, Item/Account Name 100, PaymentMethod Name 31 (field
descriptions of the entity reference pages).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping


class EntityKind(StrEnum):
    """How QBO treats an entity."""

    NAME_LIST = "name-list"
    TRANSACTION = "transaction"
    READ_ONLY = "read-only"


@dataclass(frozen=True)
class RefRule:
    """A top-level ``...Ref`` field and the entity its ``value`` must name."""

    field: str
    entity: str
    required: bool = False


@dataclass(frozen=True)
class EntitySpec:
    """What the emulator enforces for one entity."""

    name: str
    kind: EntityKind
    refs: tuple[RefRule, ...] = ()
    required: tuple[str, ...] = ()
    unique_name: str | None = None  # field whose value must be unique within `name_namespace`
    name_namespace: str = ""
    sales_form: bool = False
    voidable: bool = False
    text_limits: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def path(self) -> str:
        """The lowercase resource name used in URLs (``/v3/company/{realm}/salesreceipt``)."""
        return self.name.lower()


_TXN_LIMITS = MappingProxyType({"DocNumber": 21, "PrivateNote": 4000})
_SALES_REFS = (
    RefRule("CustomerRef", "Customer"),
    RefRule("DepositToAccountRef", "Account"),
    RefRule("PaymentMethodRef", "PaymentMethod"),
)

SPECS: Mapping[str, EntitySpec] = MappingProxyType(
    {
        spec.name: spec
        for spec in (
            EntitySpec(
                "Customer",
                EntityKind.NAME_LIST,
                unique_name="DisplayName",
                name_namespace="party",  # Customer, Vendor and Employee share DisplayNames
                text_limits=MappingProxyType({"DisplayName": 500, "Notes": 2000}),
            ),
            EntitySpec(
                "Item",
                EntityKind.NAME_LIST,
                refs=(
                    RefRule("IncomeAccountRef", "Account"),
                    RefRule("ExpenseAccountRef", "Account"),
                    RefRule("AssetAccountRef", "Account"),
                ),
                required=("Name",),
                unique_name="Name",
                name_namespace="item",
                text_limits=MappingProxyType({"Name": 100, "Sku": 100, "Description": 4000}),
            ),
            EntitySpec(
                "Account",
                EntityKind.NAME_LIST,
                required=("Name", "AccountType"),
                unique_name="Name",
                name_namespace="account",
                text_limits=MappingProxyType({"Name": 100}),
            ),
            EntitySpec(
                "PaymentMethod",
                EntityKind.NAME_LIST,
                required=("Name",),
                unique_name="Name",
                name_namespace="paymentmethod",
                text_limits=MappingProxyType({"Name": 31}),
            ),
            EntitySpec("TaxCode", EntityKind.READ_ONLY),
            EntitySpec("TaxRate", EntityKind.READ_ONLY),
            EntitySpec(
                "SalesReceipt",
                EntityKind.TRANSACTION,
                refs=_SALES_REFS,
                sales_form=True,
                voidable=True,
                text_limits=_TXN_LIMITS,
            ),
            EntitySpec(
                "Invoice",
                EntityKind.TRANSACTION,
                refs=(RefRule("CustomerRef", "Customer", required=True),),
                sales_form=True,
                voidable=True,
                text_limits=_TXN_LIMITS,
            ),
            EntitySpec(
                "RefundReceipt",
                EntityKind.TRANSACTION,
                refs=(
                    RefRule("CustomerRef", "Customer"),
                    RefRule("DepositToAccountRef", "Account", required=True),
                    RefRule("PaymentMethodRef", "PaymentMethod"),
                ),
                sales_form=True,
                text_limits=_TXN_LIMITS,
            ),
            EntitySpec(
                "CreditMemo",
                EntityKind.TRANSACTION,
                refs=(RefRule("CustomerRef", "Customer", required=True),),
                sales_form=True,
                text_limits=_TXN_LIMITS,
            ),
            EntitySpec(
                "Payment",
                EntityKind.TRANSACTION,
                refs=(
                    RefRule("CustomerRef", "Customer", required=True),
                    RefRule("DepositToAccountRef", "Account"),
                    RefRule("PaymentMethodRef", "PaymentMethod"),
                ),
                required=("TotalAmt",),
                voidable=True,
                text_limits=MappingProxyType({"PaymentRefNum": 21, "PrivateNote": 4000}),
            ),
        )
    }
)

BY_PATH: Mapping[str, EntitySpec] = MappingProxyType({s.path: s for s in SPECS.values()})
