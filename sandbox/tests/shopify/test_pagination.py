"""Connection paging: bisected cursors agree with a plain walk over the sorted list.

`paginate` finds cursors by bisection (a page costs its own size, not the shop's); the model
below walks the whole list the obvious way. Any page, in either direction, with `after`,
`before`, `first` or `last`, and cursors of objects that have since gone, must come out the same.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from graphql import GraphQLError
from hypothesis import given, settings
from hypothesis import strategies as st

from kconnector_sandbox.shopify.graphql_api import paginate


def _cursor(key: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


def _model(keys: list[int], args: dict[str, Any]) -> dict[str, Any]:
    """The page, walking the list: positions in the requested direction."""
    ordered = list(reversed(keys)) if args.get("reverse") else list(keys)
    start, end = 0, len(ordered)
    if "after" in args:
        after = args["after_key"]
        passed = [
            pos
            for pos, key in enumerate(ordered)
            if (key < after if args.get("reverse") else key > after)
        ]
        start = passed[0] if passed else len(ordered)
    bound = len(ordered)
    if "before" in args and args["before_key"] in ordered:
        bound = end = ordered.index(args["before_key"])
    end = max(start, end)
    positions = list(range(start, end))  # the page's positions, before first/last
    if args.get("first") is not None:
        positions = positions[: args["first"]]
    elif args.get("last") is not None:
        positions = positions[-args["last"] :] if args["last"] else []
    # An empty `last` page sits at the end of the range, an empty `first` page at its start.
    after_page = (
        positions[-1] + 1 if positions else (end if args.get("last") is not None else start)
    )
    before_page = positions[0] if positions else after_page
    return {
        "keys": [ordered[pos] for pos in positions],
        "hasNextPage": after_page < len(ordered) and after_page < bound,
        "hasPreviousPage": before_page > 0,
    }


@st.composite
def _pages(draw: st.DrawFn) -> tuple[list[int], dict[str, Any]]:
    keys = sorted(draw(st.sets(st.integers(0, 60), max_size=25)))
    args: dict[str, Any] = {"reverse": draw(st.booleans())}
    if draw(st.booleans()):
        args["first"] = draw(st.integers(0, 30))
    else:
        args["last"] = draw(st.integers(0, 30))
    if draw(st.booleans()):  # a cursor that may name a deleted object (a key not in the list)
        args["after_key"] = draw(st.integers(-1, 61))
        args["after"] = _cursor(args["after_key"])
    if draw(st.booleans()):
        args["before_key"] = draw(st.integers(-1, 61))
        args["before"] = _cursor(args["before_key"])
    return keys, args


@settings(max_examples=500, deadline=None)
@given(_pages())
def test_every_page_matches_a_walk_over_the_sorted_list(page):
    keys, args = page
    result = paginate([f"item-{k}" for k in keys], keys, args, bulk=False)
    expected = _model(keys, args)
    assert result["nodes"] == [f"item-{k}" for k in expected["keys"]]
    assert [e["cursor"] for e in result["edges"]] == [_cursor(k) for k in expected["keys"]]
    assert result["pageInfo"]["hasNextPage"] == expected["hasNextPage"]
    assert result["pageInfo"]["hasPreviousPage"] == expected["hasPreviousPage"]


def test_walking_every_page_visits_each_item_once_in_both_directions():
    keys = list(range(0, 1000, 3))
    for reverse in (False, True):
        seen: list[int] = []
        args: dict[str, Any] = {"first": 7, "reverse": reverse}
        while True:
            page = paginate(keys, keys, args, bulk=False)
            seen.extend(page["nodes"])
            if not page["pageInfo"]["hasNextPage"]:
                break
            args = {**args, "after": page["pageInfo"]["endCursor"]}
        assert seen == (list(reversed(keys)) if reverse else keys)


def test_the_pagination_cap_refuses_pages_past_it():
    keys = list(range(40))
    first = paginate(keys, keys, {"first": 10}, bulk=False, cap=20)
    assert first["nodes"] == list(range(10))
    with pytest.raises(GraphQLError, match="limited to 20 objects"):
        paginate(keys, keys, {"first": 15, "after": _cursor(9)}, bulk=False, cap=20)


def test_bulk_returns_everything_and_ignores_page_arguments():
    keys = list(range(300))
    page = paginate(keys, keys, {"first": 5, "after": _cursor(100)}, bulk=True)
    assert page["nodes"] == keys
