"""The seeded shops: one per store profile (US sales tax, Canadian GST/PST/HST, UK VAT-inclusive).

Tax rates here are illustrative figures for realistic-looking data (state + county + city lines,
GST + PST, VAT), not a tax table: the point is the *shape* Shopify gives them (one tax line per
jurisdiction, rounded per line item), which the connector must reconcile to the cent.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class TaxRate:
    """One jurisdiction's rate, as a Shopify tax line titles it."""

    title: str
    rate: Decimal  # fraction, e.g. 0.0625
    applies_to_shipping: bool


@dataclass(frozen=True)
class Place:
    """A destination: address parts plus the tax rates that apply there."""

    city: str
    province: str
    province_code: str
    zip: str
    country: str
    country_code: str
    tax_rates: tuple[TaxRate, ...]


@dataclass(frozen=True)
class Product:
    """A catalogue entry (price in the shop currency)."""

    title: str
    variant_title: str | None
    sku: str | None
    price: Decimal
    vendor: str
    requires_shipping: bool = True
    is_gift_card: bool = False
    deleted: bool = False  # deleted from the catalogue: old lines keep no product/variant


@dataclass(frozen=True)
class StoreProfile:
    """Everything that makes one seeded shop different from another."""

    key: str
    shop_name: str
    domain: str
    access_token: str
    currency: str
    iana_timezone: str
    taxes_included: bool
    places: tuple[Place, ...]
    # (presentment currency, units of it per shop-currency unit, weight)
    presentments: tuple[tuple[str, Decimal, int], ...]
    card_gateway: str
    products: tuple[Product, ...]


def _rates(*parts: tuple[str, str, bool]) -> tuple[TaxRate, ...]:
    return tuple(TaxRate(title, Decimal(rate), shipping) for title, rate, shipping in parts)


_APPAREL: tuple[Product, ...] = (
    Product("Logo Tee", "Black / M", "TEE-BLK-M", Decimal("24.00"), "K-Goods"),
    Product("Logo Tee", "White / L", "TEE-WHT-L", Decimal("24.00"), "K-Goods"),
    Product("Merino Beanie", None, "BEANIE-MER", Decimal("32.50"), "K-Goods"),
    Product("Canvas Tote", "Natural", None, Decimal("18.95"), "Atelier Ünique"),
    Product("Trail Bottle 750 ml", None, "BTL-750", Decimal("27.99"), "Nordlys"),
    Product("Rain Shell", "Olive / S", "SHELL-OLV-S", Decimal("149.00"), "Nordlys"),
    Product("Wool Socks (3 pack)", None, "SOCK-3PK", Decimal("21.00"), "K-Goods"),
    Product("Café Mug", "Ceramic", None, Decimal("14.25"), "Atelier Ünique", deleted=True),
    Product("Sticker Sheet", None, "STK-01", Decimal("3.99"), "K-Goods"),
    Product("Packable Down Vest", "Navy / M", "VEST-NVY-M", Decimal("118.00"), "Nordlys"),
    Product(
        "Digital Pattern (PDF)",
        None,
        "PDF-PATTERN",
        Decimal("9.00"),
        "K-Goods",
        requires_shipping=False,
    ),
)

GIFT_CARD = Product(
    "Gift Card", "50", None, Decimal("50.00"), "K-Goods", requires_shipping=False, is_gift_card=True
)

US = StoreProfile(
    key="us",
    shop_name="K-Connector Demo US",
    domain="kconnector-us.myshopify.com",
    access_token="shpat_sandbox_us_0123456789abcdef0123456789ab",  # noqa: S106 - demo token
    currency="USD",
    iana_timezone="America/New_York",
    taxes_included=False,
    places=(
        Place(
            "Chicago",
            "Illinois",
            "IL",
            "60601",
            "United States",
            "US",
            _rates(
                ("Illinois State Tax", "0.0625", False),
                ("Cook County Tax", "0.0175", False),
                ("Chicago City Tax", "0.0125", False),
                ("Regional Transportation Authority Tax", "0.01", False),
            ),
        ),
        Place(
            "New York",
            "New York",
            "NY",
            "10001",
            "United States",
            "US",
            _rates(
                ("New York State Tax", "0.04", True),
                ("New York City Tax", "0.045", True),
                ("Metropolitan Commuter Transportation District", "0.00375", True),
            ),
        ),
        Place(
            "Austin",
            "Texas",
            "TX",
            "78701",
            "United States",
            "US",
            _rates(
                ("Texas State Tax", "0.0625", True),
                ("Austin City Tax", "0.01", True),
                ("Austin MTA Transit Tax", "0.01", True),
            ),
        ),
        Place("Portland", "Oregon", "OR", "97201", "United States", "US", ()),
    ),
    presentments=(
        ("USD", Decimal(1), 80),
        ("CAD", Decimal("1.3650"), 10),
        ("EUR", Decimal("0.9210"), 10),
    ),
    card_gateway="shopify_payments",
    products=_APPAREL,
)

CA = StoreProfile(
    key="ca",
    shop_name="K-Connector Démo Canada",
    domain="kconnector-ca.myshopify.com",
    access_token="shpat_sandbox_ca_0123456789abcdef0123456789ab",  # noqa: S106 - demo token
    currency="CAD",
    iana_timezone="America/Toronto",
    taxes_included=False,
    places=(
        Place("Toronto", "Ontario", "ON", "M5V 2T6", "Canada", "CA", _rates(("HST", "0.13", True))),
        Place(
            "Vancouver",
            "British Columbia",
            "BC",
            "V6B 1A1",
            "Canada",
            "CA",
            _rates(("GST", "0.05", True), ("PST", "0.07", False)),
        ),
        Place(
            "Montréal",
            "Quebec",
            "QC",
            "H2Y 1C6",
            "Canada",
            "CA",
            _rates(("GST", "0.05", True), ("QST", "0.09975", True)),
        ),
        Place("Calgary", "Alberta", "AB", "T2P 1J9", "Canada", "CA", _rates(("GST", "0.05", True))),
    ),
    presentments=(("CAD", Decimal(1), 85), ("USD", Decimal("0.7320"), 15)),
    card_gateway="shopify_payments",
    products=_APPAREL,
)

UK = StoreProfile(
    key="uk",
    shop_name="K-Connector Demo UK",
    domain="kconnector-uk.myshopify.com",
    access_token="shpat_sandbox_uk_0123456789abcdef0123456789ab",  # noqa: S106 - demo token
    currency="GBP",
    iana_timezone="Europe/London",
    taxes_included=True,
    places=(
        Place(
            "London",
            "England",
            "ENG",
            "EC1A 1BB",
            "United Kingdom",
            "GB",
            _rates(("GB VAT", "0.20", True)),
        ),
        Place(
            "Manchester",
            "England",
            "ENG",
            "M1 1AE",
            "United Kingdom",
            "GB",
            _rates(("GB VAT", "0.20", True)),
        ),
        Place(
            "Edinburgh",
            "Scotland",
            "SCT",
            "EH1 1YZ",
            "United Kingdom",
            "GB",
            _rates(("GB VAT", "0.20", True)),
        ),
    ),
    presentments=(("GBP", Decimal(1), 85), ("EUR", Decimal("1.1650"), 15)),
    card_gateway="stripe",
    products=_APPAREL,
)

PROFILES: dict[str, StoreProfile] = {p.key: p for p in (US, CA, UK)}
DEFAULT_PROFILE = US
