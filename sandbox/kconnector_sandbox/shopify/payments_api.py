"""GraphQL resolvers of ``shopifyPaymentsAccount { payouts balanceTransactions }``.

Access ("Requires the user to have access to payouts": the ShopifyPaymentsBalanceTransaction page,
https://shopify.dev/docs/api/admin-graphql/2026-01): the account needs
``read_shopify_payments_accounts`` and its payouts and balance transactions
``read_shopify_payments_payouts`` (``read_shopify_payments`` grants both); without them Shopify
answers ACCESS_DENIED. A shop without Shopify Payments has ``shopifyPaymentsAccount: null``.
Search syntax (since 2024-07, https://shopify.dev/changelog/additions-to-the-graphql-api-for-shopify-payments-payouts-and-balance-transactions):
payouts by ``id``, ``issued_at``, ``status``; balance transactions by ``payments_transfer_id`` (the
payout's legacy id), ``payout_date``, ``payout_status``, ``processed_at``, ``transaction_type``,
``test``. An unknown field is ignored with a search warning, as for orders.
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING, Any

from graphql import GraphQLError

from kconnector_sandbox.shopify.model import MoneyV2
from kconnector_sandbox.shopify.search_syntax import compare, compile_query, parse_time

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from graphql import GraphQLResolveInfo, GraphQLSchema

    from kconnector_sandbox.shopify.graphql_api import RequestContext
    from kconnector_sandbox.shopify.payments import BalanceTransaction, PaymentsLedger, Payout

    Paginate = Callable[..., dict[str, Any]]

ACCOUNTS_SCOPE = "read_shopify_payments_accounts"
PAYOUTS_SCOPE = "read_shopify_payments_payouts"
ALL_PAYMENTS_SCOPE = "read_shopify_payments"
_DATE_LENGTH = len("2026-01-01")


def _context(info: GraphQLResolveInfo) -> RequestContext:
    context: RequestContext = info.context
    return context


def _require(context: RequestContext, field_name: str, scope: str) -> None:
    if {scope, ALL_PAYMENTS_SCOPE} & set(context.shop.scopes):
        return
    msg = f"Access denied for {field_name} field. Required access: `{scope}` access scope."
    raise GraphQLError(
        msg,
        extensions={
            "code": "ACCESS_DENIED",
            "documentation": "https://shopify.dev/api/usage/access-scopes",
            "requiredAccess": f"`{scope}` access scope.",
        },
    )


def _ledger(context: RequestContext) -> PaymentsLedger:
    ledger = context.shop.payments_ledger()
    if ledger is None:  # the account resolver answered null before this is reached
        msg = "Shopify Payments is not enabled on this shop"
        raise GraphQLError(msg)
    return ledger


def _time_term(op: str, raw: str, tz: ZoneInfo, now: datetime) -> Callable[[datetime], bool]:
    """Compare an instant with a search value; a bare date compares store-local days."""
    if raw == "now":
        return lambda moment: compare(op, moment, now)
    if len(raw) == _DATE_LENGTH:
        day = parse_time(raw, tz).astimezone(tz).date()
        return lambda moment: compare(op, moment.astimezone(tz).date(), day)
    instant = parse_time(raw, tz)
    return lambda moment: compare(op, moment, instant)


def _payout_term() -> Callable[[str, str, str, ZoneInfo, datetime], Callable[[Any], bool] | None]:
    def term(
        field: str, op: str, value: str, tz: ZoneInfo, now: datetime
    ) -> Callable[[Any], bool] | None:
        raw = value.strip().strip("'\"")
        if field == "issued_at":
            when = _time_term(op, raw, tz, now)
            return lambda p: when(p.issued_at)
        if field == "status":
            return lambda p: p.status(now) == raw.upper()
        if field == "id":
            number = int(raw.rsplit("/", 1)[-1])
            return lambda p: compare(op, p.legacy_id, number)
        return None

    return term


def _transaction_term(
    ledger: PaymentsLedger,
) -> Callable[[str, str, str, ZoneInfo, datetime], Callable[[Any], bool] | None]:
    payouts = {p.legacy_id: p for p in ledger.payouts}

    def term(  # noqa: PLR0911 - one branch per filter field
        field: str, op: str, value: str, tz: ZoneInfo, now: datetime
    ) -> Callable[[Any], bool] | None:
        raw = value.strip().strip("'\"")
        if field == "payments_transfer_id":
            number = int(raw.rsplit("/", 1)[-1])
            return lambda t: compare(op, t.payout_legacy_id, number)
        if field == "payout_date":
            when = _time_term(op, raw, tz, now)
            return lambda t: when(payouts[t.payout_legacy_id].issued_at)
        if field == "payout_status":
            return lambda t: payouts[t.payout_legacy_id].status(now) == raw.upper()
        if field == "processed_at":
            when = _time_term(op, raw, tz, now)
            return lambda t: when(t.transaction_date)
        if field == "transaction_type":
            return lambda t: t.type == raw.upper()
        if field == "test":
            return lambda t: t.test == (raw.lower() == "true")
        return None

    return term


def _cents(amount: Any) -> int:  # noqa: ANN401 - Decimal
    return int(amount * 100)


def _search(
    context: RequestContext,
    path: str,
    query: str | None,
    term: Callable[[str, str, str, ZoneInfo, datetime], Callable[[Any], bool] | None],
) -> Callable[[Any], bool]:
    shop = context.shop
    search = compile_query(query, tz=shop.tz, now=shop.clock.now(), term=term)
    if search.warnings:
        context.warnings.append(
            {
                "path": ["shopifyPaymentsAccount", path],
                "query": query,
                "warnings": [{"field": None, "message": w} for w in search.warnings],
            }
        )
    return search.predicate


def _sorted(items: Sequence[Any], sort: Callable[[Any], Any]) -> tuple[list[Any], list[Any]]:
    keys = [sort(item) for item in items]
    order = sorted(range(len(items)), key=keys.__getitem__)
    return [items[i] for i in order], [keys[i] for i in order]


def _resolve_account(_root: object, info: GraphQLResolveInfo) -> dict[str, Any] | None:
    context = _context(info)
    _require(context, "shopifyPaymentsAccount", ACCOUNTS_SCOPE)
    ledger = context.shop.payments_ledger()
    if ledger is None:
        return None
    profile = context.shop.profile
    return {
        "id": f"gid://shopify/ShopifyPaymentsAccount/{zlib.crc32(profile.domain.encode())}",
        "activated": True,
        "country": profile.places[0].country_code,
        "default_currency": ledger.currency,
    }


def _payouts_resolver(paginate: Paginate) -> Callable[..., dict[str, Any]]:
    def resolve(_root: object, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:  # noqa: ANN401
        context = _context(info)
        _require(context, "payouts", PAYOUTS_SCOPE)
        ledger = _ledger(context)
        now = context.shop.clock.now()
        query, direction = args.get("query"), args.get("transactionType")
        sort_key = args.get("sortKey") or "ID"
        predicate = _search(context, "payouts", query, _payout_term())

        def build() -> tuple[list[Any], list[Any]]:
            chosen = [
                p
                for p in ledger.payouts
                if predicate(p) and (direction is None or _direction(p) == direction)
            ]
            sorts: dict[str, Callable[[Payout], Any]] = {
                "ISSUED_AT": lambda p: [p.issued_at.isoformat(), p.legacy_id],
                "AMOUNT": lambda p: [_cents(p.net), p.legacy_id],
                "STATUS": lambda p: [p.status(now), p.legacy_id],
            }
            return _sorted(chosen, sorts.get(sort_key, lambda p: p.legacy_id))

        moving = sort_key == "STATUS" or _moves_with_clock(query)
        key = ("payouts", query, direction, sort_key, now if moving else None)
        items, keys = context.shop.listing(key, build)
        return paginate(items, keys, args, bulk=context.bulk)

    return resolve


def _transactions_resolver(paginate: Paginate) -> Callable[..., dict[str, Any]]:
    def resolve(_root: object, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:  # noqa: ANN401
        context = _context(info)
        _require(context, "balanceTransactions", PAYOUTS_SCOPE)
        ledger = _ledger(context)
        now = context.shop.clock.now()
        query = args.get("query")
        predicate = _search(context, "balanceTransactions", query, _transaction_term(ledger))
        hide_transfers = bool(args.get("hideTransfers"))
        sort_key = args.get("sortKey") or "ID"
        moving = sort_key == "PAYOUT_STATUS" or _moves_with_clock(query)
        key = ("balanceTransactions", query, hide_transfers, sort_key, now if moving else None)
        items, keys = context.shop.listing(
            key, lambda: _transactions_listing(ledger, predicate, sort_key, now, hide_transfers)
        )
        return paginate(items, keys, args, bulk=context.bulk)

    return resolve


def _moves_with_clock(query: str | None) -> bool:
    """Whether a query's matches change as the shop clock moves (statuses, ``now``)."""
    text = query or ""
    return "status" in text or "now" in text


def _transactions_listing(
    ledger: PaymentsLedger,
    predicate: Callable[[Any], bool],
    sort_key: str,
    now: datetime,
    hide_transfers: bool,  # noqa: FBT001 - the connection's argument
) -> tuple[list[Any], list[Any]]:
    payouts = {p.legacy_id: p for p in ledger.payouts}
    chosen = [
        t
        for t in ledger.transactions
        if predicate(t) and not (hide_transfers and t.type == "TRANSFER")
    ]
    sorts: dict[str, Callable[[BalanceTransaction], Any]] = {
        "PROCESSED_AT": lambda t: [t.transaction_date.isoformat(), t.legacy_id],
        "PAYOUT_DATE": lambda t: [
            payouts[t.payout_legacy_id].issued_at.isoformat(),
            t.legacy_id,
        ],
        "PAYOUT_STATUS": lambda t: [payouts[t.payout_legacy_id].status(now), t.legacy_id],
        "AMOUNT": lambda t: [_cents(t.amount), t.legacy_id],
        "FEE": lambda t: [_cents(t.fee), t.legacy_id],
        "NET": lambda t: [_cents(t.net), t.legacy_id],
        "TRANSACTION_TYPE": lambda t: [t.type, t.legacy_id],
        "ORDER_NAME": lambda t: [t.order_name or "", t.legacy_id],
    }
    return _sorted(chosen, sorts.get(sort_key, lambda t: t.legacy_id))


def _direction(payout: Payout) -> str:
    return "WITHDRAWAL" if payout.net < 0 else "DEPOSIT"


def _money(info: GraphQLResolveInfo, amount: Any) -> MoneyV2:  # noqa: ANN401 - Decimal
    return MoneyV2(amount, _context(info).shop.profile.currency)


def _payout_fields() -> dict[str, Callable[..., Any]]:
    return {
        "legacyResourceId": lambda p, _info: p.legacy_id,
        "status": lambda p, info: p.status(_context(info).shop.clock.now()),
        "transactionType": lambda p, _info: _direction(p),
        "net": lambda p, _info: MoneyV2(p.net, p.currency),
        "summary": lambda p, _info: p.summary(),
        "externalTraceId": lambda _p, _info: None,
    }


def _associated_payout(t: BalanceTransaction, info: GraphQLResolveInfo) -> dict[str, Any]:
    context = _context(info)
    payout = _ledger(context).payout(t.payout_legacy_id)
    if payout is None:
        return {"id": None, "status": "PENDING"}
    return {"id": payout.id, "status": payout.status(context.shop.clock.now())}


def _transaction_fields() -> dict[str, Callable[..., Any]]:
    return {
        "amount": lambda t, info: _money(info, t.amount),
        "fee": lambda t, info: _money(info, t.fee),
        "net": lambda t, info: _money(info, t.net),
        "associatedOrder": lambda t, _info: (
            {"id": t.order_id, "name": t.order_name} if t.order_id else None
        ),
        "associatedPayout": _associated_payout,
        "adjustmentsOrders": lambda _t, _info: [],
    }


def wire_payments(schema: GraphQLSchema, paginate: Paginate) -> None:
    """Attach the Shopify Payments resolvers to `schema` (paging with `paginate`)."""
    query_type = schema.query_type
    if query_type is None:
        msg = "schema.graphql must define the query root"
        raise RuntimeError(msg)
    query_type.fields["shopifyPaymentsAccount"].resolve = _resolve_account
    account = schema.get_type("ShopifyPaymentsAccount")
    account.fields["payouts"].resolve = _payouts_resolver(paginate)  # type: ignore[union-attr]
    account.fields["balanceTransactions"].resolve = _transactions_resolver(paginate)  # type: ignore[union-attr]
    payout_type = schema.get_type("ShopifyPaymentsPayout")
    for name, resolver in _payout_fields().items():
        payout_type.fields[name].resolve = resolver  # type: ignore[union-attr]
    transaction_type = schema.get_type("ShopifyPaymentsBalanceTransaction")
    for name, resolver in _transaction_fields().items():
        transaction_type.fields[name].resolve = resolver  # type: ignore[union-attr]
    schema.get_type("BigInt").serialize = str  # type: ignore[union-attr]
