"""Typed data errors of the mapping, each with a stable code and guidance for the user.

The codes are listed in docs/mapping.md ("Error codes"); the target's error catalogue refers to
them. A `MappingError` never stops the run: the record becomes a `dead_letters` record.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    """Stable codes of the records the mapper cannot map."""

    INVALID_RECORD = "MAP-INVALID-RECORD"
    UNSUPPORTED_VERSION = "MAP-UNSUPPORTED-VERSION"
    UNKNOWN_SKU = "MAP-UNKNOWN-SKU"  # raised by the target when an Item ref cannot resolve
    UNMAPPED_TAX = "MAP-UNMAPPED-TAX"
    DOC_NUMBER_TOO_LONG = "MAP-DOCNUMBER-TOO-LONG"
    CURRENCY_NOT_HOME = "MAP-CURRENCY-NOT-HOME"
    REFUND_EXCEEDS_PAID = "MAP-REFUND-EXCEEDS-PAID"
    NEGATIVE_TOTAL = "MAP-NEGATIVE-TOTAL"
    DEPOSIT_RESIDUAL = "MAP-DEPOSIT-RESIDUAL"


class MappingError(ValueError):
    """A record that cannot become a QuickBooks document until the user fixes something."""

    error_class = "data"

    def __init__(self, code: ErrorCode, field: str | None, message: str, guidance: str) -> None:
        """Keep what the dead letter needs: the code, the offending field, message, guidance."""
        super().__init__(f"{code}: {message}")
        self.code = code
        self.field = field
        self.message = message
        self.guidance = guidance
