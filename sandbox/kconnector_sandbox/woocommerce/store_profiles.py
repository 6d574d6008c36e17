"""The emulated stores: currency, timezone, tax settings and tax tables, catalog, regions.

Three profiles cover the tax cases K-Connector must reconcile:
- `us`: USD, America/New_York, prices exclude tax, taxes rounded per line; several stacked
  US rates per destination (state + county/city + district), shipping taxed in some states only.
- `ca`: CAD, America/Toronto, prices exclude tax, taxes rounded at subtotal level (6-decimal line
  taxes); HST, GST + PST, and a compound second rate for Quebec (configured compound here to
  exercise WooCommerce's compound calculation; Quebec's QST has not been compound since 2013).
- `eu`: EUR, Europe/Berlin, prices include tax (VAT), per-line rounding (half down, as
  WooCommerce does for tax-inclusive stores), standard and reduced VAT classes.

`profile_for_seed(seed)` picks one: seed % 3 -> us, ca, eu.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from kconnector_sandbox.woocommerce.tax_math import RoundingMode, TaxRate


@dataclass(frozen=True)
class Product:
    """A catalog entry; `price` includes tax in a tax-inclusive store."""

    product_id: int
    name: str
    sku: str
    price: Decimal
    variation_id: int = 0
    tax_class: str = ""


@dataclass(frozen=True)
class Region:
    """A destination the store ships to, with the tax rates that apply there."""

    country: str
    state: str
    cities: tuple[str, ...]
    postcode: str
    rate_ids: tuple[int, ...]


@dataclass(frozen=True)
class ShippingMethod:
    """A shipping option (cost excludes tax, as WooCommerce shipping costs do)."""

    method_id: str
    title: str
    cost: Decimal
    instance_id: str


@dataclass(frozen=True)
class StoreProfile:
    """Everything about one emulated store that shapes its orders."""

    key: str
    store_name: str
    currency: str
    currency_symbol: str
    timezone: str
    prices_include_tax: bool
    round_at_subtotal: bool
    tax_rates: tuple[TaxRate, ...]
    regions: tuple[Region, ...]
    catalog: tuple[Product, ...]
    shipping_methods: tuple[ShippingMethod, ...]
    payment_methods: tuple[tuple[str, str], ...]
    wc_version: str = "9.4.2"

    @property
    def tax_rounding_mode(self) -> RoundingMode:
        """WC_TAX_ROUNDING_MODE: half down when prices include tax, else half up."""
        return RoundingMode.HALF_DOWN if self.prices_include_tax else RoundingMode.HALF_UP

    def rate(self, rate_id: int) -> TaxRate:
        """The tax rate with this id."""
        for rate in self.tax_rates:
            if rate.rate_id == rate_id:
                return rate
        msg = f"no tax rate {rate_id} in store profile {self.key}"
        raise KeyError(msg)

    def rates_for(self, region: Region, tax_class: str) -> tuple[TaxRate, ...]:
        """The rates of one tax class that apply in a region, in priority order."""
        found = [self.rate(i) for i in region.rate_ids if self.rate(i).tax_class == tax_class]
        return tuple(sorted(found, key=lambda r: (r.priority, r.rate_id)))


def _d(text: str) -> Decimal:
    return Decimal(text)


_US_RATES = (
    TaxRate(1, "US", "NY", "NY State Tax", _d("4.0000"), 1),
    TaxRate(2, "US", "NY", "NYC Tax", _d("4.5000"), 2),
    TaxRate(3, "US", "NY", "MCTD", _d("0.3750"), 3),
    TaxRate(4, "US", "CA", "CA State Tax", _d("7.2500"), 1, shipping=False),
    TaxRate(5, "US", "CA", "LA County Tax", _d("2.2500"), 2, shipping=False),
    TaxRate(6, "US", "TX", "TX State Tax", _d("6.2500"), 1),
    TaxRate(7, "US", "TX", "Austin City Tax", _d("2.0000"), 2),
)
_CA_RATES = (
    TaxRate(11, "CA", "ON", "HST", _d("13.0000"), 1),
    TaxRate(12, "CA", "BC", "GST", _d("5.0000"), 1),
    TaxRate(13, "CA", "BC", "PST", _d("7.0000"), 2, shipping=False),
    TaxRate(14, "CA", "QC", "GST", _d("5.0000"), 1),
    TaxRate(15, "CA", "QC", "QST", _d("9.9750"), 2, compound=True),
    TaxRate(16, "CA", "AB", "GST", _d("5.0000"), 1),
)
_EU_RATES = (
    TaxRate(21, "DE", "", "MwSt.", _d("19.0000"), 1),
    TaxRate(22, "DE", "", "MwSt. ermäßigt", _d("7.0000"), 1, tax_class="reduced-rate"),
    TaxRate(23, "FR", "", "TVA", _d("20.0000"), 1),
    TaxRate(24, "FR", "", "TVA réduite", _d("5.5000"), 1, tax_class="reduced-rate"),
    TaxRate(25, "NL", "", "BTW", _d("21.0000"), 1),
    TaxRate(26, "NL", "", "BTW laag", _d("9.0000"), 1, tax_class="reduced-rate"),
    TaxRate(27, "AT", "", "USt.", _d("20.0000"), 1),
    TaxRate(28, "AT", "", "USt. ermäßigt", _d("10.0000"), 1, tax_class="reduced-rate"),
)

US_STORE = StoreProfile(
    key="us",
    store_name="Hudson Trading Co.",
    currency="USD",
    currency_symbol="$",
    timezone="America/New_York",
    prices_include_tax=False,
    round_at_subtotal=False,
    tax_rates=_US_RATES,
    regions=(
        Region("US", "NY", ("New York", "Brooklyn", "Queens"), "10001", (1, 2, 3)),
        Region("US", "CA", ("Los Angeles", "Pasadena"), "90012", (4, 5)),
        Region("US", "TX", ("Austin",), "78701", (6, 7)),
        Region("US", "OR", ("Portland", "Eugene"), "97201", ()),
    ),
    catalog=(
        Product(101, "Enamel Camp Mug", "MUG-ENM-12", _d("14.99")),
        Product(102, "Waxed Canvas Tote", "TOTE-WXC", _d("48.00")),
        Product(103, "Hoodie - Heather Grey, L", "HD-GRY-L", _d("59.95"), variation_id=1031),
        Product(104, "Hoodie - Navy, M", "HD-NVY-M", _d("59.95"), variation_id=1042),
        Product(105, "Sticker Pack", "", _d("4.50")),
        Product(106, "Cast Iron Skillet 10\u2033", "CI-SKL-10", _d("34.99")),
        Product(107, "Gift Card Sleeve", "", _d("0.99")),
        Product(108, "Trail Mix (1 lb)", "FD-TMX-1", _d("8.49")),
        Product(109, "Wool Socks 3-Pack", "SK-WL-3P", _d("23.33")),
        Product(110, "Handmade Ceramic Bowl", "", _d("27.10")),
    ),
    shipping_methods=(
        ShippingMethod("flat_rate", "Flat rate", _d("7.95"), "1"),
        ShippingMethod("flat_rate", "Express", _d("19.50"), "2"),
        ShippingMethod("free_shipping", "Free shipping", _d("0.00"), "3"),
        ShippingMethod("local_pickup", "Local pickup", _d("0.00"), "4"),
    ),
    payment_methods=(
        ("stripe", "Credit Card (Stripe)"),
        ("ppcp-gateway", "PayPal"),
        ("cod", "Cash on delivery"),
    ),
)

CA_STORE = StoreProfile(
    key="ca",
    store_name="Maple & Pine Goods",
    currency="CAD",
    currency_symbol="$",
    timezone="America/Toronto",
    prices_include_tax=False,
    round_at_subtotal=True,
    tax_rates=_CA_RATES,
    regions=(
        Region("CA", "ON", ("Toronto", "Ottawa"), "M5V 2T6", (11,)),
        Region("CA", "BC", ("Vancouver", "Victoria"), "V6B 1A1", (12, 13)),
        Region("CA", "QC", ("Montréal", "Québec"), "H2X 1Y4", (14, 15)),
        Region("CA", "AB", ("Calgary",), "T2P 1J9", (16,)),
    ),
    catalog=(
        Product(201, "Maple Syrup 500 ml", "MPL-500", _d("18.75")),
        Product(202, "Flannel Shirt - Red, M", "FL-RED-M", _d("64.00"), variation_id=2021),
        Product(203, "Toque", "TQ-01", _d("22.49")),
        Product(204, "Birch Cutting Board", "", _d("45.33")),
        Product(205, "Postcard Set", "", _d("6.99")),
        Product(206, "Canoe Paddle", "CN-PDL", _d("129.95")),
        Product(207, "Tea Sampler", "TEA-SMP", _d("11.11")),
    ),
    shipping_methods=(
        ShippingMethod("flat_rate", "Canada Post Regular", _d("12.00"), "1"),
        ShippingMethod("flat_rate", "Canada Post Xpresspost", _d("21.45"), "2"),
        ShippingMethod("free_shipping", "Free shipping", _d("0.00"), "3"),
    ),
    payment_methods=(
        ("stripe", "Credit Card (Stripe)"),
        ("bacs", "Direct bank transfer"),
        ("ppcp-gateway", "PayPal"),
    ),
)

EU_STORE = StoreProfile(
    key="eu",
    store_name="Kaffeehaus Versand",
    currency="EUR",
    currency_symbol="\u20ac",
    timezone="Europe/Berlin",
    prices_include_tax=True,
    round_at_subtotal=False,
    tax_rates=_EU_RATES,
    regions=(
        Region("DE", "", ("Berlin", "München", "Köln"), "10115", (21, 22)),
        Region("FR", "", ("Paris", "Lyon"), "75002", (23, 24)),
        Region("NL", "", ("Amsterdam", "Utrecht"), "1012 AB", (25, 26)),
        Region("AT", "", ("Wien", "Graz"), "1010", (27, 28)),
    ),
    catalog=(
        Product(301, "Espressotasse Porzellan", "ESP-TS-01", _d("24.00")),
        Product(302, "Kaffeebohnen 1 kg", "KB-1000", _d("21.90"), tax_class="reduced-rate"),
        Product(303, "Handmühle", "", _d("89.00")),
        Product(304, "Filterpapier 100 Stk.", "", _d("3.49")),
        Product(305, "Milchkännchen - Edelstahl", "MK-ES", _d("17.95"), variation_id=3051),
        Product(306, "Schokolade Zartbitter", "SCH-ZB", _d("2.99"), tax_class="reduced-rate"),
    ),
    shipping_methods=(
        ShippingMethod("flat_rate", "DHL Paket", _d("4.13"), "1"),
        ShippingMethod("flat_rate", "DHL Express", _d("12.61"), "2"),
        ShippingMethod("free_shipping", "Kostenloser Versand", _d("0.00"), "3"),
    ),
    payment_methods=(
        ("stripe", "Kreditkarte (Stripe)"),
        ("bacs", "Banküberweisung"),
        ("ppcp-gateway", "PayPal"),
    ),
)

PROFILES: tuple[StoreProfile, ...] = (US_STORE, CA_STORE, EU_STORE)


def profile_for_seed(seed: int) -> StoreProfile:
    """The store profile a seed selects (seed % 3: us, ca, eu)."""
    return PROFILES[seed % len(PROFILES)]


def profile_by_key(key: str) -> StoreProfile:
    """A profile by its key ("us", "ca", "eu")."""
    for profile in PROFILES:
        if profile.key == key:
            return profile
    msg = f"unknown store profile {key!r}; known: us, ca, eu"
    raise KeyError(msg)
