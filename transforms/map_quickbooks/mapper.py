"""map-quickbooks: the Singer inline mapper (thin: the mapping itself lives in `mapping`)."""

from __future__ import annotations

import copy
import typing as t
from collections import Counter, OrderedDict

import singer_sdk.singerlib as singer
from singer_sdk.helpers.capabilities import CapabilitiesEnum, PluginCapabilities
from singer_sdk.mapper_base import InlineMapper

from kconnector_canonical.redaction import install_log_redaction, secret_values
from map_quickbooks.config_schema import CONFIG_SCHEMA
from map_quickbooks.contract import (
    DEAD_LETTERS,
    DOCUMENT_STREAMS,
    KEY_PROPERTIES,
    dead_letter_schema,
    document_schema,
)
from map_quickbooks.mapping import InputStream, map_record_result
from map_quickbooks.posting import SummaryPosting
from map_quickbooks.rules import Settings

if t.TYPE_CHECKING:
    from pathlib import PurePath

    from map_quickbooks.contract import OutputRecord
    from map_quickbooks.refunds import OrderFacts

INPUT_STREAMS: frozenset[str] = frozenset({"orders", "refunds", "payouts"})
_INPUT_STREAM: dict[str, InputStream] = {
    "orders": "orders",
    "refunds": "refunds",
    "payouts": "payouts",
}
# Facts of recently seen orders kept for the refund guard (oldest dropped first). Both taps emit
# an order's refunds right after the order (a child stream synced per parent record), so the
# guard needs the last few orders only; a bound this size keeps the mapper's memory flat
# (~0.45 KiB per remembered order, bench/RESULTS.md) while leaving ample room for a tap that
# emits refunds later. A refund whose order was not remembered is checked on its own.
ORDERS_REMEMBERED = 5_000


class MapQuickBooks(InlineMapper):
    """K-Connector canonical `orders`/`refunds`/`payouts` to QuickBooks documents, by rules."""

    name = "map-quickbooks"
    config_jsonschema: t.ClassVar[dict[str, t.Any]] = CONFIG_SCHEMA
    # Stream maps and flattening would rewrite the QuickBooks documents the target expects.
    capabilities: t.ClassVar[list[CapabilitiesEnum]] = [
        PluginCapabilities.ABOUT,
        PluginCapabilities.STRUCTURED_LOGGING,
    ]

    def __init__(
        self,
        *,
        config: dict[str, t.Any] | PurePath | str | list[PurePath | str] | None = None,
        parse_env_config: bool = False,
        validate_config: bool = True,
    ) -> None:
        """Read the settings once into a frozen `Settings` (a bad rule stops here)."""
        super().__init__(
            config=config,
            parse_env_config=parse_env_config,
            validate_config=validate_config,
        )
        # The same log redaction as every K-Connector plugin (URL credentials, secret settings).
        install_log_redaction(
            secret_values(self.config, self.config_jsonschema), loggers=[self.logger]
        )
        self.settings = Settings.from_config(self.config)
        self._schemas_sent = False
        self._orders_seen: OrderedDict[str, OrderFacts] = OrderedDict()
        self._ignored_streams: set[str] = set()
        self.counts: Counter[str] = Counter()
        # Summary posting modes hold candidates (and so the STATE) until the end (posting.py).
        self._posting = (
            SummaryPosting(self.settings) if self.settings.posting_mode != "per_order" else None
        )
        self._held_state: dict[str, t.Any] | None = None

    def _output_schemas(self) -> t.Iterator[singer.Message]:
        if self._schemas_sent:
            return
        self._schemas_sent = True
        for stream in DOCUMENT_STREAMS:
            yield singer.SchemaMessage(
                stream=stream, schema=document_schema(), key_properties=list(KEY_PROPERTIES)
            )
        yield singer.SchemaMessage(
            stream=DEAD_LETTERS, schema=dead_letter_schema(), key_properties=list(KEY_PROPERTIES)
        )

    def map_schema_message(self, message_dict: dict[str, t.Any]) -> t.Iterable[singer.Message]:
        """Emit the output streams' schemas once, on the first input schema."""
        stream = message_dict.get("stream", "")
        if stream not in INPUT_STREAMS:
            self._ignore(stream)
            return
        yield from self._output_schemas()

    def map_record_message(self, message_dict: dict[str, t.Any]) -> t.Iterable[singer.Message]:
        """Map one canonical record to its documents (dependencies first) or a dead letter."""
        stream = message_dict.get("stream", "")
        if stream not in INPUT_STREAMS:
            self._ignore(stream)
            return
        yield from self._output_schemas()
        input_stream = _INPUT_STREAM[stream]
        result = map_record_result(
            message_dict["record"], input_stream, self.settings, self._orders_seen
        )
        if result.order_facts is not None:
            order_id, facts = result.order_facts
            self._orders_seen[order_id] = facts
            self._orders_seen.move_to_end(order_id)
            while len(self._orders_seen) > ORDERS_REMEMBERED:
                self._orders_seen.popitem(last=False)
        if result.skipped is not None:
            self.counts[f"skipped:{result.skipped}"] += 1
            self.logger.info(
                "event=record_skipped stream=%s id=%s reason=%r",
                stream,
                message_dict["record"].get("id"),
                result.skipped,
            )
        outputs = result.records
        if self._posting is not None:
            outputs = self._posting.take(input_stream, message_dict["record"], result)
        yield from self._emit(stream, outputs)

    def _emit(
        self, stream: str, outputs: t.Iterable[OutputRecord]
    ) -> t.Iterator[singer.RecordMessage]:
        for output in outputs:
            self.counts[output.stream] += 1
            if output.stream == DEAD_LETTERS:
                self.logger.warning(
                    "event=dead_letter stream=%s id=%s code=%s field=%s",
                    stream,
                    output.record["source_id"],
                    output.record["error_code"],
                    output.record["field"],
                )
            yield singer.RecordMessage(stream=output.stream, record=output.record)

    def map_state_message(self, message_dict: dict[str, t.Any]) -> t.Iterable[singer.Message]:
        """Pass STATE through unchanged (the target emits it once QuickBooks acknowledged).

        In a summary posting mode the latest STATE waits for the end of the input: records
        still held must not be covered by a STATE the target could emit before them.
        """
        if self._posting is not None:
            self._held_state = copy.deepcopy(message_dict["value"])
            return
        yield singer.StateMessage(value=copy.deepcopy(message_dict["value"]))

    def map_activate_version_message(
        self, message_dict: dict[str, t.Any]
    ) -> t.Iterable[singer.Message]:
        """Documents are upserted by external id: full-table versions do not apply."""
        del message_dict
        return []

    def process_endofpipe(self) -> None:
        """Emit what a summary posting mode held (then its STATE); log what was emitted."""
        if self._posting is not None:
            finished = self._posting.finish()
            messages: list[singer.Message] = []
            if finished:
                messages.extend(self._output_schemas())
                messages.extend(self._emit("held", finished))
            for message in messages:
                self.write_message(message)
            if self._held_state is not None:
                self.write_message(singer.StateMessage(value=self._held_state))
                self._held_state = None
        summary = " ".join(f"{key}={value}" for key, value in sorted(self.counts.items()))
        self.logger.info("event=mapping_summary %s", summary or "nothing")

    def _ignore(self, stream: str) -> None:
        if stream not in self._ignored_streams:
            self._ignored_streams.add(stream)
            self.logger.warning(
                "event=stream_ignored stream=%s (only orders, refunds, payouts)", stream
            )


if __name__ == "__main__":
    MapQuickBooks.cli()
