"""The seeded companies: what a store sync needs to find in a fresh QuickBooks Online realm.

Three kinds of company (chosen with `CompanyKind`): a US company with automated sales tax
(TaxCodes TAX and NON), a Canadian company with GST/PST/HST TaxCodes and multicurrency (CAD home,
USD customers), and a UK company whose forms default to VAT-inclusive amounts. Names follow the
QuickBooks Online sample company (e.g. "Amy's Bird Sanctuary", "Sales of Product Income",
"Undeposited Funds").
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from kconnector_sandbox.qbo.company import Company, CompanyProfile
from kconnector_sandbox.qbo.sales_tax import Rate, TaxMode

if TYPE_CHECKING:
    from kconnector_sandbox.qbo.timekeeping import Clock


class CompanyKind(StrEnum):
    """The seeded company variants."""

    US = "US"
    CA = "CA"
    GB = "GB"


DEFAULT_REALMS: dict[str, CompanyKind] = {
    "9130357600000001": CompanyKind.US,
    "9130357600000002": CompanyKind.CA,
    "9130357600000003": CompanyKind.GB,
}

_US_RATE = Rate("1", Decimal("8.25"))


def profile_for(kind: CompanyKind, realm_id: str) -> CompanyProfile:
    """The company settings of a seeded kind."""
    if kind is CompanyKind.US:
        return CompanyProfile(
            realm_id, "K-Connector Demo Store (US)", "US", "USD", us_tax_rate=_US_RATE
        )
    if kind is CompanyKind.CA:
        return CompanyProfile(
            realm_id,
            "K-Connector Demo Store (CA)",
            "CA",
            "CAD",
            multicurrency=True,
            tax_mode=TaxMode.EXCLUDED,
            exchange_rates={"USD": Decimal("1.35")},
        )
    return CompanyProfile(
        realm_id, "K-Connector Demo Store (UK)", "GB", "GBP", tax_mode=TaxMode.INCLUSIVE
    )


def _ref(value: str, name: str | None = None) -> dict[str, str]:
    return {"value": value} if name is None else {"value": value, "name": name}


_ACCOUNTS: tuple[tuple[str, str, str, str], ...] = (
    ("1", "Sales of Product Income", "Income", "SalesOfProductIncome"),
    ("2", "Services", "Income", "ServiceFeeIncome"),
    ("3", "Shipping Income", "Income", "OtherPrimaryIncome"),
    ("4", "Undeposited Funds", "Other Current Asset", "UndepositedFunds"),
    ("5", "Checking", "Bank", "Checking"),
    ("6", "Gift Card Liability", "Other Current Liability", "OtherCurrentLiabilities"),
    ("7", "Discounts given", "Income", "DiscountsRefundsGiven"),
    ("8", "Inventory Asset", "Other Current Asset", "Inventory"),
    ("9", "Cost of Goods Sold", "Cost of Goods Sold", "SuppliesMaterialsCogs"),
    ("10", "Sales Tax Payable", "Other Current Liability", "SalesTaxPayable"),
    # A new QuickBooks company's chart of accounts has it; processor fees on payouts land here.
    ("11", "Bank Charges & Fees", "Expense", "BankCharges"),
)

# (Id, Name, Type, Sku, UnitPrice, income account Id)
_ITEMS: tuple[tuple[str, str, str, str | None, str, str], ...] = (
    ("1", "Services", "Service", None, "0", "2"),
    ("2", "Shipping", "Service", "SHIPPING", "0", "3"),
    ("3", "Discounts", "NonInventory", "DISCOUNT", "0", "7"),
    # No gift card item: a new QuickBooks company has none, and an item on a liability account
    # is bookkeeping setup a user does once (docs/mapping.md, "Setup in QuickBooks"). Ids 5 and
    # 6 stay as they were.
    ("5", "Widget", "NonInventory", "WID-001", "19.99", "1"),
    ("6", "Gadget", "NonInventory", "GAD-002", "35.00", "1"),
)

_PAYMENT_METHODS: tuple[tuple[str, str, str], ...] = (
    ("1", "Cash", "NON_CREDIT_CARD"),
    ("2", "Check", "NON_CREDIT_CARD"),
    ("3", "Visa", "CREDIT_CARD"),
    ("4", "MasterCard", "CREDIT_CARD"),
    ("5", "American Express", "CREDIT_CARD"),
    ("6", "PayPal", "NON_CREDIT_CARD"),
)

# kind -> (TaxRates (Id, Name, percent), TaxCodes (Id, Name, [TaxRate Ids]))
_TAXES: dict[
    CompanyKind,
    tuple[tuple[tuple[str, str, str], ...], tuple[tuple[str, str, tuple[str, ...]], ...]],
] = {
    CompanyKind.US: (
        (("1", "Combined Rate", "8.25"),),
        (("TAX", "TAX", ()), ("NON", "NON", ())),
    ),
    CompanyKind.CA: (
        (
            ("1", "GST", "5"),
            ("2", "PST (BC)", "7"),
            ("3", "HST ON", "13"),
            ("4", "Zero-rated", "0"),
            ("5", "QST QC", "9.975"),
        ),
        (
            ("1", "GST", ("1",)),
            ("2", "GST/PST BC", ("1", "2")),
            ("3", "HST ON", ("3",)),
            ("4", "Exempt", ("4",)),
            # A Canadian company that sells to Quebec has its GST + QST (not compound since
            # 2013) as one combined code, as it has GST/PST for BC:
            # https://quickbooks.intuit.com/learn-support/en-ca/help-article/sales-taxes/set-sales-tax-quebec-quickbooks-online/L2ZOM4G0h_CA_en_CA
            ("5", "GST/QST QC", ("1", "5")),
        ),
    ),
    CompanyKind.GB: (
        (("1", "20.0% S", "20"), ("2", "5.0% R", "5"), ("3", "0.0% Z", "0")),
        (
            ("1", "20.0% S", ("1",)),
            ("2", "5.0% R", ("2",)),
            ("3", "0.0% Z", ("3",)),
            ("4", "Exempt", ()),
        ),
    ),
}


def _customers(kind: CompanyKind) -> list[dict[str, Any]]:
    customers: list[dict[str, Any]] = [
        {
            "DisplayName": "Amy's Bird Sanctuary",
            "GivenName": "Amy",
            "FamilyName": "Lauterbach",
            "PrimaryEmailAddr": {"Address": "birds@intuit.com"},
        },
        {
            "DisplayName": "Bill's Windsurf Shop",
            "CompanyName": "Bill's Windsurf Shop",
            "PrimaryEmailAddr": {"Address": "surf@intuit.com"},
        },
        {
            "DisplayName": "Cool Cars",
            "CompanyName": "Cool Cars",
            "PrimaryEmailAddr": {"Address": "cool_cars@intuit.com"},
        },
    ]
    if kind is CompanyKind.CA:
        customers.append({"DisplayName": "Yankee Traders (USD)", "CurrencyRef": _ref("USD")})
    return customers


def seed_company(kind: CompanyKind, realm_id: str, clock: Clock) -> Company:
    """A company of `kind` with its accounts, items, payment methods, taxes and customers."""
    profile = profile_for(kind, realm_id)
    company = Company(profile, clock)
    home = _ref(profile.home_currency)
    for account_id, name, account_type, sub_type in _ACCOUNTS:
        company.seed(
            "Account",
            {
                "Id": account_id,
                "Name": name,
                "FullyQualifiedName": name,
                "Active": True,
                "AccountType": account_type,
                "AccountSubType": sub_type,
                "CurrentBalance": Decimal(0),
                "CurrencyRef": home,
            },
        )
    for item_id, name, item_type, sku, price, income in _ITEMS:
        item: dict[str, Any] = {
            "Id": item_id,
            "Name": name,
            "FullyQualifiedName": name,
            "Active": True,
            "Type": item_type,
            "UnitPrice": Decimal(price),
            "Taxable": True,
            "IncomeAccountRef": _ref(income),
        }
        if sku is not None:
            item["Sku"] = sku
        company.seed("Item", item)
    for method_id, name, method_type in _PAYMENT_METHODS:
        company.seed(
            "PaymentMethod", {"Id": method_id, "Name": name, "Active": True, "Type": method_type}
        )
    rates, codes = _TAXES[kind]
    for rate_id, name, percent in rates:
        company.seed(
            "TaxRate",
            {
                "Id": rate_id,
                "Name": name,
                "Description": name,
                "Active": True,
                "RateValue": Decimal(percent),
                "AgencyRef": _ref("1"),
                "SpecialTaxType": "NONE",
                "DisplayType": "ReadOnly",
            },
        )
    rate_names = {rate_id: name for rate_id, name, _ in rates}
    for code_id, name, rate_ids in codes:
        company.seed(
            "TaxCode",
            {
                "Id": code_id,
                "Name": name,
                "Description": name,
                "Active": True,
                "Taxable": bool(rate_ids) or code_id == "TAX",
                "TaxGroup": len(rate_ids) > 1,
                "SalesTaxRateList": {
                    "TaxRateDetail": [
                        {
                            "TaxRateRef": _ref(rid, rate_names[rid]),
                            "TaxTypeApplicable": "TaxOnAmount",
                            "TaxOrder": 0,
                        }
                        for rid in rate_ids
                    ]
                },
                "PurchaseTaxRateList": {"TaxRateDetail": []},
            },
        )
    for customer in _customers(kind):
        customer.setdefault("CurrencyRef", home)
        company.seed("Customer", {"Active": True, "Balance": Decimal(0), **customer})
    return company
