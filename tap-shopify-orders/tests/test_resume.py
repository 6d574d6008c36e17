"""An interrupted run resumed from its last STATE re-emits at most one page of what it emitted."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
import requests

from tap_shopify_orders.resume import RESUME_STATE_KEY, ResumeCursor

if TYPE_CHECKING:
    from collections.abc import Callable

PAGE = 5  # the page size of these runs, and their checkpoint interval


def cut_at_half(run: Any) -> tuple[set[str], dict[str, Any]]:
    """The order ids emitted before the middle record, and the last STATE before it."""
    records = [i for i, m in enumerate(run.messages) if m["type"] == "RECORD"]
    orders = [i for i in records if run.messages[i]["stream"] == "orders"]
    cut = orders[len(orders) // 2]
    emitted = {
        m["record"]["id"]
        for m in run.messages[:cut]
        if m["type"] == "RECORD" and m["stream"] == "orders"
    }
    states = [m["value"] for m in run.messages[:cut] if m["type"] == "STATE"]
    return emitted, states[-1]


def resume_after_cut(
    tap_run: Callable[..., Any], config: dict[str, Any], **attrs: Any
) -> tuple[set[str], set[str], list[str], Any]:
    """Run whole, cut at half, resume: (all ids, emitted before the cut, resumed ids, resumed)."""
    whole = tap_run(config, **attrs)
    everything = {r["id"] for r in whole.records("orders")}
    emitted, state = cut_at_half(whole)
    assert RESUME_STATE_KEY in state["bookmarks"]["orders"], "a checkpoint before the cut"
    resumed = tap_run(config, state=state, **attrs)
    return everything, emitted, [r["id"] for r in resumed.records("orders")], resumed


@pytest.mark.parametrize("path", ["paged", "bulk"])
def test_resumed_run_re_emits_at_most_one_page_and_misses_nothing(
    small_store: Any, tap_run: Callable[..., Any], path: str
) -> None:
    threshold = {"paged": 18000, "bulk": 1}[path]
    config = small_store.config("us", page_size=PAGE, bulk_threshold_days=threshold)
    everything, emitted, resumed, run = resume_after_cut(tap_run, config, bulk_poll_seconds=0.05)
    assert len(emitted) >= len(everything) // 2 - 1
    re_emitted = emitted & set(resumed)
    assert len(re_emitted) <= PAGE
    assert emitted | set(resumed) == everything
    assert len(resumed) == len(set(resumed))
    assert RESUME_STATE_KEY not in run.state["bookmarks"]["orders"], "a finished run forgets it"


def test_resumed_bulk_read_whose_url_expired_starts_a_new_operation_from_the_cursor(
    small_store: Any, tap_run: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    config = small_store.config("us", page_size=PAGE, bulk_threshold_days=1)
    whole = tap_run(config, bulk_poll_seconds=0.05)
    everything = {r["id"] for r in whole.records("orders")}
    emitted, state = cut_at_half(whole)
    kept = state["bookmarks"]["orders"]["bulk_operation"]["id"]
    response = requests.post(
        f"{small_store.url}/__admin/us/bulk", json={"expire": True}, timeout=10
    )
    assert kept in response.json()["expired"]

    resumed = tap_run(config, state=state, bulk_poll_seconds=0.05)
    ids = {r["id"] for r in resumed.records("orders")}
    assert len(emitted & ids) <= PAGE
    assert emitted | ids == everything
    assert "EXPIRED: starting a new one" in caplog.text


def test_uninterrupted_run_leaves_no_resume_position(
    small_store: Any, tap_run: Callable[..., Any]
) -> None:
    run = tap_run(small_store.config("us"))
    assert any(
        RESUME_STATE_KEY in m["value"]["bookmarks"]["orders"]
        for m in run.messages
        if m["type"] == "STATE"
    )
    assert RESUME_STATE_KEY not in run.state["bookmarks"]["orders"]


def test_cursor_knows_what_sorts_at_or_before_it() -> None:
    cursor = ResumeCursor.read({"updated_at": "2026-03-01T10:00:00Z", "ids": ["a", "b"]})
    assert cursor is not None
    assert cursor.emitted("2026-03-01T09:59:59Z", "z")
    assert cursor.emitted("2026-03-01T10:00:00Z", "a")
    assert not cursor.emitted("2026-03-01T10:00:00Z", "c")
    assert not cursor.emitted("2026-03-01T10:00:01Z", "a")
    assert cursor.state() == {"updated_at": "2026-03-01T10:00:00Z", "ids": ["a", "b"]}
    assert ResumeCursor.read(None) is None
    assert ResumeCursor.read({"ids": []}) is None
