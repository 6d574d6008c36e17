"""The clock-ahead run (`make test-clock-ahead`) really runs the suite on a later date."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime

import pytest

AT_LEAST = os.environ.get("KCONNECTOR_CLOCK_AT_LEAST")


@pytest.mark.skipif(not AT_LEAST, reason="only in `make test-clock-ahead`, which sets the date")
def test_the_suite_runs_with_the_clock_moved_ahead() -> None:
    # The Makefile computes the date outside the faked clock; inside it, "now" must be past it,
    # or the run would pass on today's date and prove nothing.
    assert datetime.now(UTC).date() >= date.fromisoformat(str(AT_LEAST))
