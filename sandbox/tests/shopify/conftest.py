import pytest
import requests

from kconnector_sandbox.options import SandboxOptions
from kconnector_sandbox.runner import ServedApp
from kconnector_sandbox.shopify import build

VERSION = "2025-10"


class ShopClient:
    def __init__(self, base_url, emulator, shop="us"):
        self.emulator = emulator
        self.shop = emulator.shop(shop)
        self.base_url = base_url
        self.url = f"{base_url}/shops/{self.shop.profile.domain}/admin/api/{VERSION}/graphql.json"
        self.token = self.shop.profile.access_token

    def post(self, query, variables=None, *, token=None, url=None):
        return requests.post(
            url or self.url,
            json={"query": query, "variables": variables or {}},
            headers={"X-Shopify-Access-Token": token or self.token},
            timeout=30,
        )

    def gql(self, query, variables=None):
        response = self.post(query, variables)
        assert response.status_code == 200, response.text
        return response.json()

    def admin(self, method, path, **kwargs):
        return requests.request(method, f"{self.base_url}/__admin/{path}", timeout=30, **kwargs)


@pytest.fixture
def served():
    """A sandbox whose clocks run 50x faster (bulk runs, bucket refills)."""
    emulator = build(SandboxOptions(seed=11, orders=80, time_scale=50.0))
    with ServedApp(emulator.app) as server:
        yield ShopClient(server.url, emulator)


@pytest.fixture
def served_realtime():
    """A sandbox in real time: the throttle bucket refills at Shopify's 100 points/s."""
    emulator = build(SandboxOptions(seed=11, orders=80, time_scale=1.0))
    with ServedApp(emulator.app) as server:
        yield ShopClient(server.url, emulator)
