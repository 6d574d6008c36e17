"""Singer sinks: thin adapters from records to the delivery engine.

Sinks never report themselves full: the engine flushes on its own schedule while records arrive
(only documents whose dependencies are already delivered), and `process_batch`, which the SDK
calls from `drain_all` right before it emits STATE, delivers everything queued and returns only
when each document is acknowledged by QuickBooks or dead-lettered. So a STATE message never
covers a record QuickBooks has not acknowledged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from singer_sdk.sinks import Sink

from target_quickbooks import error_catalog
from target_quickbooks.contract import ContractViolation, check_dead_letter, parse_document
from target_quickbooks.delivery import FLUSH_BATCHES
from target_quickbooks.errors import DeliveryError, ErrorClass, SystemFaultError

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from target_quickbooks.delivery import DeliveryEngine
    from target_quickbooks.target import TargetQuickBooks


def _without_sdc(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if not k.startswith("_sdc_")}


class QuickBooksSink(Sink):
    """Common behaviour: the shared engine, never full, system errors stop the run."""

    # The target checks records against its own copy of the contract and dead-letters the
    # ones that break it, instead of failing the whole run on one record.
    fail_on_record_validation_exception = False

    def __init__(
        self,
        target: TargetQuickBooks,
        stream_name: str,
        schema: dict[str, Any],
        key_properties: Sequence[str] | None,
    ) -> None:
        """Keep a handle on the target (it owns the delivery engine)."""
        super().__init__(target, stream_name, schema, key_properties)
        self.qbo_target = target

    def get_validator(self) -> None:
        """None: `contract.parse_document` validates each record (a second pass cost CPU)."""
        return

    @property
    def is_full(self) -> bool:
        """Never: the engine decides when to write (see the module docstring)."""
        return False

    def _guarded(self, action: Callable[[DeliveryEngine], None]) -> None:
        try:
            action(self.qbo_target.delivery)
        except DeliveryError as exc:
            if exc.error_class is ErrorClass.SYSTEM:
                self.qbo_target.stop_run(exc)
            raise
        except Exception as exc:  # any other failure also stops the run, with the alert
            # The traceback goes to the debug log only: exception texts can carry record data.
            self.logger.debug("unexpected failure", exc_info=True)
            message = f"unexpected internal failure ({type(exc).__name__})"
            self.qbo_target.stop_run(
                SystemFaultError(
                    message,
                    code=error_catalog.INTERNAL,
                    guidance=(
                        "Re-run with the log level at DEBUG to see the traceback; if the store "
                        "database is unreachable or full, fix it first. Report persistent "
                        "failures to K-Connector support."
                    ),
                )
            )

    def process_batch(self, context: dict[str, Any]) -> None:  # noqa: ARG002 - the engine holds the records
        """Deliver everything queued, from every stream; returns when all are settled."""
        self._guarded(lambda engine: engine.flush(final=True))


class DocumentSink(QuickBooksSink):
    """customers, sales_receipts, invoices, payments, refund_receipts, credit_memos."""

    def process_record(self, record: dict[str, Any], context: dict[str, Any]) -> None:  # noqa: ARG002 - no partitions
        """Check the record against the contract and queue it (or dead-letter it)."""
        clean = _without_sdc(record)
        parsed = parse_document(self.stream_name, clean)

        def queue(engine: DeliveryEngine) -> None:
            if isinstance(parsed, ContractViolation):
                engine.reject(self.stream_name, clean, parsed)
                return
            engine.enqueue(parsed, line_digest=self.qbo_target.line_digest)
            engine.flush_if_due(self.qbo_target.settings.batch_size * FLUSH_BATCHES)

        self._guarded(queue)


class DeadLetterSink(QuickBooksSink):
    """The mapper's dead letters: stored as they are (data class) and counted."""

    def process_record(self, record: dict[str, Any], context: dict[str, Any]) -> None:  # noqa: ARG002 - no partitions
        """Store the mapper's dead letter (or dead-letter a malformed one)."""
        clean = _without_sdc(record)
        violation = check_dead_letter(clean)

        def store(engine: DeliveryEngine) -> None:
            if violation is not None:
                engine.reject(self.stream_name, clean, violation)
            else:
                engine.store_mapper_dead_letter(self.stream_name, clean)

        self._guarded(store)
