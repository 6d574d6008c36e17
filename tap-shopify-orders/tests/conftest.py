"""Shared fixtures: the Shopify emulator served on loopback, a tap runner, a fake GraphQL API."""

from __future__ import annotations

import contextlib
import copy
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from kconnector_sandbox.options import SandboxOptions
from kconnector_sandbox.runner import ServedApp
from kconnector_sandbox.shopify import build
from tap_shopify_orders.tap import TapShopifyOrders

if TYPE_CHECKING:
    import requests_mock as requests_mock_module

FIXTURES = Path(__file__).parent / "fixtures"
MOCK_SHOP = "kc-test.myshopify.com"
MOCK_URL = f"https://{MOCK_SHOP}/admin/api/2026-01/graphql.json"
# The fake shop's "now": two weeks after `mock_config`'s start date, so the default
# `bulk_threshold_days` (30) keeps the run on the paged path on any date the suite runs.
MOCK_NOW = datetime(2026, 11, 15, 12, 0, tzinfo=UTC)
# The tap's clock per served emulator (by its base URL): the shop's own "now".
EMULATOR_CLOCKS: dict[str, Callable[[], datetime]] = {}


def clock_for(config: dict[str, Any]) -> Callable[[], datetime]:
    """The clock a tap run uses: the served emulator's shop time, else the fake shop's `MOCK_NOW`.

    No test reads the wall clock: a date fixed in a test never ages into another code path.
    """
    api_url = str(config.get("api_url") or "")
    for base_url, clock in EMULATOR_CLOCKS.items():
        if api_url.startswith(f"{base_url}/"):
            return clock
    return lambda: MOCK_NOW


def load_fixture(name: str) -> dict[str, Any]:
    """A fresh copy of a JSON fixture."""
    fixture: dict[str, Any] = json.loads(
        (FIXTURES / name).read_text(encoding="utf-8"), parse_float=Decimal
    )
    return fixture


@dataclass
class TapRun:
    """What one tap run wrote."""

    messages: list[dict[str, Any]]
    tap: TapShopifyOrders

    def records(self, stream: str) -> list[dict[str, Any]]:
        return [
            m["record"] for m in self.messages if m["type"] == "RECORD" and m["stream"] == stream
        ]

    @property
    def state(self) -> dict[str, Any]:
        state: dict[str, Any] = [m for m in self.messages if m["type"] == "STATE"][-1]["value"]
        return state


def run_tap(config: dict[str, Any], state: dict[str, Any] | None = None, **attrs: Any) -> TapRun:
    """Run a full sync and capture its Singer messages."""
    tap = TapShopifyOrders(config=config, state=copy.deepcopy(state) if state else None)
    attrs.setdefault("clock", clock_for(config))
    for name, value in attrs.items():
        setattr(tap.streams["orders"], name, value)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        tap.sync_all()
    return TapRun([json.loads(line) for line in out.getvalue().splitlines()], tap)


@dataclass
class Emulator:
    """A served emulator and how to reach one of its shops."""

    emulator: Any
    url: str

    def shop(self, key: str = "us") -> Any:
        return self.emulator.shop(key)

    def config(self, key: str = "us", **overrides: Any) -> dict[str, Any]:
        shop = self.shop(key)
        config = {
            "shop": shop.profile.domain,
            "access_token": shop.profile.access_token,
            "start_date": "2020-01-01T00:00:00Z",
            "api_url": f"{self.url}/shops/{shop.profile.domain}",
            "bulk_threshold_days": 18000,
        }
        config.update(overrides)
        return config


@contextlib.contextmanager
def serve_emulator(orders: int, time_scale: float, seed: int = 7) -> Iterator[Emulator]:
    """A freshly seeded emulator, served on a free loopback port until the block ends."""
    emulator = build(SandboxOptions(seed=seed, orders=orders, time_scale=time_scale))
    with ServedApp(emulator.app) as served:
        EMULATOR_CLOCKS[served.url] = emulator.clock.now
        try:
            yield Emulator(emulator, served.url)
        finally:
            del EMULATOR_CLOCKS[served.url]


@pytest.fixture
def small_store() -> Iterator[Emulator]:
    """A fresh 40-order store per test (tests change it through the admin API)."""
    with serve_emulator(orders=40, time_scale=600) as emulator:
        yield emulator


# --- a fake GraphQL endpoint for requests-mock --------------------------------------------------

GraphQLHandler = Callable[[dict[str, Any]], Any]


def cost(requested: int = 100, available: float = 1900.0) -> dict[str, Any]:
    """An `extensions.cost` block as Shopify sends it."""
    return {
        "cost": {
            "requestedQueryCost": requested,
            "actualQueryCost": requested // 2,
            "throttleStatus": {
                "maximumAvailable": 2000.0,
                "currentlyAvailable": available,
                "restoreRate": 100.0,
            },
        }
    }


def shop_access(scopes: tuple[str, ...] = ("read_orders", "read_all_orders")) -> dict[str, Any]:
    return {
        "shop": {
            "myshopifyDomain": MOCK_SHOP,
            "currencyCode": "USD",
            "ianaTimezone": "America/New_York",
        },
        "currentAppInstallation": {"accessScopes": [{"handle": s} for s in scopes]},
    }


@dataclass
class FakeShopify:
    """Answers GraphQL operations by name; every request is kept for assertions."""

    handlers: dict[str, GraphQLHandler] = field(default_factory=dict)
    calls: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.handlers.setdefault("ShopAccess", lambda _v: {"data": shop_access()})
        self.handlers.setdefault("DeletedOrders", lambda _v: {"data": no_events()})
        self.handlers.setdefault(
            "OrdersCount", lambda _v: {"data": {"ordersCount": {"count": 1, "precision": "EXACT"}}}
        )

    def __call__(self, request: Any, context: Any) -> Any:
        body = request.json()
        operation = body.get("operationName") or "anonymous"
        self.calls.append({"operation": operation, "variables": body.get("variables") or {}})
        answer = self.handlers[operation](body.get("variables") or {})
        if isinstance(answer, tuple):  # (status, body) or (status, body, headers)
            context.status_code, answer, *headers = answer
            context.headers.update(headers[0] if headers else {})
        if isinstance(answer, dict) and context.status_code == 200:
            answer.setdefault("extensions", cost())
        context.headers["Content-Type"] = "application/json"
        # Fixture decimals go out as strings (the tap reads rates given as numbers or strings).
        return json.dumps(answer, default=str) if not isinstance(answer, str) else answer

    def operations(self) -> list[str]:
        return [c["operation"] for c in self.calls]


def no_events() -> dict[str, Any]:
    return {"events": {"pageInfo": {"hasNextPage": False, "endCursor": None}, "nodes": []}}


def orders_page(orders: list[dict[str, Any]], *, next_cursor: str | None = None) -> dict[str, Any]:
    return {
        "data": {
            "orders": {
                "pageInfo": {"hasNextPage": next_cursor is not None, "endCursor": next_cursor},
                "nodes": orders,
            }
        }
    }


@pytest.fixture
def fake_shopify(requests_mock: requests_mock_module.Mocker) -> FakeShopify:
    """A fake GraphQL Admin endpoint at `MOCK_URL`."""
    fake = FakeShopify()
    requests_mock.post(MOCK_URL, text=fake)
    return fake


@pytest.fixture
def mock_config() -> dict[str, Any]:
    return {
        "shop": MOCK_SHOP,
        "access_token": "shpat_test",
        "start_date": "2026-11-01T00:00:00Z",
        "lookback_window_minutes": 0,
    }


@pytest.fixture
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record the waits of backoff, pacing and bulk polling instead of sleeping."""
    waits: list[float] = []
    monkeypatch.setattr("time.sleep", waits.append)
    return waits


@pytest.fixture
def documented_order() -> dict[str, Any]:
    """An order shaped like the docs' Order object (amounts as Shopify's decimal strings)."""
    return load_fixture("order_docs.json")


@pytest.fixture
def tap_run() -> Callable[..., TapRun]:
    """`run_tap(config, state=None, **stream_attributes)`: a full sync, messages captured."""
    return run_tap


@pytest.fixture
def bodies() -> Any:
    """Builders of Shopify response bodies for the fake endpoint."""
    import types  # noqa: PLC0415 - only this fixture needs it

    return types.SimpleNamespace(
        cost=cost, shop_access=shop_access, no_events=no_events, orders_page=orders_page
    )


@pytest.fixture(scope="module")
def large_store() -> Iterator[Emulator]:
    """A seeded store of 1,000 orders per shop (every scenario the emulator generates)."""
    with serve_emulator(orders=1000, time_scale=600, seed=3) as emulator:
        yield emulator


@pytest.fixture
def store_factory() -> Callable[..., contextlib.AbstractContextManager[Emulator]]:
    """`serve_emulator(orders, time_scale, seed)` for tests that need their own settings."""
    return serve_emulator
