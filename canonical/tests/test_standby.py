"""A standby tap waits for the dispatcher's release, then reads with the released settings."""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING, Any

import pytest

from kconnector_canonical.standby import (
    READY_FILE,
    RELEASE_FILE,
    STANDBY_DIR_ENV,
    STANDBY_OWNER_ENV,
    StandbyCancelledError,
    released_invoke_arguments,
    wait_for_release,
    write_release,
)

if TYPE_CHECKING:
    from pathlib import Path


@dataclasses.dataclass
class ConfigInput:
    """The shape of the SDK's configuration input: a merged `config` mapping."""

    config: dict[str, Any]
    parse_env: bool = False


class ReleaseLater:
    """A `sleep` that releases the standby after a few waits (the dispatcher, in a test)."""

    def __init__(self, folder: Path, payload: dict[str, Any], after: int = 3) -> None:
        self.folder = folder
        self.payload = payload
        self.after = after
        self.waits = 0

    def __call__(self, _seconds: float) -> None:
        self.waits += 1
        if self.waits == self.after:
            assert (self.folder / READY_FILE).exists()  # the tap said it waits, before the release
            write_release(self.folder, self.payload)


def test_a_tap_that_is_not_a_standby_never_waits() -> None:
    def no_sleep(_seconds: float) -> None:
        pytest.fail("a tap without KCONNECTOR_STANDBY_DIR must not wait")

    assert wait_for_release({}, sleep=no_sleep) is None
    arguments = {"config": ConfigInput({"start_date": "2031-01-01T00:00:00Z"})}
    assert released_invoke_arguments(arguments, environ={}) == arguments


def test_a_standby_waits_for_its_release_and_returns_the_released_settings(tmp_path: Path) -> None:
    sleep = ReleaseLater(tmp_path, {"config": {"start_date": "2031-03-14T09:16:53Z"}})

    released = wait_for_release({STANDBY_DIR_ENV: str(tmp_path)}, sleep=sleep)

    assert released == {"start_date": "2031-03-14T09:16:53Z"}
    assert sleep.waits == 3


def test_a_cancelled_standby_ends_without_settings(tmp_path: Path) -> None:
    write_release(tmp_path, {"cancel": True})

    with pytest.raises(StandbyCancelledError, match="cancelled"):
        wait_for_release({STANDBY_DIR_ENV: str(tmp_path)})


def test_a_standby_whose_dispatcher_is_gone_ends_without_reading(tmp_path: Path) -> None:
    ticks = iter(range(100))
    checked: list[int] = []

    def owner_alive(pid: int) -> bool:
        checked.append(pid)
        return False

    with pytest.raises(StandbyCancelledError, match="pid 4242"):
        wait_for_release(
            {STANDBY_DIR_ENV: str(tmp_path), STANDBY_OWNER_ENV: "4242"},
            sleep=lambda _seconds: None,
            monotonic=lambda: float(next(ticks)),
            owner_alive=owner_alive,
        )
    assert checked == [4242]
    assert not (tmp_path / RELEASE_FILE).exists()


def test_a_release_of_another_shape_is_refused(tmp_path: Path) -> None:
    write_release(tmp_path, {"start_date": "2031-03-14T09:16:53Z"})

    with pytest.raises(TypeError, match="expected"):
        wait_for_release({STANDBY_DIR_ENV: str(tmp_path)})


def test_the_release_is_written_in_one_step(tmp_path: Path) -> None:
    write_release(tmp_path, {"config": {"start_date": "2031-03-14T09:16:53Z"}})

    assert [p.name for p in tmp_path.iterdir()] == [RELEASE_FILE]
    assert json.loads((tmp_path / RELEASE_FILE).read_text()) == {
        "config": {"start_date": "2031-03-14T09:16:53Z"}
    }


def test_the_released_settings_are_layered_over_the_configuration(tmp_path: Path) -> None:
    write_release(tmp_path, {"config": {"start_date": "2031-03-14T09:16:53Z"}})
    given = ConfigInput({"shop": "a.myshopify.com", "start_date": "2031-01-01T00:00:00Z"})

    arguments = released_invoke_arguments(
        {"config": given, "state": None}, environ={STANDBY_DIR_ENV: str(tmp_path)}
    )

    assert arguments["config"] == ConfigInput(
        {"shop": "a.myshopify.com", "start_date": "2031-03-14T09:16:53Z"}
    )
    assert arguments["state"] is None


def test_about_never_waits(tmp_path: Path) -> None:
    arguments = released_invoke_arguments({"about": True}, environ={STANDBY_DIR_ENV: str(tmp_path)})

    assert arguments == {"about": True}
    assert not (tmp_path / READY_FILE).exists()
