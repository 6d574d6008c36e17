"""`make demo`: the whole pipeline against the local sandbox, with a summary a bookkeeper reads.

1. installs the Meltano plugins (idempotent), 2. starts the sandbox (seeded Shopify and
WooCommerce stores, a QuickBooks company kept in .meltano/sandbox between runs), 3. runs both jobs
with `meltano run`, showing progress, 4. prints what reached QuickBooks, what needs a person, and
store vs QuickBooks totals per day, 5. stops the sandbox. A second `make demo` finds nothing new
to sync (Meltano's state and the target's ledger) and says so.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MELTANO = ROOT / ".tools" / "meltano" / "bin" / "meltano"
SANDBOX = ROOT / ".venv" / "bin" / "kconnector-sandbox"
STATE_DIR = ROOT / ".meltano" / "sandbox"
REPORT_DIR = ROOT / "output" / "reconciliation"
PORTS = {"qbo": 8701, "shopify": 8702, "woocommerce": 8703}
ORDERS_PER_STORE = int(os.environ.get("DEMO_ORDERS", "150"))
JOBS = (("Shopify", "shopify-to-quickbooks"), ("WooCommerce", "woocommerce-to-quickbooks"))
PROGRESS_EVERY = 50
_METRIC = re.compile(r"METRIC: (\{.*\})")
_SUMMARY = re.compile(r"event=run_summary (.*)")


def say(text: str = "") -> None:
    """One line of the demo's own output."""
    print(text, flush=True)


def meltano_env() -> dict[str, str]:
    """The environment for Meltano: the demo environment, nothing inherited that could leak."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TAP_", "TARGET_", "MAP_"))}
    env["MELTANO_ENVIRONMENT"] = "demo"
    env["MELTANO_CLI_DISABLE_VERSION_CHECK"] = "true"
    return env


def port_open(port: int) -> bool:
    """True when something accepts connections on 127.0.0.1:port."""
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def install_plugins() -> None:
    """`meltano install`, quietly unless it fails."""
    say("Installing the K-Connector plugins into Meltano (first time: about a minute)...")
    done = subprocess.run(  # noqa: S603 - fixed command
        [str(MELTANO), "install"],
        cwd=ROOT,
        env=meltano_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-3000:] + done.stderr[-3000:])
        raise SystemExit(done.returncode)


def start_sandbox() -> subprocess.Popen[str]:
    """Start the three emulators on their demo ports; wait until they answer."""
    busy = [name for name, port in PORTS.items() if port_open(port)]
    if busy:
        say(f"Ports {', '.join(str(PORTS[n]) for n in busy)} are in use: stop what runs there.")
        raise SystemExit(2)
    say(f"Starting the sandbox: Shopify and WooCommerce stores with {ORDERS_PER_STORE} orders")
    say(f"each, and a QuickBooks company kept in {STATE_DIR.relative_to(ROOT)}/ between runs.")
    log = (ROOT / ".meltano" / "sandbox.log").open("w", encoding="utf-8")
    process = subprocess.Popen(  # noqa: S603 - our own executable
        [
            str(SANDBOX),
            "serve",
            "--orders",
            str(ORDERS_PER_STORE),
            "--seed",
            "0",
            "--state-dir",
            str(STATE_DIR),
        ],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while not all(port_open(port) for port in PORTS.values()):
        if process.poll() is not None or time.monotonic() > deadline:
            say("The sandbox did not start; see .meltano/sandbox.log")
            raise SystemExit(1)
        time.sleep(0.3)
    return process


def stop_sandbox(process: subprocess.Popen[str]) -> None:
    """SIGTERM and wait: the QuickBooks company is saved on the way out."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
    say("Sandbox stopped.")


@dataclass
class JobResult:
    """What one `meltano run` did."""

    label: str
    returncode: int = 0
    read: Counter[str] = field(default_factory=Counter)
    written: dict[str, str] = field(default_factory=dict)

    @property
    def changed(self) -> int:
        """Documents created or updated in QuickBooks."""
        return sum(int(self.written.get(k, 0)) for k in ("created", "updated", "voided"))


def _progress(result: JobResult) -> None:
    orders, refunds = result.read["orders"], result.read["refunds"]
    text = f"  {result.label}: {orders} orders and {refunds} refunds read"
    if sys.stdout.isatty():
        print(f"\r{text}", end="", flush=True)
    elif sum(result.read.values()) % PROGRESS_EVERY == 0:
        say(text)


def run_job(label: str, job: str) -> JobResult:
    """`meltano run <job>` with a progress line instead of Meltano's full log."""
    result = JobResult(label)
    log_path = ROOT / ".meltano" / f"demo-{job}.log"
    with log_path.open("w", encoding="utf-8") as log:
        process = subprocess.Popen(  # noqa: S603 - our own Meltano project
            [str(MELTANO), "run", job],
            cwd=ROOT,
            env=meltano_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for line in process.stdout or ():
            log.write(line)
            metric = _METRIC.search(line)
            if metric and f"tap-{label.lower()}" in line:
                data = json.loads(metric.group(1))
                if data.get("metric") == "record_count":
                    result.read[data["tags"]["stream"]] += int(data["value"])
                    _progress(result)
            summary = _SUMMARY.search(line)
            if summary:
                result.written = dict(p.split("=", 1) for p in summary.group(1).split())
        result.returncode = process.wait()
    if sys.stdout.isatty():
        print()
    say(
        f"  {label}: {result.read['orders']} orders and {result.read['refunds']} refunds read, "
        f"{result.written.get('created', '0')} documents created"
    )
    if result.returncode != 0:
        say(f"  {label}: the run stopped with an error; the log is in {log_path}")
    return result


def ops(*args: str) -> tuple[int, Any]:
    """`meltano invoke target-quickbooks:ops ... --json`: the operator commands' JSON."""
    done = subprocess.run(  # noqa: S603 - our own Meltano project
        [str(MELTANO), "invoke", "target-quickbooks:ops", "--json", *args],
        cwd=ROOT,
        env=meltano_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        return done.returncode, json.loads(done.stdout)
    except json.JSONDecodeError:
        return done.returncode, None


SHOWN = 8


def _runs(results: list[JobResult]) -> None:
    for result in results:
        written = result.written
        say(
            f"{result.label}: {result.read['orders']} orders and {result.read['refunds']} refunds "
            f"read; documents created {written.get('created', '0')}, updated "
            f"{written.get('updated', '0')}, unchanged {written.get('unchanged', '0')}, voided "
            f"{written.get('voided', '0')}; set aside: {written.get('dead_lettered', '0')} errors, "
            f"{written.get('conflicts', '0')} to review"
        )
    if all(r.returncode == 0 and r.changed == 0 for r in results):
        say()
        say("Nothing new to sync: every order is already in QuickBooks (Meltano's state and the")
        say("target's ledger agree), so this run wrote nothing.")


def _documents(status: Any) -> None:  # noqa: ANN401 - the operator command's JSON
    if not isinstance(status, dict):
        return
    rows = sorted(status.get("documents") or [], key=lambda r: str(r.get("entity")))
    say()
    say("Documents K-Connector wrote that QuickBooks holds now (distinct QuickBooks Ids), by type:")
    for row in rows:
        say(f"  {row.get('entity'):<15} {row.get('count'):>6}  ({row.get('status')})")
    say()
    say("Store records -> QuickBooks documents (several store customers can be one in QuickBooks):")
    for row in rows:
        say(
            f"  {row.get('entity'):<15} {row.get('records'):>6} records -> "
            f"{row.get('count'):>6} documents  ({row.get('status')})"
        )


def _dead_letters(letters: Any) -> None:  # noqa: ANN401 - the operator command's JSON
    if not isinstance(letters, list) or not letters:
        return
    say()
    say(f"Set aside with guidance ({len(letters)}); fix the cause, then")
    say("`meltano invoke target-quickbooks:retry --all`:")
    for letter in letters[:SHOWN]:
        say(f"  - {letter.get('external_id')} [{letter.get('error_code')}]")
        say(f"    {letter.get('message')}")
        say(f"    what to do: {letter.get('guidance')}")
    if len(letters) > SHOWN:
        say(f"  ... {len(letters) - SHOWN} more: meltano invoke target-quickbooks:errors list")


def _reviews(reviews: Any) -> None:  # noqa: ANN401 - the operator command's JSON
    if not isinstance(reviews, list) or not reviews:
        return
    say()
    say(f"Waiting for a decision ({len(reviews)}): changed in QuickBooks and in the store;")
    say("`meltano invoke target-quickbooks:review show <id>` shows both versions:")
    for item in reviews[:SHOWN]:
        say(f"  - #{item.get('id')} {item.get('external_id')}: {item.get('conflict_fields')}")


def _reconciliation(report: Any) -> None:  # noqa: ANN401 - the operator command's JSON
    if not isinstance(report, dict):
        return
    days = report.get("days") or []
    say()
    say("Store totals vs QuickBooks totals, per day and document type (last 12 rows):")
    header = ("day", "type", "docs", "store", "QuickBooks", "differ")
    say("  {:<11} {:<14} {:>5} {:>12} {:>12} {:>6}".format(*header))
    for day in days[-12:]:
        say(
            f"  {day['day']:<11} {day['entity']:<14} {day['documents']:>5} "
            f"{day['store_total']:>12} {day['qbo_total']:>12} {day['differing']:>6}"
        )
    differing = report.get("differing") or []
    note = " (listed in the report)" if differing else ""
    say(f"  {len(days)} day/type rows, {len(differing)} documents whose totals differ{note}")
    _store_days(report)
    say(f"  Report: {REPORT_DIR.relative_to(ROOT)}/ (HTML with a chart, and CSV)")


def _store_days(report: dict[str, Any]) -> None:
    """The source-side check: the store's own figures per store-local day, and over-refunds."""
    days = report.get("store_days") or []
    say()
    say("The store's orders and refunds per store-local day vs QuickBooks by TxnDate (last 12):")
    header = ("store day", "kind", "records", "store", "docs", "QuickBooks", "difference")
    say("  {:<11} {:<8} {:>7} {:>12} {:>5} {:>12} {:>11}".format(*header))
    for day in days[-12:]:
        say(
            f"  {day['day']:<11} {day['kind']:<8} {day['records']:>7} {day['store_total']:>12} "
            f"{day['documents']:>5} {day['qbo_total']:>12} {day['difference']:>11}"
        )
    off = [day for day in days if not day.get("matches")]
    over = report.get("over_refunds") or []
    say(
        f"  {len(days)} store days, {len(off)} differ; {len(over)} order(s) refunded more than paid"
    )
    for item in over[:SHOWN]:
        say(
            f"  - {item['order_id']} ({item['where']}): paid {item['paid']}, refunded "
            f"{item['refunded']} {item['currency']}"
        )


def strict_report_problems() -> list[dict[str, Any]] | None:
    """The QuickBooks emulator's strict report (protocol problems K-Connector caused), or None.

    None when the emulator cannot be asked (it is then said so, not taken as clean).
    """
    from kconnector_sandbox.qbo.admin_client import strict_report  # noqa: PLC0415 - demo only

    try:
        return strict_report(f"http://127.0.0.1:{PORTS['qbo']}", timeout=10)
    except (OSError, ValueError) as exc:
        say(f"The QuickBooks emulator's strict report could not be read ({type(exc).__name__}).")
        return None


def _strict_report() -> bool:
    problems = strict_report_problems()
    say()
    if problems is None:
        return False
    if not problems:
        say("QuickBooks emulator strict report: empty (no protocol problem in any request).")
        return True
    say(f"QuickBooks emulator strict report: {len(problems)} protocol problem(s):")
    for problem in problems[:SHOWN]:
        say(
            f"  - {problem.get('kind')} {problem.get('method')} {problem.get('path')}: "
            f"{problem.get('detail')}"
        )
    return False


def summary(results: list[JobResult]) -> bool:
    """The bookkeeper's summary: what ran, what is in QuickBooks, what needs a person.

    Returns:
        Whether the QuickBooks emulator's strict report is empty.
    """
    say()
    say("=" * 72)
    say("K-Connector demo: what reached QuickBooks")
    say("=" * 72)
    _runs(results)
    code, status = ops("status", "--offline")
    _documents(status)
    _dead_letters(ops("errors", "list")[1])
    _reviews(ops("review", "list")[1])
    _reconciliation(ops("reconcile", "--output-dir", str(REPORT_DIR))[1])
    clean = _strict_report()
    say("=" * 72)
    if code not in (0, 1):
        say("The target reports a system problem: run `meltano invoke target-quickbooks:status`.")
    return clean


def main() -> int:
    """Run the demo; the exit code is non-zero when a job failed."""
    install_plugins()
    sandbox = start_sandbox()
    try:
        results = []
        for label, job in JOBS:
            say(f"Running {job} (meltano run)...")
            results.append(run_job(label, job))
        strict_clean = summary(results)
    finally:
        stop_sandbox(sandbox)
    return 0 if strict_clean and all(r.returncode == 0 for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
