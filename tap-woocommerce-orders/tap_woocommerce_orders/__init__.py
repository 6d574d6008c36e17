"""Singer tap: WooCommerce orders and refunds (REST API v3) as K-Connector canonical streams."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("tap-woocommerce-orders")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0"
