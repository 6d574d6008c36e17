"""Who a document is for: the QuickBooks Customer of an order, its identity and its body.

Identity (`external_id`), first that applies (one person, one customer: the e-mail is the
identity, so a guest checkout and the account made later, or one buyer in two stores feeding one
company, are the same QuickBooks customer):
- a registered customer with an email, or a guest with an email under guest_customer_mode
  per_email: `customer:email:<lowercased email>`;
- a registered customer without an email: `customer:<platform>:<store>:<customer source id>`;
- otherwise the shared walk-in customer: `customer:walk-in` (`customer:walk-in:<currency>` in a
  multicurrency company, where a QuickBooks customer has one currency).

Matching in QuickBooks (the CustomerRef the target resolves): the ledger's external id, then
PrimaryEmailAddr, then DisplayName (unless customer_match_by_name is false, when created
customers' DisplayNames are made unique with their email or id, deterministically).
Field limits from the Customer entity reference
(https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/customer):
DisplayName 500, GivenName/FamilyName 100, CompanyName 100, email 100, phone 30 characters.
Name fields follow `names.valid_name` (no colon, tab or newline); when that changes the store's
text, the Customer's Notes keep the original ("Name in store: ...").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from map_quickbooks import refs
from map_quickbooks.names import name_limit, valid_name

if TYPE_CHECKING:
    from kconnector_canonical.model import Address, Customer, Order
    from map_quickbooks.rules import Settings


@dataclass(frozen=True, slots=True)
class CustomerDocument:
    """The customer of an order: identity, QuickBooks body, and the ref documents use."""

    external_id: str
    body: dict[str, Any]
    ref: refs.Ref
    is_walk_in: bool


def _clip(value: str | None, limit: int) -> str | None:
    return None if value is None or not value.strip() else value.strip()[:limit]


def address(value: Address | None) -> dict[str, str] | None:
    """A QuickBooks PhysicalAddress, or None when empty."""
    if value is None:
        return None
    fields = {
        "Line1": _clip(value.line1, 500),
        "Line2": _clip(value.line2, 500),
        "City": _clip(value.city, 255),
        "CountrySubDivisionCode": _clip(value.region_code or value.region, 255),
        "PostalCode": _clip(value.postal_code, 30),
        "Country": _clip(value.country_code or value.country, 255),
    }
    present = {k: v for k, v in fields.items() if v is not None}
    return present or None


def _name(value: str | None, field: str) -> str | None:
    """A Customer name field as QuickBooks accepts it, or None when empty."""
    if value is None:
        return None
    return valid_name(value, name_limit("Customer", field)) or None


def _person_name(customer: Customer) -> str | None:
    parts = [p for p in (customer.first_name, customer.last_name) if p and p.strip()]
    if parts:
        return " ".join(p.strip() for p in parts)
    billing = customer.billing_address
    if billing is not None and billing.name:
        return billing.name.strip()
    return _clip(customer.company, 2000)


def _walk_in(order: Order, settings: Settings) -> CustomerDocument:
    suffix = f":{order.currency}" if settings.multicurrency else ""
    external_id = f"customer:walk-in{suffix}"
    name = settings.walk_in_customer_name
    if settings.multicurrency and order.currency != settings.home_currency:
        name = f"{name} {order.currency}"
    name = valid_name(name, name_limit("Customer", "DisplayName"))
    body: dict[str, Any] = {"DisplayName": name, "Notes": "K-Connector walk-in customer"}
    if settings.multicurrency:
        body["CurrencyRef"] = refs.currency(order.currency)
    ref = refs.ref(
        "external_id",
        external_id,
        "Customer",
        on_missing="create",
        create=body,
        fallback=refs.ref("name", name, "Customer"),
    )
    return CustomerDocument(external_id, body, ref, is_walk_in=True)


def _identity(order: Order, settings: Settings) -> tuple[str, str] | None:
    """(external id, key that makes a name unique), or None for the walk-in customer."""
    customer = order.customer
    email = _clip(customer.email, 100)
    registered = customer.source_id is not None and not customer.is_guest
    if email is not None and (registered or settings.guest_customer_mode == "per_email"):
        return f"customer:email:{email.lower()}", email
    if registered:
        external_id = f"customer:{order.platform}:{order.store}:{customer.source_id}"
        return external_id, f"#{customer.source_id}"
    return None


def _contact_fields(customer: Customer) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "GivenName": _name(customer.first_name, "GivenName"),
        "FamilyName": _name(customer.last_name, "FamilyName"),
        "CompanyName": _name(customer.company, "CompanyName"),
    }
    email = _clip(customer.email, 100)
    if email is not None:
        fields["PrimaryEmailAddr"] = {"Address": email}
    phone = _clip(customer.phone, 30)
    if phone is not None:
        fields["PrimaryPhone"] = {"FreeFormNumber": phone}
    fields["BillAddr"] = address(customer.billing_address)
    fields["ShipAddr"] = address(customer.shipping_address)
    return {k: v for k, v in fields.items() if v is not None}


def _changed(customer: Customer, display_name: str, valid_display_name: str) -> bool:
    """Whether making the names valid changed any of them (beyond trimming the ends)."""
    pairs = [
        (display_name, valid_display_name),
        (customer.first_name, _name(customer.first_name, "GivenName")),
        (customer.last_name, _name(customer.last_name, "FamilyName")),
        (customer.company, _name(customer.company, "CompanyName")),
    ]
    return any(before is not None and before.strip() != (after or "") for before, after in pairs)


def customer_for(order: Order, settings: Settings) -> CustomerDocument:
    """The order's customer (or the walk-in customer for guests, per the settings)."""
    identity = _identity(order, settings)
    if identity is None:
        return _walk_in(order, settings)
    external_id, unique_key = identity
    customer = order.customer
    email = _clip(customer.email, 100)
    original = _person_name(customer) or email or unique_key
    if not settings.customer_match_by_name:
        original = f"{original} ({unique_key})"
    name = _name(original, "DisplayName") or unique_key
    notes = f"K-Connector {external_id}"
    if _changed(customer, original, name):
        notes += f"\nName in store: {original}"
    body: dict[str, Any] = {"DisplayName": name, "Notes": notes[:2000]}
    body.update(_contact_fields(customer))
    if settings.multicurrency:
        body["CurrencyRef"] = refs.currency(order.currency)
    fallback: refs.Ref | None = None
    if settings.customer_match_by_name:
        fallback = refs.ref("name", name, "Customer")
    if email is not None:
        fallback = refs.ref("email", email, "Customer", fallback=fallback)
    ref = refs.ref(
        "external_id",
        external_id,
        "Customer",
        on_missing="create",
        create=body,
        fallback=fallback,
    )
    return CustomerDocument(external_id, body, ref, is_walk_in=False)


def order_customer_alias(order_id: str) -> str:
    """The external id a refund uses for its order's customer (a refund does not carry it).

    The target resolves `<order id>#customer` to the customer of the order's documents
    (their `links.customer`, recorded in its ledger under `links.order`).
    """
    return f"{order_id}#customer"
