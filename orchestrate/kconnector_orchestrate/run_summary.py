"""A tenant run's figures, read from `meltano --log-format=json run` output (pure).

Two sources, both printed by the plugins themselves:

- the extractor's Singer SDK metrics, `METRIC: {"metric": "record_count", "tags": {"stream":
  "orders"}, "value": n}` (https://sdk.meltano.com/en/latest/implementation/metrics.html), summed
  over the run: orders read;
- target-quickbooks' last line, `event=run_summary created=.. updated=.. dead_lettered=..
  mapper_dead_letters=.. conflicts=..` (docs/operations.md): documents written (created,
  updated, voided, deleted), dead letters (the target's and the mapper's), reviews (conflicts
  sent to the review queue).

Meltano's JSON log line carries the plugin's own line in `event`, and `producer`/`consumer`
say which end of the pipeline printed it.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass

_SUMMARY = re.compile(r"\bevent=run_summary\b(?P<fields>.*)")
_FIELD = re.compile(r"\b(?P<key>[a-z_]+)=(?P<value>[0-9]+)\b")
_WRITES = ("created", "updated", "voided", "deleted")
_DEAD_LETTERS = ("dead_lettered", "mapper_dead_letters")


@dataclass
class RunSummary:
    """What one tenant run did; `summary_seen` is False when the target never summarised."""

    orders_read: int = 0
    refunds_read: int = 0
    payouts_read: int = 0
    documents_written: int = 0
    documents_unchanged: int = 0
    dead_letters: int = 0
    reviews: int = 0
    summary_seen: bool = False

    def metadata(self) -> dict[str, int | bool]:
        """The figures as Dagster metadata values."""
        return asdict(self)


class RunLogReader:
    """Feeds on Meltano's JSON log lines, one at a time, and keeps the run's figures."""

    def __init__(self) -> None:
        """Start from zero."""
        self.summary = RunSummary()

    def feed(self, line: str) -> None:
        """Take one output line into account (anything not understood is ignored)."""
        try:
            record = json.loads(line)
        except ValueError:
            return
        if not isinstance(record, dict):
            return
        event = record.get("event")
        if not isinstance(event, str):
            return
        if event.startswith("METRIC:") and record.get("consumer") is False:
            self._metric(event.removeprefix("METRIC:"))
            return
        match = _SUMMARY.search(event)
        if match is not None and record.get("producer") is False:
            self._run_summary(match.group("fields"))

    def _metric(self, body: str) -> None:
        try:
            metric = json.loads(body)
        except ValueError:
            return
        if not isinstance(metric, dict) or metric.get("metric") != "record_count":
            return
        tags = metric.get("tags")
        value = metric.get("value")
        if not isinstance(tags, dict) or not isinstance(value, int):
            return
        stream = tags.get("stream")
        if stream == "orders":
            self.summary.orders_read += value
        elif stream == "refunds":
            self.summary.refunds_read += value
        elif stream == "payouts":
            self.summary.payouts_read += value

    def _run_summary(self, fields: str) -> None:
        counts = {m.group("key"): int(m.group("value")) for m in _FIELD.finditer(fields)}
        summary = self.summary
        summary.summary_seen = True
        summary.documents_written = sum(counts.get(key, 0) for key in _WRITES)
        summary.documents_unchanged = counts.get("unchanged", 0)
        summary.dead_letters = sum(counts.get(key, 0) for key in _DEAD_LETTERS)
        summary.reviews = counts.get("conflicts", 0)
