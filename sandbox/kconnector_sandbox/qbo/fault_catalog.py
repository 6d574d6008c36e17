"""QuickBooks Online faults: the typed exception the domain raises and the JSON envelope it becomes.

Envelope (https://developer.intuit.com/app/developer/qbo/docs/develop/troubleshooting/handling-common-errors)::

    {"Fault": {"Error": [{"Message": ..., "Detail": ..., "code": "6240", "element": ""}],
               "type": "ValidationFault"}, "time": "2017-09-29T09:17:31.892-07:00"}

Codes and messages follow the error-code table at
https://developer.intuit.com/app/developer/qbo/docs/develop/troubleshooting/error-codes and the
frequently-returned-errors list at
https://developer.intuit.com/hub/blog/2017/06/08/top-quickbooks-online-api-errors-and-how-to-handle-them
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class FaultType(StrEnum):
    """The ``Fault.type`` values QBO uses."""

    VALIDATION = "ValidationFault"
    SYSTEM = "SystemFault"
    AUTHENTICATION = "AUTHENTICATION"
    AUTHORIZATION = "AuthorizationFault"
    SERVICE = "SERVICE"


@dataclass(frozen=True)
class FaultError:
    """One entry of ``Fault.Error``."""

    code: str
    message: str
    detail: str
    element: str = ""

    def as_json(self) -> dict[str, Any]:
        """The entry as QBO serialises it."""
        return {
            "Message": self.message,
            "Detail": self.detail,
            "code": self.code,
            "element": self.element,
        }


class QboFault(Exception):  # noqa: N818 - QBO calls these faults
    """A request QBO refuses: the HTTP status plus the fault body's type and error."""

    def __init__(self, status: int, fault_type: FaultType, error: FaultError) -> None:
        """Build the fault (use the constructors below rather than this directly)."""
        super().__init__(f"{error.code} {error.message}: {error.detail}")
        self.status = status
        self.fault_type = fault_type
        self.error = error

    def fault_json(self) -> dict[str, Any]:
        """The ``Fault`` object (without ``time``), as in a response or a BatchItemResponse."""
        return {"Error": [self.error.as_json()], "type": self.fault_type.value}


def _validation(code: str, message: str, detail: str, element: str = "") -> QboFault:
    return QboFault(400, FaultType.VALIDATION, FaultError(code, message, detail, element))


def object_not_found(entity: str, entity_id: str) -> QboFault:
    """610: the Id does not exist (read, update, delete)."""
    return _validation(
        "610",
        "Object Not Found",
        f"Object Not Found : Something you're trying to use has been made inactive. "
        f"Check the fields with accounts, customers, items, vendors or employees. "
        f"({entity} Id={entity_id})",
    )


def inactive_reference(ref_name: str, entity_id: str) -> QboFault:
    """610: a reference to a name-list object that was made inactive."""
    return _validation(
        "610",
        "Object Not Found",
        "Object Not Found : Something you're trying to use has been made inactive. "
        "Check the fields with accounts, customers, items, vendors or employees.",
        f"{ref_name}:{entity_id}",
    )


def invalid_reference(ref_name: str, entity: str, entity_id: str) -> QboFault:
    """2500: a ``...Ref`` whose value names no object of the expected type."""
    return _validation(
        "2500",
        "Invalid Reference Id",
        f"Invalid Reference Id : {entity} assigned to this transaction has been deleted. "
        f"Before you can modify this transaction, you must restore {entity} "
        f"(Id={entity_id}).",
        ref_name,
    )


def required_param(name: str) -> QboFault:
    """2020: a required field is missing."""
    return _validation(
        "2020",
        "Required param missing, need to supply the required value for the API",
        f"Required parameter {name} is missing in the request",
        name,
    )


def invalid_string_length(name: str, maximum: int, supplied: int) -> QboFault:
    """2050: a string longer than QBO allows (DocNumber 21, PrivateNote 4000, ...)."""
    return _validation(
        "2050",
        "String length is either shorter or longer than supported by specification",
        f"String length specified does not match the supported length. "
        f"Min:0 Max:{maximum} supported. Supplied length:{supplied}",
        name,
    )


def invalid_string(name: str) -> QboFault:
    """2040: a name carrying a character QuickBooks refuses (``:``, TAB, newline...)."""
    return _validation(
        "2040",
        "Invalid String. The String may contain unsupported or illegal chars",
        f"Element contains invalid characters ({name} must not contain a colon, a tab or a "
        f"newline)",
        name,
    )


def invalid_email(name: str) -> QboFault:
    """2040: an e-mail address without an ``@`` or without a ``.`` after it."""
    return _validation(
        "2040",
        "Invalid Email Address format",
        "Email Address does not conform to the syntax rules of RFC 822.",
        name,
    )


def invalid_date(name: str) -> QboFault:
    """2010: a date that is not an xs:date naming a real day (2026-02-30)."""
    return _validation(
        "2010",
        "Request has invalid or unsupported property",
        f"Property Name:{name} specified is unsupported or invalid: expected a real date "
        f"as YYYY-MM-DD",
        name,
    )


def negative_amount(name: str, minimum: object) -> QboFault:
    """6000: an amount below what QuickBooks accepts (a negative transaction total)."""
    return business_validation(
        f"{name} can't be less than {minimum}. Use a credit memo or a refund receipt for "
        f"money going back to the customer.",
        name,
    )


def invalid_content_type(expected: str, supplied: str) -> QboFault:
    """1050: a request body sent with a Content-Type the endpoint does not take."""
    return _validation(
        "1050",
        "Invalid Content Type",
        f"Content-Type {supplied or '(none)'} is not supported here; send {expected}.",
        "Content-Type",
    )


def batch_id_too_long(limit: int, supplied: int) -> QboFault:
    """2050 on a batch item: a ``bId`` over 10 characters in a batch sent with a requestid."""
    return invalid_string_length("bId", limit, supplied)


def invalid_value(name: str, value: str) -> QboFault:
    """2010-style: a property value the API cannot read (bad number, unknown enum...)."""
    return _validation(
        "2010",
        "Request has invalid or unsupported property",
        f"Property Name:{name} specified is unsupported or invalid (value {value!r})",
        name,
    )


def malformed_body(detail: str) -> QboFault:
    """2010: a body that is not a JSON object of the expected shape."""
    return _validation(
        "2010", "Request has invalid or unsupported property", f"Request is malformed: {detail}"
    )


def unsupported_operation(operation: str, entity: str) -> QboFault:
    """500 (QBO's code, sent with HTTP 400): the operation is not allowed on this entity."""
    return _validation(
        "500",
        "Unsupported Operation",
        f"Operation {operation} is not supported for {entity}.",
    )


def invalid_entity(name: str) -> QboFault:
    """2000: the path names an entity the API does not have."""
    return _validation(
        "2000",
        "Invalid or unsupported object name",
        f"Object Name:{name} specified is unsupported or invalid",
    )


def stale_object(entity: str, supplied: str, current: str) -> QboFault:
    """5010: the SyncToken sent is not the current one (optimistic concurrency)."""
    return _validation(
        "5010",
        "Stale Object Error",
        f"Stale Object Error : You and K-Connector Bookkeeper were working on this at the "
        f"same time. K-Connector Bookkeeper finished before you did, so your work was not "
        f"saved. ({entity} SyncToken supplied={supplied}, current={current})",
        "SyncToken",
    )


def duplicate_name(entity: str, existing_id: str) -> QboFault:
    """6240: DisplayName (Customer/Vendor/Employee) or Name (Item, Account...) already used."""
    return _validation(
        "6240",
        "Duplicate Name Exists Error",
        f"The name supplied already exists. : Another {entity.lower()} is already using "
        f"this name. Please use a different name. Id={existing_id}",
    )


def business_validation(detail: str, element: str = "") -> QboFault:
    """6000: a business rule QBO enforces (discounts, balances, linked transactions...)."""
    return _validation(
        "6000",
        "A business validation error has occurred while processing your request",
        f"Business Validation Error: {detail}",
        element,
    )


def amount_mismatch(supplied: str) -> QboFault:
    """6070: a line's Amount differs from UnitPrice x Qty (rounded to cents)."""
    return _validation(
        "6070",
        "Amount is not equal to UnitPrice * Qty",
        f"Amount is not equal to UnitPrice * Qty. Supplied value:{supplied}",
        "Line.Amount",
    )


def tax_detail_not_applicable() -> QboFault:
    """6170: TxnTaxDetail sent on a transaction whose GlobalTaxCalculation is NotApplicable."""
    return _validation(
        "6170",
        "Invalid TxnTaxDetail Error",
        "The TxnTaxDetail attribute isn't allowed when GlobalTaxCalculation is NotApplicable.",
        "TxnTaxDetail",
    )


def batch_too_large(limit: int, supplied: int) -> QboFault:
    """1040: more BatchItemRequest entries than the batch endpoint takes."""
    return _validation(
        "1040",
        "Batch size exceeds allowed limit",
        f"Batch size exceeds allowed limit. The maximum number of BatchItemRequest entries "
        f"is {limit}; the request has {supplied}.",
        "BatchItemRequest",
    )


def query_parse_error(detail: str) -> QboFault:
    """4000: the query text cannot be parsed."""
    return _validation("4000", "Error parsing query", f"QueryParserError: {detail}", "query")


def query_validation_error(detail: str) -> QboFault:
    """4001: the query parses but asks for something invalid."""
    return _validation("4001", "Invalid query", f"QueryValidationError: {detail}", "query")


def request_id_too_long(limit: int, supplied: int) -> QboFault:
    """6000: requestid longer than allowed (50 characters; 36 on batch)."""
    return business_validation(
        f"You cannot enter more than {limit} characters in the request_id field. "
        f"You tried entering {supplied} characters.",
        "requestid",
    )


def authentication_failed(detail: str) -> QboFault:
    """401 AuthenticationFailed (code 3200), as QBO answers a missing/expired/revoked token.

    Message format from responses quoted in
    https://github.com/routablehq/python-quickbooks/issues/250
    """
    return QboFault(
        401,
        FaultType.AUTHENTICATION,
        FaultError(
            "3200", "message=AuthenticationFailed; errorCode=003200; statusCode=401", detail
        ),
    )


def throttled() -> QboFault:
    """429 ThrottleExceeded (code 3001).

    Message and detail as returned by QBO, quoted in
    https://github.com/intuit/QuickBooks-V3-PHP-SDK/issues/54 ; status 429 per
    https://developer.intuit.com/app/developer/qbo/docs/learn/limits-and-throttles
    """
    return QboFault(
        429,
        FaultType.SERVICE,
        FaultError(
            "3001",
            "message=ThrottleExceeded; errorCode=003001; statusCode=429",
            "The request limit was reached.  Try again later",
        ),
    )


def system_failure() -> QboFault:
    """500 SystemFault (code 10000): an injected internal error."""
    return QboFault(
        500,
        FaultType.SYSTEM,
        FaultError(
            "10000",
            "An application error has occurred while processing your request",
            "System Failure Error: An unexpected error occurred while accessing or saving "
            "your data. Please wait a few minutes and try again. If the problem persists, "
            "contact customer support.",
        ),
    )


def unknown_realm(realm_id: str) -> QboFault:
    """403 AuthorizationFault: the token is valid but not for this company."""
    return QboFault(
        403,
        FaultType.AUTHORIZATION,
        FaultError(
            "3100",
            "message=AuthorizationFailed; errorCode=003100; statusCode=403",
            f"The application is not authorized for company {realm_id}",
        ),
    )


def json_not_accepted() -> QboFault:
    """406 (emulator-specific): the request does not accept JSON.

    QBO answers XML unless the request sends ``Accept: application/json``
    (https://developer.intuit.com/app/developer/qbo/docs/learn/rest-api-features, common request
    headers). The emulator only speaks JSON, so it refuses instead of answering XML: a client
    that forgets the header fails here as it would fail to parse QBO's XML.
    """
    return QboFault(
        406,
        FaultType.VALIDATION,
        FaultError(
            "406",
            "Not Acceptable",
            "Send Accept: application/json; QuickBooks Online answers XML otherwise.",
            "Accept",
        ),
    )
