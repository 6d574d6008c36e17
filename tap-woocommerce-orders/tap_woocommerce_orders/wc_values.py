"""WooCommerce field values as K-Connector reads them: money, GMT dates, ids, optional text.

WooCommerce sends money as decimal strings ("12.00", per-rate taxes with the stored precision,
e.g. "6.705"), except `line_items[].price`, which is a JSON number; responses are parsed with
`parse_float=Decimal`, so a number arrives here as `Decimal` (or `int`), never as a float.
Dates come in pairs: `date_created` in the site's timezone without offset, `date_created_gmt` in
UTC without offset; only the `_gmt` forms are used.
https://woocommerce.github.io/woocommerce-rest-api-docs/#order-properties
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from kconnector_canonical import format_amount, quantize

if TYPE_CHECKING:
    from collections.abc import Mapping

WP_GMT_FORMAT = "%Y-%m-%dT%H:%M:%S"
_SOURCE_ID = re.compile(r"^[^:\s]+$")


class SourceValueError(ValueError):
    """A WooCommerce field whose value K-Connector cannot read (names the field, not the value)."""


def wc_decimal(value: object, field: str) -> Decimal:
    """A WooCommerce amount as an exact `Decimal` ("" and None are zero, as WooCommerce means).

    Raises:
        SourceValueError: for floats (they would lose cents) or text that is not a number.
    """
    if value is None or value == "":
        return Decimal(0)
    if isinstance(value, bool | float):
        msg = f"{field} is a {type(value).__name__}; amounts must be read as exact decimals"
        raise SourceValueError(msg)
    if isinstance(value, Decimal | int):
        return Decimal(value)
    if isinstance(value, str):
        try:
            parsed = Decimal(value.strip())
        except InvalidOperation as exc:
            msg = f"{field} is not a decimal amount"
            raise SourceValueError(msg) from exc
        if not parsed.is_finite():
            msg = f"{field} is not a finite amount"
            raise SourceValueError(msg)
        return parsed
    msg = f"{field} has the unexpected type {type(value).__name__}"
    raise SourceValueError(msg)


def in_minor_units(amount: Decimal, currency: str) -> Decimal:
    """`amount` at the currency's precision when that loses nothing ("1200.00" JPY is "1200")."""
    rounded = quantize(amount, currency)
    return rounded if rounded == amount else amount


def money(amount: Decimal, currency: str) -> dict[str, str]:
    """Canonical money: `{"amount": "19.99", "currency": "EUR"}`."""
    return {"amount": format_amount(in_minor_units(amount, currency)), "currency": currency}


def raw_money(amount: Decimal, currency: str) -> dict[str, str]:
    """Canonical money keeping WooCommerce's extra decimals (per-rate line taxes)."""
    return {"amount": format_amount(amount), "currency": currency}


def gmt_datetime(value: object, field: str) -> datetime | None:
    """A `*_gmt` field as an aware UTC datetime (None when WooCommerce sends null or "").

    Raises:
        SourceValueError: when the text is not a date like 2026-02-10T13:03:11.
    """
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        msg = f"{field} is not a date string"
        raise SourceValueError(msg)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        msg = f"{field} is not a date like 2026-02-10T13:03:11"
        raise SourceValueError(msg) from exc
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def local_and_utc(
    document: Mapping[str, Any], name: str
) -> tuple[datetime | None, datetime | None]:
    """WooCommerce's site-time `<name>` (naive) and `<name>_gmt` (aware UTC).

    Raises:
        SourceValueError: when either text is not a date like 2026-02-10T13:03:11.
    """
    local_text = document.get(name)
    utc = gmt_datetime(document.get(f"{name}_gmt"), f"{name}_gmt")
    if not isinstance(local_text, str) or not local_text or utc is None:
        return None, utc
    try:
        local = datetime.fromisoformat(local_text).replace(tzinfo=None)
    except ValueError as exc:
        msg = f"{name} is not a date like 2026-02-10T13:03:11"
        raise SourceValueError(msg) from exc
    return local, utc


def utc_timestamp(moment: datetime) -> str:
    """Canonical timestamp: UTC RFC 3339 ending in Z, whole seconds as WordPress stores them."""
    return moment.astimezone(UTC).strftime(WP_GMT_FORMAT) + "Z"


def gmt_timestamp(value: object, field: str) -> str | None:
    """A `*_gmt` field as a canonical timestamp, or None."""
    moment = gmt_datetime(value, field)
    return None if moment is None else utc_timestamp(moment)


def required_gmt_timestamp(value: object, field: str) -> str:
    """A `*_gmt` field that every order has (created, modified).

    Raises:
        SourceValueError: when it is missing.
    """
    stamp = gmt_timestamp(value, field)
    if stamp is None:
        msg = f"{field} is missing"
        raise SourceValueError(msg)
    return stamp


def source_id(value: object, field: str) -> str:
    """A WooCommerce id (integer) as a canonical source id.

    Raises:
        SourceValueError: when it is missing or not usable in a canonical id.
    """
    text = str(value).strip() if isinstance(value, int | str) and value != "" else ""
    if not _SOURCE_ID.match(text):
        msg = f"{field} is not a usable id"
        raise SourceValueError(msg)
    return text


def optional_id(value: object) -> str | None:
    """A WooCommerce reference id where 0 means none (product_id, variation_id, customer_id)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    text = str(value).strip()
    return None if text in {"", "0"} or not _SOURCE_ID.match(text) else text


def text_or_none(value: object) -> str | None:
    """A WooCommerce text field, with "" (WooCommerce's "not set") as None."""
    if value is None:
        return None
    text = str(value).strip()
    return text or None
