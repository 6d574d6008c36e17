"""Tax on QuickBooks documents: per-line tax codes and the transaction's tax detail.

Two modes (setting `tax_mode`):

- `us_automated` (US companies; automated sales tax since 2017): lines carry the US pseudo tax
  codes TAX or NON, and the store's tax goes in `TxnTaxDetail.TotalTax`. "Whenever an explicit
  tax amount is sent in the transaction request the AST engine honors the amount and prorates it
  across tax rates in the AST-assigned tax code"
  (https://developer.intuit.com/hub/blog/2017/12/11/using-quickbooks-online-api-automated-sales-tax,
  https://developer.intuit.com/app/developer/qbo/docs/workflows/manage-sales-tax-for-us-locales).
  `GlobalTaxCalculation` does not apply to US companies, so tax-inclusive store amounts are sent
  net of tax (the tax is then added back by TotalTax).
- `tax_codes` (non-US companies): each line's `TaxCodeRef` names a TaxCode from `tax_code_map`
  (https://developer.intuit.com/app/developer/qbo/docs/workflows/manage-sales-tax-for-non-us-locales);
  tax-inclusive stores send `GlobalTaxCalculation: TaxInclusive` with each line's `Amount` net of
  tax and its gross in `SalesItemLineDetail.TaxInclusiveAmt` (QuickBooks treats line amounts as
  tax-exclusive and computes the net itself only for UI entry, see
  https://github.com/ruckus/quickbooks-ruby/issues/346 and the Invoice reference
  https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/invoice).
  The store's tax total is also sent in `TxnTaxDetail.TotalTax` and is what `expected.tax` holds.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from kconnector_canonical.money import allocate
from map_quickbooks import refs
from map_quickbooks.amounts import money_text
from map_quickbooks.errors import ErrorCode, MappingError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from kconnector_canonical.model import TaxLine
    from map_quickbooks.rules import Settings


def raw_tax(tax_lines: Sequence[TaxLine]) -> Decimal:
    """The tax a line's tax lines add up to (platform precision, may exceed cents)."""
    return sum((t.amount.amount for t in tax_lines), Decimal(0))


def spread_tax(
    total_tax: Decimal, raw: Sequence[Decimal], amounts: Sequence[Decimal], currency: str
) -> list[Decimal]:
    """Each line's share of the document tax, at the currency's precision, summing exactly.

    Shares follow the lines' own (possibly unrounded) taxes; when lines carry no tax detail, they
    follow the line amounts. `allocate` puts the rounding remainder deterministically.
    """
    weights = [abs(r) for r in raw]
    if sum(weights, Decimal(0)) == 0:
        weights = [abs(a) for a in amounts]
    if sum(weights, Decimal(0)) == 0:
        if total_tax == 0:
            return [Decimal(0) for _ in raw]
        msg = f"tax {total_tax} {currency} cannot be placed: the document has no amount to carry it"
        raise MappingError(
            ErrorCode.INVALID_RECORD,
            "totals.tax.amount",
            msg,
            "Check the record's tax lines in the store; then retry.",
        )
    return allocate(total_tax, weights, currency)


def _percent(rate: Decimal) -> str:
    return format((rate * 100).normalize(), "f")


def tax_keys(tax_lines: Sequence[TaxLine]) -> list[str]:
    """The tax_code_map keys tried for a line, most specific first."""
    keys = []
    rates = [t.rate for t in tax_lines]
    if all(rate is not None for rate in rates):
        keys.append(
            " + ".join(
                f"{t.title} {_percent(rate)}%"
                for t, rate in zip(tax_lines, rates, strict=True)
                if rate is not None
            )
        )
    keys.append(" + ".join(t.title for t in tax_lines))
    if all(t.jurisdiction for t in tax_lines):
        keys.append(" + ".join(str(t.jurisdiction) for t in tax_lines))
    if all(t.rate_code for t in tax_lines):
        keys.append(" + ".join(str(t.rate_code) for t in tax_lines))
    return list(dict.fromkeys(keys))


def line_tax_code(
    tax_lines: Sequence[TaxLine], tax: Decimal, settings: Settings, field: str, *, exempt: bool
) -> refs.Ref:
    """The TaxCodeRef of one line.

    Raises:
        MappingError: MAP-UNMAPPED-TAX in tax_codes mode for a taxed line no key maps.
    """
    taxed = not exempt and (tax != 0 or raw_tax(tax_lines) != 0)
    if settings.tax_mode == "us_automated":
        # US pseudo tax codes at line level (manage-sales-tax-for-us-locales).
        return refs.ref("id", "TAX" if taxed else "NON", "TaxCode")
    if tax_lines and not exempt:
        for key in tax_keys(tax_lines):
            if key in settings.tax_code_map:
                return refs.named("TaxCode", settings.tax_code_map[key])
    if not taxed:
        return refs.named("TaxCode", settings.exempt_tax_code)
    if not tax_lines:
        raise MappingError(
            ErrorCode.UNMAPPED_TAX,
            field,
            f"the line carries {tax} tax but no tax lines to choose a TaxCode from",
            "Have the store tap emit the line's tax_lines (title, rate, jurisdiction); then retry.",
        )
    keys = tax_keys(tax_lines)
    raise MappingError(
        ErrorCode.UNMAPPED_TAX,
        field,
        f"no TaxCode for the tax {keys[0]!r}",
        "Add one of these keys to tax_code_map with the QuickBooks TaxCode name: "
        + ", ".join(repr(k) for k in keys)
        + "; then retry.",
    )


def document_tax_fields(
    total_tax: Decimal, currency: str, settings: Settings, *, prices_include_tax: bool
) -> dict[str, Any]:
    """`TxnTaxDetail` (and `GlobalTaxCalculation` in tax_codes mode) of a document."""
    detail: dict[str, Any] = {"TotalTax": money_text(total_tax, currency)}
    fields: dict[str, Any] = {"TxnTaxDetail": detail}
    if settings.tax_mode == "us_automated":
        if settings.us_tax_code:
            detail["TxnTaxCodeRef"] = refs.named("TaxCode", settings.us_tax_code)
    else:
        fields["GlobalTaxCalculation"] = "TaxInclusive" if prices_include_tax else "TaxExcluded"
    return fields
