"""`target-quickbooks-ops`: the operator commands (click).

Exit codes (for schedulers): 0 healthy / done; 1 attention needed (open reviews or dead
letters, a retry or resolution that did not succeed, totals that differ); 2 a system problem
(connection revoked, QuickBooks unreachable, unreadable configuration) or a usage error.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import click
from singer_sdk.exceptions import ConfigValidationError

from target_quickbooks import qbo_json
from target_quickbooks.errors import DeliveryError
from target_quickbooks.operations import payout_reconcile
from target_quickbooks.operations import reconcile as reconciliation
from target_quickbooks.operations.actions import OperatorActionError
from target_quickbooks.operations.config import OpsConfigError, load_config
from target_quickbooks.operations.output import Output
from target_quickbooks.operations.probe import probe_connection
from target_quickbooks.operations.report import (
    write_csv,
    write_html,
    write_payouts_csv,
    write_source_csvs,
)
from target_quickbooks.operations.session import OpsSession
from target_quickbooks.operations.source_reconcile import (
    SourceDay,
    SourceReconciliation,
    reconcile_source,
    store_day,
    within,
)
from target_quickbooks.operations.status import Health, read_status
from target_quickbooks.store.audit import AuditFilter
from target_quickbooks.store.database import current_revision
from target_quickbooks.store.review_queue import Resolution, ReviewStatus

if TYPE_CHECKING:
    from collections.abc import Callable

    from target_quickbooks.store.ledger import LedgerEntry
    from target_quickbooks.store.review_queue import ReviewItem

P = ParamSpec("P")
R = TypeVar("R")
_ACCEPT = {"store": Resolution.ACCEPT_STORE, "quickbooks": Resolution.ACCEPT_QUICKBOOKS}


class Ops:
    """The click context object: the session, the output and the store scope."""

    def __init__(self, session: OpsSession, output: Output, store: str | None = None) -> None:
        """Bind the session and the output; `store` (`<platform>:<host>`) narrows the rows."""
        self.session = session
        self.output = output
        self.store = store or None

    def in_scope(self, external_id: str | None) -> bool:
        """Whether a row belongs to the chosen store (every row when none is chosen).

        Several stores (tenants) may write to one company: a tenant's operator sees that
        store's dead letters, reviews and audit rows only (docs/scale-out.md). Rows of no
        store (a token refresh) belong to the company and stay visible.
        """
        if self.store is None or external_id is None:
            return True
        return external_id.startswith(self.store + ":")


def _setting_names() -> list[str]:
    from target_quickbooks.target import TargetQuickBooks  # noqa: PLC0415 - the settings' source

    properties = TargetQuickBooks.config_jsonschema.get("properties", {})
    return sorted(properties)


def guarded(command: Callable[P, R]) -> Callable[P, R]:
    """Turn the errors a person must act on into a message on stderr and exit code 2."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except (OpsConfigError, ConfigValidationError, OperatorActionError) as exc:
            Output.note(f"error: {exc}")
            raise SystemExit(Health.SYSTEM) from None
        except DeliveryError as exc:
            Output.note(
                f"error ({exc.error_class.value} {exc.code}): {exc.message}. {exc.guidance}"
            )
            raise SystemExit(Health.SYSTEM) from None

    return run


@click.group()
@click.option(
    "--config",
    "config_paths",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The target's config JSON (repeatable; later files win). Default: the "
    "TARGET_QUICKBOOKS_* environment variables Meltano sets.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
@click.option(
    "--store",
    envvar="KCONNECTOR_STORE",
    help="Only this store's dead letters, reviews and audit rows ('shopify:<shop>' or "
    "'woocommerce:<host>'), when several stores write to the company. A scale-out tenant's "
    "environment sets it.",
)
@click.option("--all-stores", is_flag=True, help="Every store of the company, despite --store.")
@click.pass_context
def main(
    ctx: click.Context,
    config_paths: tuple[Path, ...],
    *,
    as_json: bool,
    store: str | None,
    all_stores: bool,
) -> None:
    """Operate K-Connector's QuickBooks sync: status, reviews, dead letters, audit, reconcile."""

    def open_session() -> Ops:
        config = load_config(config_paths, _setting_names())
        scope = None if all_stores else store
        return Ops(OpsSession(config), Output.create(as_json=as_json), scope)

    ops = guarded(open_session)()
    ctx.call_on_close(ops.session.close)
    ctx.obj = ops


# ---------------------------------------------------------------- status


@main.command()
@click.option("--offline", is_flag=True, help="Do not check the QuickBooks connection.")
@click.pass_obj
@guarded
def status(ops: Ops, *, offline: bool) -> None:
    """Last run, documents, open reviews and dead letters, connection; exit 0/1/2."""
    check = None if offline else probe_connection(ops.session.settings, ops.session.store)
    store = ops.session.store
    result = read_status(
        store,
        ops.session.realm_id,
        now=datetime.now(UTC),
        schema_revision=current_revision(store.engine),
        token_check=check,
    )
    out = ops.output
    if out.as_json:
        out.data(result.as_json())
    else:
        out.table(
            f"K-Connector status, company {result.realm_id}: {result.health.name.lower()}",
            ("item", "value"),
            [
                ("last activity", result.last_activity),
                ("open reviews", result.open_reviews),
                ("open dead letters", result.open_dead_letters),
                ("connection", result.token.check),
                ("refresh token rotated", result.token.rotated_at),
                ("store schema", result.schema_revision),
            ],
        )
        out.table(
            "Documents in QuickBooks written by K-Connector (distinct QuickBooks Ids)",
            ("type", "status", "documents"),
            [(e, s, n.documents) for (e, s), n in sorted(result.documents.items())],
        )
        out.table(
            "Store records -> QuickBooks documents (ledger)",
            ("type", "status", "records", "documents"),
            [(e, s, n.records, n.documents) for (e, s), n in sorted(result.documents.items())],
        )
        out.table(
            f"Outcomes since {result.recent_since.isoformat(timespec='seconds')}",
            ("type", "outcome", "count"),
            [(e, o, n) for (e, o), n in sorted(result.recent_outcomes.items())],
        )
        if result.token.detail:
            out.note(result.token.detail)
    raise SystemExit(int(result.health))


# ---------------------------------------------------------------- reviews


@main.group()
def review() -> None:
    """Conflicts waiting for a decision (critical fields edited in QuickBooks and the store)."""


def _review_json(item: ReviewItem) -> dict[str, Any]:
    return {
        "id": item.id,
        "external_id": item.external_id,
        "entity": item.entity,
        "qbo_id": item.qbo_id,
        "status": item.status,
        "conflict_fields": list(item.conflict_fields),
        "sightings": item.sightings,
        "resolution": item.resolution,
        "created_at": item.created_at,
        "resolved_at": item.resolved_at,
        "fingerprint": item.fingerprint,
        "diff": item.diff,
        "base": item.base,
        "quickbooks": item.theirs,
        "store": item.ours,
    }


@review.command("list")
@click.option("--all", "show_all", is_flag=True, help="Include resolved and superseded items.")
@click.pass_obj
@guarded
def review_list(ops: Ops, *, show_all: bool) -> None:
    """List review items (open ones by default)."""
    items = [
        item
        for item in ops.session.store.reviews.items(
            ops.session.realm_id, None if show_all else ReviewStatus.OPEN
        )
        if ops.in_scope(item.external_id)
    ]
    if ops.output.as_json:
        ops.output.data(
            [
                {
                    k: v
                    for k, v in _review_json(i).items()
                    if k not in {"base", "quickbooks", "store"}
                }
                for i in items
            ]
        )
        return
    ops.output.table(
        "Review queue",
        ("id", "external_id", "type", "QuickBooks Id", "fields", "seen", "status", "since"),
        [
            (
                i.id,
                i.external_id,
                i.entity,
                i.qbo_id,
                ", ".join(i.conflict_fields),
                i.sightings,
                i.status,
                i.created_at,
            )
            for i in items
        ],
    )


def _item(ops: Ops, item_id: int) -> ReviewItem:
    item = ops.session.store.reviews.get(ops.session.realm_id, item_id)
    if item is None or not ops.in_scope(item.external_id):
        msg = f"no review item {item_id} for company {ops.session.realm_id}"
        raise OperatorActionError(msg)
    return item


@review.command("show")
@click.argument("item_id", type=int)
@click.pass_obj
@guarded
def review_show(ops: Ops, item_id: int) -> None:
    """Show one item: what changed where, field by field."""
    item = _item(ops, item_id)
    if ops.output.as_json:
        ops.output.data(_review_json(item))
        return
    ops.output.text(
        f"review {item.id} ({item.status}): {item.entity} {item.qbo_id} of {item.external_id}\n"
        f"conflicting fields: {', '.join(item.conflict_fields)}; seen {item.sightings} time(s)\n"
    )
    ops.output.text(item.diff)
    ops.output.text(
        "\nresolve with: target-quickbooks-ops review resolve "
        f"{item.id} --accept store | --accept quickbooks | --edited BODY.json"
    )


@review.command("resolve")
@click.argument("item_id", type=int)
@click.option("--accept", type=click.Choice(sorted(_ACCEPT)), help="Keep this side's version.")
@click.option(
    "--edited",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Write this QuickBooks body (JSON, references as QuickBooks Ids) instead.",
)
@click.pass_obj
@guarded
def review_resolve(ops: Ops, item_id: int, accept: str | None, edited: Path | None) -> None:
    """Resolve an item: accept the store's or QuickBooks' version, or write an edited one."""
    if (accept is None) == (edited is None):
        msg = "give exactly one of --accept store|quickbooks and --edited FILE"
        raise click.UsageError(msg)
    item = _item(ops, item_id)
    if item.status is not ReviewStatus.OPEN:
        msg = f"review item {item_id} is {item.status}, not open"
        raise OperatorActionError(msg)
    body: dict[str, Any] | None = None
    if edited is not None:
        try:
            loaded = qbo_json.loads(edited.read_text("utf-8"))
        except ValueError:
            msg = f"{edited} is not valid JSON"
            raise OperatorActionError(msg) from None
        if not isinstance(loaded, dict):
            msg = f"{edited} does not hold a JSON object (a QuickBooks document body)"
            raise OperatorActionError(msg)
        body = loaded
    resolution = _ACCEPT[accept] if accept is not None else Resolution.EDITED
    done = ops.session.actions.resolve_review(item, resolution, edited=body)
    if ops.output.as_json:
        ops.output.data({"id": item_id, "resolution": resolution, "resolved": done})
    else:
        ops.output.note(
            f"review {item_id}: {'resolved' if done else 'NOT resolved'} ({resolution.value})"
            + ("" if done else "; see `target-quickbooks-ops errors list`")
        )
    raise SystemExit(Health.HEALTHY if done else Health.ATTENTION)


# ---------------------------------------------------------------- dead letters


@main.group()
def errors() -> None:
    """Dead letters: records that could not be delivered, and what to do about them."""


_LETTER_FIELDS = (
    "id",
    "external_id",
    "stream",
    "error_class",
    "error_code",
    "field",
    "message",
    "guidance",
    "attempts",
    "created_at",
    "updated_at",
    "resolved_at",
)


@errors.command("list")
@click.pass_obj
@guarded
def errors_list(ops: Ops) -> None:
    """List open dead letters."""
    letters = [
        letter
        for letter in ops.session.store.dead_letters.open_letters(ops.session.realm_id)
        if ops.in_scope(letter["external_id"])
    ]
    if ops.output.as_json:
        ops.output.data([{k: letter[k] for k in _LETTER_FIELDS} for letter in letters])
        return
    ops.output.table(
        "Dead letters",
        ("id", "external_id", "class", "code", "field", "attempts", "what to do"),
        [
            (
                letter["id"],
                letter["external_id"],
                letter["error_class"],
                letter["error_code"],
                letter["field"],
                letter["attempts"],
                letter["guidance"],
            )
            for letter in letters
        ],
    )


@errors.command("show")
@click.argument("letter_id", type=int)
@click.pass_obj
@guarded
def errors_show(ops: Ops, letter_id: int) -> None:
    """Show one dead letter with its guidance."""
    letter = ops.session.store.dead_letters.get(ops.session.realm_id, letter_id)
    if letter is None or not ops.in_scope(letter["external_id"]):
        msg = f"no dead letter {letter_id} for company {ops.session.realm_id}"
        raise OperatorActionError(msg)
    if ops.output.as_json:
        ops.output.data({k: letter[k] for k in _LETTER_FIELDS})
        return
    ops.output.table(
        f"Dead letter {letter_id}", ("field", "value"), [(k, letter[k]) for k in _LETTER_FIELDS]
    )


def _retry(ops: Ops, letter_ids: tuple[int, ...], *, retry_all: bool) -> None:
    store, realm = ops.session.store, ops.session.realm_id
    if retry_all:
        letters = [
            letter
            for letter in store.dead_letters.open_letters(realm)
            if ops.in_scope(letter["external_id"])
        ]
    else:
        letters = []
        for letter_id in letter_ids:
            letter = store.dead_letters.get(realm, letter_id)
            if letter is None or not ops.in_scope(letter["external_id"]):
                msg = f"no dead letter {letter_id} for company {realm}"
                raise OperatorActionError(msg)
            letters.append(letter)
    if not letters and not retry_all:
        msg = "nothing to retry: give dead letter ids or --all"
        raise click.UsageError(msg)
    results: list[dict[str, Any]] = []
    for letter in letters:
        try:
            done = ops.session.actions.retry(letter)
            outcome = "resolved" if done else "still failing"
        except OperatorActionError as exc:
            done, outcome = False, f"not retriable: {exc}"
        results.append(
            {
                "id": letter["id"],
                "external_id": letter["external_id"],
                "resolved": done,
                "outcome": outcome,
            }
        )
    if ops.output.as_json:
        ops.output.data(results)
    else:
        ops.output.table(
            "Retry",
            ("id", "external_id", "outcome"),
            [(r["id"], r["external_id"], r["outcome"]) for r in results],
        )
    raise SystemExit(Health.HEALTHY if all(r["resolved"] for r in results) else Health.ATTENTION)


@errors.command("retry")
@click.argument("letter_ids", type=int, nargs=-1)
@click.option("--all", "retry_all", is_flag=True, help="Retry every open dead letter.")
@click.pass_obj
@guarded
def errors_retry(ops: Ops, letter_ids: tuple[int, ...], *, retry_all: bool) -> None:
    """Deliver dead-lettered records again (after fixing the cause), exactly once."""
    _retry(ops, letter_ids, retry_all=retry_all)


@main.command("retry")
@click.argument("letter_ids", type=int, nargs=-1)
@click.option("--all", "retry_all", is_flag=True, help="Retry every open dead letter.")
@click.pass_obj
@guarded
def retry(ops: Ops, letter_ids: tuple[int, ...], *, retry_all: bool) -> None:
    """Same as `errors retry` (for `meltano invoke target-quickbooks:retry`)."""
    _retry(ops, letter_ids, retry_all=retry_all)


# ---------------------------------------------------------------- audit


def _moment(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        msg = f"not an ISO date or date-time: {text!r}"
        raise click.BadParameter(msg) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@main.command()
@click.option("--external-id", help="One document's external_id.")
@click.option("--outcome", help="e.g. created, updated, unchanged, merged, conflict, dead_letter.")
@click.option("--operation", help="e.g. create, update, merge, resolve, retry, token_refresh.")
@click.option("--entity", help="QuickBooks entity, e.g. SalesReceipt.")
@click.option("--since", help="From this ISO date/date-time (UTC when no offset).")
@click.option("--until", help="Before this ISO date/date-time (UTC when no offset).")
@click.option("--limit", type=int, default=200, show_default=True, help="Newest rows shown.")
@click.pass_obj
@guarded
def audit(  # noqa: PLR0913 - one keyword per filter
    ops: Ops,
    *,
    external_id: str | None,
    outcome: str | None,
    operation: str | None,
    entity: str | None,
    since: str | None,
    until: str | None,
    limit: int,
) -> None:
    """Read the audit log (append-only), oldest first."""
    rows = [
        row
        for row in ops.session.store.audit.query(
            ops.session.realm_id,
            AuditFilter(
                external_id=external_id,
                outcome=outcome,
                operation=operation,
                entity=entity,
                since=_moment(since),
                until=_moment(until),
                limit=limit,
            ),
        )
        if ops.in_scope(row["external_id"])
    ]
    if ops.output.as_json:
        ops.output.data(rows)
        return
    ops.output.table(
        "Audit log",
        ("time", "operation", "outcome", "type", "external_id", "QuickBooks Id", "code", "message"),
        [
            (
                r["ts"],
                r["operation"],
                r["outcome"],
                r["entity"],
                r["external_id"],
                r["qbo_id"],
                r["error_code"],
                r["message"],
            )
            for r in rows
        ],
    )


# ---------------------------------------------------------------- reconcile


@main.command("reconcile")
@click.option("--since", help="First day (YYYY-MM-DD, TxnDate or store-local day) to include.")
@click.option("--until", help="Last day (YYYY-MM-DD, TxnDate or store-local day) to include.")
@click.option(
    "--output-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(),
    show_default=True,
    help="Where the reconcile-<realm>*.csv files and reconcile-<realm>.html are written.",
)
@click.pass_obj
@guarded
def reconcile_command(ops: Ops, since: str | None, until: str | None, output_dir: Path) -> None:
    """Store against QuickBooks per day: documents, store-local days, refunds; 1 if any differ."""
    realm = ops.session.realm_id

    def in_range(day: str) -> bool:
        return (since is None or day >= since) and (until is None or day <= until)

    ledger = reconciliation.reconcilable(ops.session.store.ledger.documents(realm))
    entries = [entry for entry in ledger if in_range(reconciliation.day_of(entry))]
    # The store-side check also needs a document dated outside the range whose store day is in
    # it (a wrong TxnDate is exactly what it looks for).
    wider = [e for e in ledger if in_range(reconciliation.day_of(e)) or in_range(store_day(e))]
    client = ops.session.delivery.client
    payouts = [
        e
        for e in payout_reconcile.payout_entries(ledger)
        if in_range(_payout_day(e)) and e not in wider
    ]
    quickbooks = reconciliation.read_quickbooks(client, [*wider, *payouts])
    quickbooks |= reconciliation.read_ids(
        client, payout_reconcile.linked_ids([*wider, *payouts], quickbooks)
    )
    checks = payout_reconcile.within(
        payout_reconcile.check_payouts([*wider, *payouts], quickbooks), since, until
    )
    gateways = payout_reconcile.by_gateway(checks)
    rows = reconciliation.compare(entries, quickbooks)
    days = reconciliation.by_day(rows)
    source = reconcile_source(wider, quickbooks)
    source_days = within(source.days, since, until)
    output_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        name: output_dir / f"reconcile-{realm}{suffix}"
        for name, suffix in (
            ("csv", ".csv"),
            ("store_days_csv", "-store-days.csv"),
            ("over_refunds_csv", "-over-refunds.csv"),
            ("payouts_csv", "-payouts.csv"),
            ("html", ".html"),
        )
    }
    write_csv(paths["csv"], rows)
    write_source_csvs(
        paths["store_days_csv"], paths["over_refunds_csv"], source_days, source.over_refunds
    )
    write_payouts_csv(paths["payouts_csv"], checks)
    write_html(
        paths["html"], realm, days, rows, source=source, source_days=source_days, payouts=checks
    )
    differing = [row for row in rows if not row.matches]
    differing_days = [day for day in source_days if not day.matches]
    if ops.output.as_json:
        ops.output.data(
            {
                "days": [vars(day) for day in days],
                "differing": [vars(row) for row in differing],
                "store_days": [_store_day_json(day) for day in source_days],
                "over_refunds": [vars(o) | {"excess": o.excess} for o in source.over_refunds],
                "without_store_figures": source.without_store_figures,
                "payouts": [_payout_json(check) for check in checks],
                "payout_gateways": [vars(g) for g in gateways],
                **{name: str(path) for name, path in paths.items()},
            }
        )
    else:
        _reconcile_tables(ops.output, days, differing)
        _source_tables(ops.output, source_days, source)
        _payout_tables(ops.output, checks, gateways)
        ops.output.note("report: " + " ".join(str(path) for path in paths.values()))
    off_payouts = [check for check in checks if not check.matches]
    unhealthy = differing or differing_days or source.over_refunds or off_payouts
    raise SystemExit(Health.ATTENTION if unhealthy else Health.HEALTHY)


def _payout_day(entry: LedgerEntry) -> str:
    figures = payout_reconcile.payout_figures(entry.source_facts)
    return figures.local_date if figures is not None else ""


def _payout_json(check: payout_reconcile.PayoutCheck) -> dict[str, Any]:
    return vars(check.payout) | {
        "external_id": check.external_id,
        "qbo_id": check.qbo_id,
        "deposit_total": check.deposit_total,
        "cleared": check.cleared,
        "books": check.books,
        "residual": check.residual,
        "matches": check.matches,
    }


def _payout_tables(
    out: Output,
    checks: list[payout_reconcile.PayoutCheck],
    gateways: list[payout_reconcile.GatewayResidual],
) -> None:
    if not checks:
        return
    out.table(
        "Payouts: processor net = QuickBooks Deposit = documents cleared + refunds - fees "
        "+ adjustments",
        ("gateway", "currency", "payouts", "net", "differing", "residual"),
        [(g.gateway, g.currency, g.payouts, g.net, g.differing, g.residual) for g in gateways],
    )
    off = [check for check in checks if not check.matches]
    if off:
        out.table(
            "Payouts that do not reconcile",
            ("store day", "payout", "gateway", "net", "Deposit", "books", "residual"),
            [
                (
                    c.payout.local_date,
                    c.payout.canonical_id,
                    c.payout.gateway,
                    c.payout.net,
                    "not found" if c.deposit_total is None else c.deposit_total,
                    "document missing" if c.books is None else c.books,
                    c.residual,
                )
                for c in off
            ],
        )


def _store_day_json(day: SourceDay) -> dict[str, Any]:
    return vars(day) | {"difference": day.difference, "matches": day.matches}


def _reconcile_tables(
    out: Output,
    days: list[reconciliation.DayTotals],
    differing: list[reconciliation.DocumentTotals],
) -> None:
    out.table(
        "Documents: QuickBooks against the mapped totals, per TxnDate and type",
        ("day", "type", "currency", "documents", "store total", "QuickBooks total", "differing"),
        [
            (d.day, d.entity, d.currency, d.documents, d.store_total, d.qbo_total, d.differing)
            for d in days
        ],
    )
    if differing:
        out.table(
            "Documents that differ",
            (
                "day",
                "type",
                "external_id",
                "store total",
                "QuickBooks total",
                "store tax",
                "QuickBooks tax",
            ),
            [
                (r.day, r.entity, r.external_id, r.store_total, r.qbo_total, r.store_tax, r.qbo_tax)
                for r in differing
            ],
        )


def _source_tables(out: Output, days: list[SourceDay], source: SourceReconciliation) -> None:
    out.table(
        "Store against QuickBooks per store-local day (store records vs documents by TxnDate)",
        (
            "store day",
            "kind",
            "currency",
            "records",
            "store total",
            "documents",
            "QuickBooks total",
            "difference",
        ),
        [
            (
                d.day,
                d.kind,
                d.currency,
                d.records,
                d.store_total,
                d.documents,
                d.qbo_total,
                d.difference,
            )
            for d in days
        ],
    )
    if source.over_refunds:
        out.table(
            "Orders refunded more than paid",
            ("order", "where", "currency", "paid", "refunded", "excess"),
            [
                (o.order_id, o.where, o.currency, o.paid, o.refunded, o.excess)
                for o in source.over_refunds
            ],
        )
    if source.without_store_figures:
        out.note(
            f"{source.without_store_figures} document(s) carry no store figures (written before "
            "the ledger kept them): left out of the store-local days."
        )
