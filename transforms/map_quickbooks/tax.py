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

  QuickBooks computes a non-US document's tax per TaxRate over the whole document, where a store
  rounds per line (and per tax), so the two can differ by a cent or more. The entity reference
  lets the client state the tax itself: `TxnTaxDetail` "captures the details sales taxes
  calculated for the transaction based on the tax codes referenced by the transaction. This can
  be calculated by QuickBooks business logic or you may supply it when adding a transaction", and
  `TaxLineDetail.OverrideDeltaAmount` holds "the difference between the actual tax and the
  overridden amount supplied by the user"
  (https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/salesreceipt
  and .../invoice, `TxnTaxDetail`; Intuit's SDK reference of TaxLineDetail,
  https://static.developer.intuit.com/sdkdocs/qbv3doc/ippdotnetdevkitv3/html/9a4b9306-4684-179c-4b74-3896047aa53b.htm).
  Each `TaxLine` names one TaxRate (`TaxRateRef`), which "must also be one of the rates in the
  referenced tax code's rate list [...] Any given rate may only be listed once". So when every
  store tax on a document names its QuickBooks TaxRate (the `tax_rate_map` setting), the
  document carries the store's tax per rate as `TxnTaxDetail.TaxLine`
  (`PercentBased`, `TaxPercent`, `NetAmountTaxable`, `Amount`), exactly as the store charged it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from kconnector_canonical.money import allocate
from map_quickbooks import refs
from map_quickbooks.amounts import money_text
from map_quickbooks.errors import ErrorCode, MappingError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

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


def tax_rate_map(settings: Settings) -> dict[str, str]:
    """The store tax -> QuickBooks TaxRate names (the `tax_rate_map` setting)."""
    return dict(settings.tax_rate_map)


@dataclass(frozen=True, slots=True)
class TaxedLine:
    """One document line as the per-rate tax detail sees it.

    Attributes:
        field: the canonical field of the line (for error messages).
        tax_lines: the store's taxes on the line.
        tax: the line's share of the document tax (currency precision).
        net: the line's amount net of tax, as the document's `Line.Amount`s add up.
    """

    field: str
    tax_lines: tuple[TaxLine, ...]
    tax: Decimal
    net: Decimal


@dataclass
class _RateTotal:
    percent: Decimal | None
    net: Decimal
    amount: Decimal


def _per_tax(line: TaxedLine, currency: str) -> list[Decimal]:
    """The line's tax share split over its taxes, exactly (weights: the store's tax amounts)."""
    weights = [abs(t.amount.amount) for t in line.tax_lines]
    if sum(weights, Decimal(0)) == 0:
        weights = [abs(t.rate) if t.rate is not None else Decimal(0) for t in line.tax_lines]
    if sum(weights, Decimal(0)) == 0:
        weights = [Decimal(1) for _ in line.tax_lines]
    return allocate(line.tax, weights, currency)


def _unmapped_rate(field: str, tax: TaxLine) -> MappingError:
    keys = tax_keys((tax,))
    return MappingError(
        ErrorCode.UNMAPPED_TAX,
        field,
        f"no TaxRate for the tax {keys[0]!r}: the document's "
        "tax could not be stated per rate, and QuickBooks' own per-document rounding may differ "
        "from the store's by a cent or more",
        "Add one of these keys to tax_rate_map with the QuickBooks TaxRate name (Taxes > Sales "
        "tax settings): " + ", ".join(repr(k) for k in keys) + "; then retry.",
    )


def _rate_name(tax: TaxLine, rates: Mapping[str, str]) -> str | None:
    for key in tax_keys((tax,)):
        if key in rates:
            return rates[key]
    return None


def rate_tax_lines(
    lines: Sequence[TaxedLine], currency: str, settings: Settings
) -> list[dict[str, Any]] | None:
    """`TxnTaxDetail.TaxLine`: the store's tax per TaxRate (None: QuickBooks computes it).

    Only in tax_codes mode, and only when `tax_rate_map` names TaxRates. Each
    line's tax share is split over its taxes with `allocate`, so the TaxLine amounts add up to the
    document's tax exactly; `NetAmountTaxable` is the sum of the net amounts of the lines the rate
    applies to. A taxed store tax no key maps is a MAP-UNMAPPED-TAX dead letter (a silent
    fallback would leave QuickBooks' rounding in place).

    Raises:
        MappingError: MAP-UNMAPPED-TAX for a store tax without a TaxRate.
    """
    rates = tax_rate_map(settings)
    if settings.tax_mode != "tax_codes" or not rates:
        return None
    totals: dict[str, _RateTotal] = {}
    for line in lines:
        if not line.tax_lines:
            continue
        for index, (tax, share) in enumerate(
            zip(line.tax_lines, _per_tax(line, currency), strict=True)
        ):
            name = _rate_name(tax, rates)
            if name is None:
                if share == 0 and tax.amount.amount == 0:
                    continue  # nothing charged: QuickBooks' computed 0 is the store's figure
                field = f"{line.field}.tax_lines[{index}]"
                raise _unmapped_rate(field, tax)
            total = totals.setdefault(name, _RateTotal(tax.rate, Decimal(0), Decimal(0)))
            total.net += line.net
            total.amount += share
    return [
        {
            "Amount": money_text(total.amount, currency),
            "DetailType": "TaxLineDetail",
            "TaxLineDetail": {
                "TaxRateRef": refs.ref(
                    "name",
                    name,
                    "TaxRate",
                    on_missing="error",
                    guidance=f"Create the TaxRate named {name!r} in QuickBooks, or correct the "
                    "tax_rate_map entry that names it.",
                ),
                "PercentBased": total.percent is not None,
                **({"TaxPercent": _percent(total.percent)} if total.percent is not None else {}),
                "NetAmountTaxable": money_text(total.net, currency),
            },
        }
        for name, total in totals.items()
    ]


def document_tax_fields(
    total_tax: Decimal,
    currency: str,
    settings: Settings,
    *,
    prices_include_tax: bool,
    tax_lines: Sequence[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """`TxnTaxDetail` (and `GlobalTaxCalculation` in tax_codes mode) of a document.

    `tax_lines` (from `rate_tax_lines`) state the store's tax per TaxRate in tax_codes mode.
    """
    detail: dict[str, Any] = {"TotalTax": money_text(total_tax, currency)}
    fields: dict[str, Any] = {"TxnTaxDetail": detail}
    if settings.tax_mode == "us_automated":
        if settings.us_tax_code:
            detail["TxnTaxCodeRef"] = refs.named("TaxCode", settings.us_tax_code)
    else:
        fields["GlobalTaxCalculation"] = "TaxInclusive" if prices_include_tax else "TaxExcluded"
        if tax_lines:
            detail["TaxLine"] = list(tax_lines)
    return fields
