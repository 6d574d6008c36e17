"""One QuickBooks Online company (realm): its entities and the rules QBO enforces on writes.

Pure domain state: no HTTP here. The API layer calls `create`, `read`, `update`, `delete`,
`void`, `bookkeeper_edit` and `documents`; each refusal is a `QboFault` carrying QBO's code.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from kconnector_sandbox.qbo import deposits, fault_catalog, field_rules
from kconnector_sandbox.qbo.entities import SPECS, EntityKind, EntitySpec
from kconnector_sandbox.qbo.sales_tax import (
    ZERO,
    DiscountTooLargeError,
    FormTotals,
    Rate,
    SuppliedTax,
    SuppliedTaxError,
    TaxableLine,
    TaxMode,
    exclusive_totals,
    inclusive_totals,
    round_cents,
    us_totals,
    with_supplied_tax,
)
from kconnector_sandbox.qbo.timekeeping import metadata_timestamp, txn_date

if TYPE_CHECKING:
    from collections.abc import Callable

    from kconnector_sandbox.qbo.timekeeping import Clock

Document = dict[str, Any]
_SYSTEM_FIELDS = ("Id", "SyncToken", "MetaData", "domain", "sparse")
_DELETED_SUFFIX = " (deleted)"
_FIRST_DOC_NUMBER = 1001


@dataclass(frozen=True)
class CompanyProfile:
    """What kind of company a realm is.

    Attributes:
        realm_id: the company id in URLs.
        name: company name.
        country: "US", "CA", "GB", "AU"...; "US" selects automated sales tax.
        home_currency: ISO code of the home currency.
        multicurrency: whether transactions may use other currencies.
        tax_mode: default ``GlobalTaxCalculation`` (non-US companies).
        us_tax_rate: the combined rate applied by AST when no override is sent (US).
        exchange_rates: home-currency value of one unit of each foreign currency.
    """

    realm_id: str
    name: str
    country: str
    home_currency: str
    multicurrency: bool = False
    tax_mode: TaxMode = TaxMode.EXCLUDED
    us_tax_rate: Rate | None = None
    exchange_rates: dict[str, Decimal] = field(default_factory=dict)

    @property
    def is_us(self) -> bool:
        """US companies use automated sales tax (TAX/NON line codes)."""
        return self.country == "US"


def _decimal(value: object, name: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        raise fault_catalog.invalid_value(name, str(value))
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise fault_catalog.invalid_value(name, str(value)) from None
    if not number.is_finite():
        raise fault_catalog.invalid_value(name, str(value))
    return number


def _optional_decimal(container: dict[str, Any], key: str, name: str) -> Decimal | None:
    value = container.get(key)
    return None if value is None else _decimal(value, name)


def _ref_value(container: dict[str, Any], key: str) -> str | None:
    ref = container.get(key)
    if ref is None:
        return None
    if not isinstance(ref, dict) or ref.get("value") in (None, ""):
        raise fault_catalog.invalid_value(key, str(ref))
    return str(ref["value"])


def _object(value: object, name: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise fault_catalog.invalid_value(name, str(value))
    return value


def _non_us_totals(
    taxable: list[TaxableLine],
    discount: Decimal,
    mode: TaxMode,
    supplied: dict[str, SuppliedTax],
) -> FormTotals:
    computed = (
        inclusive_totals(taxable, discount)
        if mode is TaxMode.INCLUSIVE
        else exclusive_totals(taxable, discount)
    )
    try:
        return with_supplied_tax(computed, supplied, mode)
    except SuppliedTaxError as exc:
        raise fault_catalog.business_validation(str(exc), "TaxRateRef") from None


def _keep_only_supplied_tax(doc: dict[str, Any], change: dict[str, Any]) -> None:
    """A change without TxnTaxDetail keeps the stored tax the client supplied, not the computed.

    Stored TaxLines carry ``OverrideDeltaAmount`` only where a client supplied the amount; the
    others were computed and are computed again from the (possibly changed) lines.
    """
    detail = doc.get("TxnTaxDetail")
    if "TxnTaxDetail" in change or not isinstance(detail, dict):
        return
    lines = detail.get("TaxLine")
    if not isinstance(lines, list):
        return
    kept = [
        line
        for line in lines
        if isinstance(line, dict)
        and isinstance(line.get("TaxLineDetail"), dict)
        and line["TaxLineDetail"].get("OverrideDeltaAmount") is not None
    ]
    doc["TxnTaxDetail"] = {**detail, "TaxLine": kept}


class Company:
    """The entities of one realm and the write rules QBO applies to them."""

    def __init__(self, profile: CompanyProfile, clock: Clock) -> None:
        """Start an empty company (see `kconnector_sandbox.qbo.seed` for the seeded content)."""
        self.profile = profile
        self._clock = clock
        self._docs: dict[str, dict[str, Document]] = {name: {} for name in SPECS}
        self._next_id: dict[str, int] = dict.fromkeys(SPECS, 1)
        self._names: dict[tuple[str, str], tuple[str, str]] = {}
        # (target entity, target id) -> {payment id: amount applied}
        self._applied: dict[tuple[str, str], dict[str, Decimal]] = {}
        self._doc_number = _FIRST_DOC_NUMBER
        # entity -> tombstones of deleted documents, for change data capture
        self._deleted: dict[str, list[Document]] = {name: [] for name in SPECS}

    # ----------------------------------------------------------------- reads

    def documents(self, entity: str) -> list[Document]:
        """All stored documents of an entity, in Id order (live objects: do not mutate)."""
        return list(self._docs[entity].values())

    def read(self, entity: str, entity_id: str) -> Document:
        """One document.

        Raises:
            QboFault: 610 when the Id does not exist.
        """
        doc = self._docs[entity].get(entity_id)
        if doc is None:
            raise fault_catalog.object_not_found(entity, entity_id)
        return doc

    # ------------------------------------------------------------ persistence

    def export_state(self) -> dict[str, Any]:
        """Everything the company holds, as JSON values plus `Decimal` (live objects: encode now).

        The name index is not exported: `restore` rebuilds it from the documents.
        """
        return {
            "documents": {entity: list(docs.values()) for entity, docs in self._docs.items()},
            "deleted": self._deleted,
            "next_id": self._next_id,
            "next_doc_number": self._doc_number,
            "applied": [
                {"entity": entity, "id": entity_id, "payments": payments}
                for (entity, entity_id), payments in self._applied.items()
            ],
        }

    @classmethod
    def restore(cls, profile: CompanyProfile, clock: Clock, state: dict[str, Any]) -> Company:
        """A company as `export_state` described it.

        Raises:
            KeyError, TypeError, ValueError: `state` is not what `export_state` produces.
        """
        company = cls(profile, clock)
        for entity, docs in state["documents"].items():
            if entity not in SPECS:
                raise KeyError(entity)
            spec = SPECS[entity]
            for doc in docs:
                company._docs[entity][str(doc["Id"])] = doc
                company._index_name(spec, doc)
        for entity, tombstones in state["deleted"].items():
            company._deleted[SPECS[entity].name] = list(tombstones)
        for entity, next_id in state["next_id"].items():
            company._next_id[SPECS[entity].name] = int(next_id)
        company._doc_number = int(state["next_doc_number"])
        for applied in state["applied"]:
            payments = {str(pid): Decimal(amount) for pid, amount in applied["payments"].items()}
            company._applied[str(applied["entity"]), str(applied["id"])] = payments
        return company

    # ---------------------------------------------------------------- writes

    def create(self, entity: str, body: dict[str, Any]) -> Document:
        """Create a document as ``POST /{entity}`` without an Id does."""
        spec = SPECS[entity]
        if spec.kind is EntityKind.READ_ONLY:
            raise fault_catalog.unsupported_operation(operation="Create", entity=entity)
        doc = {k: copy.deepcopy(v) for k, v in body.items() if k not in _SYSTEM_FIELDS}
        new_id = str(self._next_id[entity])
        self._prepare(spec, doc, new_id, None)
        self._next_id[entity] += 1
        stamp = metadata_timestamp(self._clock())
        stored = {"Id": new_id, "SyncToken": "0", "domain": "QBO", "sparse": False, **doc}
        stored["MetaData"] = {"CreateTime": stamp, "LastUpdatedTime": stamp}
        self._docs[entity][new_id] = stored
        self._after_write(spec, stored, None)
        return stored

    def seed(self, entity: str, doc: dict[str, Any]) -> Document:
        """Store a seeded document as is (Id given or next), bypassing write rules."""
        entity_id = str(doc.get("Id") or self._next_id[entity])
        stamp = metadata_timestamp(self._clock())
        stored = {"Id": entity_id, "SyncToken": "0", "domain": "QBO", "sparse": False, **doc}
        stored["Id"] = entity_id
        stored.setdefault("MetaData", {"CreateTime": stamp, "LastUpdatedTime": stamp})
        self._docs[entity][entity_id] = stored
        if entity_id.isdigit():
            self._next_id[entity] = max(self._next_id[entity], int(entity_id) + 1)
        self._index_name(SPECS[entity], stored)
        return stored

    def _index_name(self, spec: EntitySpec, stored: Document) -> None:
        if spec.unique_name and stored.get(spec.unique_name):
            key = (spec.name_namespace, str(stored[spec.unique_name]).casefold())
            self._names[key] = (spec.name, stored["Id"])

    def update(self, entity: str, body: dict[str, Any]) -> Document:
        """Full or sparse (``"sparse": true``) update, with SyncToken concurrency."""
        spec = SPECS[entity]
        if spec.kind is EntityKind.READ_ONLY:
            raise fault_catalog.unsupported_operation(operation="Update", entity=entity)
        existing = self._current(entity, body)
        if body.get("sparse") is True and spec.sparse_update:
            doc = {k: copy.deepcopy(v) for k, v in existing.items() if k not in _SYSTEM_FIELDS}
            doc.update({k: copy.deepcopy(v) for k, v in body.items() if k not in _SYSTEM_FIELDS})
            _keep_only_supplied_tax(doc, body)
        else:
            doc = {k: copy.deepcopy(v) for k, v in body.items() if k not in _SYSTEM_FIELDS}
        return self._replace(spec, existing, doc)

    def bookkeeper_edit(self, entity: str, entity_id: str, patch: dict[str, Any]) -> Document:
        """Apply a partial change as a QBO user editing the form would (no SyncToken needed)."""
        spec = SPECS[entity]
        existing = self.read(entity, entity_id)
        doc = {k: copy.deepcopy(v) for k, v in existing.items() if k not in _SYSTEM_FIELDS}
        doc.update({k: copy.deepcopy(v) for k, v in patch.items() if k not in _SYSTEM_FIELDS})
        _keep_only_supplied_tax(doc, patch)
        return self._replace(spec, existing, doc)

    def delete(self, entity: str, body: dict[str, Any]) -> Document:
        """``?operation=delete`` on a transaction (name-list and read-only entities refuse)."""
        spec = SPECS[entity]
        if spec.kind is not EntityKind.TRANSACTION:
            raise fault_catalog.unsupported_operation(operation="Delete", entity=entity)
        existing = self._current(entity, body)
        self._refuse_if_linked(entity, existing["Id"], "deleted")
        deposits.refuse_if_deposited(self._books(), entity, existing["Id"], "deleted")
        if entity == "Payment":
            self._unapply(existing["Id"])
        del self._docs[entity][existing["Id"]]
        stamp = metadata_timestamp(self._clock())
        self._deleted[entity].append(
            {
                "domain": "QBO",
                "status": "Deleted",
                "Id": existing["Id"],
                "MetaData": {"LastUpdatedTime": stamp},
            }
        )
        return {"status": "Deleted", "domain": "QBO", "Id": existing["Id"]}

    def deleted(self, entity: str) -> list[Document]:
        """Tombstones of the entity's deleted documents (``status: Deleted``), oldest first."""
        return list(self._deleted[entity])

    def void(self, entity: str, body: dict[str, Any]) -> Document:
        """``?operation=void``: keep the transaction with zero amounts and a "Voided" note."""
        spec = SPECS[entity]
        if not spec.voidable:
            raise fault_catalog.unsupported_operation(operation="Void", entity=entity)
        existing = self._current(entity, body)
        self._refuse_if_linked(entity, existing["Id"], "voided")
        deposits.refuse_if_deposited(self._books(), entity, existing["Id"], "voided")
        if entity == "Payment":
            self._unapply(existing["Id"])
            existing["UnappliedAmt"] = ZERO
        for line in existing.get("Line", []):
            if isinstance(line, dict) and "Amount" in line:
                line["Amount"] = ZERO
        existing["TotalAmt"] = ZERO
        if "Balance" in existing:
            existing["Balance"] = ZERO
        if isinstance(existing.get("TxnTaxDetail"), dict):
            existing["TxnTaxDetail"] = {"TotalTax": ZERO}
        note = existing.get("PrivateNote")
        existing["PrivateNote"] = f"Voided - {note}" if note else "Voided"
        self._bump(existing)
        return existing

    # ------------------------------------------------------------- internals

    def _current(self, entity: str, body: dict[str, Any]) -> Document:
        if body.get("Id") in (None, ""):
            raise fault_catalog.required_param(name="Id")
        if body.get("SyncToken") in (None, ""):
            raise fault_catalog.required_param(name="SyncToken")
        existing = self.read(entity, str(body["Id"]))
        if str(body["SyncToken"]) != existing["SyncToken"]:
            raise fault_catalog.stale_object(entity, str(body["SyncToken"]), existing["SyncToken"])
        return existing

    def _replace(self, spec: EntitySpec, existing: Document, doc: dict[str, Any]) -> Document:
        entity_id = existing["Id"]
        if spec.kind is EntityKind.NAME_LIST and doc.get("Active") is False:
            name_field = spec.unique_name or ""
            name = str(doc.get(name_field) or "")
            if existing.get("Active", True) and name and not name.endswith(_DELETED_SUFFIX):
                doc[name_field] = name + _DELETED_SUFFIX
        self._prepare(spec, doc, entity_id, existing)
        if spec.unique_name:
            old = existing.get(spec.unique_name)
            if old is not None:
                self._names.pop((spec.name_namespace, str(old).casefold()), None)
        system = {k: existing[k] for k in _SYSTEM_FIELDS if k in existing}
        existing.clear()
        existing.update(system)
        existing.update(doc)
        existing["sparse"] = False
        self._bump(existing)
        self._after_write(spec, existing, entity_id)
        return existing

    def _bump(self, doc: Document) -> None:
        doc["SyncToken"] = str(int(doc["SyncToken"]) + 1)
        meta = dict(doc.get("MetaData") or {})
        meta["LastUpdatedTime"] = metadata_timestamp(self._clock())
        doc["MetaData"] = meta

    def _after_write(self, spec: EntitySpec, stored: Document, previous_id: str | None) -> None:
        self._index_name(spec, stored)
        if spec.name == "Payment":
            if previous_id is not None:
                self._unapply(previous_id)
            self._apply(stored)

    def _refuse_if_linked(self, entity: str, entity_id: str, verb: str) -> None:
        if self._applied.get((entity, entity_id)):
            detail = (
                f"This transaction is linked to a payment and can't be {verb}. "
                "Remove the payment first."
            )
            raise fault_catalog.business_validation(detail)

    def _books(self) -> deposits.Books:
        return deposits.Books(
            find=lambda entity, entity_id: self._docs[entity].get(entity_id),
            resolve=self._resolve,
            deposits=self._docs["Deposit"].values,
            home_currency=self.profile.home_currency,
        )

    def _prepare_deposit(
        self, doc: dict[str, Any], deposit_id: str, _existing: Document | None
    ) -> None:
        deposits.prepare_deposit(self._books(), doc, deposit_id)

    # --- validation -------------------------------------------------------

    def _prepare(  # noqa: C901 - the generic rules, in QBO's order
        self, spec: EntitySpec, doc: dict[str, Any], entity_id: str, existing: Document | None
    ) -> None:
        if spec.name == "Customer":
            self._derive_display_name(doc)
        for name in spec.required:
            if doc.get(name) in (None, ""):
                raise fault_catalog.required_param(name)
        field_rules.check_fields(spec.name, doc)
        field_rules.check_amounts(spec.name, doc, computed=False)
        if spec.unique_name:
            self._check_unique(spec, str(doc[spec.unique_name]), entity_id)
        for rule in spec.refs:
            value = _ref_value(doc, rule.field)
            if value is None:
                if rule.required:
                    raise fault_catalog.required_param(rule.field)
                continue
            self._resolve(rule.field, rule.entity, value)
        if spec.kind is EntityKind.NAME_LIST:
            doc.setdefault("Active", True)
        if spec.sales_form:
            self._prepare_sales_form(spec.name, doc, entity_id, existing)
        elif spec.name in _PREPARERS:
            _PREPARERS[spec.name](self, doc, entity_id, existing)
        if spec.kind is EntityKind.TRANSACTION:
            doc.setdefault("TxnDate", txn_date(self._clock()))
            self._set_currency(doc)
        field_rules.check_amounts(spec.name, doc, computed=True)

    def _derive_display_name(self, doc: dict[str, Any]) -> None:
        if doc.get("DisplayName"):
            return
        parts = [doc.get(k) for k in ("Title", "GivenName", "MiddleName", "FamilyName", "Suffix")]
        derived = " ".join(str(p) for p in parts if p) or str(doc.get("CompanyName") or "")
        if not derived:
            raise fault_catalog.QboFault(
                400,
                fault_catalog.FaultType.VALIDATION,
                fault_catalog.FaultError(
                    "6080",
                    "No Name Provided",
                    "Fill out values for at least one of the following: Title, GivenName, "
                    "MiddleName, FamilyName, DisplayName, Suffix.",
                    "DisplayName",
                ),
            )
        doc["DisplayName"] = derived

    def _check_unique(self, spec: EntitySpec, name: str, entity_id: str) -> None:
        holder = self._names.get((spec.name_namespace, name.casefold()))
        if holder is not None and holder != (spec.name, entity_id):
            raise fault_catalog.duplicate_name(holder[0], holder[1])

    def _resolve(self, ref_name: str, entity: str, value: str) -> Document:
        doc = self._docs[entity].get(value)
        if doc is None:
            raise fault_catalog.invalid_reference(ref_name, entity, value)
        if doc.get("Active") is False:
            raise fault_catalog.inactive_reference(ref_name, value)
        return doc

    def _set_currency(self, doc: dict[str, Any]) -> None:
        home = self.profile.home_currency
        currency = _ref_value(doc, "CurrencyRef") or home
        if currency != home and not self.profile.multicurrency:
            detail = f"Multicurrency is not turned on; {currency} transactions are not allowed."
            raise fault_catalog.business_validation(detail, "CurrencyRef")
        customer_id = _ref_value(doc, "CustomerRef")
        if customer_id is not None:
            customer = self._docs["Customer"][customer_id]
            customer_currency = _ref_value(customer, "CurrencyRef") or home
            if customer_currency != currency:
                detail = (
                    f"The currency of the transaction ({currency}) must match the currency of "
                    f"the customer ({customer_currency})."
                )
                raise fault_catalog.business_validation(detail, "CurrencyRef")
        doc["CurrencyRef"] = {"value": currency}
        if currency == home:
            rate = Decimal(1)
        else:
            given = doc.get("ExchangeRate")
            rate = (
                _decimal(given, "ExchangeRate")
                if given is not None
                else self.profile.exchange_rates.get(currency, Decimal(1))
            )
        doc["ExchangeRate"] = rate
        if currency != home and "TotalAmt" in doc:
            doc["HomeTotalAmt"] = round_cents(_decimal(doc["TotalAmt"], "TotalAmt") * rate)

    # --- name lists -------------------------------------------------------

    def _prepare_customer(self, doc: dict[str, Any], _id: str, existing: Document | None) -> None:
        doc.setdefault("Balance", ZERO if existing is None else existing.get("Balance", ZERO))
        if _ref_value(doc, "CurrencyRef") is None:
            doc["CurrencyRef"] = {"value": self.profile.home_currency}
        elif (
            doc["CurrencyRef"]["value"] != self.profile.home_currency
            and not self.profile.multicurrency
        ):
            detail = "Multicurrency is not turned on for this company."
            raise fault_catalog.business_validation(detail, "CurrencyRef")

    def _prepare_item(self, doc: dict[str, Any], _id: str, _existing: Document | None) -> None:
        item_type = doc.setdefault("Type", "Service")
        if item_type not in {"Service", "NonInventory", "Inventory", "Category", "Group"}:
            raise fault_catalog.invalid_value(name="Type", value=str(item_type))
        if item_type in {"Service", "NonInventory", "Inventory"} and not doc.get(
            "IncomeAccountRef"
        ):
            raise fault_catalog.required_param(name="IncomeAccountRef")
        if doc.get("UnitPrice") is not None:
            doc["UnitPrice"] = _decimal(doc["UnitPrice"], "UnitPrice")

    def _prepare_account(self, doc: dict[str, Any], _id: str, _existing: Document | None) -> None:
        doc.setdefault("CurrentBalance", ZERO)
        doc.setdefault("CurrencyRef", {"value": self.profile.home_currency})

    def _prepare_payment_method(
        self, doc: dict[str, Any], _id: str, _existing: Document | None
    ) -> None:
        doc.setdefault("Type", "NON_CREDIT_CARD")

    # --- sales forms ------------------------------------------------------

    def _tax_mode(self, doc: dict[str, Any]) -> TaxMode | None:
        if self.profile.is_us:
            return None
        raw = doc.get("GlobalTaxCalculation") or self.profile.tax_mode.value
        try:
            mode = TaxMode(raw)
        except ValueError:
            raise fault_catalog.invalid_value(name="GlobalTaxCalculation", value=str(raw)) from None
        doc["GlobalTaxCalculation"] = mode.value
        return mode

    def _line_rates(self, detail: dict[str, Any], mode: TaxMode | None) -> tuple[Rate, ...]:
        code = _ref_value(detail, "TaxCodeRef")
        if mode is None:  # US: TAX or NON
            code = code or "NON"
            detail["TaxCodeRef"] = {"value": code}
            self._resolve("TaxCodeRef", "TaxCode", code)
            rate = self.profile.us_tax_rate
            return (rate,) if code == "TAX" and rate is not None else ()
        if mode is TaxMode.NOT_APPLICABLE and code is None:
            return ()
        if code is None:
            detail_text = "Make sure all your transactions have a tax rate before you save."
            raise fault_catalog.business_validation(detail_text, "TaxCodeRef")
        tax_code = self._resolve("TaxCodeRef", "TaxCode", code)
        if mode is TaxMode.NOT_APPLICABLE:
            return ()
        rates: list[Rate] = []
        rate_list = _object(tax_code.get("SalesTaxRateList"), "SalesTaxRateList")
        for entry in rate_list.get("TaxRateDetail", []):
            rate_id = _ref_value(entry, "TaxRateRef")
            if rate_id is None:
                continue
            tax_rate = self._docs["TaxRate"][rate_id]
            rates.append(Rate(rate_id, _decimal(tax_rate.get("RateValue", 0), "RateValue")))
        return tuple(rates)

    def _prepare_sales_form(  # noqa: C901, PLR0912, PLR0915 - QBO's line rules, in order
        self, entity: str, doc: dict[str, Any], entity_id: str, existing: Document | None
    ) -> None:
        raw_lines = doc.get("Line")
        if not isinstance(raw_lines, list) or not raw_lines:
            raise fault_catalog.required_param(name="Line")
        mode = self._tax_mode(doc)
        item_lines: list[dict[str, Any]] = []
        taxable: list[TaxableLine] = []
        discounts: list[dict[str, Any]] = []
        kept: list[dict[str, Any]] = []
        for index, raw in enumerate(raw_lines):
            line = _object(raw, f"Line[{index}]")
            detail_type = line.get("DetailType")
            if not detail_type:
                raise fault_catalog.required_param(name="Line.DetailType")
            if detail_type == "SalesItemLineDetail":
                detail = _object(line.get("SalesItemLineDetail"), "SalesItemLineDetail")
                line["SalesItemLineDetail"] = detail
                item_id = _ref_value(detail, "ItemRef")
                if item_id is None:
                    raise fault_catalog.required_param(name="Line.SalesItemLineDetail.ItemRef")
                self._resolve("ItemRef", "Item", item_id)
                amount = _optional_decimal(line, "Amount", "Line.Amount")
                qty = _optional_decimal(detail, "Qty", "Line.SalesItemLineDetail.Qty")
                price = _optional_decimal(detail, "UnitPrice", "Line.SalesItemLineDetail.UnitPrice")
                gross = _optional_decimal(detail, "TaxInclusiveAmt", "TaxInclusiveAmt")
                if amount is None and not (mode is TaxMode.INCLUSIVE and gross is not None):
                    raise fault_catalog.required_param(name="Line.Amount")
                if (
                    amount is not None
                    and qty is not None
                    and price is not None
                    and round_cents(qty * price) != round_cents(amount)
                ):
                    raise fault_catalog.amount_mismatch(str(amount))
                if qty is not None:
                    detail["Qty"] = qty
                if price is not None:
                    detail["UnitPrice"] = price
                rates = self._line_rates(detail, mode)
                taxable.append(TaxableLine(amount, gross, rates))
                item_lines.append(line)
                kept.append(line)
            elif detail_type == "DiscountLineDetail":
                detail = _object(line.get("DiscountLineDetail"), "DiscountLineDetail")
                line["DiscountLineDetail"] = detail
                account_id = _ref_value(detail, "DiscountAccountRef")
                if account_id is not None:
                    self._resolve("DiscountAccountRef", "Account", account_id)
                discounts.append(line)
                kept.append(line)
            elif detail_type == "SubTotalLineDetail":
                continue  # recomputed below, as QBO does
            elif detail_type == "DescriptionOnly":
                kept.append(line)
            else:
                raise fault_catalog.invalid_value(name="Line.DetailType", value=str(detail_type))
        if not item_lines:
            raise fault_catalog.required_param(name="Line.SalesItemLineDetail")
        totals = self._form_totals(doc, mode, taxable, discounts)
        for line, net, gross in zip(item_lines, totals.line_nets, totals.line_grosses, strict=True):
            line["Amount"] = round_cents(net)
            if mode is TaxMode.INCLUSIVE:
                line["SalesItemLineDetail"]["TaxInclusiveAmt"] = gross
        subtotal_line = {
            "Amount": round_cents(totals.subtotal),
            "DetailType": "SubTotalLineDetail",
            "SubTotalLineDetail": {},
        }
        lines_out: list[dict[str, Any]] = []
        for numbered, line in enumerate(kept, start=1):
            line["Id"] = str(numbered)
            line["LineNum"] = numbered
            lines_out.append(line)
        lines_out.append(subtotal_line)
        doc["Line"] = lines_out
        tax_detail: dict[str, Any] = {"TotalTax": totals.total_tax}
        given_detail = doc.get("TxnTaxDetail")
        if isinstance(given_detail, dict) and given_detail.get("TxnTaxCodeRef"):
            tax_detail["TxnTaxCodeRef"] = given_detail["TxnTaxCodeRef"]
        tax_detail["TaxLine"] = [
            {
                "Amount": t.amount,
                "DetailType": "TaxLineDetail",
                "TaxLineDetail": {
                    "TaxRateRef": {"value": t.rate_id},
                    "PercentBased": True,
                    "TaxPercent": t.percent,
                    "NetAmountTaxable": t.net_taxable,
                    **(
                        {"OverrideDeltaAmount": t.override_delta}
                        if t.override_delta is not None
                        else {}
                    ),
                },
            }
            for t in totals.tax_lines
        ]
        doc["TxnTaxDetail"] = tax_detail
        doc["TotalAmt"] = round_cents(totals.total)
        if not doc.get("DocNumber"):
            doc["DocNumber"] = (
                existing.get("DocNumber") if existing and existing.get("DocNumber") else None
            ) or str(self._next_doc_number())
        applied = sum(self._applied.get((entity, entity_id), {}).values(), ZERO)
        if entity in {"Invoice", "CreditMemo"}:
            if applied > doc["TotalAmt"]:
                reason = "The transaction total can't be less than the amount already applied."
                raise fault_catalog.business_validation(reason, "TotalAmt")
            doc["Balance"] = doc["TotalAmt"] - applied
            if entity == "CreditMemo":
                doc["RemainingCredit"] = doc["Balance"]
        else:
            doc["Balance"] = ZERO

    def _next_doc_number(self) -> int:
        number = self._doc_number
        self._doc_number += 1
        return number

    def _form_totals(
        self,
        doc: dict[str, Any],
        mode: TaxMode | None,
        taxable: list[TaxableLine],
        discount_lines: list[dict[str, Any]],
    ) -> FormTotals:
        given = doc.get("TxnTaxDetail")
        override = None
        if isinstance(given, dict) and given.get("TotalTax") is not None:
            override = _decimal(given["TotalTax"], "TxnTaxDetail.TotalTax")
        supplied = self._supplied_tax(given) if mode is not None else {}
        if mode is TaxMode.NOT_APPLICABLE and (
            override or any(s.amount for s in supplied.values())
        ):
            raise fault_catalog.tax_detail_not_applicable()

        def compute(discount: Decimal) -> FormTotals:
            if mode is None:
                rate = self.profile.us_tax_rate or Rate("0", ZERO)
                return us_totals(taxable, discount, override=override, default_rate=rate)
            kept = {} if mode is TaxMode.NOT_APPLICABLE else supplied
            return _non_us_totals(taxable, discount, mode, kept)

        try:
            base = compute(ZERO)
            base_amount = (
                sum(base.line_grosses, ZERO) if mode is TaxMode.INCLUSIVE else base.subtotal
            )
            discount = ZERO
            for line in discount_lines:
                detail = line["DiscountLineDetail"]
                if detail.get("PercentBased") is True and detail.get("DiscountPercent") is not None:
                    percent = _decimal(detail["DiscountPercent"], "DiscountPercent")
                    detail["DiscountPercent"] = percent
                    line["Amount"] = round_cents(base_amount * percent / 100)
                elif line.get("Amount") is not None:
                    line["Amount"] = round_cents(_decimal(line["Amount"], "Line.Amount"))
                else:
                    raise fault_catalog.QboFault(
                        400,
                        fault_catalog.FaultType.VALIDATION,
                        fault_catalog.FaultError(
                            "6090",
                            "Discount Line missing required info",
                            "A discount amount or percent is required.",
                            "DiscountLineDetail",
                        ),
                    )
                discount += line["Amount"]
            return compute(discount) if discount else base
        except DiscountTooLargeError as exc:
            raise fault_catalog.business_validation(str(exc), "DiscountLineDetail") from None

    def _supplied_tax(self, given: object) -> dict[str, SuppliedTax]:
        """Non-US: the client's ``TxnTaxDetail.TaxLine`` amounts by TaxRate Id.

        Lines without an ``Amount`` supply nothing (QuickBooks computes that rate). Each rate
        "may only be listed once" (TaxLineDetail.TaxRateRef, entity references).
        """
        if not isinstance(given, dict) or given.get("TaxLine") is None:
            return {}
        raw_lines = given["TaxLine"]
        if not isinstance(raw_lines, list):
            raise fault_catalog.invalid_value(name="TxnTaxDetail.TaxLine", value=str(raw_lines))
        supplied: dict[str, SuppliedTax] = {}
        for index, raw in enumerate(raw_lines):
            line = _object(raw, f"TxnTaxDetail.TaxLine[{index}]")
            if line.get("Amount") is None:
                continue
            if line.get("DetailType") != "TaxLineDetail":
                raise fault_catalog.required_param(name="TxnTaxDetail.TaxLine.DetailType")
            detail = _object(line.get("TaxLineDetail"), "TxnTaxDetail.TaxLine.TaxLineDetail")
            rate_id = _ref_value(detail, "TaxRateRef")
            if rate_id is None:
                raise fault_catalog.required_param(name="TxnTaxDetail.TaxLine.TaxRateRef")
            self._resolve("TaxRateRef", "TaxRate", rate_id)
            if rate_id in supplied:
                detail_text = f"TaxRate {rate_id} is listed more than once in TxnTaxDetail."
                raise fault_catalog.business_validation(detail_text, "TaxRateRef")
            supplied[rate_id] = SuppliedTax(
                _decimal(line["Amount"], "TxnTaxDetail.TaxLine.Amount"),
                _optional_decimal(detail, "NetAmountTaxable", "NetAmountTaxable"),
            )
        return supplied

    # --- payments ---------------------------------------------------------

    def _prepare_payment(  # noqa: C901 - QBO's payment application rules, in order
        self, doc: dict[str, Any], payment_id: str, _existing: Document | None
    ) -> None:
        total = round_cents(_decimal(doc["TotalAmt"], "TotalAmt"))
        doc["TotalAmt"] = total
        customer_id = _ref_value(doc, "CustomerRef")
        raw_lines = doc.get("Line") or []
        if not isinstance(raw_lines, list):
            raise fault_catalog.invalid_value(name="Line", value=str(raw_lines))
        to_invoices = ZERO
        credited = ZERO
        for index, raw in enumerate(raw_lines):
            line = _object(raw, f"Line[{index}]")
            if line.get("Amount") is None:
                raise fault_catalog.required_param(name="Line.Amount")
            amount = round_cents(_decimal(line["Amount"], "Line.Amount"))
            line["Amount"] = amount
            links = line.get("LinkedTxn") or []
            if not isinstance(links, list) or not links:
                raise fault_catalog.required_param(name="Line.LinkedTxn")
            for link in links:
                txn_type = str(_object(link, "LinkedTxn").get("TxnType", ""))
                txn_id = str(link.get("TxnId", ""))
                if txn_type not in {"Invoice", "CreditMemo"}:
                    raise fault_catalog.invalid_value(name="LinkedTxn.TxnType", value=txn_type)
                target = self._docs[txn_type].get(txn_id)
                if target is None:
                    raise fault_catalog.invalid_reference(
                        ref_name="LinkedTxn.TxnId", entity=txn_type, entity_id=txn_id
                    )
                if _ref_value(target, "CustomerRef") != customer_id:
                    detail = f"{txn_type} {txn_id} belongs to another customer."
                    raise fault_catalog.business_validation(detail, "LinkedTxn")
                others = sum(
                    (
                        a
                        for p, a in self._applied.get((txn_type, txn_id), {}).items()
                        if p != payment_id
                    ),
                    ZERO,
                )
                if amount > target["TotalAmt"] - others:
                    detail = (
                        f"The payment amount applied to {txn_type} {txn_id} exceeds its open "
                        f"balance of {target['TotalAmt'] - others}."
                    )
                    raise fault_catalog.business_validation(detail, "Line.Amount")
                if txn_type == "Invoice":
                    to_invoices += amount
                else:
                    credited += amount
        if to_invoices - credited > total:
            detail = "The amount applied to transactions exceeds the payment amount (TotalAmt)."
            raise fault_catalog.business_validation(detail, "Line")
        doc["UnappliedAmt"] = total - (to_invoices - credited)

    def _apply(self, payment: Document) -> None:
        for line in payment.get("Line") or []:
            for link in line.get("LinkedTxn") or []:
                key = (str(link["TxnType"]), str(link["TxnId"]))
                self._applied.setdefault(key, {})[payment["Id"]] = line["Amount"]
                self._refresh_balance(key, payment["Id"], linked=True)

    def _unapply(self, payment_id: str) -> None:
        for key, by_payment in list(self._applied.items()):
            if by_payment.pop(payment_id, None) is not None:
                self._refresh_balance(key, payment_id, linked=False)
                if not by_payment:
                    del self._applied[key]

    def _refresh_balance(self, key: tuple[str, str], payment_id: str, *, linked: bool) -> None:
        target = self._docs[key[0]].get(key[1])
        if target is None:
            return
        applied = sum(self._applied.get(key, {}).values(), ZERO)
        target["Balance"] = target["TotalAmt"] - applied
        if key[0] == "CreditMemo":
            target["RemainingCredit"] = target["Balance"]
        links = [
            link
            for link in target.get("LinkedTxn") or []
            if not (link.get("TxnType") == "Payment" and link.get("TxnId") == payment_id)
        ]
        if linked:
            links.append({"TxnId": payment_id, "TxnType": "Payment"})
        target["LinkedTxn"] = links
        self._bump(target)


_PREPARERS: dict[str, Callable[[Company, dict[str, Any], str, Document | None], None]] = {
    "Customer": Company._prepare_customer,  # noqa: SLF001
    "Item": Company._prepare_item,  # noqa: SLF001
    "Account": Company._prepare_account,  # noqa: SLF001
    "PaymentMethod": Company._prepare_payment_method,  # noqa: SLF001
    "Payment": Company._prepare_payment,  # noqa: SLF001
    "Deposit": Company._prepare_deposit,  # noqa: SLF001
}
