"""Money as exact decimals: parse, quantize and round the way each platform does.

Canonical records carry money as `{"amount": "19.99", "currency": "USD"}`; the amount is a decimal
string, never a JSON number. Everything here works on `decimal.Decimal` and refuses floats, so no
binary rounding error can enter an accounting path.

Rounding (documented in docs/canonical-model.md):

- Shopify computes tax per line and rounds each line's tax to the currency's minor unit (per-line
  rounding for US/CA since 2020, see https://help.editorder.net/article/232-shopify-tax-feature);
  ties go away from zero (`ROUND_HALF_UP`).
- WooCommerce rounds with PHP's `round()`, whose default mode `PHP_ROUND_HALF_UP` rounds ties away
  from zero (https://www.php.net/manual/en/function.round.php); it keeps line taxes unrounded (up
  to 6 decimals) when "round tax at subtotal level" is on.
- QuickBooks Online amounts have at most 2 decimals for 2-decimal currencies; K-Connector rounds
  half-up when it must derive one (e.g. a unit price).

`ROUND_HALF_EVEN` (banker's rounding) is offered for stores whose payment provider uses it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, Self

_DECIMAL_PATTERN = re.compile(r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?$")
_CURRENCY_PATTERN = re.compile(r"^[A-Z]{3}$")

# ISO 4217 minor units for currencies whose minor unit is not 2
# (https://www.six-group.com/en/products-services/financial-information/data-standards.html).
_MINOR_UNITS: dict[str, int] = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
    "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
    "CLF": 4, "UYW": 4,
}  # fmt: skip

# Active ISO 4217 alphabetic codes (2026). Checked by `is_currency_code`.
ISO_4217_CODES: frozenset[str] = frozenset(
    """AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD
    BTN BWP BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN
    ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD
    JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU
    MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD
    RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD
    TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW
    ZWG""".split()  # noqa: SIM905 - the code table reads best as text
)


class Rounding(StrEnum):
    """How ties are broken when an amount is rounded to the currency's minor unit."""

    HALF_UP = ROUND_HALF_UP  # ties away from zero: Shopify, WooCommerce (PHP round), QuickBooks
    HALF_EVEN = ROUND_HALF_EVEN  # banker's rounding


PLATFORM_ROUNDING: dict[str, Rounding] = {
    "shopify": Rounding.HALF_UP,
    "woocommerce": Rounding.HALF_UP,
    "quickbooks": Rounding.HALF_UP,
}


class MoneyError(ValueError):
    """An amount or currency that is not valid money; the message says what is expected."""


def is_currency_code(code: object) -> bool:
    """True when `code` is an active ISO 4217 alphabetic code such as "USD"."""
    return isinstance(code, str) and bool(_CURRENCY_PATTERN.match(code)) and code in ISO_4217_CODES


def minor_units(currency: str) -> int:
    """Decimal places of the currency's minor unit (2 for USD, 0 for JPY, 3 for KWD)."""
    return _MINOR_UNITS.get(currency, 2)


def parse_amount(value: object) -> Decimal:
    """Parse a canonical decimal string (e.g. "19.99") into an exact `Decimal`.

    Raises:
        MoneyError: for floats, ints, exponents, blanks or anything not a plain decimal string.
    """
    if isinstance(value, bool) or not isinstance(value, str):
        kind = type(value).__name__
        msg = f'money amount must be a decimal string like "19.99", not {kind} {value!r}'
        raise MoneyError(msg)
    if not _DECIMAL_PATTERN.match(value):
        msg = f'money amount {value!r} is not a plain decimal string like "19.99"'
        raise MoneyError(msg)
    try:
        return Decimal(value)
    except InvalidOperation as exc:  # pragma: no cover - the pattern already excludes these
        msg = f"money amount {value!r} is not a decimal"
        raise MoneyError(msg) from exc


def format_amount(amount: Decimal) -> str:
    """Render a `Decimal` as a canonical decimal string, keeping its exponent ("1.50" stays).

    Raises:
        MoneyError: for NaN or infinity.
    """
    if not amount.is_finite():
        msg = f"money amount must be finite, got {amount}"
        raise MoneyError(msg)
    text = format(amount, "f")
    if text.startswith("-") and Decimal(text) == 0:
        text = text[1:]  # "-0.00" is "0.00"
    return text


def quantize(amount: Decimal, currency: str, rounding: Rounding = Rounding.HALF_UP) -> Decimal:
    """Round `amount` to the currency's minor unit with the given tie rule."""
    exponent = Decimal(1).scaleb(-minor_units(currency))
    return amount.quantize(exponent, rounding=str(rounding))


@dataclass(frozen=True, slots=True)
class Money:
    """An exact amount in one currency."""

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        """Refuse floats and unknown currencies at construction."""
        amount: object = self.amount  # callers may pass anything at runtime
        if not isinstance(amount, Decimal):
            msg = f"Money.amount must be a Decimal, not {type(amount).__name__}"
            raise MoneyError(msg)
        if not is_currency_code(self.currency):
            msg = f"currency {self.currency!r} is not an ISO 4217 code such as 'USD'"
            raise MoneyError(msg)

    @classmethod
    def zero(cls, currency: str) -> Self:
        """Zero in `currency`, at the currency's precision."""
        return cls(quantize(Decimal(0), currency), currency)

    @classmethod
    def from_record(cls, value: object) -> Self:
        """Build from a canonical `{"amount": "19.99", "currency": "USD"}` object.

        Raises:
            MoneyError: when the object is malformed.
        """
        if not isinstance(value, dict) or set(value) != {"amount", "currency"}:
            msg = 'money must be an object {"amount": "19.99", "currency": "USD"}'
            raise MoneyError(msg)
        return cls(parse_amount(value["amount"]), str(value["currency"]))

    def to_record(self) -> dict[str, str]:
        """The canonical JSON form."""
        return {"amount": format_amount(self.amount), "currency": self.currency}

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            msg = f"cannot combine {self.currency} with {other.currency}"
            raise MoneyError(msg)

    def __add__(self, other: Money) -> Money:
        """Sum of two amounts in the same currency."""
        self._same_currency(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        """Difference of two amounts in the same currency."""
        self._same_currency(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        """The opposite amount."""
        return Money(-self.amount, self.currency)

    def rounded(self, rounding: Rounding = Rounding.HALF_UP) -> Money:
        """This amount at the currency's precision."""
        return Money(quantize(self.amount, self.currency, rounding), self.currency)

    def is_zero(self) -> bool:
        """True for zero."""
        return self.amount == 0


def money_sum(items: list[Money] | tuple[Money, ...], currency: str) -> Money:
    """Exact sum of `items`, all in `currency` (zero for none)."""
    total = Money(Decimal(0), currency)
    for item in items:
        total = total + item
    return total


def allocate(total: Decimal, weights: list[Decimal], currency: str) -> list[Decimal]:
    """Split `total` across `weights` in proportion, at the currency's precision, exactly.

    Each share is rounded down toward zero; the remaining minor units go one by one to the shares
    with the largest remainders, earliest first on ties, so the result is deterministic and always
    sums to `total` exactly. Used to spread an order discount or a rounding difference over lines.

    Raises:
        MoneyError: when `total` has more decimals than the currency, a weight is negative, or
            the weights are empty or all zero while `total` is not.
    """
    unit = Decimal(1).scaleb(-minor_units(currency))
    if total != total.quantize(unit):
        msg = f"cannot allocate {total} {currency}: more decimals than the currency has"
        raise MoneyError(msg)
    weight_sum = sum(weights, Decimal(0))
    if not weights or weight_sum == 0:
        if total == 0:
            return [Decimal(0).quantize(unit) for _ in weights]
        msg = "cannot allocate a non-zero amount over no weight"
        raise MoneyError(msg)
    if any(w < 0 for w in weights):
        msg = "allocation weights must not be negative"
        raise MoneyError(msg)
    sign = -1 if total < 0 else 1
    magnitude = abs(total)
    exact = [magnitude * w / weight_sum for w in weights]
    floors = [e.quantize(unit, rounding="ROUND_DOWN") for e in exact]
    left = int(((magnitude - sum(floors, Decimal(0))) / unit).to_integral_value())
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[:left]:
        floors[i] += unit
    return [sign * share for share in floors]


def as_money(value: Any, field: str) -> Money:  # noqa: ANN401 - record values are untyped JSON
    """`Money.from_record` with the field name in the error.

    Raises:
        MoneyError: naming `field` when the value is not canonical money.
    """
    try:
        return Money.from_record(value)
    except MoneyError as exc:
        msg = f"{field}: {exc}"
        raise MoneyError(msg) from exc
