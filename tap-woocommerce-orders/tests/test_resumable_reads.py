"""A run cut halfway and restarted from its last STATE re-emits at most about one page."""

from collections.abc import Callable
from typing import Any

PER_PAGE = 20


def cut_after_half_the_orders(output: Any) -> tuple[dict[str, Any], set[str]]:
    """The last STATE before the cut, and the orders emitted before it."""
    orders = [
        i
        for i, m in enumerate(output.messages)
        if m["type"] == "RECORD" and m["stream"] == "orders"
    ]
    cut = orders[len(orders) // 2]
    before = output.messages[:cut]
    states = [m["value"] for m in before if m["type"] == "STATE"]
    emitted = {
        m["record"]["source_id"]
        for m in before
        if m.get("stream") == "orders" and m["type"] == "RECORD"
    }
    return states[-1], emitted


def test_a_run_resumed_from_its_last_state_re_emits_at_most_one_page(
    fresh_store: Callable[..., Any], tap_run: Callable[..., Any]
) -> None:
    with fresh_store(seed=0, orders=240) as store:
        config = store.config(per_page=PER_PAGE)
        whole = tap_run(config)
        state, emitted = cut_after_half_the_orders(whole)
        resumed = tap_run(config, state=state)

    every = {r["source_id"] for r in whole.records("orders")}
    again = {r["source_id"] for r in resumed.records("orders")}
    assert "resume_from" in state["bookmarks"]["orders"]
    assert len(emitted) >= len(every) // 2
    assert emitted | again == every  # nothing missed
    assert len(emitted & again) <= PER_PAGE
    assert "resume_from" not in resumed.state["bookmarks"]["orders"]


def test_a_resumed_run_reads_the_refunds_of_the_orders_it_had_not_emitted(
    fresh_store: Callable[..., Any], tap_run: Callable[..., Any]
) -> None:
    with fresh_store(seed=1, orders=240) as store:
        config = store.config(per_page=PER_PAGE, payout_grouping="none")
        whole = tap_run(config)
        state, _ = cut_after_half_the_orders(whole)
        resumed = tap_run(config, state=state)

    before_cut = whole.messages[
        : whole.messages.index(
            next(
                m for m in reversed(whole.messages) if m["type"] == "STATE" and m["value"] == state
            )
        )
    ]
    refunds_before = {
        m["record"]["source_id"]
        for m in before_cut
        if m.get("stream") == "refunds" and m["type"] == "RECORD"
    }
    refunds_after = {r["source_id"] for r in resumed.records("refunds")}
    assert refunds_before | refunds_after == {r["source_id"] for r in whole.records("refunds")}


def test_a_state_whose_resume_point_is_not_a_date_reads_from_the_bookmark(
    fresh_store: Callable[..., Any], tap_run: Callable[..., Any]
) -> None:
    with fresh_store(seed=2, orders=30) as store:
        config = store.config(payout_grouping="none")
        whole = tap_run(config)
        broken = {"bookmarks": {"orders": {"resume_from": "yesterday"}}}
        output = tap_run(config, state=broken)

    assert output.records("orders") == whole.records("orders")
