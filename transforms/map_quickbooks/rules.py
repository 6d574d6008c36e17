"""The mapping rules: settings read once into a frozen, typed object, and safe rule conditions.

Conditions are simpleeval expressions (as singer-sdk's stream maps use): no `eval`, no attribute
access to internals, no functions but the few listed in `CONDITION_FUNCTIONS` (the library's
random functions are removed: mapping is deterministic). Every expression is compiled and tried on
a sample order when the settings are read, so a bad rule fails at start with the setting's name.
"""

from __future__ import annotations

import hashlib
import json
import string
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal, NoReturn, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import simpleeval
from singer_sdk.exceptions import ConfigValidationError

from kconnector_canonical.money import is_currency_code
from map_quickbooks.config_schema import CONFIG_SCHEMA

if TYPE_CHECKING:
    import ast
    from collections.abc import Mapping

# Bumped whenever the same input and rules give a different output (every golden file changes).
# 3: restocked refund lines credit their own item; 4: TxnDate in the record's own zone;
# 5: a customer with an e-mail is identified by it, names made valid for QuickBooks;
# 6: payouts map to Deposits (stream `deposits`, docs/payouts.md); other documents unchanged
MAPPING_RULES_VERSION = "7"

# QuickBooks DocNumber is at most 21 characters ("String length ... Max:21", error 2050):
# https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/invoice
# https://www.chargebee.com/docs/billing/2.0/kb/accounting/qbo-error-code2050
DOC_NUMBER_MAX_LENGTH = 21

DocumentKind = Literal["sales_receipt", "invoice"]

CONDITION_FUNCTIONS: dict[str, Any] = {
    "lower": str.lower,
    "upper": str.upper,
    "startswith": str.startswith,
    "endswith": str.endswith,
    "len": len,
}

# The names a condition may use, with a sample value of each type (for the config-time check).
CONDITION_SAMPLE: dict[str, Any] = {
    "platform": "shopify",
    "store": "example.myshopify.com",
    "channel": "web",
    "tags": ["wholesale"],
    "gateway": "shopify_payments",
    "gateways": ["shopify_payments"],
    "currency": "USD",
    "total": Decimal("10.00"),
    "financial_status": "paid",
    "status": "open",
    "paid_at_checkout": True,
    "checkout_payments": 1,
    "customer_is_guest": False,
}

_DEFAULT_BANK_ACCOUNT = "Checking"  # payout_bank_account's default, and a map's fallback
_DOC_FIELDS = frozenset({"prefix", "order_number", "name", "source_id"})
_REFUND_DOC_FIELDS = frozenset({"prefix", "refund_id", "order_source_id"})
_SUMMARY_CUSTOMER_FIELDS = frozenset({"platform", "store"})
_POSTING_SETTINGS = frozenset({"posting_mode", "summary_customer_name"})


def _error(setting: str, message: str) -> ConfigValidationError:
    return ConfigValidationError(
        f"Invalid setting {setting}: {message}", errors=[f"{setting}: {message}"]
    )


def _invalid(setting: str, message: str) -> NoReturn:
    raise _error(setting, message)


@dataclass(frozen=True, slots=True)
class Condition:
    """A compiled simpleeval expression over an order's facts."""

    setting: str
    expression: str
    _parsed: ast.expr = field(repr=False, compare=False)

    @classmethod
    def compile(cls, setting: str, expression: str) -> Condition:
        """Parse and try the expression on a sample order.

        Raises:
            ConfigValidationError: naming `setting` when the expression is unsafe or invalid.
        """
        evaluator = _evaluator(CONDITION_SAMPLE)
        try:
            parsed = evaluator.parse(expression)
            evaluator.eval(expression, previously_parsed=parsed)
        except (simpleeval.InvalidExpression, SyntaxError, TypeError, ValueError) as exc:
            msg = f"expression {expression!r} is not allowed: {exc}"
            raise _error(setting, msg) from exc
        return cls(setting, expression, parsed)

    def matches(self, facts: Mapping[str, Any]) -> bool:
        """True when the expression holds for `facts` (an evaluation error counts as false)."""
        evaluator = _evaluator(facts)
        try:
            return bool(evaluator.eval(self.expression, previously_parsed=self._parsed))
        except (simpleeval.InvalidExpression, TypeError, ValueError):
            return False


def _evaluator(names: Mapping[str, Any]) -> simpleeval.EvalWithCompoundTypes:
    return simpleeval.EvalWithCompoundTypes(names=dict(names), functions=dict(CONDITION_FUNCTIONS))


@dataclass(frozen=True, slots=True)
class DocumentTypeRule:
    """`when` holds -> the order's document is `kind`."""

    when: Condition
    kind: DocumentKind


@dataclass(frozen=True, slots=True)
class Settings:
    """Every mapping rule, typed; built once by `from_config`, never from the raw dict later."""

    document_type_rules: tuple[DocumentTypeRule, ...] = ()
    paid_at_checkout_window_minutes: int = 60
    item_map: Mapping[str, str] = field(default_factory=dict)
    unmatched_item_policy: Literal["create", "default_item", "error"] = "create"
    income_account: str = "Sales of Product Income"
    item_type: str = "NonInventory"
    default_item: str = "Sales"
    shipping_item: str = "Shipping"
    fee_item: str = "Fees"
    tip_item: str = "Tips"
    gift_card_liability_item: str = "Gift Card"
    gift_card_payment_method: str = "Gift Card"
    refund_item: str = "Refunds"
    refund_goods_item: Literal["original_when_restocked", "original", "refund_item"] = (
        "original_when_restocked"
    )
    discount_mode: Literal["discount_line", "reduced_unit_price"] = "discount_line"
    discount_account: str = "Discounts given"
    tax_mode: Literal["us_automated", "tax_codes"] = "us_automated"
    tax_code_map: Mapping[str, str] = field(default_factory=dict)
    tax_rate_map: Mapping[str, str] = field(default_factory=dict)
    exempt_tax_code: str = "Exempt"
    us_tax_code: str | None = None
    doc_number_template: str = "{prefix}{order_number}"
    refund_doc_number_template: str = "{prefix}R{refund_id}"
    doc_number_prefix: str = ""
    store_timezone: str | None = None  # an explicit override of the records' zone (dates.py)
    guest_customer_mode: Literal["walk_in", "per_email"] = "per_email"
    walk_in_customer_name: str = "Online Customer"
    customer_match_by_name: bool = True
    payment_method_map: Mapping[str, str] = field(default_factory=dict)
    deposit_account_map: Mapping[str, str] = field(default_factory=dict)
    default_deposit_account: str = "Undeposited Funds"
    payout_bank_account: str = "Checking"
    payout_bank_accounts: Mapping[str, str] = field(default_factory=dict)  # gateway -> account
    processor_fee_account: str = "Bank Charges & Fees"
    payout_adjustment_account: str = "Payout Adjustments"
    payout_reserve_account: str = "Payout Reserve"
    invoice_on: Literal["order", "fulfillment"] = "order"
    multicurrency: bool = False
    home_currency: str | None = None
    statuses: frozenset[str] = frozenset()
    channels: frozenset[str] = frozenset()
    created_after: datetime | None = None
    created_before: datetime | None = None
    skip_test_orders: bool = True
    posting_mode: Literal["per_order", "payout_summary", "daily_summary"] = "per_order"
    summary_customer_name: str = "{platform} sales {store}"
    rules_hash: str = "default"

    @property
    def mapping_version(self) -> str:
        """`<rules version>+<hash of the settings>`: which rules produced a record."""
        return f"{MAPPING_RULES_VERSION}+{self.rules_hash}"

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Settings:
        """Read the plugin config (already checked against CONFIG_SCHEMA by the SDK).

        Raises:
            ConfigValidationError: naming the setting, for what the JSON Schema cannot check.
        """
        values = _with_defaults(config)
        rules = tuple(
            DocumentTypeRule(
                Condition.compile(f"document_type_rules[{i}].when", str(rule["when"])),
                cast("DocumentKind", rule["type"]),
            )
            for i, rule in enumerate(values["document_type_rules"])
        )
        _check_template(
            "doc_number_template", values["doc_number_template"], _DOC_FIELDS, "order_number"
        )
        _check_template(
            "refund_doc_number_template",
            values["refund_doc_number_template"],
            _REFUND_DOC_FIELDS,
            "refund_id",
        )
        if values["store_timezone"]:
            _check_timezone("store_timezone", values["store_timezone"])
        home = values["home_currency"]
        if home is not None and not is_currency_code(home):
            msg = f"{home!r} is not an ISO 4217 code such as 'USD'"
            _invalid("home_currency", msg)
        if values["multicurrency"] and home is None:
            msg = "is required when multicurrency is true"
            _invalid("home_currency", msg)
        bank = values["payout_bank_account"]
        if not isinstance(bank, (str, dict)) or not bank:
            msg = "must be an account name, or a map gateway -> account name"
            _invalid("payout_bank_account", msg)
        _check_template(
            "summary_customer_name",
            values["summary_customer_name"],
            _SUMMARY_CUSTOMER_FIELDS,
            "store",
        )
        window = values["paid_at_checkout_window_minutes"]
        if not isinstance(window, int) or window < 0:
            msg = "must be a whole number >= 0"
            _invalid("paid_at_checkout_window_minutes", msg)
        return cls(
            document_type_rules=rules,
            paid_at_checkout_window_minutes=window,
            item_map=dict(values["item_map"]),
            unmatched_item_policy=values["unmatched_item_policy"],
            income_account=values["income_account"],
            item_type=values["item_type"],
            default_item=values["default_item"],
            shipping_item=values["shipping_item"],
            fee_item=values["fee_item"],
            tip_item=values["tip_item"],
            gift_card_liability_item=values["gift_card_liability_item"],
            gift_card_payment_method=values["gift_card_payment_method"],
            refund_item=values["refund_item"],
            refund_goods_item=values["refund_goods_item"],
            discount_mode=values["discount_mode"],
            discount_account=values["discount_account"],
            tax_mode=values["tax_mode"],
            tax_code_map=dict(values["tax_code_map"]),
            tax_rate_map=dict(values["tax_rate_map"]),
            exempt_tax_code=values["exempt_tax_code"],
            us_tax_code=values["us_tax_code"] or None,
            doc_number_template=values["doc_number_template"],
            refund_doc_number_template=values["refund_doc_number_template"],
            doc_number_prefix=values["doc_number_prefix"],
            store_timezone=values["store_timezone"] or None,
            guest_customer_mode=values["guest_customer_mode"],
            walk_in_customer_name=values["walk_in_customer_name"],
            customer_match_by_name=values["customer_match_by_name"],
            payment_method_map=dict(values["payment_method_map"]),
            deposit_account_map=dict(values["deposit_account_map"]),
            default_deposit_account=values["default_deposit_account"],
            payout_bank_account=bank if isinstance(bank, str) else _DEFAULT_BANK_ACCOUNT,
            payout_bank_accounts=dict(bank) if isinstance(bank, dict) else {},
            processor_fee_account=values["processor_fee_account"],
            payout_adjustment_account=values["payout_adjustment_account"],
            payout_reserve_account=values["payout_reserve_account"],
            invoice_on=values["invoice_on"],
            multicurrency=values["multicurrency"],
            home_currency=home,
            statuses=frozenset(values["statuses"]),
            channels=frozenset(values["channels"]),
            created_after=_instant("created_after", values["created_after"]),
            created_before=_instant("created_before", values["created_before"]),
            skip_test_orders=values["skip_test_orders"],
            posting_mode=values["posting_mode"],
            summary_customer_name=values["summary_customer_name"],
            rules_hash=_rules_hash(values),
        )


def _with_defaults(config: Mapping[str, Any]) -> dict[str, Any]:
    """The declared settings only, each with its default when absent."""
    values: dict[str, Any] = {}
    for name, prop in CONFIG_SCHEMA["properties"].items():
        default = prop.get("default")
        values[name] = config.get(name, default)
        if values[name] is None and default is not None:
            values[name] = default
    return values


def _rules_hash(values: Mapping[str, Any]) -> str:
    # The posting settings at their defaults leave the hash as it was before they existed: a
    # per-order mapping keeps its mapping_version (they change no per-order document).
    values = {
        name: value
        for name, value in values.items()
        if not (name in _POSTING_SETTINGS and value == CONFIG_SCHEMA["properties"][name]["default"])
    }
    text = json.dumps(values, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _check_template(setting: str, template: str, allowed: frozenset[str], needed: str) -> None:
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError as exc:
        raise _error(setting, f"{template!r} is not a valid template: {exc}") from exc
    unknown = names - allowed
    if unknown:
        fields = ", ".join("{" + n + "}" for n in sorted(allowed))
        msg = f"unknown field(s) {sorted(unknown)} in {template!r}; use {fields}"
        raise _error(setting, msg)
    if needed not in names:
        raise _error(setting, f"{template!r} must contain {{{needed}}} so numbers stay unique")


def _check_timezone(setting: str, zone: str) -> None:
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise _error(
            setting, f"{zone!r} is not an IANA time zone such as 'America/New_York'"
        ) from exc


def _instant(setting: str, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        instant = datetime.fromisoformat(value)
    except ValueError as exc:
        raise _error(setting, f"{value!r} is not an RFC 3339 date-time") from exc
    if instant.tzinfo is None:
        raise _error(setting, f"{value!r} needs a time zone (e.g. ...Z)")
    return instant
