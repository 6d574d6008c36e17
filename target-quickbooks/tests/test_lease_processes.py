"""Two target runs for one company started at once: never a duplicate in QuickBooks.

Each try starts two target processes on the same store and the same mapped records, grouped
into batches differently (so their batch requestids differ and cannot protect), against the
QuickBooks emulator. The writer lease lets one write; the other either waits and then finds
nothing to do, or (with no wait allowed) stops with TQB-WRITER-LEASE before writing anything.
Processes fork from a server that imported the target once, so ten tries take seconds.
"""

from __future__ import annotations

import json
import multiprocessing
import runpy
from collections import Counter
from pathlib import Path

import pytest

WRITER = Path(__file__).parent / "processes" / "target_writer.py"
TRIES = 10
CUSTOMERS = 2
RECEIPTS = 8
PROCESS_TIMEOUT_SECONDS = 60


@pytest.fixture(scope="module")
def forkserver():
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["target_quickbooks.target"])
    return context


def ours(emulator, realm: str, entity: str) -> Counter[str]:
    key = "DisplayName" if entity == "Customer" else "DocNumber"
    documents = emulator.realms[realm].documents(entity)
    return Counter(
        str(d.get(key)) for d in documents if str(d.get(key, "")).startswith(("KC", "Test "))
    )


def test_two_runs_started_at_once_never_duplicate_a_document(  # noqa: PLR0913, PLR0917 - fixtures
    forkserver, store_urls, qbo, make_config, mapped, tmp_path
):
    _, emulator = qbo
    records = [("customers", mapped.customer(n)) for n in range(CUSTOMERS)]
    records += [
        ("sales_receipts", mapped.receipt(n, customer=n % CUSTOMERS)) for n in range(RECEIPTS)
    ]
    lines = mapped.lines(records, {"bookmarks": {}})
    outcomes: Counter[str] = Counter()
    for attempt in range(TRIES):
        emulator.reset()
        database_url = store_urls()
        # Even tries: the second run waits for the first. Odd tries: it may not wait at all.
        wait = 30 if attempt % 2 == 0 else 0
        runs = []
        for batch_size in (4, 7):  # different batches -> different batch requestids
            config = make_config(
                database_url=database_url, batch_size=batch_size, writer_lease_wait_seconds=wait
            )
            result = tmp_path / f"result-{attempt}-{batch_size}.json"
            process = forkserver.Process(
                target=runpy.run_path,
                args=(str(WRITER),),
                kwargs={"init_globals": {"CONFIG": config, "LINES": lines, "RESULT": str(result)}},
            )
            runs.append((process, result))
        for process, _ in runs:
            process.start()
        results = []
        for process, result in runs:
            process.join(PROCESS_TIMEOUT_SECONDS)
            assert process.exitcode == 0, f"try {attempt}: the writer process itself failed"
            results.append(json.loads(result.read_text("utf-8")))

        receipts = ours(emulator, mapped.realm, "SalesReceipt")
        customers = ours(emulator, mapped.realm, "Customer")
        assert sorted(receipts) == sorted(f"KC{n}" for n in range(RECEIPTS)), f"try {attempt}"
        assert set(receipts.values()) == {1}, f"try {attempt}: duplicate SalesReceipts"
        assert len(customers) == CUSTOMERS, f"try {attempt}"
        assert set(customers.values()) == {1}, f"try {attempt}: duplicate Customers"

        finished = [r for r in results if r["code"] == 0]
        stopped = [r for r in results if r["code"] != 0]
        assert finished, f"try {attempt}: no run finished"
        # The documents were created once, by one of the runs; the other found nothing to do.
        assert max(r["created"] for r in finished) == CUSTOMERS + RECEIPTS
        assert sum(r["created"] for r in finished) == CUSTOMERS + RECEIPTS
        for run in stopped:
            assert wait == 0, f"try {attempt}: a run that may wait stopped: {run['message']}"
            assert "TQB-WRITER-LEASE" in run["message"]
            assert f"writing to QuickBooks company {mapped.realm}" in run["message"]
            holder_pid = next(r["pid"] for r in results if r is not run)
            assert f"pid {holder_pid}, since" in run["message"]
        outcomes["stopped" if stopped else "both finished"] += 1
    assert sum(outcomes.values()) == TRIES
