"""QuickBooks request bodies built from mapped documents (pure functions, no I/O).

Amounts: the contract carries them as decimal strings; QuickBooks takes JSON numbers, so the
known numeric fields become `Decimal` here and `qbo_json.dumps` writes them verbatim.

Ownership marker: every document K-Connector writes carries ``[kc:<external_id> v<version>]`` in
its PrivateNote (Notes for a Customer), the version being the start of the mapped body's hash. If
the ledger is lost, the target finds its own documents by DocNumber (or TxnDate, or DisplayName)
and this marker before creating anything; and when a write was committed but its answer lost, the
version tells that QuickBooks already holds exactly this content.

Names: every body sent has its name fields made valid (`valid_name`, the rules of
map_quickbooks.names, kept equal by a test there): QuickBooks refuses a colon, a tab or a newline
in them (error 2040 "Invalid String"; Customer business rules,
https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/customer) and
anything longer than the entity reference's "max character". The mapper already sends valid
names; this is the same rule applied once more, so no body from elsewhere (a review edit, an
older mapper) is refused for it, and the ``(kc-xxxxxx)`` renaming stays within it too.
"""

from __future__ import annotations

import hashlib
import re
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

# Field names whose values are numbers in the QuickBooks API (Accounting API entity pages,
# e.g. https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/salesreceipt).
NUMERIC_FIELDS = frozenset(
    {
        "Amount",
        "Balance",
        "DiscountAmount",
        "DiscountPercent",
        "ExchangeRate",
        "HomeBalance",
        "HomeTotalAmt",
        "NetAmountTaxable",
        "Qty",
        "RemainingCredit",
        "TaxAmount",
        "TaxInclusiveAmt",
        "TaxPercent",
        "TotalAmt",
        "TotalTax",
        "UnappliedAmt",
        "UnitPrice",
    }
)
# Where the marker goes, and the field's length limit (entity reference pages: PrivateNote 4000,
# Customer Notes 2000). Items, accounts and payment methods have no notes field: they carry no
# marker (a reference-created one is found again through the ledger or by its unique name).
MARKER_FIELDS: Mapping[str, tuple[str, int]] = {
    "Customer": ("Notes", 2000),
    "SalesReceipt": ("PrivateNote", 4000),
    "Invoice": ("PrivateNote", 4000),
    "Payment": ("PrivateNote", 4000),
    "RefundReceipt": ("PrivateNote", 4000),
    "CreditMemo": ("PrivateNote", 4000),
    "Deposit": ("PrivateNote", 4000),
}
# Name fields QuickBooks keeps unique (Customer/Vendor/Employee DisplayName share one namespace).
UNIQUE_NAME_FIELDS: Mapping[str, tuple[str, int]] = {
    "Customer": ("DisplayName", 500),
    "Item": ("Name", 100),
    "Account": ("Name", 100),
    "PaymentMethod": ("Name", 31),
}
SPARSE_ENTITIES = frozenset({"Customer", "Item", "Account", "PaymentMethod"})
# Entity -> name field -> max characters ("max character" on the entity reference pages); the
# same table as map_quickbooks.names.NAME_FIELDS (a test there compares them).
NAME_FIELDS: Mapping[str, Mapping[str, int]] = MappingProxyType(
    {
        "Customer": MappingProxyType(
            {
                "DisplayName": 500,
                "Title": 16,
                "GivenName": 100,
                "MiddleName": 100,
                "FamilyName": 100,
                "Suffix": 16,
                "CompanyName": 100,
                "PrintOnCheckName": 110,
            }
        ),
        "Item": MappingProxyType({"Name": 100}),
        "PaymentMethod": MappingProxyType({"Name": 31}),
    }
)
_COLON = re.compile(r"\s*:\s*")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]")
_SPACES = re.compile(r"\s+")
_SYSTEM_FIELDS = frozenset({"Id", "SyncToken", "sparse", "MetaData", "domain"})


VERSION_LENGTH = 12


def valid_name(text: str, limit: int) -> str:
    """`text` as a QuickBooks name: `:` -> `` - ``, tab/newline -> space, single spaces, cut."""
    cleaned = _COLON.sub(" - ", text)
    cleaned = _CONTROL.sub(" ", cleaned)
    cleaned = _SPACES.sub(" ", cleaned).strip()
    return cleaned[:limit].rstrip()


def with_valid_names(entity: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `body` whose name fields (`NAME_FIELDS`) follow `valid_name`."""
    fields = NAME_FIELDS.get(entity, {})
    return {
        key: valid_name(value, fields[key]) if key in fields and isinstance(value, str) else value
        for key, value in body.items()
    }


def marker(external_id: str, version: str | None = None) -> str:
    """The ownership marker of a document (with the content version when known)."""
    if version:
        return f"[kc:{external_id} v{version[:VERSION_LENGTH]}]"
    return f"[kc:{external_id}]"


def _marker_pattern(external_id: str) -> re.Pattern[str]:
    return re.compile(re.escape(f"[kc:{external_id}") + r"(?: v([0-9a-f]+))?\]")


def _note(entity: str, document: Mapping[str, Any]) -> str:
    if entity not in MARKER_FIELDS:
        return ""
    name, _ = MARKER_FIELDS[entity]
    return str(document.get(name) or "")


def has_marker(entity: str, document: Mapping[str, Any], external_id: str) -> bool:
    """Whether a QuickBooks document carries the marker of `external_id`."""
    return _marker_pattern(external_id).search(_note(entity, document)) is not None


def marker_version(entity: str, document: Mapping[str, Any], external_id: str) -> str | None:
    """The content version in a document's marker, if it has one."""
    found = _marker_pattern(external_id).search(_note(entity, document))
    return found.group(1) if found else None


def with_numbers(value: Any) -> Any:  # noqa: ANN401 - any JSON value
    """A copy where decimal strings in numeric fields are `Decimal` (nothing else changes)."""
    if isinstance(value, dict):
        converted: dict[str, Any] = {}
        for key, item in value.items():
            if key in NUMERIC_FIELDS and isinstance(item, str):
                try:
                    converted[key] = Decimal(item)
                except InvalidOperation:
                    converted[key] = item  # QuickBooks will name the field in its fault
            else:
                converted[key] = with_numbers(item)
        return converted
    if isinstance(value, list):
        return [with_numbers(item) for item in value]
    return value


def _with_marker(
    entity: str, body: dict[str, Any], external_id: str, version: str | None
) -> dict[str, Any]:
    if entity not in MARKER_FIELDS:
        return body
    name, limit = MARKER_FIELDS[entity]
    tag = marker(external_id, version)
    note = _marker_pattern(external_id).sub("", str(body.get(name) or "")).rstrip("\n")
    room = limit - len(tag) - 1
    note = note[:room] if len(note) > room else note
    return {**body, name: f"{note}\n{tag}" if note else tag}


def create_payload(
    entity: str,
    resolved_body: Mapping[str, Any],
    external_id: str,
    *,
    version: str | None = None,
) -> dict[str, Any]:
    """The body of a create: the resolved document with valid names, numbers and the marker."""
    body = with_valid_names(
        entity, {k: v for k, v in resolved_body.items() if k not in _SYSTEM_FIELDS}
    )
    converted: dict[str, Any] = with_numbers(_with_marker(entity, body, external_id, version))
    return converted


def update_payload(  # noqa: PLR0913 - the document, its identity in QuickBooks and its version
    entity: str,
    resolved_body: Mapping[str, Any],
    external_id: str,
    *,
    qbo_id: str,
    sync_token: str,
    version: str | None = None,
) -> dict[str, Any]:
    """An update with the ledger's Id and SyncToken: full for transactions, sparse for names.

    A transaction is K-Connector's own document: a full update makes QuickBooks derive every
    computed field (TxnTaxDetail, TotalAmt, Balance) from the lines sent, whereas a sparse
    update that replaces the lines may keep a stale tax detail. Name-list entities (Customer)
    are shared with the bookkeeper, so only the fields the mapper sets change (sparse update:
    https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/customer).
    """
    body = create_payload(entity, resolved_body, external_id, version=version)
    return {**body, "Id": qbo_id, "SyncToken": sync_token, "sparse": entity in SPARSE_ENTITIES}


def reference_payload(qbo_id: str, sync_token: str) -> dict[str, Any]:
    """The body of a void or delete: only Id and SyncToken."""
    return {"Id": qbo_id, "SyncToken": sync_token}


def batch_item(
    batch_id: str, entity: str, operation: str, payload: Mapping[str, Any]
) -> dict[str, Any]:
    """One BatchItemRequest entry (operations create, update, delete)."""
    return {"bId": batch_id, "operation": operation, entity: dict(payload)}


def unique_name(entity: str, name: str, key: str) -> str:
    """A deterministic variant of a taken name: ``"<name> (kc-<6 hex of key>)"``.

    Valid and within the field's length: the name is made valid and cut to leave room for the
    suffix (never in the middle of the suffix).
    """
    _, limit = UNIQUE_NAME_FIELDS.get(entity, ("", 500))
    suffix = f"(kc-{hashlib.sha256(key.encode()).hexdigest()[:6]})"
    # Idempotent: a name that already carries this key's suffix is its own unique name.
    name = name.removesuffix(suffix).rstrip() if name.endswith(suffix) else name
    base = valid_name(name, max(0, limit - len(suffix) - 1))
    return f"{base} {suffix}" if base else suffix


def suffix_key(external_id: str) -> str:
    """The key of a document's ``(kc-xxxxxx)`` suffix: one per identity, whatever creates it.

    A customer gets the same suffix whether its Customer document or an order's reference
    (``on_missing: create``) creates it (docs/mapping.md, "Two people, one name").
    """
    return f"doc:{external_id}"


def unique_name_prefix(entity: str, name: str) -> str:
    """What every ``unique_name(entity, name, key)`` starts with, whatever the key."""
    return unique_name(entity, name, "")[: -len("(kc-000000)")]


def rename(entity: str, body: Mapping[str, Any], key: str) -> dict[str, Any] | None:
    """`body` with its unique name replaced by `unique_name`, or None if it has none."""
    field, _ = UNIQUE_NAME_FIELDS.get(entity, ("", 0))
    current = body.get(field) if field else None
    if not isinstance(current, str) or not current:
        return None
    return {**body, field: unique_name(entity, current, key)}


def lookup_values(entity: str, body: Mapping[str, Any], key: str) -> Iterable[tuple[str, str]]:
    """(field, value) pairs to find an already-written copy of this document in QuickBooks."""
    if entity in UNIQUE_NAME_FIELDS:
        field, limit = UNIQUE_NAME_FIELDS[entity]
        name = body.get(field)
        if isinstance(name, str) and name:
            name = valid_name(name, limit)
            yield field, name
            yield field, unique_name(entity, name, key)
        return
    for field in ("DocNumber", "TxnDate"):
        value = body.get(field)
        if isinstance(value, str) and value:
            yield field, value
            return
