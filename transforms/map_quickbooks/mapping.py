"""`map_record`: one canonical record in, its QuickBooks documents (or a dead letter) out.

Pure: no network, no clock, no randomness; the same record and settings give the same records.
Steps: upcast to the current canonical version, validate, filter, map. A record that fails
validation, or that a rule cannot map, becomes one `dead_letters` record; nothing raises.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

from kconnector_canonical import Order, Refund, UpcastError, upcast, validate
from map_quickbooks import source_facts
from map_quickbooks.contract import OutputRecord, Source, dead_letter
from map_quickbooks.deposits import Payout, map_payout, waiting_reason
from map_quickbooks.document_type import paid_amount
from map_quickbooks.errors import ErrorCode, MappingError
from map_quickbooks.order_documents import map_order, undeposited_documents
from map_quickbooks.refunds import OrderFacts, map_refund

if TYPE_CHECKING:
    from collections.abc import Mapping

    from map_quickbooks.rules import Settings

InputStream = Literal["orders", "refunds", "payouts"]
_ROLES: dict[InputStream, str] = {"orders": "order", "refunds": "refund", "payouts": "deposit"}


@dataclass(frozen=True, slots=True)
class MappingResult:
    """The records to emit and, when the record was deliberately skipped, why."""

    records: tuple[OutputRecord, ...]
    skipped: str | None = None
    order_facts: tuple[str, OrderFacts] | None = None


def order_facts(order: Order, settings: Settings | None = None) -> OrderFacts:
    """What a later refund of this order needs for its guard (and a payout, its documents)."""
    refunds = tuple(
        (t.transaction_id, t.amount.amount)
        for t in order.transactions
        if t.kind == "refund" and t.status == "success"
    )
    undeposited = (
        tuple(sorted(undeposited_documents(order, settings).items()))
        if settings is not None
        else ()
    )
    return OrderFacts(
        total=order.totals.total.amount,
        paid=paid_amount(order),
        refunds=refunds,
        undeposited=undeposited,
    )


def _record_identity(record: Mapping[str, Any], stream: InputStream) -> str:
    identity = record.get("id")
    if isinstance(identity, str) and identity and not any(c.isspace() for c in identity):
        return identity
    digest = hashlib.sha256(
        json.dumps(record, sort_keys=True, default=str).encode("utf-8")
    ).hexdigest()[:16]
    return f"invalid:{stream}:{digest}"


def _text(record: Mapping[str, Any], key: str) -> str | None:
    value = record.get(key)
    return value if isinstance(value, str) else None


def _dead(
    record: Mapping[str, Any], stream: InputStream, role: str, error: MappingError
) -> MappingResult:
    identity = _record_identity(record, stream)
    owner = _text(record, "order_id") if stream == "refunds" else None
    refund_id = _text(record, "source_id")
    if stream == "refunds" and owner and refund_id:
        role = f"refund:{refund_id}"  # the external id the refund's document would have had
    external_id = identity if identity.startswith("invalid:") else f"{owner or identity}#{role}"
    return MappingResult(
        (
            dead_letter(
                external_id=external_id,
                source_id=_text(record, "id"),
                source_stream=stream,
                source_updated_at=_text(record, "updated_at"),
                error_code=str(error.code),
                field=error.field,
                message=error.message,
                guidance=error.guidance,
                record=dict(record),
            ),
        )
    )


def _order_skip(order: Order, settings: Settings) -> str | None:
    if settings.skip_test_orders and order.test:
        return "test order"
    if settings.statuses and order.financial_status not in settings.statuses:
        return f"financial_status {order.financial_status} not in statuses"
    if settings.channels and (order.source_name or "") not in settings.channels:
        return f"channel {order.source_name!r} not in channels"
    if settings.created_after is not None and order.created_at < settings.created_after:
        return "created before created_after"
    if settings.created_before is not None and order.created_at >= settings.created_before:
        return "created at or after created_before"
    return None


def _refund_skip(refund: Refund, settings: Settings) -> str | None:
    if (
        settings.skip_test_orders
        and refund.transactions
        and all(t.test for t in refund.transactions)
    ):
        return "test refund"
    return None


def _validated(record: Mapping[str, Any], stream: InputStream) -> dict[str, Any] | MappingError:
    try:
        current = upcast(dict(record), stream)
    except UpcastError as exc:
        return MappingError(
            ErrorCode.UNSUPPORTED_VERSION,
            "schema_version",
            str(exc),
            "Upgrade kconnector-canonical and map-quickbooks to a version that knows this "
            "schema_version; then retry.",
        )
    problems = validate(current, stream)
    if problems:
        return MappingError(
            ErrorCode.INVALID_RECORD,
            problems[0].field,
            "; ".join(str(p) for p in problems),
            "The store tap emitted a record that is not valid canonical data: fix the listed "
            "fields at the source (or the tap); then retry.",
        )
    return current


def map_record_result(
    record: Mapping[str, Any],
    stream: InputStream,
    settings: Settings,
    orders_seen: Mapping[str, OrderFacts] | None = None,
) -> MappingResult:
    """Map one canonical record (see `map_record`), with the reason when it is skipped.

    Args:
        record: the canonical record as received.
        stream: "orders", "refunds" or "payouts".
        settings: the mapping rules.
        orders_seen: facts of orders seen earlier in the same input, for the refund guard and
            the documents a payout's Deposit links.
    """
    role = _ROLES[stream]
    checked = _validated(record, stream)
    if isinstance(checked, MappingError):
        return _dead(record, stream, role, checked)
    if stream == "payouts":
        return _payout_result(record, checked, settings, orders_seen)
    return _sale_result(record, checked, stream, settings, orders_seen)


def _sale_result(
    record: Mapping[str, Any],
    checked: dict[str, Any],
    stream: InputStream,
    settings: Settings,
    orders_seen: Mapping[str, OrderFacts] | None,
) -> MappingResult:
    role = _ROLES[stream]
    source_updated = (
        checked.get("updated_at") or checked.get("processed_at") or checked["created_at"]
    )
    source = Source(source_id=checked["id"], updated_at=source_updated)
    try:
        if stream == "orders":
            order = Order.from_record(checked)
            skip = _order_skip(order, settings)
            if skip is not None:
                return MappingResult((), skipped=skip)
            source = replace(source, facts=source_facts.order_facts(order, checked))
            records = map_order(order, settings, source)
            return MappingResult(
                tuple(records),
                skipped=None if records else "no document yet (no line sold or shipped)",
                order_facts=(order.id, order_facts(order, settings)),
            )
        refund = Refund.from_record(checked)
        skip = _refund_skip(refund, settings)
        if skip is not None:
            return MappingResult((), skipped=skip)
        facts = orders_seen.get(refund.order_id) if orders_seen is not None else None
        source = replace(source, facts=source_facts.refund_facts(refund, checked))
        records = map_refund(refund, settings, source, facts)
        return MappingResult(tuple(records), skipped=None if records else "refund worth nothing")
    except MappingError as error:
        return _dead(record, stream, role, error)


def _payout_result(
    record: Mapping[str, Any],
    checked: dict[str, Any],
    settings: Settings,
    orders_seen: Mapping[str, OrderFacts] | None,
) -> MappingResult:
    payout = Payout.from_record(checked)
    waiting = waiting_reason(payout)
    if waiting is not None:
        return MappingResult((), skipped=waiting)
    source = Source(
        source_id=payout.id,
        updated_at=str(checked["updated_at"]),
        facts=source_facts.payout_facts(checked),
    )
    try:
        return MappingResult(tuple(map_payout(payout, settings, source, orders_seen)))
    except MappingError as error:
        return _dead(record, "payouts", "deposit", error)


def map_record(
    record: Mapping[str, Any], stream: InputStream, settings: Settings
) -> list[OutputRecord]:
    """The output records of one canonical record (pure; a benchmark may call it).

    A payout's Deposit names the documents of its orders as an earlier run wrote them (see
    `deposits`); `map_record_result` with the orders seen in the same input names them exactly.

    Documents come in dependency order; an unmappable record gives one dead letter; a skipped
    record (test order, filters) gives nothing.
    """
    return list(map_record_result(record, stream, settings).records)
