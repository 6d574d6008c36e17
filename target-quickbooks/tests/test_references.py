"""Reference resolution: query + cache, fallback, policies, name uniqueness (requests-mock)."""

from __future__ import annotations

import re

import pytest

from target_quickbooks import payloads
from target_quickbooks.references import (
    LookupCache,
    ReferenceResolver,
    UnresolvedReferenceError,
)
from target_quickbooks.store.ledger import LedgerEntry, LedgerStatus

BASE = "https://qbo.test/v3/company/4620816365"
ITEMS = {"WID-001": {"Id": "5", "Name": "Widget", "Sku": "WID-001"}}
NAMED = {"Widget": {"Id": "5", "Name": "Widget"}, "Shipping": {"Id": "2", "Name": "Shipping"}}


def statement_of(request) -> str:
    # Queries travel as the POST body (application/text).
    assert request.headers["Content-Type"] == "application/text"
    return request.text


def answer_queries(request, _context):
    statement = statement_of(request)
    values = re.findall(r"'((?:\\.|[^'\\])*)'", statement)
    if "WHERE Sku" in statement:
        found = [ITEMS[v] for v in values if v in ITEMS]
    elif "FROM Item" in statement:
        found = [NAMED[v] for v in values if v in NAMED]
    else:
        found = []
    entity = statement.split("FROM ")[1].split(" ")[0]
    return {"QueryResponse": {entity: found} if found else {}}


@pytest.fixture
def resolver(mocked_qbo, requests_mock):
    requests_mock.post(f"{BASE}/query", json=answer_queries)
    client, store = mocked_qbo()
    return ReferenceResolver("4620816365", client, store.ledger), store


def queries(requests_mock) -> list[str]:
    return [statement_of(r) for r in requests_mock.request_history if r.path.endswith("/query")]


def line(ref: dict) -> dict:
    return {"Line": [{"SalesItemLineDetail": {"ItemRef": ref}}]}


def test_refs_resolve_by_sku_with_one_bulk_query(resolver, requests_mock):
    refs_resolver, _ = resolver
    bodies = [line({"by": "sku", "value": "WID-001"}) for _ in range(3)]
    from target_quickbooks.references import find_refs  # noqa: PLC0415

    refs_resolver.prefetch(ref for body in bodies for ref in find_refs(body))
    resolved = [refs_resolver.resolve_body(body) for body in bodies]
    assert {r["Line"][0]["SalesItemLineDetail"]["ItemRef"]["value"] for r in resolved} == {"5"}
    assert len(queries(requests_mock)) == 1


def test_fallback_is_tried_when_the_primary_lookup_finds_nothing(resolver):
    refs_resolver, _ = resolver
    body = line({"by": "sku", "value": "SHIP-X", "fallback": {"by": "name", "value": "Shipping"}})
    assert refs_resolver.resolve_body(body)["Line"][0]["SalesItemLineDetail"]["ItemRef"] == {
        "value": "2"
    }


def test_default_policy_uses_the_default_reference(resolver):
    refs_resolver, _ = resolver
    body = line(
        {
            "by": "sku",
            "value": "NOPE",
            "on_missing": "default",
            "default": {"by": "name", "value": "Widget"},
        }
    )
    assert refs_resolver.resolve_body(body)["Line"][0]["SalesItemLineDetail"]["ItemRef"] == {
        "value": "5"
    }


def test_error_policy_raises_a_data_error_with_the_contracts_guidance(resolver):
    refs_resolver, _ = resolver
    body = line({"by": "sku", "value": "NOPE", "guidance": "Create SKU NOPE in QuickBooks."})
    with pytest.raises(UnresolvedReferenceError) as caught:
        refs_resolver.resolve_body(body)
    error = caught.value
    assert error.code == "TQB-UNRESOLVED-REF"
    assert error.element == "body.Line[0].SalesItemLineDetail.ItemRef"
    assert error.guidance == "Create SKU NOPE in QuickBooks."


def test_email_values_are_not_repeated_in_messages(resolver):
    refs_resolver, _ = resolver
    body = {"CustomerRef": {"by": "email", "value": "jane@example.com"}}
    with pytest.raises(UnresolvedReferenceError) as caught:
        refs_resolver.resolve_body(body)
    assert "jane@example.com" not in str(caught.value)


def test_create_policy_takes_a_deterministic_unique_name_when_the_name_is_taken(
    resolver, requests_mock
):
    refs_resolver, store = resolver
    taken = {
        "Fault": {
            "Error": [{"Message": "Duplicate Name Exists Error", "Detail": "", "code": "6240"}],
            "type": "ValidationFault",
        }
    }
    requests_mock.post(
        f"{BASE}/customer",
        [
            {"status_code": 400, "json": taken},
            {"json": {"Customer": {"Id": "77", "SyncToken": "0"}}},
        ],
    )
    body = {
        "CustomerRef": {
            "by": "email",
            "value": "jane@example.com",
            "on_missing": "create",
            "create": {
                "DisplayName": "Jane Doe",
                "PrimaryEmailAddr": {"Address": "jane@example.com"},
            },
        }
    }
    assert refs_resolver.resolve_body(body) == {"CustomerRef": {"value": "77"}}
    creates = [r for r in requests_mock.request_history if r.path.endswith("/customer")]
    names = [r.json()["DisplayName"] for r in creates]
    assert names[0] == "Jane Doe"
    assert re.fullmatch(r"Jane Doe \(kc-[0-9a-f]{6}\)", names[1])
    assert creates[0].qs["requestid"] != creates[1].qs["requestid"]
    # The next run finds the created customer in the ledger: no query, no create.
    requests_mock.reset_mock()
    client = refs_resolver._client
    again = ReferenceResolver("4620816365", client, store.ledger)
    assert again.resolve_body(body) == {"CustomerRef": {"value": "77"}}
    assert requests_mock.request_history == []


def test_external_id_refs_come_from_the_ledger(resolver, requests_mock):
    refs_resolver, store = resolver
    store.ledger.put_many(
        [LedgerEntry("4620816365", "customer:1", "Customer", "58", "0", "h", LedgerStatus.ACTIVE)]
    )
    body = {
        "CustomerRef": {"by": "external_id", "value": "customer:1"},
        "Line": [{"LinkedTxn": [{"TxnId": {"by": "external_id", "value": "customer:1"}}]}],
    }
    resolved = refs_resolver.resolve_body(body)
    assert resolved["CustomerRef"] == {"value": "58"}
    assert resolved["Line"][0]["LinkedTxn"][0]["TxnId"] == "58"
    assert queries(requests_mock) == []


def test_missing_dependency_names_the_document_to_deliver_first(resolver):
    refs_resolver, _ = resolver
    with pytest.raises(UnresolvedReferenceError) as caught:
        refs_resolver.resolve_body({"CustomerRef": {"by": "external_id", "value": "customer:9"}})
    assert caught.value.code == "TQB-MISSING-DEPENDENCY"
    assert "customer:9" in caught.value.guidance


def test_no_fallback_queries_when_the_ledger_already_knows_the_reference(resolver, requests_mock):
    refs_resolver, store = resolver
    store.ledger.put_many(
        [LedgerEntry("4620816365", "customer:1", "Customer", "58", "0", "h", LedgerStatus.ACTIVE)]
    )
    known = {
        "CustomerRef": {
            "by": "external_id",
            "value": "customer:1",
            "on_missing": "create",
            "create": {"DisplayName": "Ana"},
            "fallback": {"by": "email", "value": "ana@example.com"},
        }
    }
    unknown = {
        "CustomerRef": {
            **known["CustomerRef"],
            "value": "customer:2",
            "fallback": {"by": "email", "value": "bo@example.com"},
        }
    }
    from target_quickbooks.references import find_refs  # noqa: PLC0415

    refs_resolver.prefetch([*find_refs(known), *find_refs(unknown)])
    (statement,) = queries(requests_mock)
    assert "bo@example.com" in statement
    assert "ana@example.com" not in statement


def test_lookup_answers_are_bounded_and_the_least_recently_used_go_first():
    cache = LookupCache(limit=3)
    keys = [("Customer", "email", f"c{n}@example.com") for n in range(4)]
    for n, key in enumerate(keys[:3]):
        cache.put(key, str(n))
    assert cache.get(keys[0]) == "0"  # used: now the most recent
    cache.hold_miss(keys[3])
    assert len(cache) == 3
    assert keys[1] not in cache  # the least recently used went
    assert [key in cache for key in (keys[0], keys[2], keys[3])] == [True, True, True]
    assert cache.get(keys[3]) is None  # a known miss
    cache.hold_miss(keys[0])  # keeps the match it holds
    assert cache.get(keys[0]) == "0"


def test_a_linked_txn_takes_the_type_of_the_document_its_fallback_found(resolver, requests_mock):
    # A payout's charge names the order's SalesReceipt, else its Payment: the mapper cannot know
    # which one an earlier run wrote, so the link's TxnType follows what the ledger holds.
    refs_resolver, store = resolver
    store.ledger.put_many(
        [LedgerEntry("4620816365", "o1#payment:7", "Payment", "91", "0", "h", LedgerStatus.ACTIVE)]
    )
    receipt_else_payment = {
        "by": "external_id",
        "value": "o1#sales_receipt",
        "fallback": {"by": "external_id", "value": "o1#payment:7"},
    }
    body = {
        "Line": [
            {
                "Amount": "10.00",
                "LinkedTxn": [
                    {"TxnId": receipt_else_payment, "TxnType": "SalesReceipt", "TxnLineId": "0"}
                ],
            }
        ]
    }
    linked = refs_resolver.resolve_body(body)["Line"][0]["LinkedTxn"][0]
    assert linked == {"TxnId": "91", "TxnType": "Payment", "TxnLineId": "0"}
    assert queries(requests_mock) == []


def test_suffixed_names_are_read_once_per_run_not_once_per_new_name(resolver, requests_mock):
    resolver, _ = resolver
    for wave in range(3):
        new = {
            f"customer:email:p{wave}-{n}@example.com": {"DisplayName": f"Person {wave}-{n}"}
            for n in range(20)
        }
        settled = resolver.settle_names(new)
        assert settled == {person: body["DisplayName"] for person, body in new.items()}

    likes = [q for q in queries(requests_mock) if " LIKE " in q]
    # Before: one LIKE query per new name (60 reads for 60 new customers).
    assert likes == [
        "SELECT * FROM Customer WHERE DisplayName LIKE '%(kc-%' STARTPOSITION 1 MAXRESULTS 1000"
    ]


@pytest.mark.parametrize("arrival", [["z", "a"], ["a", "z"]])
def test_of_new_namesakes_in_one_call_the_first_to_arrive_gets_the_plain_name(resolver, arrival):
    refs_resolver, _ = resolver
    people = [f"customer:email:{letter}@example.com" for letter in arrival]
    # Arrival order, not the order of the external ids, decides who comes first.
    settled = refs_resolver.settle_names({person: {"DisplayName": "Jane Doe"} for person in people})

    first, later = people
    assert settled == {
        first: "Jane Doe",
        later: payloads.unique_name("Customer", "Jane Doe", f"doc:{later}"),
    }
    assert list(settled) == people
