"""The reconciliation report as files: a CSV of every document and a self-contained HTML page.

The HTML page has no scripts and no external resources: a table per day and document type with
an inline SVG bar chart (store total beside QuickBooks total), then the documents that differ.
"""

from __future__ import annotations

import csv
from decimal import Decimal
from html import escape
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    from target_quickbooks.operations.payout_reconcile import PayoutCheck
    from target_quickbooks.operations.reconcile import DayTotals, DocumentTotals
    from target_quickbooks.operations.source_reconcile import (
        OverRefund,
        SourceDay,
        SourceReconciliation,
    )

CSV_HEADER = (
    "day",
    "entity",
    "external_id",
    "qbo_id",
    "currency",
    "store_total",
    "qbo_total",
    "store_tax",
    "qbo_tax",
    "matches",
)
STORE_DAYS_CSV_HEADER = (
    "day",
    "kind",
    "currency",
    "store_records",
    "store_total",
    "qbo_documents",
    "qbo_total",
    "difference",
    "matches",
)
OVER_REFUNDS_CSV_HEADER = ("order_id", "where", "currency", "paid", "refunded", "excess")
PAYOUTS_CSV_HEADER = (
    "day",
    "payout",
    "gateway",
    "currency",
    "external_id",
    "qbo_id",
    "charges",
    "refunds",
    "fees",
    "adjustments",
    "net",
    "deposit_total",
    "cleared",
    "books",
    "residual",
    "matches",
)
_BAR_HEIGHT = 14
_CHART_WIDTH = 360
_LABEL_WIDTH = 220
_STORE_COLOUR = "#4e79a7"
_QBO_COLOUR = "#f28e2b"


def _text(amount: Decimal | None) -> str:
    return "" if amount is None else str(amount)


def write_csv(path: Path, rows: list[DocumentTotals]) -> None:
    """One line per document (amounts as decimal strings)."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_HEADER)
        for row in rows:
            writer.writerow(
                (
                    row.day,
                    row.entity,
                    row.external_id,
                    row.qbo_id,
                    row.currency,
                    _text(row.store_total),
                    _text(row.qbo_total),
                    _text(row.store_tax),
                    _text(row.qbo_tax),
                    "yes" if row.matches else "no",
                )
            )


def store_day_cells(day: SourceDay) -> tuple[str, ...]:
    """One store-local day's cells, in `STORE_DAYS_CSV_HEADER` order."""
    return (
        day.day,
        day.kind,
        day.currency,
        str(day.records),
        str(day.store_total),
        str(day.documents),
        str(day.qbo_total),
        str(day.difference),
        "yes" if day.matches else "no",
    )


def over_refund_cells(over: OverRefund) -> tuple[str, ...]:
    """One over-refunded order's cells, in `OVER_REFUNDS_CSV_HEADER` order."""
    return (
        over.order_id,
        over.where,
        over.currency,
        str(over.paid),
        str(over.refunded),
        str(over.excess),
    )


def write_source_csvs(
    days_path: Path, refunds_path: Path, days: list[SourceDay], over_refunds: list[OverRefund]
) -> None:
    """The store-side check as two CSVs: per store-local day, and over-refunded orders."""
    for path, header, rows in (
        (days_path, STORE_DAYS_CSV_HEADER, [store_day_cells(d) for d in days]),
        (refunds_path, OVER_REFUNDS_CSV_HEADER, [over_refund_cells(o) for o in over_refunds]),
    ):
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(rows)


def payout_cells(check: PayoutCheck) -> tuple[str, ...]:
    """One payout's cells, in `PAYOUTS_CSV_HEADER` order (an empty cell: not found)."""
    p = check.payout
    return (
        p.local_date,
        p.canonical_id,
        p.gateway,
        p.currency,
        check.external_id,
        check.qbo_id,
        str(p.charges),
        str(p.refunds),
        str(p.fees),
        str(p.adjustments),
        str(p.net),
        _text(check.deposit_total),
        _text(check.cleared),
        _text(check.books),
        str(check.residual),
        "yes" if check.matches else "no",
    )


def write_payouts_csv(path: Path, checks: list[PayoutCheck]) -> None:
    """The three-way payout check as a CSV, one row per payout."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(PAYOUTS_CSV_HEADER)
        writer.writerows(payout_cells(c) for c in checks)


def _payout_section(checks: list[PayoutCheck] | None) -> str:
    if not checks:
        return ""
    off = [c for c in checks if not c.matches]
    verdict = f"{len(off)} of {len(checks)} payouts do not reconcile to the cent."
    return (
        "<h2>Payouts: processor, QuickBooks Deposit, documents cleared</h2>"
        "<p>Each payout's net against its Deposit's TotalAmt in QuickBooks and against the "
        "documents it clears from Undeposited Funds plus refunds, less fees, plus adjustments."
        f"</p><p>{escape(verdict)}</p>"
        + _table(PAYOUTS_CSV_HEADER, [payout_cells(c) for c in checks])
    )


def bar_chart(days: list[DayTotals]) -> str:
    """An inline SVG: per day and type, the store's total bar above QuickBooks'."""
    largest = max(
        [abs(d.store_total) for d in days] + [abs(d.qbo_total) for d in days] + [Decimal(1)]
    )
    group = 2 * _BAR_HEIGHT + 8
    height = group * len(days) + 24
    parts = [
        (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{_LABEL_WIDTH + _CHART_WIDTH + 120}" '
            f'height="{height}" role="img" aria-label="store and QuickBooks totals per day">'
        ),
        (
            f'<rect x="{_LABEL_WIDTH}" y="2" width="10" height="10" fill="{_STORE_COLOUR}"/>'
            f'<text x="{_LABEL_WIDTH + 14}" y="11" font-size="11">store</text>'
            f'<rect x="{_LABEL_WIDTH + 70}" y="2" width="10" height="10" fill="{_QBO_COLOUR}"/>'
            f'<text x="{_LABEL_WIDTH + 84}" y="11" font-size="11">QuickBooks</text>'
        ),
    ]
    for index, day in enumerate(days):
        top = 20 + index * group
        label = escape(f"{day.day} {day.entity} {day.currency}")
        parts.append(f'<text x="0" y="{top + _BAR_HEIGHT}" font-size="11">{label}</text>')
        for offset, (amount, colour) in enumerate(
            ((day.store_total, _STORE_COLOUR), (day.qbo_total, _QBO_COLOUR))
        ):
            width = int(abs(amount) / largest * _CHART_WIDTH)
            y = top + offset * _BAR_HEIGHT
            parts.append(
                f'<rect x="{_LABEL_WIDTH}" y="{y}" width="{width}" '
                f'height="{_BAR_HEIGHT - 2}" fill="{colour}"/>'
                f'<text x="{_LABEL_WIDTH + width + 4}" y="{y + _BAR_HEIGHT - 3}" '
                f'font-size="10">{escape(str(amount))}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    head = "".join(f"<th>{escape(cell)}</th>" for cell in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _source_section(source: SourceReconciliation | None, days: list[SourceDay] | None) -> str:
    if source is None:
        return ""
    days = source.days if days is None else days
    differing = [d for d in days if not d.matches]
    verdict = (
        f"{len(differing)} of {len(days)} store days differ; "
        f"{len(source.over_refunds)} order(s) refunded more than paid."
    )
    if source.without_store_figures:
        verdict += (
            f" {source.without_store_figures} document(s) written before the store's figures "
            "were kept are left out."
        )
    return (
        "<h2>Store against QuickBooks per store-local day</h2>"
        "<p>The store's order and refund totals (from the records as read, on the store's own "
        "day) against the TotalAmt of the QuickBooks documents on their TxnDate.</p>"
        f"<p>{escape(verdict)}</p>"
        + _table(
            (
                "store day",
                "kind",
                "currency",
                "store records",
                "store total",
                "QuickBooks documents",
                "QuickBooks total",
                "difference",
                "matches",
            ),
            [store_day_cells(d) for d in days],
        )
        + "<h2>Orders refunded more than paid</h2>"
        + _table(
            ("order", "where", "currency", "paid", "refunded", "excess"),
            [over_refund_cells(o) for o in source.over_refunds],
        )
    )


def render_html(  # noqa: PLR0913 - the report's sections
    realm_id: str,
    days: list[DayTotals],
    rows: list[DocumentTotals],
    *,
    source: SourceReconciliation | None = None,
    source_days: list[SourceDay] | None = None,
    payouts: list[PayoutCheck] | None = None,
) -> str:
    """The report page (no scripts, no external resources).

    `source` (and the store days in range, `source_days`) adds the store-side check, `payouts`
    the three-way payout check.
    """
    differing = [row for row in rows if not row.matches]
    summary = _table(
        ("day", "type", "currency", "documents", "store total", "QuickBooks total", "differing"),
        [
            (
                d.day,
                d.entity,
                d.currency,
                str(d.documents),
                str(d.store_total),
                str(d.qbo_total),
                str(d.differing),
            )
            for d in days
        ],
    )
    details = _table(
        (
            "day",
            "type",
            "external_id",
            "QuickBooks Id",
            "store total",
            "QuickBooks total",
            "store tax",
            "QuickBooks tax",
        ),
        [
            (
                r.day,
                r.entity,
                r.external_id,
                r.qbo_id,
                _text(r.store_total),
                _text(r.qbo_total) or "not found",
                _text(r.store_tax),
                _text(r.qbo_tax) or "not found",
            )
            for r in differing
        ],
    )
    verdict = (
        "Every document matches."
        if not differing
        else f"{len(differing)} of {len(rows)} documents differ."
    )
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8">'
        f"<title>K-Connector reconciliation {escape(realm_id)}</title>"
        "<style>body{font-family:sans-serif}table{border-collapse:collapse;margin:1em 0}"
        "td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}</style></head><body>"
        f"<h1>Reconciliation, company {escape(realm_id)}</h1><p>{escape(verdict)}</p>"
        f"{bar_chart(days)}<h2>Per day and document type</h2>{summary}"
        f"<h2>Documents that differ</h2>{details}"
        f"{_source_section(source, source_days)}"
        f"{_payout_section(payouts)}"
        "</body></html>"
    )


def write_html(  # noqa: PLR0913 - render_html's arguments and the file
    path: Path,
    realm_id: str,
    days: list[DayTotals],
    rows: list[DocumentTotals],
    *,
    source: SourceReconciliation | None = None,
    source_days: list[SourceDay] | None = None,
    payouts: list[PayoutCheck] | None = None,
) -> None:
    """Write `render_html` to a file."""
    page = render_html(
        realm_id, days, rows, source=source, source_days=source_days, payouts=payouts
    )
    path.write_text(page, encoding="utf-8")
