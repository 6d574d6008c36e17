"""Deterministic three-way merge of a QuickBooks document (pure, no I/O).

When an order changed in the store after it was synced and the document was also edited in
QuickBooks, three versions meet:

- ``base``: the body K-Connector last pushed (the ledger's snapshot),
- ``theirs``: QuickBooks' current document, as read back (server fields included),
- ``ours``: the new mapped body.

Each top-level field K-Connector writes is decided on its own (docs/conflicts.md):

- changed on one side only: that side;
- changed on both sides to the same value: no conflict;
- changed on both sides differently: a non-critical field (notes, email, phone, addresses,
  contact names: `NON_CRITICAL_FIELDS`) goes to the later write (QuickBooks
  ``MetaData.LastUpdatedTime`` against the store's ``updated_at``; the store wins a tie); any
  other field (the mapper's ``critical_fields``, and any field not listed as non-critical) is a
  conflict: nothing is written and the document goes to the review queue.

Every field is atomic, addresses included: an address is merged as one value, never line by
line, so a merged address is always one that somebody entered.

Comparison works on a normalised form (`comparable`): amounts compare as `Decimal` whether they
arrive as JSON numbers or decimal strings, server-only data is dropped, and QuickBooks' copy is
projected onto the shape K-Connector writes (see `comparable` for the exact rules). The result
does not depend on key order, on the order of lists whose order means nothing, or on the form
amounts arrive in.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import Enum, StrEnum
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

from target_quickbooks import qbo_json
from target_quickbooks.payloads import NUMERIC_FIELDS

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable, Mapping


class _Absent(Enum):
    """A field missing from a document (distinct from an explicit JSON null)."""

    ABSENT = "absent"


ABSENT: Final = _Absent.ABSENT

# Top-level fields QuickBooks owns (identity, concurrency, audit, response envelope); never
# compared, never written. Entity pages, e.g.
# https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/salesreceipt
SERVER_FIELDS: Final = frozenset({"Id", "SyncToken", "MetaData", "domain", "sparse", "status"})
# Keys QuickBooks adds to each Line (its Id and position number); lines compare by content.
LINE_SERVER_KEYS: Final = frozenset({"Id", "LineNum"})
# QuickBooks computes the subtotal line itself and ignores one sent by a client.
COMPUTED_LINE_TYPES: Final = frozenset({"SubTotalLineDetail"})
# Lists whose order carries no meaning (QuickBooks returns them in an order of its own).
UNORDERED_LISTS: Final = frozenset({"TaxLine", "LinkedTxn", "CustomField"})
# A reference ({"value": Id, "name": ..., "type": ...}) is the same reference when its value is:
# QuickBooks adds the display name, which a rename changes without changing what is referenced.
REFERENCE_KEY: Final = "value"
_LINE_ITEM_PATH: Final = ("Line", "[]")
# object path (list positions as "[]") -> the keys used there
_Shape = dict[tuple[str, ...], set[str]]

_CONTACT_FIELDS: Final = (
    "AlternatePhone",
    "BillAddr",
    "CompanyName",
    "FamilyName",
    "Fax",
    "GivenName",
    "MiddleName",
    "Mobile",
    "Notes",
    "PrimaryEmailAddr",
    "PrimaryPhone",
    "ShipAddr",
    "Suffix",
    "Title",
    "WebAddr",
)
_SALES_FORM_FIELDS: Final = (
    "BillAddr",
    "BillEmail",
    "BillEmailBcc",
    "BillEmailCc",
    "CustomerMemo",
    "PrivateNote",
    "ShipAddr",
    "ShipFromAddr",
    "TrackingNum",
)
# Fields merged last-write-wins when both sides changed them: notes, memos, email, phone,
# addresses and contact names (DESIGN.md, "Conflicts"). Every other field is critical, whether
# or not the mapper lists it in `critical_fields`: a field nobody classified is never
# overwritten silently. A field in the record's `critical_fields` is critical even if listed here.
NON_CRITICAL_FIELDS: Final[Mapping[str, frozenset[str]]] = MappingProxyType(
    {
        "Customer": frozenset(_CONTACT_FIELDS),
        "SalesReceipt": frozenset(_SALES_FORM_FIELDS),
        "Invoice": frozenset(_SALES_FORM_FIELDS),
        "RefundReceipt": frozenset(_SALES_FORM_FIELDS),
        "CreditMemo": frozenset(_SALES_FORM_FIELDS),
        "Payment": frozenset({"PrivateNote"}),
        # Everything but the note is critical: the account, lines and total are the bank line a
        # bookkeeper matches against the statement.
        "Deposit": frozenset({"PrivateNote"}),
    }
)
_ANY_ENTITY_NON_CRITICAL: Final = frozenset().union(*NON_CRITICAL_FIELDS.values())


class MergeInputError(ValueError):
    """The merge inputs are unusable (e.g. a timestamp without a time zone)."""


class Outcome(StrEnum):
    """What the caller does with a merge."""

    NO_CHANGE = "no_change"  # QuickBooks already holds what the merge gives: write nothing
    TAKE_OURS = "take_ours"  # only the store's changes apply: write `body`
    TAKE_THEIRS = "take_theirs"  # QuickBooks' version stands: write nothing
    MERGED = "merged"  # changes from both sides: write `body` (QuickBooks keeps the rest)
    CONFLICT = "conflict"  # a critical field changed on both sides: write nothing, queue a review


class Side(StrEnum):
    """Which version a field's merged value comes from."""

    OURS = "ours"
    THEIRS = "theirs"
    BOTH = "both"  # unchanged, or changed identically on both sides
    NEITHER = "neither"  # a conflict: no value is chosen


class Reason(StrEnum):
    """Why a field was decided the way it was."""

    UNCHANGED = "unchanged"
    ONLY_OURS_CHANGED = "only-ours-changed"
    ONLY_THEIRS_CHANGED = "only-theirs-changed"
    BOTH_SAME = "both-same"
    LWW_OURS = "lww-ours"
    LWW_THEIRS = "lww-theirs"
    CRITICAL_CONFLICT = "critical-conflict"


@dataclass(frozen=True)
class FieldDecision:
    """How one top-level field was merged."""

    field: str
    side: Side
    reason: Reason


@dataclass(frozen=True)
class FieldConflict:
    """A critical field changed on both sides to different values.

    Values are in comparable form (`comparable`); a field missing from a version is `None`.
    """

    field: str
    base: Any
    theirs: Any
    ours: Any


@dataclass(frozen=True)
class MergeResult:
    """The outcome of `three_way_merge`.

    Attributes:
        outcome: what to do (see `Outcome`).
        body: for `take_ours` and `merged`, a sparse-update body: exactly the fields whose merged
            value differs from QuickBooks' current one, with the store's values (amounts as
            decimal strings). Fields it omits keep their QuickBooks value. None otherwise.
        field_decisions: one decision per compared field, sorted by field name.
        conflicts: the fields that make the outcome `conflict` (empty otherwise).
        removed_fields: fields the store removed that QuickBooks still holds; a sparse update
            cannot clear a field, so they are reported and left in QuickBooks.
        fingerprint: sha256 (hex) of the normalised inputs and the critical field names: the
            same conflict gets the same key, whatever form or order the inputs arrived in.
    """

    outcome: Outcome
    body: Mapping[str, Any] | None
    field_decisions: tuple[FieldDecision, ...]
    conflicts: tuple[FieldConflict, ...]
    removed_fields: tuple[str, ...]
    fingerprint: str


def _number(value: Decimal | float) -> Decimal:
    # A float reaches here only if the caller parsed JSON without `parse_float=Decimal`; its
    # shortest repr is the number QuickBooks sent, so it never enters float arithmetic.
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    if not number.is_finite():
        msg = "amounts must be finite"
        raise MergeInputError(msg)
    return Decimal(0) if number.is_zero() else number.normalize()


def _amount_text(value: Decimal | float) -> str:
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    if not number.is_finite():
        msg = "amounts must be finite"
        raise MergeInputError(msg)
    return format(number, "f")


def _is_reference(key: str | None, value: Mapping[str, Any]) -> bool:
    return key is not None and key.endswith("Ref") and REFERENCE_KEY in value


def _line_position(line: Any) -> Decimal:  # noqa: ANN401 - a JSON value
    number = line.get("LineNum") if isinstance(line, dict) else None
    return _number(number) if isinstance(number, int | float | Decimal) else Decimal(-1)


def _lines(key: str | None, items: list[Any]) -> list[Any]:
    if key != "Line":
        return items
    kept = [
        item
        for item in items
        if not (isinstance(item, dict) and item.get("DetailType") in COMPUTED_LINE_TYPES)
    ]
    # QuickBooks numbers lines (LineNum); ordering by it makes the arrival order irrelevant.
    if kept and all(isinstance(item, dict) and "LineNum" in item for item in kept):
        kept = sorted(kept, key=_line_position)
    return kept


def _canonical_sort(items: list[Any]) -> list[Any]:
    return sorted(items, key=lambda item: qbo_json.dumps(item, sort_keys=True))


def _normalise_scalar(value: Any, key: str | None, *, for_comparison: bool) -> Any:  # noqa: ANN401 - a JSON value
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float | Decimal):
        return _number(value) if for_comparison else _amount_text(value)
    if isinstance(value, str) and key in NUMERIC_FIELDS and for_comparison:
        try:
            return _number(Decimal(value))
        except InvalidOperation:
            return value
    if isinstance(value, str):
        return value
    msg = f"not a JSON value: {type(value).__name__}"
    raise MergeInputError(msg)


def _normalise(value: Any, key: str | None, *, for_comparison: bool) -> Any:  # noqa: ANN401 - a JSON value
    if isinstance(value, dict):
        if for_comparison and _is_reference(key, value):
            return {REFERENCE_KEY: _normalise(value[REFERENCE_KEY], None, for_comparison=True)}
        drop = LINE_SERVER_KEYS if key == "Line" else frozenset()
        return {
            name: _normalise(item, name, for_comparison=for_comparison)
            for name, item in value.items()
            if name not in drop
        }
    if isinstance(value, list | tuple):
        items = [
            # list elements inherit the list's key, so Line items drop their Id and LineNum
            _normalise(item, key, for_comparison=for_comparison)
            for item in _lines(key, list(value))
        ]
        return _canonical_sort(items) if key in UNORDERED_LISTS else items
    return _normalise_scalar(value, key, for_comparison=for_comparison)


def _shape(documents: Iterable[Mapping[str, Any]]) -> _Shape:
    """The keys used at each path (list positions collapsed to ``[]``) of the given documents."""
    shape: dict[tuple[str, ...], set[str]] = {}

    def visit(value: Any, path: tuple[str, ...]) -> None:  # noqa: ANN401 - a JSON value
        if isinstance(value, dict):
            shape.setdefault(path, set()).update(value)
            for name, item in value.items():
                visit(item, (*path, name))
        elif isinstance(value, list):
            for item in value:
                visit(item, (*path, "[]"))

    for document in documents:
        visit(document, ())
    return shape


def _project(value: Any, path: tuple[str, ...], shape: _Shape) -> Any:  # noqa: ANN401 - a JSON value
    if isinstance(value, dict):
        keys = shape.get(path)
        if keys is None:  # K-Connector writes this object's value whole (e.g. a new field)
            return value
        if path == _LINE_ITEM_PATH:  # kept until the lines are ordered, then dropped
            keys = keys | LINE_SERVER_KEYS
        return {
            name: _project(item, (*path, name), shape)
            for name, item in value.items()
            if name in keys
        }
    if isinstance(value, list):
        return [_project(item, (*path, "[]"), shape) for item in value]
    return value


def comparable(
    document: Mapping[str, Any], *, shape_of: Iterable[Mapping[str, Any]] | None = None
) -> dict[str, Any]:
    """A document in the normalised form the merge compares.

    - Top-level `SERVER_FIELDS` (Id, SyncToken, MetaData, domain, sparse) are dropped.
    - Numbers (JSON numbers, `Decimal`, and decimal strings in QuickBooks' numeric fields such as
      Amount, Qty, UnitPrice, TotalTax) become normalised `Decimal`: "20.00", 20 and 20.0 are equal.
    - Lines: QuickBooks' ``Id`` and ``LineNum`` are dropped and computed ``SubTotalLineDetail``
      lines removed; lines keep their order (their position on the document), read in
      ``LineNum`` order when QuickBooks numbered them.
    - References (``*Ref`` objects) keep only their ``value`` (the Id); names are display data.
    - `UNORDERED_LISTS` (TaxLine, LinkedTxn, CustomField) are sorted by content.
    - With `shape_of`, every object is projected onto the keys those documents use at the same
      path: what K-Connector never writes (fields QuickBooks computes, such as TotalAmt or
      TxnTaxDetail.TaxLine when the body does not send them, or a line's ItemAccountRef) is not
      compared. Top-level fields K-Connector never writes are QuickBooks' own: a sparse update
      leaves them alone.

    Args:
        document: a body or a QuickBooks document.
        shape_of: the documents whose shape to project onto (base and ours), or None.

    Returns:
        The normalised document.
    """
    body = {name: value for name, value in document.items() if name not in SERVER_FIELDS}
    if shape_of is not None:
        body = _project(body, (), _shape(shape_of))
    normalised: dict[str, Any] = _normalise(body, None, for_comparison=True)
    return normalised


def contract_form(value: Any, key: str | None = None) -> Any:  # noqa: ANN401 - a JSON value
    """A value as the mapper's contract writes it: amounts as decimal strings, no server keys.

    Args:
        value: a field value.
        key: the field name (decides how lists such as ``Line`` are treated).

    Returns:
        The value with numbers as decimal strings ("19.99"), computed lines and line Ids dropped,
        and unordered lists sorted by content.
    """
    return _normalise(value, key, for_comparison=False)


def fingerprint(
    base: Mapping[str, Any],
    theirs: Mapping[str, Any],
    ours: Mapping[str, Any],
    critical_fields: Collection[str],
) -> str:
    """The review-queue key of a merge: sha256 over the normalised inputs.

    Timestamps are not part of it: the same three versions are the same case, whenever they
    were read.
    """
    shape = (base, ours)
    canonical = qbo_json.dumps(
        {
            "base": comparable(base),
            "critical_fields": sorted(set(critical_fields)),
            "ours": comparable(ours),
            "theirs": comparable(theirs, shape_of=shape),
        },
        sort_keys=True,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _utc(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        msg = f"{name} must carry a time zone"
        raise MergeInputError(msg)
    return moment


def last_updated_time(document: Mapping[str, Any]) -> datetime:
    """QuickBooks' ``MetaData.LastUpdatedTime`` of a document, as an aware datetime.

    QuickBooks writes it as an ISO 8601 date-time with offset, e.g.
    ``2026-11-24T23:34:46-08:00`` (MetaData, on every entity page such as
    https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/salesreceipt).

    Raises:
        MergeInputError: no LastUpdatedTime, or one without a time zone.
    """
    meta = document.get("MetaData")
    text = meta.get("LastUpdatedTime") if isinstance(meta, dict) else None
    if not isinstance(text, str):
        msg = "document has no MetaData.LastUpdatedTime"
        raise MergeInputError(msg)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        msg = "MetaData.LastUpdatedTime is not an ISO 8601 date-time"
        raise MergeInputError(msg) from exc
    return _utc(moment, "MetaData.LastUpdatedTime")


def _is_critical(field: str, critical_fields: Collection[str], entity: str | None) -> bool:
    if field in critical_fields:
        return True
    non_critical = (
        _ANY_ENTITY_NON_CRITICAL if entity is None else NON_CRITICAL_FIELDS.get(entity, frozenset())
    )
    return field not in non_critical


@dataclass(frozen=True)
class _Versions:
    base: Any
    theirs: Any
    ours: Any


def _decide(
    field: str, versions: _Versions, *, critical: bool, ours_is_later: bool
) -> FieldDecision:
    ours_changed = versions.ours != versions.base
    theirs_changed = versions.theirs != versions.base
    if ours_changed and theirs_changed and versions.ours != versions.theirs:
        if critical:
            return FieldDecision(field, Side.NEITHER, Reason.CRITICAL_CONFLICT)
        if ours_is_later:
            return FieldDecision(field, Side.OURS, Reason.LWW_OURS)
        return FieldDecision(field, Side.THEIRS, Reason.LWW_THEIRS)
    side, reason = _ONE_SIDED[ours_changed, theirs_changed]
    return FieldDecision(field, side, reason)


# (ours changed, theirs changed) -> decision, when the two sides do not disagree
_ONE_SIDED: Final[Mapping[tuple[bool, bool], tuple[Side, Reason]]] = MappingProxyType(
    {
        (False, False): (Side.BOTH, Reason.UNCHANGED),
        (True, False): (Side.OURS, Reason.ONLY_OURS_CHANGED),
        (False, True): (Side.THEIRS, Reason.ONLY_THEIRS_CHANGED),
        (True, True): (Side.BOTH, Reason.BOTH_SAME),
    }
)


def _shown(value: Any) -> Any:  # noqa: ANN401 - a JSON value
    return None if value is ABSENT else value


def three_way_merge(  # noqa: PLR0913 - the three versions, the criticality and the two clocks
    base: Mapping[str, Any],
    theirs: Mapping[str, Any],
    ours: Mapping[str, Any],
    *,
    critical_fields: Collection[str],
    theirs_updated_at: datetime,
    ours_updated_at: datetime,
    entity: str | None = None,
) -> MergeResult:
    """Merge the store's new body into QuickBooks' edited document, field by field.

    The three versions must use the same references (``*Ref`` resolved to QuickBooks Ids) and
    the same ownership marker handling, so that only real edits differ.

    Args:
        base: the body K-Connector last pushed (the ledger's snapshot).
        theirs: QuickBooks' current document as read (Id, SyncToken, MetaData... allowed).
        ours: the new mapped body.
        critical_fields: the record's ``critical_fields`` (top-level fields never overwritten
            silently).
        theirs_updated_at: QuickBooks' ``MetaData.LastUpdatedTime`` (see `last_updated_time`).
        ours_updated_at: the store's ``updated_at`` (the record's ``source_updated_at``).
        entity: the QuickBooks entity, to pick its `NON_CRITICAL_FIELDS` row; None uses the
            union of all rows.

    Returns:
        The merge result; the same inputs give the same result in any key order, list order
        (where order means nothing) or amount form.

    Raises:
        MergeInputError: a timestamp without a time zone, or a value that is not JSON.
    """
    ours_is_later = _utc(ours_updated_at, "ours_updated_at") >= _utc(
        theirs_updated_at, "theirs_updated_at"
    )
    base_form = comparable(base)
    ours_form = comparable(ours)
    theirs_form = comparable(theirs, shape_of=(base, ours))
    fields = sorted((set(base_form) | set(ours_form)) - SERVER_FIELDS)

    decisions: list[FieldDecision] = []
    conflicts: list[FieldConflict] = []
    body: dict[str, Any] = {}
    removed: list[str] = []
    for field in fields:
        versions = _Versions(
            base_form.get(field, ABSENT),
            theirs_form.get(field, ABSENT),
            ours_form.get(field, ABSENT),
        )
        decision = _decide(
            field,
            versions,
            critical=_is_critical(field, critical_fields, entity),
            ours_is_later=ours_is_later,
        )
        decisions.append(decision)
        if decision.reason is Reason.CRITICAL_CONFLICT:
            conflicts.append(
                FieldConflict(
                    field, _shown(versions.base), _shown(versions.theirs), _shown(versions.ours)
                )
            )
        elif decision.side is Side.OURS and versions.ours is ABSENT:
            removed.append(field)
        elif decision.side is Side.OURS:
            body[field] = contract_form(ours[field], field)

    key = fingerprint(base, theirs, ours, critical_fields)
    if conflicts:
        return MergeResult(
            Outcome.CONFLICT, None, tuple(decisions), tuple(conflicts), tuple(removed), key
        )
    kept_theirs = any(d.side is Side.THEIRS for d in decisions)
    if body:
        outcome = Outcome.MERGED if kept_theirs else Outcome.TAKE_OURS
        return MergeResult(outcome, body, tuple(decisions), (), tuple(removed), key)
    outcome = Outcome.TAKE_THEIRS if kept_theirs or removed else Outcome.NO_CHANGE
    return MergeResult(outcome, None, tuple(decisions), (), tuple(removed), key)
