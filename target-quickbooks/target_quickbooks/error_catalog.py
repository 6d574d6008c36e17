"""The QuickBooks error catalogue as data: HTTP status -> action, fault code -> class + guidance.

Read by small pure functions (`action_for_status`, `entry_for_fault`); docs/errors.md is the
human-readable copy and a test keeps both in step. Sources:

- HTTP statuses: https://developer.intuit.com/app/developer/qbo/docs/develop/troubleshooting/error-codes
- fault codes and fixes: https://developer.intuit.com/app/developer/qbo/docs/develop/troubleshooting/handling-common-errors
  and https://developer.intuit.com/hub/blog/2017/06/08/top-quickbooks-online-api-errors-and-how-to-handle-them
- throttling (429, "wait 60 seconds before retrying"):
  https://developer.intuit.com/app/developer/qbo/docs/learn/limits-and-throttles
- validation codes 2030 "Invalid ID", 2040 "Invalid String" ("The String may contain
  unsupported or illegal chars"), 620, 630: Intuit's IPP error code listing (validation codes
  2000-4999, general codes 600-1999); 2170 "Invalid Enumeration", 6540 "Deposited Transaction
  cannot be changed": the frequently-returned-errors post above. Names may not contain a colon,
  tab or newline: Customer business rules,
  https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/customer

Guidance names the field to look at (the fault's ``element``, stored with the dead letter) and
the fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import TYPE_CHECKING

from target_quickbooks.errors import ErrorClass

if TYPE_CHECKING:
    from collections.abc import Mapping


class Action(StrEnum):
    """What the client does with a response status."""

    SUCCEED = "succeed"  # 2xx: parse; a Fault in the body is still classified by its code
    CLASSIFY_FAULT = "classify_fault"  # 400: the fault code decides (data, conflict, system)
    REFRESH_TOKEN = "refresh_token"  # noqa: S105 - an action name, not a secret; 401: refresh the access token once, then system
    RETRY = "retry"  # transient: backoff with jitter, honouring Retry-After
    FATAL = "fatal"  # system: stop the run


@dataclass(frozen=True)
class StatusRule:
    """The action for one HTTP status and the error class if it fails."""

    action: Action
    error_class: ErrorClass
    guidance: str


_RETRY_GUIDANCE = (
    "QuickBooks was briefly unavailable or throttled the company; K-Connector retries with "
    "backoff. If it keeps happening, check https://status.developer.intuit.com and re-run."
)

STATUS_RULES: Mapping[int, StatusRule] = MappingProxyType(
    {
        200: StatusRule(Action.SUCCEED, ErrorClass.DATA, ""),
        400: StatusRule(
            Action.CLASSIFY_FAULT,
            ErrorClass.DATA,
            "QuickBooks refused the document; the fault code says why (see docs/errors.md).",
        ),
        401: StatusRule(
            Action.REFRESH_TOKEN,
            ErrorClass.SYSTEM,
            "The QuickBooks connection is no longer authorised: reconnect the app "
            "(see 'Reconnecting QuickBooks' in the README) and re-run.",
        ),
        403: StatusRule(
            Action.FATAL,
            ErrorClass.SYSTEM,
            "The app is not authorised for this company (realm_id), or the user lost access. "
            "Check realm_id, then reconnect the app as a QuickBooks admin.",
        ),
        404: StatusRule(
            Action.FATAL,
            ErrorClass.SYSTEM,
            "The QuickBooks URL does not exist: check api_url/environment; if they are right "
            "the API changed and K-Connector needs an update.",
        ),
        408: StatusRule(Action.RETRY, ErrorClass.TRANSIENT, _RETRY_GUIDANCE),
        429: StatusRule(Action.RETRY, ErrorClass.TRANSIENT, _RETRY_GUIDANCE),
        500: StatusRule(Action.RETRY, ErrorClass.TRANSIENT, _RETRY_GUIDANCE),
        502: StatusRule(Action.RETRY, ErrorClass.TRANSIENT, _RETRY_GUIDANCE),
        503: StatusRule(Action.RETRY, ErrorClass.TRANSIENT, _RETRY_GUIDANCE),
        504: StatusRule(Action.RETRY, ErrorClass.TRANSIENT, _RETRY_GUIDANCE),
    }
)

_OTHER_4XX = StatusRule(
    Action.FATAL,
    ErrorClass.SYSTEM,
    "QuickBooks answered with an unexpected client error: the API may have changed; "
    "contact K-Connector support with the intuit_tid.",
)
_OTHER_5XX = StatusRule(Action.RETRY, ErrorClass.TRANSIENT, _RETRY_GUIDANCE)


def action_for_status(status: int) -> StatusRule:
    """The rule for an HTTP status (unknown 4xx are fatal, unknown 5xx are retried)."""
    rule = STATUS_RULES.get(status)
    if rule is not None:
        return rule
    if 200 <= status < 300:  # noqa: PLR2004 - the 2xx range
        return STATUS_RULES[200]
    if status >= 500:  # noqa: PLR2004 - the 5xx range
        return _OTHER_5XX
    return _OTHER_4XX


@dataclass(frozen=True)
class FaultEntry:
    """One QuickBooks fault code: its class, a title, and what the user does."""

    code: str
    error_class: ErrorClass
    title: str
    guidance: str


_ENTRIES = (
    FaultEntry(
        "3001",
        ErrorClass.TRANSIENT,
        "ThrottleExceeded",
        "Over QuickBooks' per-company limits; retried after the wait QuickBooks asks for "
        "(60 s by default). Lower max_concurrency if it persists.",
    ),
    FaultEntry(
        "10000",
        ErrorClass.TRANSIENT,
        "System Failure Error",
        "QuickBooks had an internal error; retried with backoff.",
    ),
    FaultEntry(
        "3200",
        ErrorClass.SYSTEM,
        "AuthenticationFailed",
        "The access token was refused even after a refresh: reconnect the app (README, "
        "'Reconnecting QuickBooks') and put the new refresh token in refresh_token.",
    ),
    FaultEntry(
        "3100",
        ErrorClass.SYSTEM,
        "AuthorizationFailed",
        "The token does not give access to this company: check realm_id and reconnect the "
        "app as an admin of that company.",
    ),
    FaultEntry(
        "120",
        ErrorClass.SYSTEM,
        "Authorization Failure",
        "The connecting user lost access to QuickBooks Online (role or subscription): "
        "reconnect as a current admin of the company.",
    ),
    FaultEntry(
        "6190",
        ErrorClass.SYSTEM,
        "Invalid Company Status",
        "The company's subscription ended or has a billing problem: fix it in QuickBooks, "
        "then re-run.",
    ),
    FaultEntry(
        "5010",
        ErrorClass.CONFLICT,
        "Stale Object Error",
        "Someone edited the document in QuickBooks since K-Connector last wrote it; the "
        "change is recorded for review rather than overwritten.",
    ),
    FaultEntry(
        "6240",
        ErrorClass.DATA,
        "Duplicate Name Exists Error",
        "The name is already used by another customer, vendor or employee (names are unique "
        "across the three). Rename one of them, or let K-Connector's suffix rule apply.",
    ),
    FaultEntry(
        "6140",
        ErrorClass.DATA,
        "Duplicate Document Number Error",
        "Another transaction already has this number: turn off 'Custom transaction numbers' "
        "duplicate warnings or change the document-number rule, then retry.",
    ),
    FaultEntry(
        "6210",
        ErrorClass.DATA,
        "Duplicate Document Number Error",
        "Another transaction already has this number: change the document-number rule or "
        "the existing transaction, then retry.",
    ),
    FaultEntry(
        "610",
        ErrorClass.DATA,
        "Object Not Found",
        "A referenced customer, item, account or tax code is inactive or deleted: make it "
        "active again in QuickBooks (or map to another one), then retry.",
    ),
    FaultEntry(
        "2500",
        ErrorClass.DATA,
        "Invalid Reference Id",
        "A reference points to nothing of the expected type: check the mapping rule for the "
        "named element (e.g. the tax code or item), then retry.",
    ),
    FaultEntry(
        "2020",
        ErrorClass.DATA,
        "Required param missing",
        "A required field is empty: fix the mapping rule or the source order, then retry.",
    ),
    FaultEntry(
        "2050",
        ErrorClass.DATA,
        "String length out of range",
        "A text is longer than QuickBooks allows (e.g. DocNumber 21): shorten it in the "
        "mapping rules, then retry.",
    ),
    FaultEntry(
        "2040",
        ErrorClass.DATA,
        "Invalid String",
        "A text field (the element named in the error: a customer DisplayName or name part, an "
        "item or payment-method Name) holds a character QuickBooks refuses, such as a colon, "
        "tab or newline. K-Connector replaces them in the names it writes (docs/mapping.md, "
        "'Names'); if the text comes from a setting (item_map, payment_method_map, "
        "default_item...) or a reviewed body, remove the character there, then retry.",
    ),
    FaultEntry(
        "2030",
        ErrorClass.DATA,
        "Invalid ID",
        "A reference (the element named in the error) carries an Id that is not a QuickBooks "
        "Id: check the mapping setting that names it (a tax code, item or account given by Id) "
        "and use the Id QuickBooks shows, then retry.",
    ),
    FaultEntry(
        "2170",
        ErrorClass.DATA,
        "Invalid Enumeration",
        "A field (the element named in the error, e.g. an item Type, GlobalTaxCalculation or "
        "a PaymentMethod Type) has a value QuickBooks does not list for it: correct the setting "
        "that gives it (item_type, tax_mode...), then retry.",
    ),
    FaultEntry(
        "620",
        ErrorClass.DATA,
        "Transaction ID cannot be linked",
        "The document links to a transaction (LinkedTxn, e.g. the invoice a payment applies "
        "to) that cannot be linked: check that transaction in QuickBooks (voided, another "
        "customer, already paid), fix it, then retry.",
    ),
    FaultEntry(
        "630",
        ErrorClass.DATA,
        "Duplicate Object",
        "An object with the same unique value (the element named in the error) exists: rename "
        "or make inactive the other one in QuickBooks, or change the mapping setting, then "
        "retry.",
    ),
    FaultEntry(
        "6540",
        ErrorClass.DATA,
        "Deposited Transaction cannot be changed",
        "The payment or receipt is already in a bank deposit: remove it from the deposit in "
        "QuickBooks (or leave the change out), then retry.",
    ),
    FaultEntry(
        "2010",
        ErrorClass.DATA,
        "Invalid or unsupported property",
        "A field has a value QuickBooks cannot read: check the named element in the mapping.",
    ),
    FaultEntry(
        "6000",
        ErrorClass.DATA,
        "Business Validation Error",
        "QuickBooks refused the document for an accounting rule (see the message): fix the "
        "document or the company settings, then retry.",
    ),
    FaultEntry(
        "6070",
        ErrorClass.DATA,
        "Amount is not equal to UnitPrice * Qty",
        "A line's amount does not match price times quantity: check the mapping's rounding.",
    ),
    FaultEntry(
        "6080",
        ErrorClass.DATA,
        "No Name Provided",
        "The customer has no name fields: map at least a display or company name.",
    ),
    FaultEntry(
        "6170",
        ErrorClass.DATA,
        "Invalid TxnTaxDetail",
        "Tax detail sent on a transaction without tax: check the company's tax settings and "
        "the tax mapping.",
    ),
    FaultEntry(
        "500",
        ErrorClass.DATA,
        "Unsupported Operation",
        "QuickBooks does not allow this operation on this document (e.g. voiding a credit "
        "memo): change the mapping rule.",
    ),
    FaultEntry(
        "2000",
        ErrorClass.SYSTEM,
        "Invalid or unsupported object name",
        "QuickBooks does not know the entity K-Connector wrote: the API changed; update "
        "K-Connector.",
    ),
    FaultEntry(
        "1040",
        ErrorClass.SYSTEM,
        "Batch size exceeds allowed limit",
        "QuickBooks lowered its batch size: set batch_size lower and report it to K-Connector.",
    ),
    FaultEntry(
        "4000",
        ErrorClass.SYSTEM,
        "Error parsing query",
        "A lookup query was refused: the query language changed; update K-Connector.",
    ),
    FaultEntry(
        "4001",
        ErrorClass.SYSTEM,
        "Invalid query",
        "A lookup query was refused: the query language changed; update K-Connector.",
    ),
)

FAULT_ENTRIES: Mapping[str, FaultEntry] = MappingProxyType({e.code: e for e in _ENTRIES})

_UNKNOWN_VALIDATION = FaultEntry(
    "unknown",
    ErrorClass.DATA,
    "Unlisted validation fault",
    "QuickBooks refused the document with a fault K-Connector does not list: read the "
    "message, fix the document or the company, then retry.",
)
_UNKNOWN_SERVER = FaultEntry(
    "unknown", ErrorClass.TRANSIENT, "Unlisted server fault", _RETRY_GUIDANCE
)


def entry_for_fault(code: str, status: int) -> FaultEntry:
    """The catalogue entry for a fault code; unlisted codes take their status' class."""
    entry = FAULT_ENTRIES.get(code)
    if entry is not None:
        return entry
    if status >= 500:  # noqa: PLR2004 - the 5xx range
        return _UNKNOWN_SERVER
    return _UNKNOWN_VALIDATION


# K-Connector's own codes (docs/errors.md, "Target codes"); the mapper's MAP-* codes arrive on
# the dead_letters stream and are stored as they are.
INVALID_RECORD = "TQB-INVALID-RECORD"
UNRESOLVED_REFERENCE = "TQB-UNRESOLVED-REF"
MISSING_DEPENDENCY = "TQB-MISSING-DEPENDENCY"
UNRECONCILED = "TQB-UNRECONCILED"
REFUND_EXCEEDS_PAID = "TQB-REFUND-EXCEEDS-PAID"  # refund_guard.py
DOCUMENT_TYPE_KEPT = "TQB-DOCUMENT-TYPE-KEPT"  # document_type_guard.py
CONFLICT = "TQB-CONFLICT"
RETRIES_EXHAUSTED = "TQB-RETRIES-EXHAUSTED"
UNKNOWN_RESPONSE = "TQB-UNKNOWN-RESPONSE"
TOKEN_REVOKED = "TQB-TOKEN-REVOKED"  # noqa: S105 - an error code, not a secret
CLIENT_REJECTED = "TQB-CLIENT-REJECTED"
TOKEN_KEY = "TQB-TOKEN-KEY"  # noqa: S105 - an error code, not a secret
UNKNOWN_STREAM = "TQB-UNKNOWN-STREAM"
WRITER_LEASE = "TQB-WRITER-LEASE"
INTERNAL = "TQB-INTERNAL"
