"""Which QuickBooks Online entities the emulator serves, and what QBO allows on each (data).

Operations per entity follow the API reference
(https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/invoice and its
sibling pages): name-list entities (Customer, Item, Account, PaymentMethod) are never deleted,
they are made inactive (``Active: false``); TaxCode and TaxRate are read-only through the
Accounting API; transactions can be deleted (``?operation=delete``) and SalesReceipt, Invoice and
Payment can be voided (``?operation=void``); a Deposit is created, read, updated (never sparse)
and deleted (its rules: `kconnector_sandbox.qbo.deposits`). Field rules (lengths, characters,
e-mails, dates, amounts) are the table of `kconnector_sandbox.qbo.field_rules`.
"""

from __future__ import annotations

from dataclasses import dataclass
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
    sparse_update: bool = True  # False: QBO ignores ``sparse`` and needs the whole object

    @property
    def path(self) -> str:
        """The lowercase resource name used in URLs (``/v3/company/{realm}/salesreceipt``)."""
        return self.name.lower()


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
            ),
            EntitySpec(
                "Account",
                EntityKind.NAME_LIST,
                required=("Name", "AccountType"),
                unique_name="Name",
                name_namespace="account",
            ),
            EntitySpec(
                "PaymentMethod",
                EntityKind.NAME_LIST,
                required=("Name",),
                unique_name="Name",
                name_namespace="paymentmethod",
            ),
            EntitySpec("TaxCode", EntityKind.READ_ONLY),
            EntitySpec("TaxRate", EntityKind.READ_ONLY),
            EntitySpec(
                "SalesReceipt",
                EntityKind.TRANSACTION,
                refs=_SALES_REFS,
                sales_form=True,
                voidable=True,
            ),
            EntitySpec(
                "Invoice",
                EntityKind.TRANSACTION,
                refs=(RefRule("CustomerRef", "Customer", required=True),),
                sales_form=True,
                voidable=True,
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
            ),
            EntitySpec(
                "CreditMemo",
                EntityKind.TRANSACTION,
                refs=(RefRule("CustomerRef", "Customer", required=True),),
                sales_form=True,
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
            ),
            EntitySpec(
                "Deposit",
                EntityKind.TRANSACTION,
                refs=(RefRule("DepositToAccountRef", "Account", required=True),),
                required=("Line",),
                sparse_update=False,  # kconnector_sandbox.qbo.deposits, module docstring
            ),
        )
    }
)

BY_PATH: Mapping[str, EntitySpec] = MappingProxyType({s.path: s for s in SPECS.values()})
