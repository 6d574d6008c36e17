"""How much an interrupted tap-shopify-orders run emits again when resumed, before and after.

What it does (bench/RESULTS.md says how to read the figures):

1. Seeds the Shopify emulator (in this process, served on loopback, throttling scaled away) and
   runs the tap whole against the US shop, once on the paged path and once on the bulk path
   (`bulk_threshold_days` 18000 or 1), each as its own process.
2. Cuts each run's output at half its order records, as if the run had been killed there, and
   takes the last STATE message before the cut (none: the run starts again from no state).
3. Runs the tap again from that state and counts the orders it emits that the cut run had
   already emitted (**re-emitted**), and checks that nothing is missing (cut run's orders plus
   resumed run's orders = every order).
4. "Before" runs the tap of `--before-rev` (a git worktree of that commit, removed afterwards,
   put first on `PYTHONPATH`); "after" this checkout's. Same emulator, same run, one after the
   other.

Bounded by `--orders` and `--deadline` seconds per tap run. Loopback only. From the repository
root:

    .venv/bin/python bench/tap_shopify_resume.py --orders 400 --page-size 10
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from shopify_emulator_memory import BEFORE_REV, ROOT, worktree

PATHS = {"paged": 18000, "bulk": 1}


def child(config_path: str, state_path: str, now: str, out_path: str) -> None:
    """One tap run: config and state from files, the shop's clock fixed, messages to a file."""
    from tap_shopify_orders.tap import TapShopifyOrders  # noqa: PLC0415 - the measured code

    config = json.loads(Path(config_path).read_text(encoding="utf-8"))
    state = json.loads(Path(state_path).read_text(encoding="utf-8")) if state_path else None
    tap = TapShopifyOrders(config=config, state=state)
    orders = tap.streams["orders"]
    moment = datetime.fromisoformat(now)
    orders.clock = lambda: moment  # type: ignore[attr-defined]
    orders.bulk_poll_seconds = 0.05  # type: ignore[attr-defined]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        tap.sync_all()
    Path(out_path).write_text(out.getvalue(), encoding="utf-8")


@dataclass
class Resume:
    """What one cut-and-resume did."""

    total: int
    before_cut: int
    resumed: int
    re_emitted: int
    missing: int
    had_state: bool


def run_tap(
    code: Path, config: dict[str, Any], state: dict[str, Any] | None, now: str, deadline: float
) -> list[dict[str, Any]]:
    """Run the tap of checkout `code` in its own process; its Singer messages."""
    with tempfile.TemporaryDirectory(prefix="kc-resume-") as work:
        config_path = Path(work, "config.json")
        config_path.write_text(json.dumps(config), encoding="utf-8")
        state_path = ""
        if state is not None:
            state_path = str(Path(work, "state.json"))
            Path(state_path).write_text(json.dumps(state), encoding="utf-8")
        out_path = Path(work, "out.jsonl")
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            [str(code / "tap-shopify-orders"), env.get("PYTHONPATH", "")]
        )
        subprocess.run(  # noqa: S603 - this interpreter, this script
            [sys.executable, __file__, "--child", str(config_path), state_path, now, str(out_path)],
            env=env,
            check=True,
            timeout=deadline,
            stderr=subprocess.DEVNULL,
        )
        lines = out_path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]


def cut_and_resume(code: Path, config: dict[str, Any], now: str, deadline: float) -> Resume:
    """Run whole, cut at half the orders, resume from the last STATE before the cut."""
    whole = run_tap(code, config, None, now, deadline)
    order_positions = [
        i for i, m in enumerate(whole) if m.get("type") == "RECORD" and m["stream"] == "orders"
    ]
    every = {whole[i]["record"]["id"] for i in order_positions}
    cut = order_positions[len(order_positions) // 2]
    emitted = {whole[i]["record"]["id"] for i in order_positions if i < cut}
    states = [m["value"] for m in whole[:cut] if m.get("type") == "STATE"]
    state = states[-1] if states else None
    resumed_messages = run_tap(code, config, state, now, deadline)
    resumed = [
        m["record"]["id"]
        for m in resumed_messages
        if m.get("type") == "RECORD" and m["stream"] == "orders"
    ]
    return Resume(
        total=len(every),
        before_cut=len(emitted),
        resumed=len(resumed),
        re_emitted=len(emitted & set(resumed)),
        missing=len(every - emitted - set(resumed)),
        had_state=state is not None,
    )


def main() -> None:
    """Parse arguments, measure before and after, print the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    parser.add_argument("--orders", type=int, default=400, help="orders per shop")
    parser.add_argument("--page-size", type=int, default=10)
    parser.add_argument("--before-rev", default=BEFORE_REV)
    parser.add_argument("--deadline", type=float, default=900.0)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    from kconnector_sandbox.options import SandboxOptions  # noqa: PLC0415
    from kconnector_sandbox.runner import ServedApp  # noqa: PLC0415
    from kconnector_sandbox.shopify import build  # noqa: PLC0415

    emulator = build(SandboxOptions(seed=7, orders=args.orders, time_scale=10_000.0))
    shop = emulator.shop("us")
    print(
        f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}; US shop of "
        f"{args.orders} orders, page_size {args.page_size}; before = {args.before_rev}, "
        "after = this checkout"
    )
    with ServedApp(emulator.app) as served, worktree(args.before_rev) as before:
        for path, threshold in PATHS.items():
            config = {
                "shop": shop.profile.domain,
                "access_token": shop.profile.access_token,
                "start_date": "2020-01-01T00:00:00Z",
                "api_url": f"{served.url}/shops/{shop.profile.domain}",
                "page_size": args.page_size,
                "bulk_threshold_days": threshold,
            }
            now = emulator.clock.now().isoformat()
            for label, code in (("before", before), ("after", ROOT)):
                result = cut_and_resume(code, config, now, args.deadline)
                print(
                    f"{path:5} {label:6}: {result.total} orders; cut after {result.before_cut};"
                    f" resumed run emitted {result.resumed}, re-emitted {result.re_emitted}"
                    f" ({result.re_emitted / max(result.before_cut, 1):.0%} of those before the"
                    f" cut; one page = {args.page_size}); missing {result.missing};"
                    f" {'from the last STATE' if result.had_state else 'no STATE before the cut'}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
