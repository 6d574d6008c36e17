"""A query executed through a plan made once, instead of graphql-core's per-field steps.

A bulk run reads every order of a shop through one query. graphql-core's executor repeats, for
each of the ~300 fields the tap's bulk query reads per order, the same generic steps: find the
field's definition, coerce its arguments, build a resolve-info object, dispatch on the return
type. That took about 7 ms an order (12 minutes for a 100,000-order shop, before the tap sees a
line). The plan takes those steps once per (object type, selection) and keeps, per object, only
what depends on the value: the resolver call and the completion of its result.

The GraphQL endpoint's pages go through the same plans (`QueryPlan`), made once per query text and
operation and executed for each request with its own context and variables: the arguments that
read variables are coerced once per request, the others once per plan. A request for a page of
the tap's orders query (two orders, the most its query cost allows) took about 10.5 ms of CPU
with graphql-core's executor and takes about 5 ms through its plan (cost and bucket included).

It is built from graphql-core's own parts (`collect_fields`, `get_field_def`,
`get_argument_values`, `get_variable_values`, `GraphQLResolveInfo`, each type's `serialize` and
`resolve_type`), so a value completes exactly as `execute_sync` completes it. What the plan does
not handle (a resolver that raises, a null in a non-null field, a value of the wrong shape,
variables that do not coerce) raises `PlanMissError` or the resolver's own error: the caller then
executes the query with graphql-core, which answers with its own errors, as before.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from graphql import (
    BREAK,
    FragmentDefinitionNode,
    GraphQLResolveInfo,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    OperationType,
    Undefined,
    VariableNode,
    Visitor,
    is_abstract_type,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
    is_object_type,
    visit,
)
from graphql.execution.collect_fields import collect_fields, collect_sub_fields
from graphql.execution.execute import get_field_def
from graphql.execution.values import get_argument_values, get_variable_values
from graphql.pyutils import Path, is_iterable

if TYPE_CHECKING:
    from collections.abc import Callable

    from graphql import (
        DirectiveNode,
        DocumentNode,
        FieldNode,
        GraphQLAbstractType,
        GraphQLField,
        GraphQLLeafType,
        GraphQLObjectType,
        GraphQLOutputType,
        GraphQLSchema,
        ValueNode,
    )

    Complete = Callable[[Any, "_Run", GraphQLResolveInfo], Any]
    Observer = Callable[[GraphQLResolveInfo, Any], None]


class PlanMissError(Exception):
    """The plan cannot complete a value the way graphql-core would: execute with graphql-core."""


@dataclass(frozen=True, slots=True)
class _Step:
    """One field of a selection: where its value goes, how it is resolved and completed."""

    index: int  # the step's place in a run's resolve-info and argument memos
    key: str
    resolve: Callable[..., Any]
    info: GraphQLResolveInfo  # without the request's context and variables
    definition: GraphQLField
    node: FieldNode
    args: dict[str, Any] | None  # None: the arguments read variables (coerced per run)
    complete: Complete


class _Run:
    """One execution of a plan: the request's context, variables and observer."""

    __slots__ = ("_args", "_infos", "context", "observe", "variables")

    def __init__(
        self, context: object, variables: dict[str, Any], observe: Observer | None
    ) -> None:
        self.context = context
        self.variables = variables
        self.observe = observe
        self._infos: dict[int, GraphQLResolveInfo] = {}
        self._args: dict[int, dict[str, Any]] = {}

    def info(self, step: _Step) -> GraphQLResolveInfo:
        info = self._infos.get(step.index)
        if info is None:
            info = step.info._replace(context=self.context, variable_values=self.variables)
            self._infos[step.index] = info
        return info

    def arguments(self, step: _Step) -> dict[str, Any]:
        if step.args is not None:
            return step.args
        args = self._args.get(step.index)
        if args is None:
            args = get_argument_values(step.definition, step.node, self.variables)
            self._args[step.index] = args
        return args


def _not_awaitable(_value: object) -> bool:
    return False


class QueryPlan:
    """The query operation of `document`, compiled once; executed for any request."""

    def __init__(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        default_resolver: Callable[[str, GraphQLOutputType], Callable[..., Any]],
        *,
        operation_name: str | None = None,
    ) -> None:
        """Compile the root selection (object selections are compiled as they are reached).

        `default_resolver(field name, return type)` gives the resolver of a field that has none
        of its own (the function the request's `field_resolver` calls for that field).
        `operation_name` chooses the operation as `execute_sync` does.

        Raises:
            PlanMissError: when the document has no query operation to run (none, several
                without a name to choose, a mutation) or a directive reads a variable (the
                selection would depend on the request): graphql-core runs those.
        """
        operation = _chosen_operation(document, operation_name)
        root = schema.query_type
        if operation is None or operation.operation is not OperationType.QUERY or not root:
            raise PlanMissError
        if _directives_read_variables(document):
            raise PlanMissError
        self._schema = schema
        self._operation = operation
        self._fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self._default_resolver = default_resolver
        self._indexes = itertools.count()
        self._objects: dict[tuple[str, tuple[int, ...]], list[_Step]] = {}
        fields = collect_fields(schema, self._fragments, {}, root, self._operation.selection_set)
        self._root = self._steps(root, fields)

    def execute(
        self,
        context: object,
        variables: dict[str, Any] | None = None,
        observe: Observer | None = None,
    ) -> dict[str, Any]:
        """The operation's `data`, as `execute_sync` would give it when it has no errors.

        `observe(info, value)` is called with each value a resolver returns (as a graphql-core
        middleware sees it), e.g. to count the query's actual cost.

        Raises:
            PlanMissError: when a value needs graphql-core's error handling (a resolver's own
                error is raised as it is).
        """
        coerced = get_variable_values(
            self._schema, self._operation.variable_definitions or (), variables or {}
        )
        if isinstance(coerced, list):  # the coercion errors: graphql-core reports them
            raise PlanMissError
        return _run(self._root, None, _Run(context, coerced, observe))

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
                None,
                _not_awaitable,
            )
            reads_variables = any(_reads_variables(a.value) for a in nodes[0].arguments)
            steps.append(
                _Step(
                    index=next(self._indexes),
                    key=key,
                    resolve=definition.resolve
                    or self._default_resolver(nodes[0].name.value, definition.type),
                    info=info,
                    definition=definition,
                    node=nodes[0],
                    args=None if reads_variables else get_argument_values(definition, nodes[0]),
                    complete=self._completion(definition.type, nodes),
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

    def _completion(self, type_: GraphQLOutputType, nodes: list[FieldNode]) -> Complete:
        if is_non_null_type(type_):
            return _non_null(self._completion(type_.of_type, nodes))  # type: ignore[union-attr]
        if is_list_type(type_):
            return _listed(self._completion(type_.of_type, nodes))  # type: ignore[union-attr]
        if is_leaf_type(type_):
            return _leaf(type_)  # type: ignore[arg-type]
        if is_abstract_type(type_):
            return self._abstract(type_, nodes)  # type: ignore[arg-type]
        if is_object_type(type_):
            return self._object(type_, nodes)  # type: ignore[arg-type]
        raise PlanMissError

    def _object(self, type_: GraphQLObjectType, nodes: list[FieldNode]) -> Complete:
        if type_.is_type_of is not None:
            raise PlanMissError
        steps = self._object_steps(type_, nodes)

        def complete(value: Any, run: _Run, _info: GraphQLResolveInfo) -> Any:  # noqa: ANN401
            if value is None or value is Undefined:
                return None
            if isinstance(value, Exception):
                raise PlanMissError
            return _run(steps, value, run)

        return complete

    def _abstract(self, type_: GraphQLAbstractType, nodes: list[FieldNode]) -> Complete:
        resolve_type = type_.resolve_type
        if resolve_type is None:
            raise PlanMissError

        def complete(value: Any, run: _Run, info: GraphQLResolveInfo) -> Any:  # noqa: ANN401
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
            return _run(self._object_steps(runtime, nodes), value, run)  # type: ignore[arg-type]

        return complete


class BulkPlan:
    """A bulk run's plan: the query of `document` for one request context (a run's slices)."""

    def __init__(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        context: object,
        default_resolver: Callable[[str, GraphQLOutputType], Callable[..., Any]],
    ) -> None:
        """Compile the query (see `QueryPlan`) for `context`.

        Raises:
            PlanMissError: when the document has no single query operation.
        """
        self._plan = QueryPlan(schema, document, default_resolver)
        self._context = context

    def execute(self) -> dict[str, Any]:
        """The operation's `data` (see `QueryPlan.execute`).

        Raises:
            PlanMissError: when a value needs graphql-core's error handling.
        """
        return self._plan.execute(self._context)


def _chosen_operation(
    document: DocumentNode, operation_name: str | None
) -> OperationDefinitionNode | None:
    """The operation `execute_sync` runs (its own rule), or None where it answers an error."""
    chosen: OperationDefinitionNode | None = None
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        if operation_name is None:
            if chosen is not None:  # several operations and no name to choose
                return None
            chosen = definition
        elif definition.name and definition.name.value == operation_name:
            chosen = definition
    return chosen


def _reads_variables(value: ValueNode) -> bool:
    if isinstance(value, VariableNode):
        return True
    if isinstance(value, ListValueNode):
        return any(_reads_variables(item) for item in value.values)
    if isinstance(value, ObjectValueNode):
        return any(_reads_variables(item.value) for item in value.fields)
    return False


class _DirectiveVariables(Visitor):
    found = False

    def enter_directive(self, node: DirectiveNode, *_args: object) -> object:
        if any(_reads_variables(argument.value) for argument in node.arguments):
            self.found = True
            return BREAK
        return None


def _directives_read_variables(document: DocumentNode) -> bool:
    visitor = _DirectiveVariables()
    visit(document, visitor)
    return visitor.found


def _non_null(inner: Complete) -> Complete:
    def complete(value: Any, run: _Run, info: GraphQLResolveInfo) -> Any:  # noqa: ANN401
        completed = inner(value, run, info)
        if completed is None:
            raise PlanMissError
        return completed

    return complete


def _listed(item: Complete) -> Complete:
    def complete(value: Any, run: _Run, info: GraphQLResolveInfo) -> Any:  # noqa: ANN401
        if value is None or value is Undefined:
            return None
        if isinstance(value, Exception) or not is_iterable(value):
            raise PlanMissError
        return [item(entry, run, info) for entry in value]

    return complete


def _leaf(type_: GraphQLLeafType) -> Complete:
    serialize = type_.serialize

    def complete(value: Any, _run: _Run, _info: GraphQLResolveInfo) -> Any:  # noqa: ANN401
        if value is None or value is Undefined:
            return None
        if isinstance(value, Exception):
            raise PlanMissError
        serialized = serialize(value)
        if serialized is None or serialized is Undefined:
            raise PlanMissError
        return serialized

    return complete


def _run(steps: list[_Step], source: object, run: _Run) -> dict[str, Any]:
    result = {}
    observe = run.observe
    for step in steps:
        info = run.info(step)
        value = step.resolve(source, info, **run.arguments(step))
        if observe is not None:
            observe(info, value)
        result[step.key] = step.complete(value, run, info)
    return result
