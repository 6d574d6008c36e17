"""What an operator command works with: the settings, the store, and (for actions) the target.

Actions that talk to QuickBooks (retry, resolve, reconcile, the connection check) build the
target itself (`TargetQuickBooks`), so they go through exactly the delivery path, OAuth token
handling and limits of a sync run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from target_quickbooks.operations.actions import OperatorActions
from target_quickbooks.settings import Settings
from target_quickbooks.store import Store, open_store

if TYPE_CHECKING:
    from target_quickbooks.delivery import DeliveryEngine
    from target_quickbooks.target import TargetQuickBooks


class OpsSession:
    """Opens the store and the target on first use; `close` releases both."""

    def __init__(self, config: dict[str, Any]) -> None:
        """Validate the config like the target does (same errors, same defaults)."""
        self.config = config
        self.settings = Settings.from_config(config)
        self._store: Store | None = None
        self._target: TargetQuickBooks | None = None

    @property
    def realm_id(self) -> str:
        """The company the commands act on."""
        return self.settings.realm_id

    @property
    def store(self) -> Store:
        """The target's store (migrated to head on open, as the target does)."""
        if self._target is not None:
            return self._target.store
        if self._store is None:
            self._store = open_store(
                self.settings.database_url, token_keys=self.settings.token_keys
            )
        return self._store

    @property
    def delivery(self) -> DeliveryEngine:
        """The target's delivery engine, connected to QuickBooks."""
        if self._target is None:
            from target_quickbooks.target import TargetQuickBooks  # noqa: PLC0415 - heavy, for actions only

            self._target = TargetQuickBooks(config=self.config, validate_config=True)
            # Reads (the connection check, reconcile) never wait for a running sync.
            self._target.lease_on_delivery = False
        return self._target.delivery

    @property
    def actions(self) -> OperatorActions:
        """Retry and resolve through the delivery engine, as the company's only writer.

        Raises:
            WriterLeaseBusyError: a sync run still writes to the company after the wait.
        """
        engine = self.delivery
        if self._target is not None:
            self._target.hold_writer_lease()
        return OperatorActions(engine)

    def close(self) -> None:
        """Release the connections and threads."""
        if self._target is not None:
            self._target.close()
        if self._store is not None:
            self._store.close()
