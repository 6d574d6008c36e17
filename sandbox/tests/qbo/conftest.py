"""Fixtures: a served QBO emulator, a fake clock, and a small client that holds a token."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from kconnector_sandbox.options import SandboxOptions
from kconnector_sandbox.qbo import QboEmulator, QboLimits, build
from kconnector_sandbox.runner import ServedApp

US_REALM = "9130357600000001"
CA_REALM = "9130357600000002"
GB_REALM = "9130357600000003"


class FakeClock:
    """A clock the test moves by hand (epoch seconds)."""

    def __init__(self, start: float = 1_764_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class QboClient:
    """Plain `requests` calls against the emulator, with a bearer token for one realm."""

    base_url: str
    emulator: QboEmulator
    realm: str
    access_token: str = ""
    refresh_token: str = ""

    def basic(self) -> str:
        creds = self.emulator.credentials
        raw = f"{creds.client_id}:{creds.client_secret}".encode()
        return "Basic " + base64.b64encode(raw).decode()

    def refresh(self, refresh_token: str | None = None) -> requests.Response:
        response = requests.post(
            self.base_url + "/oauth2/v1/tokens/bearer",
            headers={"Authorization": self.basic(), "Accept": "application/json"},
            data={
                "grant_type": "refresh_token",
                "refresh_token": refresh_token or self.refresh_token,
            },
            timeout=10,
        )
        if response.status_code == 200:
            body = response.json()
            self.access_token = body["access_token"]
            self.refresh_token = body["refresh_token"]
        return response

    def url(self, tail: str) -> str:
        return f"{self.base_url}/v3/company/{self.realm}/{tail}"

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}", "Accept": "application/json"}

    def post(self, entity: str, body: Any, **params: str) -> requests.Response:
        params.setdefault("minorversion", "75")
        return requests.post(
            self.url(entity), json=body, params=params, headers=self.headers(), timeout=10
        )

    def get(self, tail: str, **params: str) -> requests.Response:
        params.setdefault("minorversion", "75")
        return requests.get(self.url(tail), params=params, headers=self.headers(), timeout=10)

    def query(self, statement: str) -> requests.Response:
        return self.get("query", query=statement)


def connect(served: ServedApp, emulator: QboEmulator, realm: str = US_REALM) -> QboClient:
    client = QboClient(served.url, emulator, realm)
    client.refresh_token = emulator.initial_refresh_tokens[realm]
    assert client.refresh().status_code == 200
    return client


@pytest.fixture
def make_client():
    """Factory: (served, emulator, realm, connected=True) -> QboClient."""

    def make(served, emulator, realm=US_REALM, *, connected=True):
        if connected:
            return connect(served, emulator, realm)
        return QboClient(served.url, emulator, realm)

    return make


@pytest.fixture(scope="module")
def served_qbo():
    emulator = build(SandboxOptions(seed=7))
    with ServedApp(emulator.app) as served:
        yield served, emulator


@pytest.fixture
def qbo(served_qbo):
    served, emulator = served_qbo
    emulator.reset()
    return served, emulator


@pytest.fixture
def us(qbo) -> QboClient:
    served, emulator = qbo
    return connect(served, emulator, US_REALM)


@pytest.fixture
def ca(qbo) -> QboClient:
    served, emulator = qbo
    return connect(served, emulator, CA_REALM)


@pytest.fixture
def gb(qbo) -> QboClient:
    served, emulator = qbo
    return connect(served, emulator, GB_REALM)


@pytest.fixture
def clocked():
    """An emulator on a fake clock with small limits, served; yields (served, emulator, clock)."""
    clock = FakeClock()
    limits = QboLimits(requests_per_minute=20, batch_requests_per_minute=3, concurrent_requests=10)
    emulator = QboEmulator(SandboxOptions(seed=3, time_scale=60.0), limits=limits, clock=clock)
    with ServedApp(emulator.app) as served:
        yield served, emulator, clock
