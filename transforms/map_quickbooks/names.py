r"""Names QuickBooks accepts: the characters it refuses replaced, the documented lengths kept.

QuickBooks refuses a colon, a tab or a newline in a name (error 2040 "Invalid String"): the
colon separates the levels of a FullyQualifiedName (``Parent:Sub-customer``, ``Category:Item``).
Customer business rules: "The DisplayName, Title, GivenName, MiddleName, FamilyName, Suffix, and
PrintOnCheckName attributes must not contain colon (:), tab (\t), or newline (\n) characters"
(https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/customer;
the .NET/PHP SDK entity docs: "The customer name must not contain a colon (:)"). The same rule
is applied to CompanyName and to the Name of an Item or a PaymentMethod, whose names are listed
the same way. Lengths are the "max character" of each field on the entity reference pages
(Customer, Item: Name 100; PaymentMethod: Name 31).

Substitution (docs/mapping.md, "Names"): ``:`` becomes `` - `` ("ACME: Retail" ->
"ACME - Retail"); a tab, a newline or any other control character becomes a space; runs of
spaces become one; the ends are trimmed; then the text is cut to the field's length (and
trimmed again). The same table and function live in target_quickbooks.payloads, which applies
them to every body it sends; a test keeps the two copies equal.
"""

from __future__ import annotations

import re
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping

# Entity -> name field -> max characters (entity reference pages, "max character").
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


def valid_name(text: str, limit: int) -> str:
    """`text` as a QuickBooks name: no colon, tab or newline, single spaces, at most `limit`."""
    cleaned = _COLON.sub(" - ", text)
    cleaned = _CONTROL.sub(" ", cleaned)
    cleaned = _SPACES.sub(" ", cleaned).strip()
    return cleaned[:limit].rstrip()


def name_limit(entity: str, field: str) -> int:
    """The documented length of a name field (KeyError for a field that is not a name)."""
    return NAME_FIELDS[entity][field]


def with_valid_names(entity: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a create body whose name fields follow `valid_name` (others unchanged)."""
    fields = NAME_FIELDS.get(entity, {})
    return {
        key: valid_name(value, fields[key]) if key in fields and isinstance(value, str) else value
        for key, value in body.items()
    }
