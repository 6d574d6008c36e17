import json
import time
from decimal import Decimal

import pytest
import requests

from kconnector_sandbox.options import SandboxOptions
from kconnector_sandbox.qbo import QboEmulator, build
from kconnector_sandbox.qbo.state_file import STATE_FILE_NAME, StateFileError
from kconnector_sandbox.runner import ServedApp

US_REALM = "9130357600000001"


def _line(amount, item="5"):
    return {
        "DetailType": "SalesItemLineDetail",
        "Amount": amount,
        "SalesItemLineDetail": {"ItemRef": {"value": item}, "TaxCodeRef": {"value": "TAX"}},
    }


def _wait_for(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_restart_from_state_dir_keeps_documents_tokens_and_requestids(tmp_path, make_client):
    options = SandboxOptions(seed=7, state_dir=tmp_path)
    first = build(options)
    with ServedApp(first.app) as served:
        client = make_client(served, first)  # rotates the initial refresh token
        customer = client.post("customer", {"DisplayName": "Persisted Birds"}).json()["Customer"]
        renamed = client.post(
            "customer",
            {"Id": customer["Id"], "SyncToken": "0", "sparse": True, "DisplayName": "Kept Birds"},
        ).json()["Customer"]
        receipt = {"Line": [_line(19.99)], "CustomerRef": {"value": customer["Id"]}}
        replayed = client.post("salesreceipt", receipt, requestid="persist-rid-1")
        invoice = client.post(
            "invoice", {"Line": [_line(100)], "CustomerRef": {"value": customer["Id"]}}
        ).json()["Invoice"]
        payment_line = {"Amount": 40, "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}
        client.post(
            "payment",
            {"CustomerRef": {"value": customer["Id"]}, "TotalAmt": 40, "Line": [payment_line]},
        )
        doomed = client.post("salesreceipt", {"Line": [_line(5)]}).json()["SalesReceipt"]
        client.post("salesreceipt", {"Id": doomed["Id"], "SyncToken": "0"}, operation="delete")
        before = {
            entity: first.realms[US_REALM].documents(entity)
            for entity in ("Customer", "SalesReceipt", "Invoice", "Payment")
        }
        before_bytes = {e: json.dumps(d, default=str) for e, d in before.items()}
    first.close()

    second = build(options)
    with ServedApp(second.app) as served:
        after = make_client(served, second, connected=False)
        after.access_token = client.access_token  # the access token issued before the restart
        assert after.get(f"customer/{customer['Id']}").json()["Customer"] == renamed
        assert renamed["SyncToken"] == "1"
        for entity, documents in before_bytes.items():
            restored = second.realms[US_REALM].documents(entity)
            assert json.dumps(restored, default=str) == documents
        stored_invoice = second.realms[US_REALM].read("Invoice", invoice["Id"])
        assert stored_invoice["Balance"] == Decimal("68.25")  # 108.25 - 40
        assert isinstance(stored_invoice["TotalAmt"], Decimal)
        again = after.post("salesreceipt", receipt, requestid="persist-rid-1")
        assert again.status_code == replayed.status_code == 200
        assert again.content == replayed.content
        assert len(second.realms[US_REALM].documents("SalesReceipt")) == 1
        assert second.strict_report.total == 0  # same body: a legitimate retry
        other = {"Line": [_line(29.99)], "CustomerRef": {"value": customer["Id"]}}
        assert after.post("salesreceipt", other, requestid="persist-rid-1").content == again.content
        kinds = [problem.kind.value for problem in second.strict_report.problems]
        assert "requestid-reused-with-different-body" in kinds  # the body digest was kept
        assert after.refresh(client.refresh_token).status_code == 200  # the rotated token
        created = after.post("salesreceipt", {"Line": [_line(1)]}).json()["SalesReceipt"]
        assert int(created["Id"]) == int(doomed["Id"]) + 1
        assert int(created["DocNumber"]) == int(doomed["DocNumber"]) + 1
        assert second.realms[US_REALM].deleted("SalesReceipt")[0]["Id"] == doomed["Id"]
    second.close()


def test_initial_refresh_token_stays_superseded_after_restart(tmp_path, make_client):
    options = SandboxOptions(seed=7, state_dir=tmp_path)
    first = build(options)
    clock_now = first.clock()
    with ServedApp(first.app) as served:
        client = make_client(served, first)
    first.close()
    second = QboEmulator(options, clock=lambda: clock_now + 301)  # after the grace period
    with ServedApp(second.app) as served:
        fresh = make_client(served, second, connected=False)
        stale = fresh.refresh(second.initial_refresh_tokens[US_REALM])
        assert stale.status_code == 400
        assert stale.json()["error"] == "invalid_grant"
        assert fresh.refresh(client.refresh_token).status_code == 200
    second.close()


def test_state_is_saved_without_a_clean_stop(tmp_path, make_client):
    emulator = QboEmulator(SandboxOptions(seed=7, state_dir=tmp_path), save_interval=0.05)
    state = tmp_path / STATE_FILE_NAME
    with ServedApp(emulator.app) as served:
        client = make_client(served, emulator)
        client.post("customer", {"DisplayName": "Saved Without Stop"})
        _wait_for(lambda: "Saved Without Stop" in state.read_text(encoding="utf-8"))
    # no close(): a new emulator reads what the running one saved
    restored = build(SandboxOptions(seed=7, state_dir=tmp_path))
    names = [c["DisplayName"] for c in restored.realms[US_REALM].documents("Customer")]
    assert "Saved Without Stop" in names
    emulator.close()
    restored.close()


def test_admin_reset_writes_the_seeded_state(tmp_path, make_client):
    options = SandboxOptions(seed=7, state_dir=tmp_path)
    emulator = build(options)
    with ServedApp(emulator.app) as served:
        client = make_client(served, emulator)
        client.post("customer", {"DisplayName": "Gone After Reset"})
        assert requests.post(served.url + "/__admin/reset", timeout=10).status_code == 200
        text = (tmp_path / STATE_FILE_NAME).read_text(encoding="utf-8")
        assert "Gone After Reset" not in text
    emulator.close()
    restored = build(options)
    assert len(restored.realms[US_REALM].documents("Customer")) == 3
    restored.close()


def test_corrupt_state_file_fails_start_naming_the_file(tmp_path):
    state = tmp_path / STATE_FILE_NAME
    state.write_text('{"format": 1, "kind": "kconnector-sandbox', encoding="utf-8")
    with pytest.raises(StateFileError) as caught:
        build(SandboxOptions(seed=7, state_dir=tmp_path))
    message = caught.value.format_message()
    assert str(state) in message
    assert "is not valid JSON" in message
    assert "Delete the file" in message


def test_state_file_of_another_format_or_seed_is_refused(tmp_path):
    state = tmp_path / STATE_FILE_NAME
    header = {"kind": "kconnector-sandbox qbo state", "seed": 7}
    state.write_text(json.dumps({**header, "format": 99}), encoding="utf-8")
    with pytest.raises(StateFileError, match="has format 99; this emulator reads format 1"):
        build(SandboxOptions(seed=7, state_dir=tmp_path))
    state.write_text(json.dumps({**header, "format": 1}), encoding="utf-8")
    with pytest.raises(StateFileError, match="does not hold a valid QuickBooks emulator state"):
        build(SandboxOptions(seed=7, state_dir=tmp_path))
    with pytest.raises(
        StateFileError, match=r"seed 7, but this start uses seed 8\. Start with --seed 7"
    ):
        build(SandboxOptions(seed=8, state_dir=tmp_path))


def test_state_file_keeps_money_as_exact_decimal_strings(tmp_path, make_client):
    emulator = build(SandboxOptions(seed=7, state_dir=tmp_path))
    with ServedApp(emulator.app) as served:
        client = make_client(served, emulator)
        client.post("salesreceipt", {"Line": [_line(0.1), _line(0.2)]})
    emulator.close()
    text = (tmp_path / STATE_FILE_NAME).read_text(encoding="utf-8")
    assert '"TotalAmt":{"$decimal":"0.32"}' in text  # 0.30 + 8.25 % tax, never 0.32000000001
    assert '"UnitPrice":{"$decimal":"19.99"}' in text
