"""The WooCommerce emulator object: seeded store, keys, switches, faults, webhooks, ASGI app."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.routing import Route

from kconnector_sandbox.faults import FaultInjector
from kconnector_sandbox.woocommerce.admin_routes import admin_routes
from kconnector_sandbox.woocommerce.api_keys import ApiKey, Permission, demo_keys
from kconnector_sandbox.woocommerce.api_routes import rest_url, serve_site
from kconnector_sandbox.woocommerce.data_generator import generate_store
from kconnector_sandbox.woocommerce.host_switches import HostSwitches, MinuteRateLimiter
from kconnector_sandbox.woocommerce.presentation import present_order
from kconnector_sandbox.woocommerce.store_profiles import StoreProfile, profile_for_seed
from kconnector_sandbox.woocommerce.store_state import StoreState, wall_clock
from kconnector_sandbox.woocommerce.webhooks import WebhookDispatcher

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from kconnector_sandbox.options import SandboxOptions
    from kconnector_sandbox.woocommerce.order_documents import Document
    from kconnector_sandbox.woocommerce.store_state import Clock

_SITE_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]


class WooCommerceEmulator:
    """A WordPress + WooCommerce store, as far as the REST API v3 orders endpoints show it."""

    def __init__(
        self,
        options: SandboxOptions,
        *,
        profile: StoreProfile | None = None,
        clock: Clock = wall_clock,
        refunds: bool = True,
    ) -> None:
        """Generate the store from the options (profile chosen by seed unless given).

        `refunds=False` seeds the same store without any refund.
        """
        self.options = options
        self.profile = profile or profile_for_seed(options.seed)
        data = generate_store(options.seed, options.orders, self.profile, refunds=refunds)
        self.state = StoreState(data, clock)
        self.keys: dict[str, ApiKey] = {key.consumer_key: key for key in demo_keys(options.seed)}
        self.switches = HostSwitches()
        self.faults = FaultInjector(options.faults)
        self.rate_limiter = MinuteRateLimiter(options.time_scale)
        self.site_url = "http://127.0.0.1"
        self.webhooks = WebhookDispatcher(
            site_url=lambda: self.site_url,
            render_order=self._render_for_webhook,
            user_agent=f"WooCommerce/{self.profile.wc_version} Hookshot (WordPress/6.7.1)",
        )
        self.state.add_listener(self.webhooks.on_order_event)
        self._app = Starlette(
            routes=[*admin_routes(self), Route("/{path:path}", self._site, methods=_SITE_METHODS)]
        )

    async def _site(self, request: Request) -> Response:
        return await serve_site(self, request)

    def _render_for_webhook(self, order: Document) -> Document:
        return present_order(order, lambda route: rest_url(self, route), self.site_url)

    @property
    def app(self) -> Starlette:
        """The ASGI app: the store's REST API plus `/__admin/...`."""
        return self._app

    def key_with(self, permission: Permission) -> ApiKey:
        """The demo key with this permission."""
        return next(key for key in self.keys.values() if key.permission is permission)

    @property
    def demo_key(self) -> ApiKey:
        """The read/write demo key."""
        return self.key_with(Permission.READ_WRITE)

    def banner(self, base_url: str) -> list[str]:
        """Store URL, API base and the demo credentials."""
        key = self.demo_key
        return [
            f"WooCommerce ({self.profile.key} store, {self.profile.currency}): {base_url}/",
            f"  REST API: {base_url}/wp-json/wc/v3/orders",
            "  (plain HTTP on loopback; real stores use HTTPS)",
            f"  consumer_key:    {key.consumer_key}",
            f"  consumer_secret: {key.consumer_secret}",
            f"  admin: {base_url}/__admin/",
        ]

    def close(self) -> None:
        """Stop the webhook thread."""
        self.webhooks.stop()
