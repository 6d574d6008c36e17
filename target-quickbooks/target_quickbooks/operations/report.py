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

    from target_quickbooks.operations.reconcile import DayTotals, DocumentTotals

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


def render_html(realm_id: str, days: list[DayTotals], rows: list[DocumentTotals]) -> str:
    """The report page (no scripts, no external resources)."""
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
        f"<h2>Documents that differ</h2>{details}</body></html>"
    )


def write_html(
    path: Path, realm_id: str, days: list[DayTotals], rows: list[DocumentTotals]
) -> None:
    """Write `render_html` to a file."""
    path.write_text(render_html(realm_id, days, rows), encoding="utf-8")
