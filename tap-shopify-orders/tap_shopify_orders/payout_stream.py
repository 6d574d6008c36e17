"""The canonical `payouts` stream: Shopify Payments payouts and the balance transactions settled.

- Read from `shopifyPaymentsAccount { payouts }` searched by `issued_at` and sorted by ISSUED_AT,
  then each payout's `balanceTransactions` (filtered by its legacy id, TRANSFER rows hidden).
- Incremental on `updated_at`, which is the payout's `issuedAt`: Shopify payouts have no
  `updatedAt`, and a payout changes status after it is issued (SCHEDULED -> PAID, or FAILED days
  later). Each run therefore re-reads the payouts issued in the last `PAYOUT_REREAD_DAYS` before
  the bookmark; a payout read again with the same content is a no-op downstream (the target's
  ledger), one whose status changed is delivered again.
- Scopes: `read_shopify_payments_accounts` and `read_shopify_payments_payouts`
  (`read_shopify_payments` grants both). Without them the stream is skipped with one warning and
  orders still sync; a shop without Shopify Payments (`shopifyPaymentsAccount: null`) has none.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from kconnector_canonical import singer_schema
from tap_shopify_orders.client import ShopifyStream
from tap_shopify_orders.errors import QueryCostTooHighError
from tap_shopify_orders.payouts import PayoutStore, belongs_to, normalise_payout, residual
from tap_shopify_orders.queries import PAYOUT_TRANSACTIONS, PAYOUTS_PAGE
from tap_shopify_orders.shopify_values import legacy_id, nodes
from tap_shopify_orders.streams import OrdersStream, ShopAccess, read_shop_access

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from singer_sdk.helpers.types import Context

JSON = dict[str, Any]

# How far before the bookmark payouts are read again for a status change. Shopify pays out on a
# 2-business-day schedule or longer, and a bank returns a failed transfer within a few business
# days (https://help.shopify.com/en/manual/payments/shopify-payments/payouts/failed-payouts);
# two weeks cover both with room.
PAYOUT_REREAD_DAYS = 14
PAYOUTS_PAGE_SIZE = 50
TRANSACTIONS_PAGE_SIZE = 100
ACCOUNT_SCOPE = "read_shopify_payments_accounts"
PAYOUTS_SCOPE = "read_shopify_payments_payouts"
ALL_PAYMENTS_SCOPE = "read_shopify_payments"


def missing_payout_scopes(scopes: frozenset[str]) -> list[str]:
    """The payout scopes the token lacks (none when `read_shopify_payments` is granted)."""
    if ALL_PAYMENTS_SCOPE in scopes:
        return []
    return [scope for scope in (ACCOUNT_SCOPE, PAYOUTS_SCOPE) if scope not in scopes]


class PayoutsStream(ShopifyStream):
    """Canonical payouts of the shop's Shopify Payments account."""

    name = "payouts"
    primary_keys: ClassVar[list[str]] = ["id"]
    replication_key = "updated_at"
    is_sorted = True
    schema = singer_schema("payouts")

    @property
    def check_sorted(self) -> bool:
        """Off: the status re-read window starts below the bookmark on purpose."""
        return False

    def get_records(self, context: Context | None) -> Iterable[JSON]:
        """The payouts issued since the bookmark minus the re-read window, oldest first."""
        access = self._access()
        missing = missing_payout_scopes(access.scopes)
        if missing:
            self.logger.warning(
                "PAYOUTS SKIPPED: the access token lacks %s, so Shopify Payments payouts are "
                "not read (orders and refunds still sync). Grant them to the custom app "
                "(or read_shopify_payments) and set the new access_token.",
                " and ".join(missing),
            )
            return
        store = PayoutStore(self.settings.shop, access.timezone)
        yield from self._payouts(self._since(context), store)

    def _access(self) -> ShopAccess:
        # The orders stream read it at its start (one query per run); read here otherwise.
        orders = self._tap.streams.get("orders")
        if isinstance(orders, OrdersStream):
            return orders.shop_access()
        return read_shop_access(self.graphql)  # pragma: no cover - the tap always has orders

    def _since(self, context: Context | None) -> datetime:
        start: datetime = self.settings.start_date
        bookmark = self.get_starting_replication_key_value(context)
        if not bookmark:
            return start
        moment = datetime.fromisoformat(str(bookmark)).astimezone(UTC)
        return max(moment - timedelta(days=PAYOUT_REREAD_DAYS), start)

    def _payouts(self, since: datetime, store: PayoutStore) -> Iterator[JSON]:
        # `issued_at` compares store-local days: one day earlier covers any zone offset.
        search = f"issued_at:>={(since - timedelta(days=1)).date().isoformat()}"
        for raw in self._paged(PAYOUTS_PAGE, "PayoutsPage", "payouts", search, PAYOUTS_PAGE_SIZE):
            issued = str(raw.get("issuedAt") or "")
            if issued and datetime.fromisoformat(issued).astimezone(UTC) < since:
                continue
            payout_gid = str(raw.get("id"))
            legacy = str(raw.get("legacyResourceId") or legacy_id(payout_gid))
            transactions = [
                item
                for item in self._paged(
                    PAYOUT_TRANSACTIONS,
                    "PayoutTransactions",
                    "balanceTransactions",
                    f"payments_transfer_id:{legacy}",
                    TRANSACTIONS_PAGE_SIZE,
                )
                if belongs_to(item, payout_gid)
            ]
            payout = normalise_payout(raw, transactions, store)
            difference = residual(payout)
            if difference:
                self.logger.warning(
                    "payout=%s net differs from its balance transactions by %s %s; its deposit "
                    "will not reconcile",
                    legacy,
                    difference,
                    payout["currency"],
                )
            yield payout

    def _paged(
        self, document: str, operation: str, field: str, search: str, page_size: int
    ) -> Iterator[JSON]:
        first, after = page_size, None
        while True:
            variables = {"first": first, "after": after, "query": search}
            try:
                data = self.graphql(operation, document, variables)
            except QueryCostTooHighError as exc:
                if first <= 1:
                    raise
                first = max(1, min(first - 1, first * exc.max_cost // max(exc.cost, 1)))
                continue
            account = data.get("shopifyPaymentsAccount")
            if not isinstance(account, dict):
                self.logger.info(
                    "shop=%s has no Shopify Payments account: no payouts", self.settings.shop
                )
                return
            connection = account.get(field) or {}
            yield from nodes(connection)
            info = connection.get("pageInfo") or {}
            if not info.get("hasNextPage"):
                return
            after = info.get("endCursor")
