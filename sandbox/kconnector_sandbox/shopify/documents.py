"""GraphQL documents parsed and validated once per query text, not once per request.

A client sends the same few documents again and again with other variables (the tap: a page of
orders, the next page of a connection, the nodes of a bulk result). graphql-core's `parse` and
`validate` of the tap's orders document took about 40 ms of the emulator's CPU per request, three
times what executing its page (two orders, the most its query cost allows) took: a burst of
webhook-driven runs spent three quarters of the emulator's CPU re-reading the same text. Both
depend on the text and the schema alone, so their outcome is kept by text (a least-recently-used
cache of bounded size), and so is the compiled plan of each of its operations (`bulk_plan.py`).
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from graphql import GraphQLError, parse, validate

from kconnector_sandbox.shopify.bulk_plan import PlanMissError, QueryPlan
from kconnector_sandbox.shopify.graphql_api import field_resolver_for

if TYPE_CHECKING:
    from graphql import DocumentNode, GraphQLSchema

# Distinct query texts kept: a client's documents are a handful; a client that inlines its values
# into the text only evicts its own older texts.
DOCUMENT_CACHE_SIZE = 256


class PreparedDocuments:
    """A query text's parsed document (or the errors that refuse it) and plans, for one schema."""

    def __init__(self, schema: GraphQLSchema, size: int = DOCUMENT_CACHE_SIZE) -> None:
        """Keep the outcomes of at most `size` query texts for `schema`."""
        self._schema = schema
        self._prepare = lru_cache(maxsize=size)(self._parse_and_validate)
        self._plan = lru_cache(maxsize=size)(self._compile)

    def prepare(self, query: str) -> DocumentNode | tuple[GraphQLError, ...]:
        """The valid document of `query`, or its syntax or validation errors (never empty)."""
        return self._prepare(query)

    def plan(self, query: str, operation_name: str | None) -> QueryPlan | None:
        """The compiled plan of a valid query's operation; None: graphql-core executes it."""
        return self._plan(query, operation_name)

    def _compile(self, query: str, operation_name: str | None) -> QueryPlan | None:
        document = self.prepare(query)
        if isinstance(document, tuple):
            return None
        try:
            return QueryPlan(
                self._schema, document, field_resolver_for, operation_name=operation_name
            )
        except PlanMissError:
            return None

    def _parse_and_validate(self, query: str) -> DocumentNode | tuple[GraphQLError, ...]:
        try:
            document = parse(query)
        except GraphQLError as exc:
            return (exc,)
        errors = validate(self._schema, document)
        return tuple(errors) if errors else document
