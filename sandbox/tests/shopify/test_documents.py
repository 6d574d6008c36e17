"""Query documents parsed and validated once per text, with the same answers as before."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import graphql
import pytest

from kconnector_sandbox.shopify import documents
from kconnector_sandbox.shopify.documents import PreparedDocuments

if TYPE_CHECKING:
    from collections.abc import Callable

PAGE = """
query Page($first: Int!, $after: String) {
  orders(first: $first, after: $after) { pageInfo { hasNextPage endCursor } nodes { id name } }
}
"""


def _counting(monkeypatch: pytest.MonkeyPatch, name: str) -> list[str]:
    """Calls of graphql-core's `name` (parse or validate) by the document cache."""
    calls: list[str] = []
    original: Callable[..., Any] = getattr(documents, name)

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(name)
        return original(*args, **kwargs)

    monkeypatch.setattr(documents, name, counted)
    return calls


def test_the_pages_of_one_query_text_parse_and_validate_it_once(
    served: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    parsed = _counting(monkeypatch, "parse")
    validated = _counting(monkeypatch, "validate")
    first = served.gql(PAGE, {"first": 2})["data"]["orders"]
    after = first["pageInfo"]["endCursor"]
    second = served.gql(PAGE, {"first": 2, "after": after})["data"]["orders"]
    assert [n["name"] for n in first["nodes"]] != [n["name"] for n in second["nodes"]]
    assert len(second["nodes"]) == 2
    assert (len(parsed), len(validated)) == (1, 1)


def test_a_refused_document_gives_the_same_errors_every_time(served: Any) -> None:
    syntax = "{ orders(first: 2) { nodes { id } }"
    unknown = "{ orders(first: 2) { nodes { idd } } }"
    schema = served.emulator.schema
    refused = [error.formatted for error in graphql.validate(schema, graphql.parse(unknown))]
    assert refused
    for text in (syntax, unknown, syntax, unknown):
        expected = refused if text == unknown else [_syntax_error(text)]
        assert served.gql(text) == {"errors": expected}


def _syntax_error(text: str) -> dict[str, Any]:
    with pytest.raises(graphql.GraphQLError) as raised:
        graphql.parse(text)
    return raised.value.formatted


def test_the_cache_keeps_the_most_recent_texts_only(
    served: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    parsed = _counting(monkeypatch, "parse")
    prepared = PreparedDocuments(served.emulator.schema, size=2)
    texts = ["{ shop { name } }", "{ shop { currencyCode } }", "{ shop { ianaTimezone } }"]
    for text in [*texts, texts[2], texts[0]]:
        assert not isinstance(prepared.prepare(text), tuple)
    # the third text evicted the first: asked again, it is parsed again; the third is kept
    assert len(parsed) == 4


def test_a_replaced_schema_drops_the_documents_prepared_for_the_old_one(served: Any) -> None:
    # The webhook subscription fields extend the schema after the emulator is made.
    subscriptions = "{ webhookSubscriptions(first: 5) { edges { node { id topic } } } }"
    assert "errors" not in served.gql(subscriptions)
    emulator = served.emulator
    extended = emulator.schema
    emulator.schema = graphql.build_schema("type Query { shop: String }")
    refused = served.gql(subscriptions)["errors"]
    assert "webhookSubscriptions" in refused[0]["message"]
    emulator.schema = extended
    assert "errors" not in served.gql(subscriptions)
