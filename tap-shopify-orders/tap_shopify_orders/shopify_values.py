"""Reading Shopify GraphQL values exactly, for orders and refunds alike.

Ids, connections, timestamps, MoneyBags, tax lines and transactions. Pure functions, no I/O.

Amounts are Shopify's decimal strings (`Decimal` scalar) and rates its JSON numbers, parsed as
`Decimal` by the client: nothing here ever touches a float.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from kconnector_canonical import format_amount
from kconnector_canonical.money import minor_units
from tap_shopify_orders.errors import ErrorClass
from tap_shopify_orders.vocabulary import TRANSACTION_KIND, TRANSACTION_STATUS

PLATFORM = "shopify"
SHOP_SIDE = "shopMoney"
PRESENTMENT_SIDE = "presentmentMoney"
ZERO = Decimal(0)

JSON = dict[str, Any]


class NormalisationError(ValueError):
    """An order Shopify returned that cannot be expressed canonically (a data error)."""

    error_class = ErrorClass.DATA

    def __init__(self, order_id: str, field_name: str, message: str) -> None:
        """Name the order and field; never the customer's data."""
        self.order_id = order_id
        self.field = field_name
        super().__init__(f"order {order_id}, {field_name}: {message}")


def legacy_id(gid: str | None) -> str | None:
    """The numeric id at the end of a global id (`gid://shopify/Order/123` -> `123`)."""
    if not gid:
        return None
    return str(gid).split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1] or None


def nodes(connection: object) -> list[JSON]:
    """The objects of a connection (`nodes` or `edges[].node`) or of a plain list."""
    if isinstance(connection, list):
        return [item for item in connection if isinstance(item, dict)]
    if not isinstance(connection, dict):
        return []
    if isinstance(connection.get("nodes"), list):
        return [item for item in connection["nodes"] if isinstance(item, dict)]
    edges = connection.get("edges")
    if isinstance(edges, list):
        return [e["node"] for e in edges if isinstance(e, dict) and isinstance(e.get("node"), dict)]
    return []


def timestamp(value: object) -> str | None:
    """A Shopify DateTime as UTC RFC 3339 ending in Z (second precision unless finer is given)."""
    if value is None or value == "":
        return None
    moment = datetime.fromisoformat(str(value))
    if moment.tzinfo is None:  # Shopify always sends an offset; never guess a zone
        msg = f"timestamp {value!r} has no zone"
        raise ValueError(msg)
    moment = moment.astimezone(UTC)
    spec = "microseconds" if moment.microsecond else "seconds"
    return moment.replace(tzinfo=None).isoformat(timespec=spec) + "Z"


def to_decimal(value: object) -> Decimal:
    """An exact `Decimal` from a decimal string or a JSON number parsed as `Decimal`.

    Raises:
        TypeError: for a float (the client never produces one).
        ValueError: for a missing value.
    """
    if isinstance(value, bool) or value is None:
        msg = f"not an amount: {value!r}"
        raise ValueError(msg)
    if isinstance(value, float):  # never: the client parses JSON numbers as Decimal
        msg = "amounts must not be floats"
        raise TypeError(msg)
    return Decimal(str(value))


def blank_to_none(value: object) -> str | None:
    """The text, or None when it is missing or blank."""
    if value is None:
        return None
    text = str(value).strip()
    return text or None


@dataclass(frozen=True)
class MoneyView:
    """Reads amounts of one side of the MoneyBags (store or presentment currency)."""

    side: str
    currency: str
    order_id: str

    def amount(self, bag: object, where: str, *, optional: bool = False) -> Decimal:
        """The amount of `bag` on this side; a missing bag is an error unless Shopify allows it."""
        if bag is None and optional:
            return ZERO
        if not isinstance(bag, dict) or not isinstance(bag.get(self.side), dict):
            raise NormalisationError(self.order_id, where, f"has no {self.side}")
        money = bag[self.side]
        code = money.get("currencyCode")
        if code is not None and code != self.currency:
            raise NormalisationError(
                self.order_id, where, f"is in {code}, expected {self.currency}"
            )
        return to_decimal(money.get("amount"))

    def money(self, amount: Decimal) -> JSON:
        """Canonical money in this view's currency."""
        return money(amount, self.currency)


def money(amount: Decimal, currency: str) -> JSON:
    """Canonical money; an amount with fewer decimals than the currency is padded (exact)."""
    places = minor_units(currency)
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent > -places:
        amount = amount.quantize(Decimal(1).scaleb(-places))
    return {"amount": format_amount(amount), "currency": currency}


def rate_text(value: object) -> str:
    """A tax rate (a fraction) as a decimal string."""
    if value is None:
        return "0"
    text = format(to_decimal(value), "f")
    return text if not text.startswith("-") else "0"


def tax_lines(raw: object, view: MoneyView, where: str) -> list[JSON]:
    """Canonical tax lines from Shopify TaxLines."""
    # Shopify's TaxLine has no jurisdiction fields; they stay null.
    return [
        {
            "title": str(tax.get("title") or "Tax"),
            "rate": rate_text(tax.get("rate")),
            "amount": view.money(view.amount(tax.get("priceSet"), f"{where}.taxLines[{i}]")),
            "jurisdiction": None,
            "jurisdiction_type": None,
            "rate_code": None,
            "compound": False,
        }
        for i, tax in enumerate(nodes(raw))
    ]


def transaction(raw: JSON, view: MoneyView, where: str) -> JSON | None:
    """A canonical transaction, or None for a kind that moves no money."""
    kind = TRANSACTION_KIND.get(str(raw.get("kind")))
    if kind is None:
        return None
    status = TRANSACTION_STATUS.get(str(raw.get("status")), "error")
    parent = raw.get("parentTransaction") if isinstance(raw.get("parentTransaction"), dict) else {}
    amount = view.amount(raw.get("amountSet"), where)
    converted: JSON = {
        "transaction_id": legacy_id(raw.get("id")) or "unknown",
        "parent_id": legacy_id((parent or {}).get("id")),
        "kind": kind,
        "status": status,
        "gateway": blank_to_none(raw.get("gateway")) or "unknown",
        "amount": view.money(amount),
        "processed_at": timestamp(raw.get("processedAt") or raw.get("createdAt")),
        "test": bool(raw.get("test")),
    }
    converted.update(transaction_fee(raw.get("fees"), amount, view.currency))
    return converted


def transaction_fee(raw: object, amount: Decimal, currency: str) -> JSON:
    """`fee` and `net` of a transaction from its `fees` (TransactionFee list); {} when unknown.

    An empty or absent list says nothing (a gateway other than Shopify Payments reports no fee),
    so no field is set rather than a zero fee. Fees in the transaction's currency give
    `net = amount - fee`; in another currency Shopify gives no net figure, so `net` is null.
    """
    fees = nodes(raw)
    codes = {str((fee.get("amount") or {}).get("currencyCode")) for fee in fees}
    if not fees or len(codes) != 1:
        return {}
    (code,) = codes
    total = sum((to_decimal((fee.get("amount") or {}).get("amount")) for fee in fees), ZERO)
    return {
        "fee": money(total, code),
        "net": money(amount - total, currency) if code == currency else None,
    }


def transactions(raw: object, view: MoneyView, where: str) -> list[JSON]:
    """The canonical transactions of a list or connection."""
    out = []
    for i, item in enumerate(nodes(raw)):
        converted = transaction(item, view, f"{where}[{i}]")
        if converted is not None:
            out.append(converted)
    return out
