"""`kconnector-sandbox`: serve the emulators on loopback, or write a seeded store to files."""

from __future__ import annotations

import importlib
import json
import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from kconnector_sandbox.faults import FaultPlan, FaultSpecError
from kconnector_sandbox.options import SandboxOptions
from kconnector_sandbox.runner import ServedApp

if TYPE_CHECKING:
    from kconnector_sandbox.options import Emulator

# emulator name -> (module exposing `build(options) -> Emulator`, default port)
EMULATORS: dict[str, tuple[str, int]] = {
    "qbo": ("kconnector_sandbox.qbo", 8701),
    "shopify": ("kconnector_sandbox.shopify", 8702),
    "woocommerce": ("kconnector_sandbox.woocommerce", 8703),
}


def build_emulator(name: str, options: SandboxOptions) -> Emulator:
    """Build one emulator by name ("qbo", "shopify", "woocommerce")."""
    module = importlib.import_module(EMULATORS[name][0])
    emulator: Emulator = module.build(options)
    return emulator


@click.group()
def main() -> None:
    """Local emulators of the QuickBooks Online, Shopify and WooCommerce APIs."""


@main.command()
@click.option("--qbo-port", type=int, default=EMULATORS["qbo"][1], show_default=True)
@click.option("--shopify-port", type=int, default=EMULATORS["shopify"][1], show_default=True)
@click.option("--woo-port", type=int, default=EMULATORS["woocommerce"][1], show_default=True)
@click.option(
    "--only",
    type=click.Choice(sorted(EMULATORS)),
    multiple=True,
    help="Serve only these emulators (repeatable); all three by default.",
)
@click.option("--orders", type=int, default=100, show_default=True, help="Orders per seeded store.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for data and faults.")
@click.option(
    "--time-scale",
    type=float,
    default=1.0,
    show_default=True,
    help="Divide rate-limit windows by this (60: QuickBooks' minute lasts one second).",
)
@click.option(
    "--faults",
    default="",
    help="Fault rates for the QuickBooks emulator, e.g. '429=0.05,500=0.05,reset=0.02'.",
)
@click.option("--store-faults", default="", help="Fault rates for the store emulators.")
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Keep the QuickBooks companies and tokens in this folder between starts "
    "(qbo-state.json); in memory by default.",
)
def serve(  # noqa: PLR0913, PLR0917 - one parameter per CLI flag
    qbo_port: int,
    shopify_port: int,
    woo_port: int,
    only: tuple[str, ...],
    orders: int,
    seed: int,
    time_scale: float,
    faults: str,
    store_faults: str,
    state_dir: Path | None,
) -> None:
    """Serve the emulators on 127.0.0.1 until interrupted."""
    try:
        qbo_plan = FaultPlan.parse(faults, seed=seed)
        store_plan = FaultPlan.parse(store_faults, seed=seed)
    except FaultSpecError as exc:
        raise click.BadParameter(str(exc)) from exc
    ports = {"qbo": qbo_port, "shopify": shopify_port, "woocommerce": woo_port}
    names = list(only) or list(EMULATORS)
    # Handlers first: a stop request during start-up still ends with a clean shutdown.
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    served: list[tuple[Emulator, ServedApp]] = []
    try:
        for name in names:
            options = SandboxOptions(
                seed=seed,
                orders=orders,
                time_scale=time_scale,
                faults=qbo_plan if name == "qbo" else store_plan,
                state_dir=state_dir,
            )
            emulator = build_emulator(name, options)
            server = ServedApp(emulator.app, port=ports[name])
            server.start()
            served.append((emulator, server))
            for line in emulator.banner(server.url):
                click.echo(line)
        if not stop.is_set():
            click.echo("sandbox ready (Ctrl-C to stop)", err=True)
            stop.wait()
    finally:
        for emulator, server in reversed(served):
            server.stop()
            close = getattr(emulator, "close", None)
            if close is not None:
                close()  # final save (QuickBooks state dir), webhook threads


def _write_json(path: Path, document: Any) -> None:  # noqa: ANN401 - vendor JSON
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


@main.command()
@click.option("--orders", type=int, default=100, show_default=True, help="Orders per seeded store.")
@click.option("--seed", type=int, default=0, show_default=True, help="Same seed, same stores.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("output/sandbox-seed"),
    show_default=True,
    help="Folder to write the stores to.",
)
def seed(orders: int, seed: int, out: Path) -> None:
    """Write the seeded stores to files, in each platform's own JSON shape.

    The same data `serve` starts with for this seed: one file per Shopify shop
    (`shopify/<shop domain>.json`) and the WooCommerce store's orders and refunds
    (`woocommerce/<store key>/orders.json`, `refunds.json`).
    """
    from kconnector_sandbox.shopify import export_orders  # noqa: PLC0415 - only this command needs it
    from kconnector_sandbox.woocommerce.data_generator import generate_store  # noqa: PLC0415
    from kconnector_sandbox.woocommerce.store_profiles import profile_for_seed  # noqa: PLC0415
    from kconnector_sandbox.woocommerce.wp_json import wp_json_bytes  # noqa: PLC0415

    for domain, shop_orders in export_orders(SandboxOptions(seed=seed, orders=orders)).items():
        _write_json(out / "shopify" / f"{domain}.json", shop_orders)
        click.echo(f"shopify/{domain}.json: {len(shop_orders)} orders")
    data = generate_store(seed, orders, profile_for_seed(seed))
    store = out / "woocommerce" / data.profile.key
    store.mkdir(parents=True, exist_ok=True)
    # As WooCommerce encodes it (`wp_json_encode`: `price` a JSON number, money strings elsewhere).
    (store / "orders.json").write_bytes(
        wp_json_bytes([data.orders[i] for i in sorted(data.orders)])
    )
    refunds = {str(i): data.refunds[i] for i in sorted(data.refunds)}
    (store / "refunds.json").write_bytes(wp_json_bytes(refunds))
    click.echo(f"woocommerce/{data.profile.key}: {len(data.orders)} orders")
