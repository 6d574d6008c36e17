"""Exactly once under injected faults, limits kept, stale SyncTokens handled (emulator)."""

from __future__ import annotations

from collections import Counter

import pytest

from kconnector_sandbox.faults import FaultPlan
from kconnector_sandbox.options import SandboxOptions
from kconnector_sandbox.qbo import QboEmulator, QboLimits
from kconnector_sandbox.runner import ServedApp
from target_quickbooks.store import open_store

MIXED_FAULTS = "429=0.05,500=0.04,503=0.03,reset=0.03,timeout_after_commit=0.05"
TIME_SCALE = 60.0  # the emulator's "minute" lasts one second


@pytest.fixture(scope="module")
def fast_served():
    emulator = QboEmulator(SandboxOptions(seed=4, time_scale=TIME_SCALE))
    with ServedApp(emulator.app) as served:
        yield served, emulator


@pytest.fixture
def fast_qbo(fast_served, make_config):
    """A time-scaled emulator and a config whose limiter window matches it."""
    served, emulator = fast_served
    emulator.reset()

    def config(**overrides):
        return make_config(
            api_url=served.url,
            token_url=served.url + "/oauth2/v1/tokens/bearer",
            client_id=emulator.credentials.client_id,
            client_secret=emulator.credentials.client_secret,
            refresh_token=emulator.initial_refresh_tokens["9130357600000001"],
            rate_limit_window_seconds=61.0 / TIME_SCALE,
            **overrides,
        )

    return emulator, config


def kc_documents(emulator, realm: str, entity: str = "SalesReceipt") -> list[dict]:
    return [
        d
        for d in emulator.realms[realm].documents(entity)
        if "[kc:" in str(d.get("PrivateNote") or d.get("Notes") or "")
    ]


def test_mixed_faults_still_give_exactly_one_document_per_order(mapped, fast_qbo, run_target):
    emulator, make_config = fast_qbo
    emulator.injector.configure(FaultPlan.parse(MIXED_FAULTS, seed=5))
    records = [("customers", mapped.customer(c)) for c in range(10)] + [
        ("sales_receipts", mapped.receipt(n, customer=n % 10)) for n in range(300)
    ]
    # Small batches and one request at a time: many requests, and the same faults every run.
    config = make_config(batch_size=3, max_concurrency=1)
    _, states = run_target(config, mapped.lines(records, {"bookmark": 300}))

    injected = emulator.injector.injected
    assert sum(injected.values()) >= 20
    assert injected["timeout_after_commit"] > 0
    assert injected["reset"] > 0
    per_order = Counter(d["DocNumber"] for d in kc_documents(emulator, mapped.realm))
    assert per_order == Counter({f"KC{n}": 1 for n in range(300)})
    assert len(kc_documents(emulator, mapped.realm, "Customer")) == 10
    assert open_store(config["database_url"]).dead_letters.open_letters(mapped.realm) == []
    assert states == [{"bookmark": 300}]


def test_rerun_after_faulty_run_neither_duplicates_nor_misses(mapped, fast_qbo, run_target):
    emulator, make_config = fast_qbo
    emulator.injector.configure(FaultPlan.parse(MIXED_FAULTS, seed=9))
    records = [("sales_receipts", mapped.receipt(n)) for n in range(90)]
    config = make_config(batch_size=5)
    run_target(config, mapped.lines(records, {"bookmark": 1}))
    run_target(config, mapped.lines(records, {"bookmark": 1}))

    per_order = Counter(d["DocNumber"] for d in kc_documents(emulator, mapped.realm))
    assert per_order == Counter({f"KC{n}": 1 for n in range(90)})


def test_client_side_limiter_keeps_inside_time_scaled_limits(mapped, make_config, run_target):
    limits = QboLimits(requests_per_minute=30, batch_requests_per_minute=4, concurrent_requests=2)
    emulator = QboEmulator(SandboxOptions(seed=2, time_scale=120.0), limits=limits)
    with ServedApp(emulator.app) as served:
        config = make_config(
            api_url=served.url,
            token_url=served.url + "/oauth2/v1/tokens/bearer",
            client_id=emulator.credentials.client_id,
            client_secret=emulator.credentials.client_secret,
            refresh_token=emulator.initial_refresh_tokens[mapped.realm],
            batch_size=5,
            max_concurrency=2,
            requests_per_minute=30,
            batch_requests_per_minute=4,
            # 60 s / 120 plus margin: the emulator's scaled window is 0.5 s.
            rate_limit_window_seconds=0.55,
        )
        records = [("sales_receipts", mapped.receipt(n)) for n in range(40)]
        run_target(config, mapped.lines(records, {"bookmark": 1}))

    assert emulator.log.by_status.get(429, 0) == 0
    assert emulator.log.by_route["POST /v3/company/{realmId}/batch"] == 8
    assert len(kc_documents(emulator, mapped.realm)) == 40


def test_stale_sync_token_reapplies_when_quickbooks_still_matches_our_snapshot(
    mapped, qbo, make_config, run_target
):
    _, emulator = qbo
    config = make_config()
    run_target(config, mapped.lines([("sales_receipts", mapped.receipt(1, qty=1))], {"b": 1}))
    (document,) = kc_documents(emulator, mapped.realm)
    # A save in QuickBooks that changes nothing we write still bumps the SyncToken.
    emulator.realms[mapped.realm].bookkeeper_edit("SalesReceipt", document["Id"], {})

    changed = mapped.receipt(1, qty=2, updated_at="2026-11-03T00:00:00Z")
    target, _ = run_target(config, mapped.lines([("sales_receipts", changed)], {"b": 2}))

    (document,) = kc_documents(emulator, mapped.realm)
    assert document["SyncToken"] == "2"
    assert str(document["TotalAmt"]) == changed["expected"]["total"]
    assert target.delivery.counts.updated == 1
    assert target.delivery.counts.conflicts == 0


def test_stale_sync_token_with_a_quickbooks_note_edit_merges_and_keeps_the_note(
    mapped, qbo, make_config, run_target
):
    _, emulator = qbo
    config = make_config()
    run_target(config, mapped.lines([("sales_receipts", mapped.receipt(1, qty=1))], {"b": 1}))
    (document,) = kc_documents(emulator, mapped.realm)
    edited_note = document["PrivateNote"] + " (checked by bookkeeper)"
    emulator.realms[mapped.realm].bookkeeper_edit(
        "SalesReceipt", document["Id"], {"PrivateNote": edited_note}
    )

    changed = mapped.receipt(1, qty=2, updated_at="2026-11-03T00:00:00Z")
    target, states = run_target(config, mapped.lines([("sales_receipts", changed)], {"b": 2}))

    (document,) = kc_documents(emulator, mapped.realm)
    assert document["PrivateNote"].startswith("shopify order 1 (checked by bookkeeper)\n[kc:")
    assert str(document["TotalAmt"]) == changed["expected"]["total"]
    assert target.delivery.counts.merged == 1
    assert target.delivery.counts.conflicts == 0
    assert open_store(config["database_url"]).dead_letters.open_letters(mapped.realm) == []
    assert states == [{"b": 2}]
