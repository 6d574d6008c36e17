"""tap-woocommerce-orders: WooCommerce orders and refunds as K-Connector's canonical streams."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from singer_sdk import Tap
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.helpers.capabilities import CapabilitiesEnum, PluginCapabilities, TapCapabilities

from kconnector_canonical.redaction import install_log_redaction, secret_values
from kconnector_canonical.standby import StandbyCancelledError, released_invoke_arguments
from tap_woocommerce_orders.payouts_stream import PayoutsStream
from tap_woocommerce_orders.settings import SETTINGS_SCHEMA, StoreSettings
from tap_woocommerce_orders.settled_cache import SettledCache
from tap_woocommerce_orders.streams import OrdersStream, RefundParents, RefundsStream

if TYPE_CHECKING:
    from singer_sdk.streams import Stream

BATCH_REFUSED = (
    "batch_config: not supported (map-quickbooks reads RECORD messages, not BATCH files); "
    "remove batch_config from this tap's settings"
)


class TapWooCommerceOrders(Tap):
    """Reads a WooCommerce store's orders and refunds (REST API v3)."""

    name = "tap-woocommerce-orders"
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
    config_jsonschema: ClassVar[dict[str, Any]] = SETTINGS_SCHEMA

    def __init__(self, *args: Any, **kwargs: Any) -> None:  # noqa: ANN401 - the SDK's signature
        """Load and check the settings before anything talks to the store.

        Raises:
            ConfigValidationError: naming each invalid setting (when validation is on).
        """
        self._store_settings: StoreSettings | None = None
        # Before the SDK checks the config: its messages quote an invalid value, secret or not.
        install_log_redaction(secret_values(kwargs.get("config"), self.config_jsonschema))
        super().__init__(*args, **kwargs)
        # Before anything talks to the store: every log line, exception and traceback is
        # cleaned of the consumer key and secret (connection errors carry the full URL).
        install_log_redaction(
            secret_values(self.config, self.config_jsonschema), loggers=[self.logger]
        )
        # The SDK writes BATCH messages whenever `batch_config` is set, advertised or not.
        if self.config.get("batch_config"):
            raise ConfigValidationError(BATCH_REFUSED, errors=[BATCH_REFUSED])
        if kwargs.get("validate_config", True):
            _ = self.store_settings

    @property
    def store_settings(self) -> StoreSettings:
        """The checked settings (read once, on first use).

        Raises:
            ConfigValidationError: naming each invalid setting.
        """
        if self._store_settings is None:
            self._store_settings = StoreSettings.from_config(self.config)
        return self._store_settings

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
        """`orders`, its child `refunds`, and `payouts`."""
        parents = RefundParents()
        # What orders and refunds settle, kept for the payouts stream when it estimates.
        settled = SettledCache()
        payouts = PayoutsStream(self, self.store_settings, settled)
        settled.wanted = lambda: payouts.selected and payouts.estimates
        return [
            OrdersStream(self, self.store_settings, parents, settled),
            RefundsStream(self, self.store_settings, parents, settled),
            payouts,
        ]


if __name__ == "__main__":
    TapWooCommerceOrders.cli()
