import json

from click.testing import CliRunner

from kconnector_sandbox.cli import main


def test_seed_writes_every_store_deterministically(tmp_path):
    runner = CliRunner()
    first, second = tmp_path / "a", tmp_path / "b"
    for out in (first, second):
        result = runner.invoke(main, ["seed", "--orders", "12", "--seed", "3", "--out", str(out)])
        assert result.exit_code == 0, result.output
    files = sorted(p.relative_to(first) for p in first.rglob("*.json"))
    assert any(str(p).startswith("shopify/") for p in files)
    assert any(str(p).endswith("orders.json") for p in files)
    for relative in files:
        assert (first / relative).read_bytes() == (second / relative).read_bytes()
    shop_file = next(p for p in files if str(p).startswith("shopify/"))
    assert len(json.loads((first / shop_file).read_text())) == 12


def test_serve_refuses_a_bad_fault_spec():
    result = CliRunner().invoke(main, ["serve", "--faults", "teapot=1"])
    assert result.exit_code != 0
    assert "unknown fault kind 'teapot'" in result.output
