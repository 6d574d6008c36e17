"""K-Connector's canonical order model: what every store tap emits and the mapper consumes.

Public API:
    load_schema, singer_schema, STREAMS, CURRENT_SCHEMA_VERSION: the JSON Schemas per stream.
    validate, ensure_valid, Problem, InvalidRecordError: every problem in a record, by field.
    upcast, UpcasterRegistry, registry, UpcastError: in-flight schema version upgrades.
    Money, parse_amount, format_amount, quantize, allocate, Rounding, PLATFORM_ROUNDING: money.
    Order, Refund and their parts, Payout: typed read-only views.
"""

from kconnector_canonical.model import Order, Refund
from kconnector_canonical.money import (
    PLATFORM_ROUNDING,
    Money,
    MoneyError,
    Rounding,
    allocate,
    format_amount,
    parse_amount,
    quantize,
)
from kconnector_canonical.payout import BalanceTransaction, Payout
from kconnector_canonical.schemas import (
    CURRENT_SCHEMA_VERSION,
    PRIMARY_KEYS,
    STREAMS,
    load_schema,
    singer_schema,
)
from kconnector_canonical.upcasting import UpcasterRegistry, UpcastError, registry, upcast
from kconnector_canonical.validation import InvalidRecordError, Problem, ensure_valid, validate

__all__ = [
    "CURRENT_SCHEMA_VERSION",
    "PLATFORM_ROUNDING",
    "PRIMARY_KEYS",
    "STREAMS",
    "BalanceTransaction",
    "InvalidRecordError",
    "Money",
    "MoneyError",
    "Order",
    "Payout",
    "Problem",
    "Refund",
    "Rounding",
    "UpcastError",
    "UpcasterRegistry",
    "allocate",
    "ensure_valid",
    "format_amount",
    "load_schema",
    "parse_amount",
    "quantize",
    "registry",
    "singer_schema",
    "upcast",
    "validate",
]
