"""tap-shopify-orders: Shopify orders, refunds and payouts as canonical Singer streams."""

from __future__ import annotations

from functools import cached_property
from typing import Any, ClassVar

from singer_sdk import Stream, Tap
from singer_sdk import typing as th
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.helpers.capabilities import CapabilitiesEnum, PluginCapabilities, TapCapabilities

from kconnector_canonical.redaction import install_log_redaction, secret_values
from kconnector_canonical.standby import StandbyCancelledError, released_invoke_arguments
from tap_shopify_orders.payout_stream import PayoutsStream
from tap_shopify_orders.settings import (
    API_VERSION,
    DEFAULT_BULK_THRESHOLD_DAYS,
    DEFAULT_LOOKBACK_MINUTES,
    DEFAULT_PAGE_SIZE,
    Settings,
    parse_settings,
)
from tap_shopify_orders.streams import OrdersStream, RefundsStream
from tap_shopify_orders.throttle import CostPacer

BATCH_REFUSED = (
    "batch_config: not supported (map-quickbooks reads RECORD messages, not BATCH files); "
    "remove batch_config from this tap's settings"
)


class TapShopifyOrders(Tap):
    """Reads a Shopify store's orders and refunds through the GraphQL Admin API."""

    name = "tap-shopify-orders"
    # No `batch`: map-quickbooks, the one consumer of these streams, reads RECORD messages and
    # the SDK's mappers cannot take BATCH messages, so BATCH output would stop the pipeline.
    capabilities: ClassVar[list[CapabilitiesEnum]] = [
        TapCapabilities.CATALOG,
        TapCapabilities.STATE,
        TapCapabilities.DISCOVER,
        TapCapabilities.ACTIVATE_VERSION,
        PluginCapabilities.ABOUT,
        PluginCapabilities.STREAM_MAPS,
        PluginCapabilities.FLATTENING,
        PluginCapabilities.STRUCTURED_LOGGING,
    ]

    config_jsonschema = th.PropertiesList(
        th.Property(
            "shop",
            th.StringType,
            required=True,
            title="Shop",
            description="The store's myshopify domain, e.g. `kc-demo.myshopify.com`.",
        ),
        th.Property(
            "access_token",
            th.StringType,
            required=True,
            secret=True,
            title="Admin API access token",
            description=(
                "Access token of a custom app with the `read_orders` and `read_all_orders` "
                "scopes (starts with `shpat_`)."
            ),
        ),
        th.Property(
            "start_date",
            th.DateTimeType,
            required=True,
            title="Start date",
            description=(
                "Read orders updated at or after this UTC timestamp on the first run "
                "(e.g. `2024-01-01T00:00:00Z`)."
            ),
        ),
        th.Property(
            "api_version",
            th.StringType,
            default=API_VERSION,
            title="API version",
            description=(
                f"GraphQL Admin API version. Pinned to `{API_VERSION}`; override only to move "
                "to a newer version before the tap's next release."
            ),
        ),
        th.Property(
            "lookback_window_minutes",
            th.IntegerType,
            default=DEFAULT_LOOKBACK_MINUTES,
            title="Lookback window (minutes)",
            description=(
                "Each run re-reads orders updated this long before the bookmark, to catch "
                "late edits; re-read orders are deduplicated downstream by `id`."
            ),
        ),
        th.Property(
            "page_size",
            th.IntegerType,
            default=DEFAULT_PAGE_SIZE,
            title="Page size",
            description=(
                "Orders per GraphQL page (1-250). The default fits Shopify's 1,000-point cap "
                "per query; lowered automatically, for the rest of the run, when Shopify says a "
                "query would cost too much."
            ),
        ),
        th.Property(
            "api_url",
            th.StringType,
            title="API base URL",
            description=(
                "Base URL override, e.g. a local emulator `http://127.0.0.1:8080`. "
                "Default: `https://<shop>`. Must be https:// except to this machine "
                "(localhost, 127.0.0.0/8, ::1) or with `allow_insecure_http`."
            ),
        ),
        th.Property(
            "allow_insecure_http",
            th.BooleanType,
            default=False,
            title="Allow insecure HTTP",
            description=(
                "Allow a plain http:// `api_url` on another machine (a test server only): the "
                "access token would cross the network readable."
            ),
        ),
        th.Property(
            "include_test_orders",
            th.BooleanType,
            default=False,
            title="Include test orders",
            description="Also emit orders placed with a test gateway or in test mode.",
        ),
        th.Property(
            "bulk_threshold_days",
            th.IntegerType,
            default=DEFAULT_BULK_THRESHOLD_DAYS,
            title="Bulk threshold (days)",
            description=(
                "History older than this many days is read with one Shopify bulk operation "
                "instead of paging (faster for large backfills, resumable)."
            ),
        ),
    ).to_dict()

    def __init__(self, *args: Any, **kwargs: Any) -> None:  # noqa: ANN401
        """Validate the settings (every problem named) before anything is requested."""
        # Before the SDK checks the config: its messages quote an invalid value, secret or not.
        install_log_redaction(secret_values(kwargs.get("config"), self.config_jsonschema))
        super().__init__(*args, **kwargs)
        # Before any request: log lines, exceptions and tracebacks are cleaned of the token.
        install_log_redaction(
            secret_values(self.config, self.config_jsonschema), loggers=[self.logger]
        )
        # The SDK writes BATCH messages whenever `batch_config` is set, advertised or not.
        if self.config.get("batch_config"):
            raise ConfigValidationError(BATCH_REFUSED, errors=[BATCH_REFUSED])
        self.pacer = CostPacer()
        if kwargs.get("validate_config", True) and self.config:
            _ = self.settings

    @cached_property
    def settings(self) -> Settings:
        """The validated, typed settings."""
        return parse_settings(dict(self.config))

    @classmethod
    def invoke(cls, **kwargs: Any) -> None:  # noqa: ANN401 - the SDK's keyword arguments
        """Run as the SDK does; a real-time standby first waits for its release.

        kconnector-realtime starts a run ahead of a store's events with this tap waiting before
        its first request (`kconnector_canonical.standby`); the release layers the window's
        `start_date` over the configuration, a cancelled standby ends at once, reading nothing.
        """
        try:
            arguments = released_invoke_arguments(kwargs)
        except StandbyCancelledError as exc:
            cls.logger.info("event=standby_cancelled reason=%s", exc)
            return
        super().invoke(**arguments)

    def discover_streams(self) -> list[Stream]:
        """The canonical streams."""
        return [OrdersStream(self), RefundsStream(self), PayoutsStream(self)]


if __name__ == "__main__":
    TapShopifyOrders.cli()
