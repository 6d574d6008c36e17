"""Run every benchmark in bench/ one after the other, each at its default bounded size.

Each script runs as its own process with this interpreter (so the workspace's executables and
packages are the ones measured), its output shown as it comes, then a summary: each script's exit
code, wall time and headline lines. Benchmarks run in sequence, never together: on a small
machine they would compete for the same cores. Every script is bounded by its own defaults and,
here, by `--timeout` seconds (a script cut by it says so).

Run from the repository root (`make bench` does this):

    .venv/bin/python bench/run_all.py                     # all of them
    .venv/bin/python bench/run_all.py pipeline_throughput memory_profile
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
# The usual order: the emulator first (the others rely on it not being the bottleneck), then
# each stage alone, then the whole pipeline and its memory. Scripts not listed run after these.
ORDER = (
    "qbo_emulator_throughput",
    "tap_shopify_throughput",
    "mapper_throughput",
    "target_throughput",
    "pipeline_throughput",
    "memory_profile",
)
# Lines worth repeating in the summary, per script; other scripts show their last lines.
HEADLINES = {
    "qbo_emulator_throughput": r"^(median|ratio)",
    "tap_shopify_throughput": r"(points consumed|orders/s|tap CPU)",
    "mapper_throughput": r"^(records/s|median pass)",
    "target_throughput": r"^(loader|batch |naive )",
    "pipeline_throughput": r"^(\w+: \d+ orders|bottleneck|CUT|FAILED)",
    "memory_profile": r"^(\w+ *: [+-]|\w+: tap \|)",
    "shopify_emulator_memory": r"^(before|after|ratio) ",
    "tap_shopify_resume": r"^(paged|bulk) ",
    "tap_woocommerce_requests": r"^\| with|^\| without",
    "bench_scale_out": r"^(companies \d+|  429 answers)",
    "bench_realtime": r"^receiver webhooks/s",
    "bench_realtime_latency": r"^latency p50",
}
TAIL_LINES = 4


@dataclass
class Outcome:
    """What one benchmark script did."""

    name: str
    exit_code: int | None = None
    seconds: float = 0.0
    cut: bool = False
    lines: list[str] = field(default_factory=list)

    def headlines(self) -> list[str]:
        """The lines the summary repeats."""
        pattern = HEADLINES.get(self.name)
        if pattern is None:
            return self.lines[-TAIL_LINES:]
        return [line for line in self.lines if re.search(pattern, line)]


def discover(selected: list[str]) -> list[str]:
    """Benchmark scripts present in bench/, in the usual order (or those named)."""
    present = sorted(path.stem for path in BENCH.glob("*.py") if path.stem != Path(__file__).stem)
    ordered = [name for name in ORDER if name in present]
    ordered += [name for name in present if name not in ORDER]
    if selected:
        unknown = sorted(set(selected) - set(ordered))
        if unknown:
            msg = f"no such benchmark in bench/: {', '.join(unknown)}"
            raise SystemExit(msg)
        ordered = [name for name in ordered if name in selected]
    return ordered


def run(name: str, timeout: float) -> Outcome:
    """Run one script, echoing its output; stop it at `timeout` seconds."""
    outcome = Outcome(name)
    started = time.perf_counter()
    process = subprocess.Popen(  # noqa: S603 - this interpreter and a script of bench/
        [sys.executable, str(BENCH / f"{name}.py")],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )

    def stop() -> None:
        outcome.cut = True
        process.terminate()

    timer = threading.Timer(timeout, stop)
    timer.start()
    try:
        assert process.stdout is not None  # noqa: S101 - a pipe by construction
        for line in process.stdout:
            print(line, end="", flush=True)
            outcome.lines.append(line.rstrip("\n"))
        outcome.exit_code = process.wait()
    finally:
        timer.cancel()
    outcome.seconds = time.perf_counter() - started
    return outcome


def main() -> None:
    """Run the selected benchmarks in sequence; print the summary; exit non-zero on a failure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="only these scripts (file names without .py)")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per script")
    args = parser.parse_args()
    names = discover(args.names)
    load_before = os.getloadavg()[0]
    outcomes = []
    for name in names:
        print(f"\n=== bench/{name}.py ===", flush=True)
        outcomes.append(run(name, args.timeout))
    load_after = os.getloadavg()[0]

    print("\n=== summary ===")
    print(
        f"{os.cpu_count()} cores, {platform.python_implementation()} {platform.python_version()}, "
        f"1-min load average {load_before:.2f} before, {load_after:.2f} after"
    )
    for outcome in outcomes:
        status = "ok" if outcome.exit_code == 0 else f"FAILED (exit {outcome.exit_code})"
        if outcome.cut:
            status = f"CUT after {args.timeout:.0f} s"
        print(f"\n{outcome.name}: {status}, {outcome.seconds:.0f} s")
        for line in outcome.headlines():
            print(f"  {line}")
    if any(outcome.exit_code != 0 or outcome.cut for outcome in outcomes):
        sys.exit(1)


if __name__ == "__main__":
    main()
