"""Batching: chunks, per-item faults, a refused batch split into single writes (fake client)."""

from __future__ import annotations

import pytest

from target_quickbooks.contract import MappedDocument, parse_document
from target_quickbooks.errors import DataError, SystemFaultError, TransientError
from target_quickbooks.planning import body_hash, plan_write
from target_quickbooks.writer import PlanWriter


def fault(code: str) -> dict:
    return {"Error": [{"Message": "m", "Detail": "d", "code": code}], "type": "ValidationFault"}


class FakeClient:
    """Answers batches from a script; records what was sent."""

    def __init__(self, batch_answer) -> None:
        self.batch_answer = batch_answer
        self.batches: list[list[dict]] = []
        self.singles: list[str] = []

    def batch(self, items, *, request_id):  # noqa: ARG002 - the client's signature
        self.batches.append(items)
        return self.batch_answer(items), "tid-batch"

    def write(self, entity, payload, *, request_id, operation=None):  # noqa: ARG002 - signature
        self.singles.append(payload.get("DocNumber", ""))
        if payload.get("DocNumber") == "KC2":
            msg = "bad reference"
            raise DataError(msg, code="2500", guidance="fix it")
        return {"Id": "9", "SyncToken": "0", "DocNumber": payload.get("DocNumber")}, "tid-single"


@pytest.fixture
def plans(mapped):
    result = []
    for n in range(5):
        document = parse_document("sales_receipts", mapped.receipt(n))
        assert isinstance(document, MappedDocument)
        plan = plan_write("r", document, body_hash(document), None, dict(document.body))
        assert plan is not None
        result.append(plan)
    return result


def echo(items):
    return [
        {"bId": item["bId"], "SalesReceipt": {"Id": item["bId"], **item["SalesReceipt"]}}
        for item in items
    ]


def writer_for(client, **overrides) -> PlanWriter:
    settings = {"max_concurrency": 2, "batch_size": 2, "use_batch_api": True, **overrides}
    return PlanWriter(client, **settings)  # type: ignore[arg-type]


def test_plans_are_sent_in_chunks_of_batch_size(plans):
    client = FakeClient(echo)
    outcomes = writer_for(client).execute(plans)
    assert sorted(len(items) for items in client.batches) == [1, 2, 2]
    assert all(o.error is None and o.intuit_tid == "tid-batch" for o in outcomes)
    assert [o.plan for o in outcomes] == plans


def test_item_faults_are_per_item_and_transient_ones_retried_alone(plans):
    def answer(items):
        first, *rest = echo(items)
        return [{"bId": first["bId"], "Fault": fault("10000")}, *rest[:1]]

    client = FakeClient(answer)
    outcomes = writer_for(client, batch_size=5).execute(plans)
    assert client.singles == ["KC0"]  # the transient item, written alone
    missing = [o for o in outcomes if isinstance(o.error, SystemFaultError)]
    assert len(missing) == 3  # items the batch answer left out: unknown shape, stop the run
    assert outcomes[0].error is None


def test_a_batch_refused_as_a_whole_is_split_to_isolate_the_culprit(plans):
    def refuse(_items):
        msg = "malformed"
        raise DataError(msg, code="2010", guidance="g")

    client = FakeClient(refuse)
    outcomes = writer_for(client, batch_size=5).execute(plans)
    assert client.singles == ["KC0", "KC1", "KC2", "KC3", "KC4"]
    failed = [o.plan.payload["DocNumber"] for o in outcomes if o.error is not None]
    assert failed == ["KC2"]


def test_transient_batch_failure_is_reported_for_each_item(plans):
    def unavailable(_items):
        msg = "unavailable"
        raise TransientError(msg, code="503", guidance="g")

    outcomes = writer_for(FakeClient(unavailable)).execute(plans)
    assert all(isinstance(o.error, TransientError) for o in outcomes)


def test_without_the_batch_endpoint_every_plan_is_a_single_write(plans):
    client = FakeClient(echo)
    outcomes = writer_for(client, use_batch_api=False).execute(plans)
    assert client.batches == []
    assert len(client.singles) == 5
    assert [o.error is None for o in outcomes] == [True, True, False, True, True]
