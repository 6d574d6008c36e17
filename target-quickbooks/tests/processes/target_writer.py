"""One target-quickbooks run in a process of its own (test_lease_processes.py starts two at once).

Run by `runpy.run_path` with CONFIG (the target's config), LINES (its Singer input) and RESULT
(the path of a JSON file receiving the exit code and the stop message) in its globals.
"""

import contextlib
import io
import json
import os
from pathlib import Path

from target_quickbooks.target import TargetQuickBooks

config = globals()["CONFIG"]
lines = globals()["LINES"]
result = {"pid": os.getpid(), "code": 0, "message": "", "created": None}
try:
    with contextlib.redirect_stdout(io.StringIO()):  # the STATE lines
        target = TargetQuickBooks(config=config)
        target.listen(io.StringIO(lines))
    result["created"] = target.delivery.counts.created
except SystemExit as exc:
    result["code"] = exc.code if isinstance(exc.code, int) else 1
    result["message"] = "" if isinstance(exc.code, int) else str(exc.code)
Path(globals()["RESULT"]).write_text(json.dumps(result), encoding="utf-8")
