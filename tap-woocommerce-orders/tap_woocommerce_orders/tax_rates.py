"""WooCommerce tax rates, as an order's `tax_lines` describe them, into canonical tax lines.

An order's `tax_lines[]` has one entry per tax rate used: `rate_id`, `rate_code`, `label`,
`compound`, `tax_total` (items and fees), `shipping_tax_total` and, since WooCommerce 3.7,
`rate_percent`. Line, shipping and fee items carry `taxes[]` = `{id: rate_id, total, subtotal}`.
https://woocommerce.github.io/woocommerce-rest-api-docs/#order-tax-lines-properties

`rate_code` is WooCommerce's `WC_Tax::get_rate_code()`: the non-empty parts of country, state,
name (or "TAX") and priority, upper-cased and joined with "-" ("US-CA-STATE TAX-1", "DE-MWST-1").
The jurisdiction is read from it: the country, and the state when, without the priority, the code
still has three parts. A name containing "-" can be mistaken for a state; the rate code itself
is always kept. Stores older than WooCommerce 3.7 send no `rate_percent`; the tap then reads the
rate from `GET /wp-json/wc/v3/taxes/<id>`
(https://woocommerce.github.io/woocommerce-rest-api-docs/#retrieve-a-tax-rate).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from tap_woocommerce_orders.wc_values import SourceValueError, raw_money, text_or_none, wc_decimal

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

_COUNTRY = re.compile(r"^[A-Z]{2}$")
_STATE = re.compile(r"^[A-Z0-9]{1,3}$")
_STATE_PARTS = 3  # country, state, name (after the priority is dropped)
_PROVINCE_COUNTRIES = frozenset({"CA"})
_HUNDRED = Decimal(100)


@dataclass(frozen=True)
class TaxRate:
    """One tax rate as the order describes it."""

    rate_id: str
    title: str
    rate: Decimal | None
    rate_code: str | None
    compound: bool

    def jurisdiction(self) -> tuple[str | None, str | None]:
        """(jurisdiction, jurisdiction_type) read from the rate code, e.g. ("US-CA", "state")."""
        if not self.rate_code:
            return None, None
        parts = self.rate_code.split("-")
        if len(parts) > 1 and parts[-1].isdigit():
            parts = parts[:-1]  # the priority
        country = parts[0]
        if not _COUNTRY.match(country):
            return None, None
        if len(parts) >= _STATE_PARTS and _STATE.match(parts[1]):
            kind = "province" if country in _PROVINCE_COUNTRIES else "state"
            return f"{country}-{parts[1]}", kind
        return country, "country"

    def tax_line(self, amount: Decimal, currency: str) -> dict[str, Any]:
        """The canonical tax line for `amount` of this tax (amount kept at its precision).

        Raises:
            SourceValueError: when the store did not send the rate (`rate_percent`).
        """
        if self.rate is None:
            msg = (
                f"tax_lines (rate_id {self.rate_id}) has no rate_percent; "
                "WooCommerce 3.7 or later sends it"
            )
            raise SourceValueError(msg)
        jurisdiction, jurisdiction_type = self.jurisdiction()
        return {
            "title": self.title,
            "rate": _fraction_text(self.rate),
            "amount": raw_money(amount, currency),
            "jurisdiction": jurisdiction,
            "jurisdiction_type": jurisdiction_type,
            "rate_code": self.rate_code,
            "compound": self.compound,
        }


def _fraction_text(percent: Decimal) -> str:
    return format((percent / _HUNDRED).normalize(), "f")


def rate_ids_without_percent(tax_lines: Sequence[Mapping[str, Any]]) -> list[str]:
    """Rate ids whose tax line lacks `rate_percent` (stores older than WooCommerce 3.7)."""
    return [
        str(line.get("rate_id", ""))
        for line in tax_lines
        if line.get("rate_percent") is None or line.get("rate_percent") == ""
    ]


def rates_of_order(
    tax_lines: Sequence[Mapping[str, Any]], known_percents: Mapping[str, Decimal] | None = None
) -> dict[str, TaxRate]:
    """The order's tax rates by rate id.

    Args:
        tax_lines: the order's (or refund's) `tax_lines`.
        known_percents: rate percentages by rate id, for tax lines without `rate_percent`
            (read from `GET /wp-json/wc/v3/taxes/<id>`).
    """
    rates: dict[str, TaxRate] = {}
    for index, line in enumerate(tax_lines):
        rate_id = str(line.get("rate_id", ""))
        percent = line.get("rate_percent")
        rates[rate_id] = TaxRate(
            rate_id=rate_id,
            title=text_or_none(line.get("label")) or text_or_none(line.get("rate_code")) or "Tax",
            rate=(known_percents or {}).get(rate_id)
            if percent is None or percent == ""
            else wc_decimal(percent, f"tax_lines[{index}].rate_percent"),
            rate_code=text_or_none(line.get("rate_code")),
            compound=bool(line.get("compound", False)),
        )
    return rates


def rate_for(rates: Mapping[str, TaxRate], rate_id: object, field: str) -> TaxRate:
    """The rate an item's `taxes[].id` refers to.

    Raises:
        SourceValueError: when the order has no tax line for it.
    """
    rate = rates.get(str(rate_id))
    if rate is None:
        msg = f"{field} refers to tax rate {rate_id}, which the order's tax_lines do not list"
        raise SourceValueError(msg)
    return rate


def item_tax_lines(
    taxes: Sequence[Mapping[str, Any]],
    rates: Mapping[str, TaxRate],
    currency: str,
    field: str,
    *,
    sign: int = 1,
) -> list[dict[str, Any]]:
    """Canonical tax lines of one item from its `taxes[]` (`total`, i.e. after discounts).

    Zero amounts are left out, as WooCommerce leaves out rates that did not apply. `sign=-1`
    reads a refund's negative amounts as the positive amounts given back.
    """
    lines: list[dict[str, Any]] = []
    for index, tax in enumerate(taxes):
        amount = sign * wc_decimal(tax.get("total"), f"{field}.taxes[{index}].total")
        if amount == 0:
            continue
        rate = rate_for(rates, tax.get("id"), f"{field}.taxes[{index}].id")
        lines.append(rate.tax_line(amount, currency))
    return lines
