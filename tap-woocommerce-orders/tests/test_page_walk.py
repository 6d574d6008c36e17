from hypothesis import given
from hypothesis import strategies as st

from tap_woocommerce_orders.page_walk import PageWalk


def read_all(
    ids: list[int],
    per_page: int,
    removals_after_request: dict[int, list[int]],
    *,
    shift_aware: bool = True,
) -> tuple[list[int], list[int]]:
    """Simulate paging a live list: `removals_after_request[n]` ids leave after request n."""
    live = list(ids)
    seen: list[int] = []
    walk = PageWalk(per_page)
    page: int | None = 1
    request = 0
    while page is not None and request < 1000:
        assert page is not None
        start = (page - 1) * per_page
        seen.extend(live[start : start + per_page])
        total = len(live)
        for order_id in removals_after_request.get(request, []):
            if order_id in live:
                live.remove(order_id)
        request += 1
        if shift_aware:
            page = walk.observe(page, total)
        else:
            page = page + 1 if page * per_page < total else None
    return seen, live


@given(
    size=st.integers(min_value=0, max_value=120),
    per_page=st.integers(min_value=1, max_value=25),
    data=st.data(),
)
def test_every_order_that_stays_in_the_window_is_read_whatever_leaves_meanwhile(
    size: int, per_page: int, data: st.DataObject
) -> None:
    ids = list(range(1, size + 1))
    removals = data.draw(
        st.dictionaries(
            st.integers(min_value=0, max_value=15),
            st.lists(st.sampled_from(ids), max_size=5) if ids else st.just([]),
            max_size=6,
        )
    )
    seen, still_there = read_all(ids, per_page, removals)

    assert set(still_there) <= set(seen)


def test_plain_next_page_misses_an_order_when_one_already_read_leaves() -> None:
    ids = list(range(1, 31))
    seen, still_there = read_all(ids, 10, {0: [3]}, shift_aware=False)

    assert 11 not in seen  # moved onto page 1 after it was read
    assert set(still_there) - set(seen) == {11}


def test_shift_aware_walk_steps_back_and_reads_the_moved_order() -> None:
    ids = list(range(1, 31))
    seen, still_there = read_all(ids, 10, {0: [3]})

    assert set(still_there) <= set(seen)


def test_unchanged_list_is_read_page_after_page_once() -> None:
    walk = PageWalk(10)

    assert [walk.observe(1, 25), walk.observe(2, 25), walk.observe(3, 25)] == [2, 3, None]
    assert walk.steps_back == 0


def test_empty_list_needs_one_request() -> None:
    assert PageWalk(10).observe(1, 0) is None
