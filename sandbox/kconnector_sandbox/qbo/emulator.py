"""The QuickBooks Online emulator: realms, tokens, limits, faults, and the Starlette app."""

from __future__ import annotations

import asyncio
import hashlib
from collections import Counter
from decimal import InvalidOperation
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.middleware import Middleware

from kconnector_sandbox.faults import FaultInjector
from kconnector_sandbox.qbo import admin_routes, api_routes, state_file
from kconnector_sandbox.qbo.autosave import MIN_INTERVAL_SECONDS, Autosave, AutosaveMiddleware
from kconnector_sandbox.qbo.cloudevents import CloudEventsMiddleware, CloudEventsPublisher
from kconnector_sandbox.qbo.cloudevents import admin_routes as webhook_routes
from kconnector_sandbox.qbo.company import Company
from kconnector_sandbox.qbo.edge import EdgeMiddleware
from kconnector_sandbox.qbo.idempotency import RequestIdCache
from kconnector_sandbox.qbo.limits import QboLimits, RealmLimiter
from kconnector_sandbox.qbo.oauth import ClientCredentials, TokenAuthority
from kconnector_sandbox.qbo.request_log import RequestLog
from kconnector_sandbox.qbo.seed import DEFAULT_REALMS, CompanyKind, profile_for, seed_company
from kconnector_sandbox.qbo.strict_report import StrictReport
from kconnector_sandbox.qbo.timekeeping import system_clock

if TYPE_CHECKING:
    from pathlib import Path

    from kconnector_sandbox.options import SandboxOptions
    from kconnector_sandbox.qbo.timekeeping import Clock

TOKEN_PATH = "/oauth2/v1/tokens/bearer"  # noqa: S105 - a URL path, not a secret
REVOKE_PATH = "/oauth2/v1/tokens/revoke"


def demo_credentials(seed: int) -> ClientCredentials:
    """The deterministic demo client id and secret for a seed."""
    digest = hashlib.sha256(f"kconnector-qbo-client:{seed}".encode()).hexdigest()
    return ClientCredentials(client_id=f"ABkc{digest[:44]}", client_secret=digest[44:64] + "Sx")


class QboEmulator:
    """A QuickBooks Online Accounting API emulator (see docs/sandbox-qbo.md).

    Tests may read and drive the state directly: `realms` (realm id -> `Company`), `tokens`,
    `limiter`, `request_ids`, `injector`, `log`, `strict_report`, `minor_versions`, `clock`.

    With ``options.state_dir`` the realms, tokens and retained ``requestid`` entries are loaded
    from its state file at start and kept in it (`autosave`); `close` writes the final state.
    """

    def __init__(
        self,
        options: SandboxOptions,
        *,
        limits: QboLimits | None = None,
        clock: Clock = system_clock,
        save_interval: float = MIN_INTERVAL_SECONDS,
    ) -> None:
        """Build the emulator: from its state file if there is one, else with the default realms.

        `save_interval` is the shortest time between two saves of the state file (seconds).

        Raises:
            StateFileError: ``options.state_dir`` holds a state file that cannot be used.
        """
        self.options = options
        self.clock = clock
        self.limits = limits or QboLimits()
        self.credentials = demo_credentials(options.seed)
        self.log = RequestLog()
        self.strict_report = StrictReport()
        self.minor_versions: Counter[str] = Counter()
        self.injector = FaultInjector(options.faults)
        self.tokens = TokenAuthority(self.credentials, clock, options.seed, options.time_scale)
        self.limiter = RealmLimiter(self.limits, clock, options.time_scale)
        self.request_ids = RequestIdCache(clock)
        self.realms: dict[str, Company] = {}
        self.realm_kinds: dict[str, CompanyKind] = {}
        self.initial_refresh_tokens: dict[str, str] = {}
        self._holds: dict[str, tuple[asyncio.Event, asyncio.AbstractEventLoop | None]] = {}
        self.autosave: Autosave | None = None
        # CloudEvents webhooks on document changes (docs/sandbox-qbo.md, "Webhooks").
        self.cloudevents = CloudEventsPublisher(time_scale=options.time_scale, clock=clock)
        restored = False
        if options.state_dir is not None:
            path = state_file.state_path(options.state_dir)
            stored = state_file.read(path, seed=options.seed)
            if stored is not None:
                self._restore(stored, path)
                restored = True
            self.autosave = Autosave(path, self.encode_state, min_interval=save_interval)
        if not restored:
            for realm_id, kind in DEFAULT_REALMS.items():
                self.add_realm(kind, realm_id)
        middleware = [
            Middleware(EdgeMiddleware, log=self.log),
            Middleware(CloudEventsMiddleware, publisher=self.cloudevents),
        ]
        if self.autosave is not None:
            self._save_now()
            middleware.insert(0, Middleware(AutosaveMiddleware, autosave=self.autosave))
        self._app = Starlette(
            routes=[
                *api_routes.routes(self),
                *admin_routes.routes(self),
                *webhook_routes(self.cloudevents),
            ],
            middleware=middleware,
        )

    @property
    def app(self) -> Starlette:
        """The ASGI app: the QBO API, the OAuth token endpoint and ``/__admin``."""
        return self._app

    def add_realm(self, kind: CompanyKind, realm_id: str | None = None) -> str:
        """Create (or re-seed) a realm and arm its initial refresh token; returns the realm id."""
        if realm_id is None:
            realm_id = str(9130357600000001 + len(self.realms))
            while realm_id in self.realms:
                realm_id = str(int(realm_id) + 1)
        self.realms[realm_id] = seed_company(kind, realm_id, self.clock)
        self.realm_kinds[realm_id] = kind
        self.initial_refresh_tokens[realm_id] = self.tokens.initial_refresh_token(realm_id)
        return realm_id

    def reset(self) -> None:
        """Back to the start: realms re-seeded; tokens, limits, ids, log, report, faults cleared."""
        self.realms.clear()
        self.realm_kinds.clear()
        self.initial_refresh_tokens.clear()
        self.tokens = TokenAuthority(
            self.credentials, self.clock, self.options.seed, self.options.time_scale
        )
        self.limiter.reset()
        self.request_ids.clear()
        self.log.clear()
        self.strict_report.clear()
        self.minor_versions.clear()
        self.injector.configure(self.options.faults)
        self.release_all()
        for realm_id, kind in DEFAULT_REALMS.items():
            self.add_realm(kind, realm_id)
        if self.autosave is not None:
            self._save_now()

    # --- the state file (``options.state_dir``) ----------------------------------

    def export_state(self) -> dict[str, Any]:
        """Realms, tokens and retained ``requestid`` entries as JSON values plus `Decimal`."""
        return {
            "saved_at": self.clock(),
            "realms": {
                realm_id: {"kind": self.realm_kinds[realm_id].value, **company.export_state()}
                for realm_id, company in self.realms.items()
            },
            "tokens": self.tokens.export_state(),
            "request_ids": self.request_ids.export_state(),
        }

    def encode_state(self) -> bytes:
        """The state file's bytes for the current state."""
        return state_file.encode(self.export_state(), seed=self.options.seed)

    def close(self) -> None:
        """Write the final state to the state file, if any (call once the server stopped)."""
        if self.autosave is not None:
            self.autosave.close()

    def _save_now(self) -> None:
        if self.autosave is None:
            return
        try:
            self.autosave.save_now()
        except OSError as exc:
            problem = f"cannot be written ({exc.strerror})"
            raise state_file.StateFileError(self.autosave.path, problem) from exc

    def _restore(self, stored: dict[str, Any], path: Path) -> None:
        try:
            for realm_id, realm in stored["realms"].items():
                kind = CompanyKind(realm["kind"])
                profile = profile_for(kind, realm_id)
                self.realms[realm_id] = Company.restore(profile, self.clock, realm)
                self.realm_kinds[realm_id] = kind
                self.initial_refresh_tokens[realm_id] = self.tokens.initial_refresh_token_of(
                    realm_id
                )
            self.tokens.restore_state(stored["tokens"])
            self.request_ids.restore_state(stored["request_ids"])
        except (KeyError, TypeError, ValueError, AttributeError, InvalidOperation) as exc:
            problem = f"does not hold a valid QuickBooks emulator state ({exc!r})"
            raise state_file.StateFileError(path, problem) from exc

    # --- holding requests in flight (deterministic concurrency tests) ---------------

    def hold(self, realm_id: str) -> None:
        """Make API requests to `realm_id` wait (in flight) until `release`."""
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        self._holds.setdefault(realm_id, (asyncio.Event(), loop))

    def release(self, realm_id: str) -> None:
        """Let held requests of `realm_id` proceed (callable from any thread)."""
        held = self._holds.pop(realm_id, None)
        if held is None:
            return
        event, loop = held
        if loop is not None and loop.is_running():
            loop.call_soon_threadsafe(event.set)
        else:
            event.set()

    def release_all(self) -> None:
        """Release every held realm."""
        for realm_id in list(self._holds):
            self.release(realm_id)

    async def wait_if_held(self, realm_id: str) -> None:
        """Await the realm's hold, if any."""
        held = self._holds.get(realm_id)
        if held is not None:
            await held[0].wait()

    def banner(self, base_url: str) -> list[str]:
        """URLs and demo credentials, printed by the CLI."""
        lines = [
            f"QuickBooks Online emulator: {base_url}",
            f"  API base URL:      {base_url}/v3/company/<realmId>/...",
            f"  token endpoint:    {base_url}{TOKEN_PATH}",
            f"  client id:         {self.credentials.client_id}",
            f"  client secret:     {self.credentials.client_secret}",
        ]
        for realm_id, kind in self.realm_kinds.items():
            lines.append(
                f"  realm {realm_id} ({kind.value}) refresh token: "
                f"{self.initial_refresh_tokens[realm_id]}"
            )
        lines.append(f"  admin:             {base_url}/__admin/requests")
        return lines
