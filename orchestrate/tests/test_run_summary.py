import json

from kconnector_orchestrate.run_summary import RunLogReader


def _line(event: str, *, producer: bool, consumer: bool) -> str:
    return json.dumps(
        {"event": event, "producer": producer, "consumer": consumer, "name": "x", "level": "info"}
    )


def _metric(stream: str, value: int) -> str:
    body = {"type": "counter", "metric": "record_count", "value": value, "tags": {"stream": stream}}
    return _line("METRIC: " + json.dumps(body), producer=True, consumer=False)


def test_orders_read_documents_written_dead_letters_and_reviews_come_from_the_plugins_lines():
    reader = RunLogReader()
    for line in (
        "not json at all",
        json.dumps({"event": "Running job", "level": "info"}),
        _metric("orders", 5),
        _metric("orders", 3),  # the SDK logs a counter again as it grows
        _metric("refunds", 2),
        _metric("payouts", 1),
        # The target's own record counters are not orders read.
        _line(
            'METRIC: {"metric": "record_count", "value": 9, "tags": {"stream": "orders"}}',
            producer=False,
            consumer=True,
        ),
        _line(
            "event=run_summary created=4 updated=2 voided=1 deleted=0 unchanged=7 adopted=0 "
            "dead_lettered=3 conflicts=2 mapper_dead_letters=1 kept_document_type=0",
            producer=False,
            consumer=True,
        ),
    ):
        reader.feed(line)
    assert reader.summary.metadata() == {
        "orders_read": 8,
        "refunds_read": 2,
        "payouts_read": 1,
        "documents_written": 7,
        "documents_unchanged": 7,
        "dead_letters": 4,
        "reviews": 2,
        "summary_seen": True,
    }


def test_a_run_without_the_targets_summary_says_so():
    reader = RunLogReader()
    reader.feed(_metric("orders", 2))
    reader.feed(_line("event=run_summary created=4", producer=True, consumer=False))
    assert reader.summary.summary_seen is False
    assert reader.summary.orders_read == 2
