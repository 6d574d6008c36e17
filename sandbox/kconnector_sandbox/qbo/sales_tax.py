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

Non-US companies also keep a tax the client states per TaxRate: ``TxnTaxDetail`` "can be
calculated by QuickBooks business logic or you may supply it when adding a transaction", and
``TaxLineDetail.OverrideDeltaAmount`` holds "the difference between the actual tax and the
overridden amount supplied by the user" (``TxnTaxDetail`` in the SalesReceipt/Invoice references,
https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/salesreceipt ,
and Intuit's SDK reference of TaxLineDetail,
https://static.developer.intuit.com/sdkdocs/qbv3doc/ippdotnetdevkitv3/html/9a4b9306-4684-179c-4b74-3896047aa53b.htm
).
``with_supplied_tax`` applies such supplied ``TaxLine`` amounts over the computed ones.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

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
    """One ``TxnTaxDetail.TaxLine``: the tax of one TaxRate.

    Attributes:
        override_delta: ``OverrideDeltaAmount``, the supplied amount less the computed one, when
            the client supplied this rate's tax (None: computed by QuickBooks).
    """

    rate_id: str
    percent: Decimal
    net_taxable: Decimal
    amount: Decimal
    override_delta: Decimal | None = None


@dataclass(frozen=True)
class SuppliedTax:
    """A client's ``TxnTaxDetail.TaxLine`` for one TaxRate (non-US companies)."""

    amount: Decimal
    net_taxable: Decimal | None


class SuppliedTaxError(ValueError):
    """A supplied TaxLine names a TaxRate none of the document's lines apply."""


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
    if discount and discount > base:  # no discount: a negative subtotal is the total's concern
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


def with_supplied_tax(
    totals: FormTotals, supplied: Mapping[str, SuppliedTax], mode: TaxMode
) -> FormTotals:
    """The computed totals with the client's per-rate tax kept as supplied (non-US).

    Each supplied rate's ``Amount`` (and ``NetAmountTaxable`` when sent) replaces the computed
    one, with ``OverrideDeltaAmount`` = supplied - computed; rates not supplied stay computed.
    TaxExcluded: the total is the net subtotal less the discount plus the tax. TaxInclusive: the
    tax is inside the gross amounts, so the total stays the gross total less the discount.

    Raises:
        SuppliedTaxError: a supplied rate that no line's TaxCode applies.
    """
    if not supplied:
        return totals
    computed = {t.rate_id: t for t in totals.tax_lines}
    unknown = sorted(set(supplied) - set(computed))
    if unknown:
        msg = (
            f"TaxRate {unknown[0]} in TxnTaxDetail is not a rate of any tax code on the "
            "transaction's lines."
        )
        raise SuppliedTaxError(msg)
    tax_lines = []
    for line in totals.tax_lines:
        given = supplied.get(line.rate_id)
        if given is None:
            tax_lines.append(line)
            continue
        amount = round_cents(given.amount)
        net = line.net_taxable if given.net_taxable is None else round_cents(given.net_taxable)
        tax_lines.append(
            replace(line, amount=amount, net_taxable=net, override_delta=amount - line.amount)
        )
    total_tax = sum((t.amount for t in tax_lines), ZERO)
    if mode is TaxMode.INCLUSIVE:
        total = totals.total
    else:
        total = totals.subtotal - totals.discount + total_tax
    return replace(totals, tax_lines=tuple(tax_lines), total_tax=total_tax, total=total)


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
