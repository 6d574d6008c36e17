"""A real-time standby: the tap waits for the dispatcher's release, then reads its window."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from click.testing import CliRunner

from kconnector_canonical.standby import READY_FILE, STANDBY_DIR_ENV, write_release
from tap_shopify_orders.tap import TapShopifyOrders

if TYPE_CHECKING:
    from pathlib import Path

    import pytest

CONFIG = {
    "shop": "kc-demo.myshopify.com",
    "access_token": "shpat_x",
    "start_date": "2031-01-01T00:00:00Z",
}


def _run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[int, list[datetime]]:
    """The tap's command line as Meltano runs it; what its sync saw as start_date."""
    config = tmp_path / "config.json"
    config.write_text(json.dumps(CONFIG))
    seen: list[datetime] = []

    def sync_all(tap: TapShopifyOrders) -> None:
        seen.append(tap.settings.start_date)

    monkeypatch.setattr(TapShopifyOrders, "sync_all", sync_all)
    result = CliRunner().invoke(
        TapShopifyOrders.cli, ["--config", str(config)], env={STANDBY_DIR_ENV: str(tmp_path)}
    )
    return result.exit_code, seen


def test_a_released_standby_reads_from_the_released_start_date(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_release(tmp_path, {"config": {"start_date": "2031-03-14T09:16:53Z"}})

    code, seen = _run(tmp_path, monkeypatch)

    assert code == 0
    assert seen == [datetime(2031, 3, 14, 9, 16, 53, tzinfo=UTC)]
    assert (tmp_path / READY_FILE).exists()


def test_a_cancelled_standby_reads_nothing_and_exits_0(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_release(tmp_path, {"cancel": True})

    code, seen = _run(tmp_path, monkeypatch)

    assert code == 0
    assert seen == []
