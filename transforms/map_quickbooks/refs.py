"""Symbolic references (`{"by": ..., "value": ...}`) the target resolves to QuickBooks Ids.

Every `*Ref` in a document body is one of these (see the `ref` definition in
schemas/document.json): by `name` (Item/Account/PaymentMethod/TaxCode Name, Customer
DisplayName), `sku` (Item.Sku), `email`, `id` (a QuickBooks Id or code such as TAX/NON/USD), or
`external_id` (a document this pipeline wrote, via the target's ledger).

Names K-Connector may create (Item, PaymentMethod) are made valid first (`names.valid_name`: no
colon, tab or newline, within the documented length), and looked up under that same name, so an
item created from "Mug: Blue" is found again as "Mug - Blue".
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from map_quickbooks.errors import ErrorCode
from map_quickbooks.names import name_limit, valid_name

if TYPE_CHECKING:
    from map_quickbooks.rules import Settings

Ref = dict[str, Any]
By = Literal["id", "name", "sku", "external_id", "email"]


def ref(by: By, value: str, entity: str | None = None, **extra: Any) -> Ref:  # noqa: ANN401
    """A reference; `extra` adds fallback/on_missing/create/default/guidance."""
    out: Ref = {"by": by, "value": value}
    if entity is not None:
        out["entity"] = entity
    out.update({k: v for k, v in extra.items() if v is not None})
    return out


def named(entity: str, name: str, *, create: dict[str, Any] | None = None) -> Ref:
    """An entity by name; created with `create` when given, else a data error with guidance.

    A created entity's name (and so the name looked up) is made valid (`names.valid_name`).
    """
    if create is not None:
        name = valid_name(name, name_limit(entity, "Name"))
        return ref("name", name, entity, on_missing="create", create={**create, "Name": name})
    guidance = f"Create the {entity} named {name!r} in QuickBooks or change the setting naming it."
    return ref("name", name, entity, on_missing="error", guidance=guidance)


def account(name: str) -> Ref:
    """An Account by name (never created: the chart of accounts belongs to the accountant)."""
    return named("Account", name)


def item_ref(sku: str | None, title: str, settings: Settings) -> Ref:
    """The Item of a product line: item_map, then Item.Sku, then Name; then the policy.

    Lines without SKU are matched by their title (item_map may also name a title).
    """
    mapped = settings.item_map.get(sku) if sku else None
    if mapped is None:
        mapped = settings.item_map.get(title)
    if mapped is not None:
        return named("Item", mapped)
    name = valid_name(title, name_limit("Item", "Name")) or (sku or "Item")
    primary = (
        ref("sku", sku, "Item", fallback=ref("name", name, "Item"))
        if sku
        else ref("name", name, "Item")
    )
    policy = settings.unmatched_item_policy
    if policy == "create":
        body: dict[str, Any] = {
            "Name": name,
            "Type": settings.item_type,
            "IncomeAccountRef": account(settings.income_account),
        }
        if sku:
            body["Sku"] = sku
        if name != title.strip():
            # The store's own title, where a person sees it (Item.Description: max 4000).
            body["Description"] = title[:4000]
        primary.update(on_missing="create", create=body)
    elif policy == "default_item":
        primary.update(on_missing="default", default=named("Item", settings.default_item))
    else:
        what = f"SKU {sku!r}" if sku else f"item {name!r}"
        primary.update(
            on_missing="error",
            guidance=(
                f"{ErrorCode.UNKNOWN_SKU}: no QuickBooks Item has {what}. Create it, add it to "
                "item_map, or change unmatched_item_policy; then retry."
            ),
        )
    return primary


def service_item(name: str, settings: Settings) -> Ref:
    """A non-product item the settings name (shipping, fees, tips, gift cards, refunds)."""
    return named(
        "Item",
        name,
        create={
            "Name": name,
            "Type": "Service",
            "IncomeAccountRef": account(settings.income_account),
        },
    )


def payment_method(gateway: str, settings: Settings) -> Ref:
    """The PaymentMethod of a gateway (payment_method_map, gift cards, else the gateway name).

    Whichever names it, a PaymentMethod missing in QuickBooks is created (docs/mapping.md,
    "Payment method and deposit account"); QuickBooks gives it the Type NON_CREDIT_CARD.
    """
    if gateway in settings.payment_method_map:
        name = settings.payment_method_map[gateway]
    elif gateway == "gift_card":
        name = settings.gift_card_payment_method
    else:
        name = gateway.replace("_", " ").title()
    return named("PaymentMethod", name, create={"Name": name})


def deposit_account(gateway: str, settings: Settings) -> Ref:
    """The account a gateway's money lands in (deposit_account_map, else the default)."""
    return account(settings.deposit_account_map.get(gateway, settings.default_deposit_account))


def currency(code: str) -> Ref:
    """CurrencyRef: QuickBooks identifies currencies by their ISO code."""
    return ref("id", code, "Currency")


def document(external_id: str, entity: str) -> Ref:
    """A document this pipeline wrote, by its external id."""
    return ref("external_id", external_id, entity)
