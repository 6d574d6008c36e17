"""A bulk run's query executed through a plan made once, instead of graphql-core's per-field steps.

A bulk run reads every order of a shop through one query. graphql-core's executor repeats, for
each of the ~300 fields the tap's bulk query reads per order, the same generic steps: find the
field's definition, coerce its arguments, build a resolve-info object, dispatch on the return
type. That took about 7 ms an order (12 minutes for a 100,000-order shop, before the tap sees a
line). The plan takes those steps once per (object type, selection) and keeps, per object, only
what depends on the value: the resolver call and the completion of its result.

It is built from graphql-core's own parts (`collect_fields`, `get_field_def`,
`get_argument_values`, `GraphQLResolveInfo`, each type's `serialize` and `resolve_type`), so a
value completes exactly as `execute_sync` completes it. What the plan does not handle (a resolver
that raises, a null in a non-null field, a value of the wrong shape) raises `PlanMissError`: the
caller then executes that slice with graphql-core, which answers with its own errors, as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from graphql import (
    FragmentDefinitionNode,
    GraphQLResolveInfo,
    OperationDefinitionNode,
    OperationType,
    Undefined,
    is_abstract_type,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
    is_object_type,
)
from graphql.execution.collect_fields import collect_fields, collect_sub_fields
from graphql.execution.execute import get_field_def
from graphql.execution.values import get_argument_values
from graphql.pyutils import Path, is_iterable

if TYPE_CHECKING:
    from collections.abc import Callable

    from graphql import (
        DocumentNode,
        FieldNode,
        GraphQLAbstractType,
        GraphQLField,
        GraphQLLeafType,
        GraphQLObjectType,
        GraphQLOutputType,
        GraphQLSchema,
    )


class PlanMissError(Exception):
    """The plan cannot complete a value the way graphql-core would: execute with graphql-core."""


@dataclass(frozen=True, slots=True)
class _Step:
    """One field of a selection: where its value goes, how it is resolved and completed."""

    key: str
    resolve: Callable[..., Any]
    info: GraphQLResolveInfo
    args: dict[str, Any]
    complete: Callable[[Any], Any]


def _not_awaitable(_value: object) -> bool:
    return False


class BulkPlan:
    """The query operation of `document`, compiled for one request context."""

    def __init__(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        context: object,
        default_resolver: Callable[[str, GraphQLOutputType], Callable[..., Any]],
    ) -> None:
        """Compile the root selection (object selections are compiled as they are reached).

        `default_resolver(field name, return type)` gives the resolver of a field that has none
        of its own (the function the request's `field_resolver` calls for that field).

        Raises:
            PlanMissError: when the document has no single query operation.
        """
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        root = schema.query_type
        if len(operations) != 1 or operations[0].operation is not OperationType.QUERY or not root:
            raise PlanMissError
        self._schema = schema
        self._operation = operations[0]
        self._fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self._context = context
        self._default_resolver = default_resolver
        self._objects: dict[tuple[str, tuple[int, ...]], list[_Step]] = {}
        fields = collect_fields(schema, self._fragments, {}, root, self._operation.selection_set)
        self._root = self._steps(root, fields)

    def execute(self) -> dict[str, Any]:
        """The operation's `data`, as `execute_sync` would give it when it has no errors.

        Raises:
            PlanMissError: when a value needs graphql-core's error handling.
        """
        return _run(self._root, None)

    # --- compiling ----------------------------------------------------------------------------

    def _steps(self, parent: GraphQLObjectType, fields: dict[str, list[FieldNode]]) -> list[_Step]:
        steps = []
        for key, nodes in fields.items():
            # typed as always found; graphql-core skips a field it does not find
            definition = cast("GraphQLField | None", get_field_def(self._schema, parent, nodes[0]))
            if definition is None:  # as graphql-core: an unknown field gives no entry
                continue
            info = GraphQLResolveInfo(
                nodes[0].name.value,
                nodes,
                definition.type,
                parent,
                Path(None, key, parent.name),
                self._schema,
                self._fragments,
                None,
                self._operation,
                {},
                self._context,
                _not_awaitable,
            )
            steps.append(
                _Step(
                    key=key,
                    resolve=definition.resolve
                    or self._default_resolver(nodes[0].name.value, definition.type),
                    info=info,
                    args=get_argument_values(definition, nodes[0], {}),
                    complete=self._completion(definition.type, nodes, info),
                )
            )
        return steps

    def _object_steps(self, runtime: GraphQLObjectType, nodes: list[FieldNode]) -> list[_Step]:
        key = (runtime.name, tuple(id(node) for node in nodes))
        steps = self._objects.get(key)
        if steps is None:
            sub_fields = collect_sub_fields(self._schema, self._fragments, {}, runtime, nodes)
            steps = self._steps(runtime, sub_fields)
            self._objects[key] = steps
        return steps

    def _completion(
        self, type_: GraphQLOutputType, nodes: list[FieldNode], info: GraphQLResolveInfo
    ) -> Callable[[Any], Any]:
        if is_non_null_type(type_):
            return _non_null(self._completion(type_.of_type, nodes, info))  # type: ignore[union-attr]
        if is_list_type(type_):
            return _listed(self._completion(type_.of_type, nodes, info))  # type: ignore[union-attr]
        if is_leaf_type(type_):
            return _leaf(type_)  # type: ignore[arg-type]
        if is_abstract_type(type_):
            return self._abstract(type_, nodes, info)  # type: ignore[arg-type]
        if is_object_type(type_):
            return self._object(type_, nodes)  # type: ignore[arg-type]
        raise PlanMissError

    def _object(self, type_: GraphQLObjectType, nodes: list[FieldNode]) -> Callable[[Any], Any]:
        if type_.is_type_of is not None:
            raise PlanMissError
        steps = self._object_steps(type_, nodes)

        def complete(value: Any) -> Any:  # noqa: ANN401
            if value is None or value is Undefined:
                return None
            if isinstance(value, Exception):
                raise PlanMissError
            return _run(steps, value)

        return complete

    def _abstract(
        self, type_: GraphQLAbstractType, nodes: list[FieldNode], info: GraphQLResolveInfo
    ) -> Callable[[Any], Any]:
        resolve_type = type_.resolve_type
        if resolve_type is None:
            raise PlanMissError

        def complete(value: Any) -> Any:  # noqa: ANN401
            if value is None or value is Undefined:
                return None
            if isinstance(value, Exception):
                raise PlanMissError
            name = resolve_type(value, info, type_)
            runtime = self._schema.get_type(name) if isinstance(name, str) else None
            if (
                not is_object_type(runtime)
                or runtime.is_type_of is not None  # type: ignore[union-attr]
                or not self._schema.is_sub_type(type_, runtime)  # type: ignore[arg-type]
            ):
                raise PlanMissError
            return _run(self._object_steps(runtime, nodes), value)  # type: ignore[arg-type]

        return complete


def _non_null(inner: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def complete(value: Any) -> Any:  # noqa: ANN401 - any resolved value
        completed = inner(value)
        if completed is None:
            raise PlanMissError
        return completed

    return complete


def _listed(item: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def complete(value: Any) -> Any:  # noqa: ANN401
        if value is None or value is Undefined:
            return None
        if isinstance(value, Exception) or not is_iterable(value):
            raise PlanMissError
        return [item(entry) for entry in value]

    return complete


def _leaf(type_: GraphQLLeafType) -> Callable[[Any], Any]:
    serialize = type_.serialize

    def complete(value: Any) -> Any:  # noqa: ANN401
        if value is None or value is Undefined:
            return None
        if isinstance(value, Exception):
            raise PlanMissError
        serialized = serialize(value)
        if serialized is None or serialized is Undefined:
            raise PlanMissError
        return serialized

    return complete


def _run(steps: list[_Step], source: object) -> dict[str, Any]:
    return {step.key: step.complete(step.resolve(source, step.info, **step.args)) for step in steps}
