"""Calculated query cost and the leaky bucket that GraphQL Admin throttles with.

https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits: scalars and enums cost 0, an
object 1, a connection 2 plus the objects it asks for (``first``/``last``), a mutation 10; a
query's requested cost is taken from the bucket before it runs and the difference to the actual
cost is given back. A single query may not cost more than 1000. The bucket restores 100 points per
second on the Standard plan; responses show ``maximumAvailable: 2000.0`` for such shops (observed
``throttleStatus`` values in public client code), which is the bucket size used here.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
    is_leaf_type,
    value_from_ast_untyped,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from graphql.language import DocumentNode

MAX_QUERY_COST = 1000
MUTATION_COST = 10
STANDARD_BUCKET_SIZE = 2000.0
STANDARD_RESTORE_RATE = 100.0
_FREE_WRAPPERS = frozenset({"edges", "pageInfo"})
_NODE_FIELDS = frozenset({"node", "nodes"})


def _is_connection(named: GraphQLNamedType) -> bool:
    return named.name.endswith("Connection")


@dataclass
class _Walk:
    schema: GraphQLSchema
    fragments: dict[str, FragmentDefinitionNode]
    variables: dict[str, Any]

    def page_size(self, node: FieldNode) -> int:
        for argument in node.arguments:
            if argument.name.value in {"first", "last"}:
                value = value_from_ast_untyped(argument.value, self.variables)
                return int(value) if isinstance(value, int) else 0
        return 0

    def selection_cost(
        self, selection_set: SelectionSetNode | None, parent: GraphQLNamedType
    ) -> int:
        if selection_set is None:
            return 0
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self.field_cost(selection, parent)
            elif isinstance(selection, InlineFragmentNode):
                target = (
                    self.schema.get_type(selection.type_condition.name.value)
                    if selection.type_condition
                    else parent
                )
                total += self.selection_cost(selection.selection_set, target or parent)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments.get(selection.name.value)
                if fragment is not None:
                    target = self.schema.get_type(fragment.type_condition.name.value)
                    total += self.selection_cost(fragment.selection_set, target or parent)
        return total

    def field_cost(self, node: FieldNode, parent: GraphQLNamedType) -> int:
        name = node.name.value
        fields: dict[str, GraphQLField] = getattr(parent, "fields", {})
        definition = fields.get(name)
        if name.startswith("__") or definition is None:
            return 0
        named = get_named_type(definition.type)
        if is_leaf_type(named):
            return 0
        children = self.selection_cost(node.selection_set, named)
        if _is_connection(named):
            return 2 + self.page_size(node) * children
        if name in _FREE_WRAPPERS:
            return children
        return 1 + children


def requested_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    variables: dict[str, Any],
    operation_name: str | None,
) -> int:
    """The requested (worst-case) cost of the operation that will run."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = next(
        (
            op
            for op in operations
            if operation_name is None or (op.name and op.name.value == operation_name)
        ),
        None,
    )
    if chosen is None:
        return 0
    walk = _Walk(schema, fragments, variables)
    if chosen.operation is OperationType.MUTATION:
        root: GraphQLObjectType | None = schema.mutation_type
        fields = [s for s in chosen.selection_set.selections if isinstance(s, FieldNode)]
        return MUTATION_COST * max(len(fields), 1) if root else 0
    root = schema.query_type
    return walk.selection_cost(chosen.selection_set, root) if root else 0


@dataclass
class ActualCost:
    """Counts the objects a query really resolved (graphql-core middleware)."""

    points: int = 0

    def resolve(
        self,
        next_: Callable[..., Any],
        root: object,
        info: GraphQLResolveInfo,
        **args: Any,  # noqa: ANN401
    ) -> Any:  # noqa: ANN401 - middleware passes values through untouched
        """Resolve the field, then count what it returned."""
        value = next_(root, info, **args)
        self.count(info, value)
        return value

    def count(self, info: GraphQLResolveInfo, value: object) -> None:
        """Count what a field's resolver returned (compiled plans call it for each field)."""
        named = get_named_type(info.return_type)
        if is_leaf_type(named) or value is None or info.field_name in _FREE_WRAPPERS:
            return
        if _is_connection(named):
            self.points += 2
        elif info.field_name in _NODE_FIELDS and isinstance(value, list | tuple):
            self.points += len(value)
        else:
            self.points += 1


@dataclass
class LeakyBucket:
    """A per-shop bucket of cost points, refilled continuously at `restore_rate` x `time_scale`.

    It also keeps the run's accounts: the points queries consumed (requested minus what was given
    back) and the points the bucket made available (its content at creation or at the last
    reset, plus everything the refill offered since, even what overflowed a full bucket), so
    "budget used" is ``consumed / offered``.
    """

    maximum: float = STANDARD_BUCKET_SIZE
    restore_rate: float = STANDARD_RESTORE_RATE
    time_scale: float = 1.0
    clock: Callable[[], float] = time.monotonic
    _available: float = field(init=False)
    _updated: float = field(init=False)
    _consumed: float = field(init=False, default=0.0)
    _offered: float = field(init=False, default=0.0)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        """Start full."""
        self._available = self.maximum
        self._offered = self.maximum
        self._updated = self.clock()

    @property
    def effective_restore_rate(self) -> float:
        """Points restored per second of wall-clock time (the rate scaled by `time_scale`)."""
        return self.restore_rate * self.time_scale

    def _refill(self) -> None:
        now = self.clock()
        restored = (now - self._updated) * self.effective_restore_rate
        self._offered += restored
        self._available = min(self.maximum, self._available + restored)
        self._updated = now

    def take(self, cost: int) -> bool:
        """Take `cost` points if available; False (nothing taken) means throttle the query."""
        with self._lock:
            self._refill()
            if cost > self._available:
                return False
            self._available -= cost
            self._consumed += cost
            return True

    def give_back(self, points: int) -> None:
        """Return points (requested minus actual cost)."""
        with self._lock:
            self._refill()
            returned = max(points, 0)
            self._available = min(self.maximum, self._available + returned)
            self._consumed -= returned

    def available(self) -> int:
        """Points available now (as Shopify reports them: an integer)."""
        with self._lock:
            self._refill()
            return int(self._available)

    def reset(self) -> None:
        """Fill the bucket (admin); the accounts start again from a full bucket."""
        with self._lock:
            self._available = self.maximum
            self._offered = self.maximum
            self._consumed = 0.0
            self._updated = self.clock()

    def status(self) -> dict[str, float | int]:
        """The ``throttleStatus`` object of a response.

        ``restoreRate`` is the rate the bucket really refills at: Shopify's rate times the time
        scale, so a client pacing itself on it is neither throttled nor slower than needed.
        """
        return {
            "maximumAvailable": self.maximum,
            "currentlyAvailable": self.available(),
            "restoreRate": self.effective_restore_rate,
        }

    def usage(self) -> dict[str, float]:
        """The run's accounts: points consumed, points made available, and the ratio."""
        with self._lock:
            self._refill()
            consumed, offered = self._consumed, self._offered
        return {
            "points_consumed": round(consumed, 3),
            "points_available": round(offered, 3),
            "budget_used": round(consumed / offered, 6) if offered else 0.0,
        }
