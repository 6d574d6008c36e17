"""Totals and tax of a sales form (SalesReceipt, Invoice, RefundReceipt, CreditMemo); pure.

Two tax models are emulated:

- US companies with automated sales tax (AST): a line is taxable (``TaxCodeRef`` "TAX") or not
  ("NON"); the client may send ``TxnTaxDetail.TotalTax`` and QBO keeps it as an override of its
  own calculation ("Override sales tax", see the Invoice/SalesReceipt reference at
  https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/invoice).
  AST's address-based rate lookup is not emulated: without an override the company's seeded
  combined rate is applied to the taxable lines.
- Non-US companies: each line's ``TaxCodeRef`` names a TaxCode whose ``SalesTaxRateList`` lists
  TaxRates; tax is computed per TaxRate over the lines carrying it and rounded to cents per rate,
  honouring ``GlobalTaxCalculation`` (TaxExcluded, TaxInclusive, NotApplicable; the values are
  spelled as in https://github.com/ruckus/quickbooks-ruby/pull/196). With TaxInclusive a line may
  carry ``SalesItemLineDetail.TaxInclusiveAmt`` (the gross amount), as in
  https://github.com/ruckus/quickbooks-ruby/issues/569 ; the emulator then derives the net
  ``Amount`` and takes the tax out of the gross, so the total equals the sum of gross amounts.

Discounts (``DiscountLineDetail``) are applied before tax, spread over the taxable lines in
proportion to their amounts.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

CENT = Decimal("0.01")
ZERO = Decimal(0)
HUNDRED = Decimal(100)


def round_cents(value: Decimal) -> Decimal:
    """Round half up to cents, as QuickBooks rounds money."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


class TaxMode(StrEnum):
    """``GlobalTaxCalculation`` values (non-US companies)."""

    EXCLUDED = "TaxExcluded"
    INCLUSIVE = "TaxInclusive"
    NOT_APPLICABLE = "NotApplicable"


@dataclass(frozen=True)
class Rate:
    """One TaxRate as a line's TaxCode applies it."""

    rate_id: str
    percent: Decimal


@dataclass(frozen=True)
class TaxableLine:
    """An item line for tax purposes.

    Attributes:
        net: the line's ``Amount`` (net of tax), or None when only ``gross`` was sent.
        gross: ``TaxInclusiveAmt`` when the client sent it (TaxInclusive companies only).
        rates: the TaxRates of the line's TaxCode (empty: not taxed).
    """

    net: Decimal | None
    gross: Decimal | None
    rates: tuple[Rate, ...]


@dataclass(frozen=True)
class TaxLine:
    """One ``TxnTaxDetail.TaxLine``: the tax of one TaxRate."""

    rate_id: str
    percent: Decimal
    net_taxable: Decimal
    amount: Decimal


@dataclass(frozen=True)
class FormTotals:
    """What QBO computes for a sales form."""

    line_nets: tuple[Decimal, ...]
    line_grosses: tuple[Decimal, ...]
    subtotal: Decimal
    discount: Decimal
    tax_lines: tuple[TaxLine, ...]
    total_tax: Decimal
    total: Decimal


class DiscountTooLargeError(ValueError):
    """The discount exceeds the subtotal it applies to."""


def _factor(base: Decimal, discount: Decimal) -> Decimal:
    if discount > base:
        msg = "The discount amount can't be greater than the subtotal."
        raise DiscountTooLargeError(msg)
    return (base - discount) / base if base else Decimal(1)


def _grouped(
    lines: list[tuple[Decimal, tuple[Rate, ...]]], per_rate: dict[str, Decimal]
) -> tuple[TaxLine, ...]:
    percents: dict[str, Decimal] = {}
    for _, rates in lines:
        for rate in rates:
            percents[rate.rate_id] = rate.percent
    out: list[TaxLine] = []
    for rate_id, percent in percents.items():
        net = sum(
            (amount for amount, rates in lines if rate_id in {r.rate_id for r in rates}), ZERO
        )
        out.append(TaxLine(rate_id, percent, round_cents(net), round_cents(per_rate[rate_id])))
    return tuple(out)


def exclusive_totals(lines: list[TaxableLine], discount: Decimal) -> FormTotals:
    """Tax added on top of net amounts (non-US TaxExcluded, and NotApplicable with no rates)."""
    nets = tuple(line.net if line.net is not None else ZERO for line in lines)
    subtotal = sum(nets, ZERO)
    factor = _factor(subtotal, discount)
    discounted = [(net * factor, line.rates) for net, line in zip(nets, lines, strict=True)]
    per_rate: dict[str, Decimal] = {}
    for amount, rates in discounted:
        for rate in rates:
            per_rate[rate.rate_id] = (
                per_rate.get(rate.rate_id, ZERO) + amount * rate.percent / HUNDRED
            )
    tax_lines = _grouped(discounted, per_rate)
    total_tax = sum((t.amount for t in tax_lines), ZERO)
    grosses = tuple(
        round_cents(net + net * sum((r.percent for r in line.rates), ZERO) / HUNDRED)
        for net, line in zip(nets, lines, strict=True)
    )
    return FormTotals(
        nets, grosses, subtotal, discount, tax_lines, total_tax, subtotal - discount + total_tax
    )


def inclusive_totals(lines: list[TaxableLine], discount: Decimal) -> FormTotals:
    """Tax taken out of gross amounts (non-US TaxInclusive); the discount is a gross amount."""
    nets: list[Decimal] = []
    grosses: list[Decimal] = []
    for line in lines:
        combined = sum((r.percent for r in line.rates), ZERO)
        if line.gross is not None:
            gross = line.gross
            net = (
                line.net
                if line.net is not None
                else round_cents(gross * HUNDRED / (HUNDRED + combined))
            )
        else:
            net = line.net if line.net is not None else ZERO
            gross = round_cents(net + net * combined / HUNDRED)
        nets.append(net)
        grosses.append(gross)
    gross_total = sum(grosses, ZERO)
    factor = _factor(gross_total, discount)
    per_rate: dict[str, Decimal] = {}
    net_parts: list[tuple[Decimal, tuple[Rate, ...]]] = []
    for gross, line in zip(grosses, lines, strict=True):
        combined = sum((r.percent for r in line.rates), ZERO)
        share = gross * factor
        net_parts.append((share * HUNDRED / (HUNDRED + combined), line.rates))
        for rate in line.rates:
            per_rate[rate.rate_id] = per_rate.get(rate.rate_id, ZERO) + share * rate.percent / (
                HUNDRED + combined
            )
    tax_lines = _grouped(net_parts, per_rate)
    total_tax = sum((t.amount for t in tax_lines), ZERO)
    return FormTotals(
        tuple(nets),
        tuple(grosses),
        sum(nets, ZERO),
        discount,
        tax_lines,
        total_tax,
        gross_total - discount,
    )


def us_totals(
    lines: list[TaxableLine],
    discount: Decimal,
    *,
    override: Decimal | None,
    default_rate: Rate,
) -> FormTotals:
    """US automated sales tax: the client's TotalTax override, else the company's rate."""
    nets = tuple(line.net if line.net is not None else ZERO for line in lines)
    subtotal = sum(nets, ZERO)
    factor = _factor(subtotal, discount)
    taxable = sum((net * factor for net, line in zip(nets, lines, strict=True) if line.rates), ZERO)
    tax_lines: tuple[TaxLine, ...]
    if override is not None:
        total_tax = round_cents(override)
        tax_lines = (
            TaxLine(default_rate.rate_id, default_rate.percent, round_cents(taxable), total_tax),
        )
    else:
        total_tax = round_cents(taxable * default_rate.percent / HUNDRED)
        tax_lines = (
            (TaxLine(default_rate.rate_id, default_rate.percent, round_cents(taxable), total_tax),)
            if taxable
            else ()
        )
    return FormTotals(
        nets, nets, subtotal, discount, tax_lines, total_tax, subtotal - discount + total_tax
    )
