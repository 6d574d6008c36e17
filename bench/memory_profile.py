"""Peak memory (RSS) of the tap, the mapper and the target as the store grows: is it flat?

What it does (bench/RESULTS.md says how to read the figures):

1. For each store size, starts the store emulator seeded with that many orders, and one
   QuickBooks emulator for the whole run, each in its own process, with every limit off, exactly
   as `bench/pipeline_throughput.py` does (its module docstring lists the settings).
2. Runs the pipeline as Meltano does: `tap | map-quickbooks | target-quickbooks`, three
   processes connected by OS pipes, writing into a fresh QuickBooks company (ledger in a
   temporary SQLite file).
3. Measures, per process:
   - **peak RSS**: `ru_maxrss` from `os.wait4` on that process, the kernel's high-water mark of
     its resident set over its whole life, read when it is reaped. (Not
     `getrusage(RUSAGE_CHILDREN)`, whose `ru_maxrss` is the largest of all children, so it
     cannot tell three processes apart; not psutil.)
   - **RSS during the run**: `VmRSS` from `/proc/<pid>/status`, sampled every 0.25 s, printed
     at 25/50/75/100 % of the process's life, to show whether memory climbs while records flow
     or only steps up at start.
4. Growth: peak RSS between the two largest sizes, per 1,000 orders (start-up costs make
   small sizes rise and then level off), beside the least-squares fit over all sizes. A stage
   whose peak rises by less than 3 MiB between the two largest sizes is called flat; otherwise
   that slope is extended to 100,000 orders and printed as an extrapolation, labelled as such.
   The default sizes fit `make bench`'s time box; 100,000 orders are measured with
   `--shopify-sizes 10000 100000 --woocommerce-sizes 10000 100000 --deadline 3000` (about an
   hour on 2 cores, the Shopify emulator holding ~12 GB for its 100,000 orders; see
   bench/RESULTS.md).

Bounded by the sizes and a deadline per run (a run cut by it says so). Loopback only. Run from
the repository root:

    .venv/bin/python bench/memory_profile.py --shopify-sizes 500 1000 2000 \
        --woocommerce-sizes 1000 4000 16000
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from pipeline_throughput import (
    DOC_PREFIX,
    MAPPER,
    STORES,
    TAPS,
    TARGET,
    Command,
    ProcessRun,
    machine_line,
    run_processes,
    running_emulators,
    target_config,
    write_config,
)

SAMPLE_SECONDS = 0.25
EXTRAPOLATE_TO = 100_000
PROCESSES = ("tap", "mapper", "target")
FLAT_MIB = 3.0  # less change than this over the sizes measured is noise, not growth


class RssSampler:
    """Samples `VmRSS` of some processes in a background thread until stopped."""

    def __init__(self) -> None:
        """Nothing sampled yet."""
        self.samples: dict[str, list[int]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, processes: list[tuple[str, int]]) -> None:
        """Begin sampling the (name, pid) processes."""
        self.samples = {name: [] for name, _ in processes}
        self._thread = threading.Thread(target=self._run, args=(processes,), daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop sampling and wait for the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self, processes: list[tuple[str, int]]) -> None:
        while not self._stop.is_set():
            for name, pid in processes:
                rss = vm_rss_kib(pid)
                if rss is not None:
                    self.samples[name].append(rss)
            self._stop.wait(SAMPLE_SECONDS)


def vm_rss_kib(pid: int) -> int | None:
    """The resident set of a live process in KiB; None once it has exited."""
    try:
        status = Path(f"/proc/{pid}/status").read_text(encoding="ascii")
    except (FileNotFoundError, ProcessLookupError):
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return None  # a zombie (exited, not yet reaped) has no VmRSS


def quartiles(samples: list[int]) -> list[int]:
    """Samples at 25, 50, 75 and 100 % of the list (the process's life)."""
    if not samples:
        return [0, 0, 0, 0]
    return [samples[max(0, round(len(samples) * q) - 1)] for q in (0.25, 0.5, 0.75, 1.0)]


@dataclass
class SizeRun:
    """One pipeline run at one store size."""

    store: str
    size: int
    written: int = 0  # rows in the target's ledger: documents and entities created
    dead_letters: int = 0
    seconds: float = 0.0
    runs: list[ProcessRun] = field(default_factory=list)
    samples: dict[str, list[int]] = field(default_factory=dict)
    cut: bool = False


def profile(store: str, size: int, folder: Path, deadline: float) -> SizeRun:
    """Run the pipe once against a store of `size` orders; peak RSS of each process."""
    result = SizeRun(store, size)
    work = folder / f"{store}-{size}"
    logs = work / "logs"
    logs.mkdir(parents=True)
    with running_emulators([store, "qbo"], size) as emulators:
        tap = Command(TAPS[store], write_config(work, "tap", emulators[store].info))
        mapper = Command(
            MAPPER, write_config(work, "map", {"doc_number_prefix": DOC_PREFIX[store]})
        )
        settings = target_config(emulators["qbo"], work / "target.db")
        target = Command(TARGET, write_config(work, "target", settings))
        sampler = RssSampler()
        started = time.perf_counter()
        try:
            result.runs, result.cut = run_processes(
                [tap, mapper, target],
                stdin=None,
                stdout=work / "state.singer",
                logs=logs,
                deadline=deadline,
                on_start=sampler.start,
            )
        finally:
            sampler.stop()
        result.seconds = time.perf_counter() - started
    result.samples = sampler.samples
    with sqlite3.connect(work / "target.db") as connection:
        result.written = connection.execute("SELECT COUNT(*) FROM ledger").fetchone()[0]
        result.dead_letters = connection.execute("SELECT COUNT(*) FROM dead_letters").fetchone()[0]
    return result


def slope(points: list[tuple[int, float]]) -> float:
    """Least-squares slope of y over x."""
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    if spread == 0:
        return 0.0
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / spread


def growth_verdict(points: list[tuple[int, float]]) -> str:
    """Growth of peak RSS with the store, judged on the two largest sizes (the tail).

    Start-up costs (imports, first pages, caches filling) make small sizes rise and then level
    off, so a straight line through every size would call a plateau growth; the slope between
    the two largest sizes says what more orders cost. It is extended to 100,000 orders only
    when it is above the noise.
    """
    (small_orders, small_mib), (large_orders, large_mib) = points[0], points[-1]
    overall = 1000 * slope(points)
    text = (
        f"{small_mib:.1f} MiB at {small_orders:,} orders, {large_mib:.1f} MiB at "
        f"{large_orders:,}; fit over all sizes {overall:+.2f} MiB per 1,000 orders"
    )
    if len(points) < 2:  # noqa: PLR2004 - a slope needs two sizes
        return text
    (before_orders, before_mib) = points[-2]
    tail = 1000 * (large_mib - before_mib) / (large_orders - before_orders)
    text += f", between the two largest {tail:+.2f}"
    if large_mib - before_mib < FLAT_MIB:
        return f"{text}: FLAT at the largest sizes (less than {FLAT_MIB:.0f} MiB between them)"
    if large_orders >= EXTRAPOLATE_TO:
        return f"{text}: GROWS (measured up to {large_orders:,} orders)"
    at_target = large_mib + tail * (EXTRAPOLATE_TO - large_orders) / 1000
    return (
        f"{text}: GROWS; that slope extended to {EXTRAPOLATE_TO:,} orders gives "
        f"{at_target:,.0f} MiB (extrapolated, not measured)"
    )


def report(store: str, results: list[SizeRun]) -> list[str]:
    """Per size and process: peak and sampled RSS; then the growth per 1,000 orders."""
    lines = [
        f"{store}: tap | map-quickbooks | target-quickbooks, one run per size",
        "orders  wall s  process                 peak MiB   RSS MiB at 25/50/75/100 % of its life",
        *(
            f"{r.size:6} orders in the store: {r.written} ledger rows (documents and entities "
            f"created), {r.dead_letters} dead letters"
            for r in results
        ),
    ]
    for result in results:
        for stage, run in zip(PROCESSES, result.runs, strict=True):
            at = "/".join(
                f"{kib / 1024:.0f}" for kib in quartiles(result.samples.get(run.name, []))
            )
            lines.append(
                f"{result.size:6} {result.seconds:7.1f}  {stage:6} {run.name:16}"
                f" {run.max_rss_kib / 1024:8.1f}   {at}"
                f"{'  exit ' + str(run.exit_code) if run.exit_code else ''}"
            )
        if result.cut:
            lines.append(f"{result.size:6} CUT by the deadline")
    for index, stage in enumerate(PROCESSES):
        points = sorted((r.size, r.runs[index].max_rss_kib / 1024) for r in results if r.runs)
        lines.append(f"{stage:6}: {growth_verdict(points)}")
    return lines


def main() -> None:
    """Profile each store at each size; print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shopify-sizes", type=int, nargs="*", default=[500, 1000, 2000])
    parser.add_argument("--woocommerce-sizes", type=int, nargs="*", default=[1000, 4000, 16000])
    parser.add_argument("--deadline", type=float, default=600.0, help="seconds per pipeline run")
    args = parser.parse_args()
    sizes = {"shopify": args.shopify_sizes, "woocommerce": args.woocommerce_sizes}

    load_before = os.getloadavg()[0]
    results: dict[str, list[SizeRun]] = {}
    with tempfile.TemporaryDirectory(prefix="kc-memory-") as scratch:
        for store in STORES:
            results[store] = [
                profile(store, size, Path(scratch), args.deadline) for size in sizes[store]
            ]
    load_after = os.getloadavg()[0]
    print(machine_line(load_before, load_after))
    print(
        "peak RSS: ru_maxrss of os.wait4 per process; sampled RSS: VmRSS of /proc/<pid>/status "
        f"every {SAMPLE_SECONDS} s"
    )
    for store, store_results in results.items():
        if store_results:
            print()
            print("\n".join(report(store, store_results)))


if __name__ == "__main__":
    main()
