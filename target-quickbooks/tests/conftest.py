"""Fixtures: a served QuickBooks emulator, target configs, hand-written mapped records, runs."""

from __future__ import annotations

import io
import json
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

import pytest

from kconnector_sandbox.options import SandboxOptions
from kconnector_sandbox.qbo import QboEmulator, build
from kconnector_sandbox.runner import ServedApp
from target_quickbooks.contract import schema_of
from target_quickbooks.target import TargetQuickBooks

if TYPE_CHECKING:
    from pathlib import Path

US_REALM = "9130357600000001"
# A recognisable secret: tests scan logs and tables for it.
CANARY_SECRET = "CANARY-SECRET-7f3a9c"
US_TAX_RATE = Decimal("0.0825")
WIDGET_PRICE = Decimal("19.99")


def cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def customer_record(n: int, *, name: str | None = None) -> dict[str, Any]:
    return {
        "external_id": f"customer:shopify:demo:{n}",
        "source_id": f"shopify:demo:{n}",
        "source_updated_at": "2026-11-01T10:00:00Z",
        "document_type": "Customer",
        "operation": "upsert",
        "body": {
            "DisplayName": name or f"Test Customer {n}",
            "GivenName": "Test",
            "FamilyName": f"Customer {n}",
            "PrimaryEmailAddr": {"Address": f"customer{n}@example.com"},
        },
        "expected": {"currency": "USD", "total": "0", "tax": "0"},
        "critical_fields": ["DisplayName"],
        "links": {},
        "mapping_version": "test+golden",
    }


def receipt_record(  # noqa: PLR0913 - a hand-written mapped order has many knobs
    n: int,
    *,
    qty: int = 2,
    customer: int | None = None,
    sku: str = "WID-001",
    on_missing: str = "error",
    updated_at: str = "2026-11-01T10:00:00Z",
    note: str | None = None,
) -> dict[str, Any]:
    subtotal = cents(WIDGET_PRICE * qty)
    tax = cents(subtotal * US_TAX_RATE)
    body: dict[str, Any] = {
        "DocNumber": f"KC{n}",
        "TxnDate": "2026-11-01",
        "PrivateNote": note or f"shopify order {n}",
        "Line": [
            {
                "DetailType": "SalesItemLineDetail",
                "Amount": str(subtotal),
                "Description": "Widget",
                "SalesItemLineDetail": {
                    "ItemRef": {
                        "by": "sku",
                        "value": sku,
                        "on_missing": on_missing,
                        "guidance": f"Create an item with SKU {sku} in QuickBooks, then retry.",
                    },
                    "Qty": str(qty),
                    "UnitPrice": str(WIDGET_PRICE),
                    "TaxCodeRef": {"by": "id", "value": "TAX"},
                },
            }
        ],
    }
    links: dict[str, str] = {}
    if customer is not None:
        body["CustomerRef"] = {"by": "external_id", "value": f"customer:shopify:demo:{customer}"}
        links["customer"] = f"customer:shopify:demo:{customer}"
    return {
        "external_id": f"shopify:demo:{n}#sales_receipt",
        "source_id": f"shopify:demo:{n}",
        "source_updated_at": updated_at,
        "document_type": "SalesReceipt",
        "operation": "upsert",
        "body": body,
        "expected": {"currency": "USD", "total": str(subtotal + tax), "tax": str(tax)},
        "critical_fields": ["Line", "TotalAmt", "CustomerRef"],
        "links": links,
        "mapping_version": "test+golden",
    }


def singer_lines(records: list[tuple[str, dict[str, Any]]], state: dict[str, Any]) -> str:
    streams = []
    for stream, _ in records:
        if stream not in streams:
            streams.append(stream)
    lines = [
        json.dumps(
            {
                "type": "SCHEMA",
                "stream": stream,
                "schema": schema_of(stream),
                "key_properties": ["external_id"],
            }
        )
        for stream in streams
    ]
    lines.extend(
        json.dumps({"type": "RECORD", "stream": stream, "record": record})
        for stream, record in records
    )
    lines.append(json.dumps({"type": "STATE", "value": state}))
    return "\n".join(lines) + "\n"


class Mapped:
    """Hand-written map-quickbooks records (tests reach it through the `mapped` fixture)."""

    realm = US_REALM
    customer = staticmethod(customer_record)
    receipt = staticmethod(receipt_record)
    lines = staticmethod(singer_lines)


@pytest.fixture
def token_keys() -> tuple[str, str]:
    """Two Fernet keys made for the tests only (the current one first, then an older one)."""
    return (
        "9o6xGvF3cC2iQb4fEeX2yJ0kqQ1nB3mVw7s5uR8tZlA=",
        "n5aqtqw0ZSBzQWnlqVo1yb5R4rZ3bDqjRPEmoT7g8mQ=",
    )


@pytest.fixture
def mapped() -> type[Mapped]:
    return Mapped


@pytest.fixture(scope="module")
def served_qbo():
    emulator = build(SandboxOptions(seed=11))
    with ServedApp(emulator.app) as served:
        yield served, emulator


@pytest.fixture
def qbo(served_qbo) -> tuple[ServedApp, QboEmulator]:
    served, emulator = served_qbo
    emulator.reset()
    return served, emulator


@pytest.fixture
def make_config(qbo, tmp_path: Path):
    served, emulator = qbo

    def make(**overrides: Any) -> dict[str, Any]:
        config: dict[str, Any] = {
            "realm_id": US_REALM,
            "client_id": emulator.credentials.client_id,
            "client_secret": emulator.credentials.client_secret,
            "refresh_token": emulator.initial_refresh_tokens[US_REALM],
            "api_url": served.url,
            "token_url": served.url + "/oauth2/v1/tokens/bearer",
            "database_url": f"sqlite:///{tmp_path / 'state.db'}",
            "min_backoff_seconds": 0.01,
            "max_backoff_seconds": 0.2,
            # Sandbox use: tokens in clear (test_target.py covers the encrypted path).
            "allow_plaintext_tokens": True,
        }
        config.update(overrides)
        return config

    return make


@pytest.fixture
def run_target(capsys):
    """Run the target over Singer lines; returns (target, STATE lines emitted)."""

    def run(config: dict[str, Any], lines: str) -> tuple[TargetQuickBooks, list[dict[str, Any]]]:
        target = TargetQuickBooks(config=config)
        target.listen(io.StringIO(lines))
        out = capsys.readouterr().out
        states = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
        return target, states

    return run


MOCK_API = "https://qbo.test"
MOCK_TOKEN_URL = "https://oauth.test/oauth2/v1/tokens/bearer"
MOCK_REALM = "4620816365"


@pytest.fixture
def mocked_qbo(tmp_path: Path, requests_mock):
    """Factory: (overrides) -> (client, store) talking to requests-mock at MOCK_API."""
    import requests  # noqa: PLC0415 - only this fixture builds sessions

    from target_quickbooks.auth import TokenManager  # noqa: PLC0415
    from target_quickbooks.client import QuickBooksClient  # noqa: PLC0415
    from target_quickbooks.rate_limits import RealmRateLimiter  # noqa: PLC0415
    from target_quickbooks.settings import Settings  # noqa: PLC0415
    from target_quickbooks.store import open_store  # noqa: PLC0415

    requests_mock.post(
        MOCK_TOKEN_URL,
        json={"access_token": "access", "refresh_token": "refresh-2", "expires_in": 3600},
    )

    def make(**overrides: Any):
        settings = Settings.from_config(
            {
                "realm_id": MOCK_REALM,
                "client_id": "client",
                "client_secret": "secret",
                "refresh_token": "refresh-1",
                "api_url": MOCK_API,
                "token_url": MOCK_TOKEN_URL,
                "database_url": f"sqlite:///{tmp_path / 'mock.db'}",
                "min_backoff_seconds": 0.001,
                "max_backoff_seconds": 0.01,
                "max_attempts": 2,
                "allow_plaintext_tokens": True,
                **overrides,
            }
        )
        store = open_store(settings.database_url)
        session = requests.Session()
        limiter = RealmRateLimiter(
            MOCK_REALM,
            requests_per_window=500,
            batches_per_window=40,
            window_seconds=60,
            max_concurrency=4,
        )
        tokens = TokenManager(settings, store.tokens, session)
        return QuickBooksClient(settings, tokens, limiter, session), store

    return make
