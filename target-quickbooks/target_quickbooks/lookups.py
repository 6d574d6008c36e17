"""Look-ups of QuickBooks documents by a field's values, sized by the run rather than the wave.

Before creating a document the ledger does not know, the target asks QuickBooks for copies of
it (`recovery`: our own documents by DocNumber or DisplayName; `references`: a customer with the
same e-mail, K-Connector customers with the same name). Intuit meters read calls, so those
questions are asked in as few queries as possible:

- **Ahead.** The engine tells the cache the keys of the documents still queued (`expect`); the
  next query for the same entity and field carries them too, in ``IN`` lists of up to
  `RUN_CHUNK` values. QuickBooks documents no cap on an ``IN`` list's length; the statement
  travels in a POST body (no URL limit) and answers come in pages of up to 1000
  (``MAXRESULTS``, https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/data-queries),
  which `_query_all` follows. 100 values keep a statement near 5 KB.
- **Kept for the run.** Each value's answer (the documents found, or none) is kept, so the same
  name asked by the recovery look-up and then by the same-name rule costs one query.
- **Forgotten when written.** The answers can only go stale by a write: the writer lease keeps
  other K-Connector runs out of the company, and every write this run sends (a batch item, a
  single write, a customer a reference creates) passes `forget` with its body, which
  drops the answers for its DocNumber, DisplayName and e-mail. The next question about those
  values goes to QuickBooks again, so a write whose answer was lost is still found.

Answers are stored by casefolded value (QuickBooks compares strings without case); a document
whose field matches none of the values asked is kept under every value of its query (callers
filter candidates by their own rules, so more candidates never change an outcome).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from target_quickbooks import query_language

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from target_quickbooks.client import QuickBooksClient

# A wave's own look-ups, as before issue 18 (one query per 30 values, nothing kept).
WAVE_CHUNK = 30
# Run-sized look-ups: values per IN list.
RUN_CHUNK = 100
# The fields look-ups ask by, and where a document's value sits (PrimaryEmailAddr.Address).
LOOKUP_FIELDS = ("DocNumber", "TxnDate", "DisplayName", "PrimaryEmailAddr")

_Key = tuple[str, str, str]


def field_value(document: Mapping[str, Any], field: str) -> str | None:
    """A document's value of a look-up field (the address of a PrimaryEmailAddr)."""
    value = document.get(field)
    if isinstance(value, dict):
        value = value.get("Address")
    return str(value).strip() if isinstance(value, str) and value.strip() else None


class RunLookups:
    """Answers of ``SELECT * FROM entity WHERE field IN (...)`` look-ups, for one run."""

    def __init__(self, client: QuickBooksClient, *, remember: bool = True) -> None:
        """Bind the client.

        Args:
            client: QuickBooks.
            remember: keep answers for the run and ask ahead (`RUN_CHUNK` values a query);
                when False, every call asks QuickBooks for its own values, 30 a query (the
                engine before issue 18, for the benchmark's side-by-side run).
        """
        self._client = client
        self._remember = remember
        self._chunk = RUN_CHUNK if remember else WAVE_CHUNK
        self._answers: dict[_Key, list[dict[str, Any]]] = {}
        self._ahead: dict[tuple[str, str], set[str]] = {}
        # (entity, Id) -> the answers holding that document: an update (a new e-mail) may move
        # it away from a value its body no longer names.
        self._holding: dict[tuple[str, str], set[_Key]] = {}
        self._lock = threading.Lock()
        # The keys forgotten while each query in progress was out: its answer for them may
        # predate the write (the engine plans while writes are in flight), so it is not kept.
        self._asking: list[set[_Key]] = []

    def expect(self, entity: str, field: str, values: Iterable[str]) -> None:
        """Values that will be asked later in the run: the next query of this field takes them."""
        if not self._remember:
            return
        with self._lock:
            ahead = self._ahead.setdefault((entity, field), set())
            ahead.update(v for v in values if (entity, field, v.casefold()) not in self._answers)

    def forget(self, entity: str, body: Mapping[str, Any]) -> None:
        """A write of `body` went out: its values' answers may be stale."""
        if not self._remember:
            return
        values = [(field, field_value(body, field)) for field in LOOKUP_FIELDS]
        with self._lock:
            stale = self._holding.pop((entity, str(body.get("Id"))), set())
            stale.update(
                (entity, field, value.casefold()) for field, value in values if value is not None
            )
            for key in stale:
                self._answers.pop(key, None)
            for forgotten in self._asking:
                forgotten.update(stale)

    def select_in(self, entity: str, field: str, values: Iterable[str]) -> list[dict[str, Any]]:
        """Every `entity` whose `field` is one of `values` (asked of QuickBooks if not known).

        The same document found under several values is returned once.
        """
        wanted = sorted(set(values))
        with self._lock:
            missing = [v for v in wanted if (entity, field, v.casefold()) not in self._answers]
            if missing and self._remember:
                ahead = self._ahead.pop((entity, field), set())
                asked = {v.casefold(): v for v in (*missing, *sorted(ahead))}
                missing = [
                    v
                    for folded, v in sorted(asked.items())
                    if (entity, field, folded) not in self._answers
                ]
        forgotten: set[_Key] = set()
        with self._lock:
            self._asking.append(forgotten)
        try:
            answers = self._ask(entity, field, missing) if missing else {}
        finally:
            with self._lock:
                self._asking = [keys for keys in self._asking if keys is not forgotten]
        found: dict[str, dict[str, Any]] = {}
        with self._lock:
            if self._remember:
                kept = {key: docs for key, docs in answers.items() if key not in forgotten}
                self._answers.update(kept)
                for key, documents in kept.items():
                    for document in documents:
                        self._holding.setdefault((entity, str(document.get("Id"))), set()).add(key)
            for value in wanted:
                key = (entity, field, value.casefold())
                # This call's own answer first: kept or not, it is the freshest this call has.
                answer = answers.get(key)
                if answer is None and self._remember:
                    answer = self._answers.get(key)
                for document in answer or []:
                    found.setdefault(str(document.get("Id")), document)
        return list(found.values())

    def _ask(self, entity: str, field: str, values: list[str]) -> dict[_Key, list[dict[str, Any]]]:
        chunks = [
            values[start : start + self._chunk] for start in range(0, len(values), self._chunk)
        ]
        # Independent queries: side by side (the client's limiter still caps requests in flight
        # and per window); answers are merged in chunk order, so the outcome is deterministic.
        workers = max(1, min(self._client.max_concurrency, len(chunks)))
        if workers == 1:
            pages = [self._query_all(entity, field, chunk) for chunk in chunks]
        else:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="kc-lookup") as pool:
                pages = list(pool.map(lambda chunk: self._query_all(entity, field, chunk), chunks))
        answers: dict[_Key, list[dict[str, Any]]] = {
            (entity, field, value.casefold()): [] for value in values
        }
        for chunk, documents in zip(chunks, pages, strict=True):
            keys = [(entity, field, value.casefold()) for value in chunk]
            for document in documents:
                matched = field_value(document, field)
                key = (entity, field, matched.casefold()) if matched is not None else None
                for target in [key] if key in answers else keys:
                    answers[target].append(document)
        return answers

    def _query_all(self, entity: str, field: str, values: list[str]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        start = 1
        while True:
            page = self._client.query(
                query_language.select_in(entity, field, values, start_position=start)
            )
            found.extend(page)
            if len(page) < query_language.MAX_RESULTS:
                return found
            start += len(page)
