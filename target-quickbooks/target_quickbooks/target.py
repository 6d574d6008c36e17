"""target-quickbooks: the Singer target and its settings."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from singer_sdk import typing as th
from singer_sdk.helpers.capabilities import PluginCapabilities
from singer_sdk.target_base import Target

from kconnector_canonical.http_session import GuardedSession
from kconnector_canonical.redaction import install_log_redaction, secret_values
from target_quickbooks import error_catalog
from target_quickbooks.alerts import Alert, send_alert
from target_quickbooks.auth import TokenManager
from target_quickbooks.client import QuickBooksClient
from target_quickbooks.contract import DEAD_LETTER_STREAM, DOCUMENT_STREAMS
from target_quickbooks.delivery import DeliveryEngine
from target_quickbooks.errors import DeliveryError, ErrorClass, SystemFaultError
from target_quickbooks.input_screen import (
    InputScreen,
    code_fingerprint,
    fingerprint_id,
    settings_fingerprint,
)
from target_quickbooks.rate_limits import RealmRateLimiter
from target_quickbooks.references import ReferenceResolver
from target_quickbooks.settings import (
    DEFAULT_MINOR_VERSION,
    DEFAULT_RATE_LIMIT_WINDOW_SECONDS,
    DEFAULT_REQUEST_TIMEOUT_SECONDS,
    DEFAULT_WRITER_LEASE_WAIT_SECONDS,
    QBO_BATCH_REQUESTS_PER_MINUTE,
    QBO_MAX_BATCH_ITEMS,
    QBO_REQUESTS_PER_MINUTE,
    Settings,
)
from target_quickbooks.singer_input import CheckedSingerReader, InputLineError, LineScreen
from target_quickbooks.sinks import DeadLetterSink, DocumentSink
from target_quickbooks.store import Store, open_store
from target_quickbooks.store.audit import AuditEntry

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from singer_sdk.sinks import Sink

    from target_quickbooks.input_screen import Screened
    from target_quickbooks.store.lease import WriterLease

# A duration: a JSON number, or a numeric string as Meltano passes a setting from the
# environment (its `decimal` kind cannot be serialised into the plugin's config). Parsed, with an
# error naming the setting, by Settings.from_config.
SECONDS = th.CustomType({"type": ["number", "string"]})
_T = TypeVar("_T")


class TargetQuickBooks(Target):
    """Writes map-quickbooks documents to QuickBooks Online, exactly once."""

    name = "target-quickbooks"
    capabilities = [  # noqa: RUF012 - the SDK declares it as a plain class attribute
        PluginCapabilities.ABOUT,
        PluginCapabilities.STREAM_MAPS,
        PluginCapabilities.STRUCTURED_LOGGING,
    ]
    default_sink_class = DocumentSink
    # Stops at the first unusable input line (one sentence, exit 1) instead of a traceback.
    message_reader_class = CheckedSingerReader

    config_jsonschema = th.PropertiesList(
        th.Property(
            "realm_id",
            th.StringType,
            required=True,
            title="Realm ID",
            description="The QuickBooks company id (realmId) to write to.",
        ),
        th.Property(
            "client_id",
            th.StringType,
            required=True,
            secret=True,
            title="Client ID",
            description="The Intuit app's client id (Keys & credentials).",
        ),
        th.Property(
            "client_secret",
            th.StringType,
            required=True,
            secret=True,
            title="Client secret",
            description="The Intuit app's client secret.",
        ),
        th.Property(
            "refresh_token",
            th.StringType,
            required=True,
            secret=True,
            title="Refresh token",
            description=(
                "The refresh token from the OAuth consent. Used only until the target has "
                "stored a newer (rotated) one in its database; set a new one after reconnecting."
            ),
        ),
        th.Property(
            "environment",
            th.StringType,
            default="sandbox",
            allowed_values=["sandbox", "production"],
            title="Environment",
            description="Intuit environment of the company: sandbox or production.",
        ),
        th.Property(
            "api_url",
            th.StringType,
            title="API base URL",
            description=(
                "Override of the API base URL (e.g. the local QuickBooks emulator, "
                "http://127.0.0.1:PORT); defaults to the environment's Intuit URL."
            ),
        ),
        th.Property(
            "token_url",
            th.StringType,
            title="Token endpoint URL",
            description="Override of the OAuth 2.0 token endpoint (e.g. the local emulator).",
        ),
        th.Property(
            "allow_insecure_http",
            th.BooleanType,
            default=False,
            title="Allow insecure HTTP",
            description=(
                "Allow a plain http:// api_url or token_url on another machine (a test server "
                "only): the client secret and tokens would cross the network readable. Plain "
                "http:// to this machine (localhost, 127.0.0.0/8, ::1) needs no opt-in."
            ),
        ),
        th.Property(
            "minor_version",
            th.StringType,
            default=DEFAULT_MINOR_VERSION,
            title="API minor version",
            description="The `minorversion` sent with every request.",
        ),
        th.Property(
            "database_url",
            th.StringType,
            title="Database URL",
            description=(
                "SQLAlchemy URL of the target's store (ledger, tokens, audit log, dead "
                "letters). Default: SQLite at $MELTANO_PROJECT_ROOT/.meltano/target-quickbooks/"
                "state.db, or ./.target-quickbooks/state.db outside Meltano. PostgreSQL: "
                "postgresql+psycopg://user@host/db (install the `postgres` extra)."
            ),
        ),
        th.Property(
            "max_concurrency",
            th.IntegerType,
            default=4,
            title="Max concurrency",
            description="Requests in flight at once for the company (QuickBooks allows 10).",
        ),
        th.Property(
            "use_batch_api",
            th.BooleanType,
            default=True,
            title="Use the batch endpoint",
            description="Send creates, updates and deletes through the batch endpoint.",
        ),
        th.Property(
            "batch_size",
            th.IntegerType,
            default=QBO_MAX_BATCH_ITEMS,
            title="Batch size",
            description=(
                f"Operations per batch request (QuickBooks: at most {QBO_MAX_BATCH_ITEMS})."
            ),
        ),
        th.Property(
            "requests_per_minute",
            th.IntegerType,
            default=QBO_REQUESTS_PER_MINUTE,
            title="Requests per minute",
            description="Client-side cap on requests per window for the company.",
        ),
        th.Property(
            "batch_requests_per_minute",
            th.IntegerType,
            default=QBO_BATCH_REQUESTS_PER_MINUTE,
            title="Batch requests per minute",
            description="Client-side cap on batch requests per window for the company.",
        ),
        th.Property(
            "rate_limit_window_seconds",
            SECONDS,
            default=DEFAULT_RATE_LIMIT_WINDOW_SECONDS,
            title="Rate-limit window (advanced)",
            description=(
                "Advanced: length of the limiter's 'minute' in seconds (60 plus a one-second "
                "margin). Lower it only to test against a time-scaled emulator."
            ),
        ),
        th.Property(
            "request_timeout_seconds",
            SECONDS,
            default=DEFAULT_REQUEST_TIMEOUT_SECONDS,
            title="Request timeout",
            description="Read timeout per request in seconds (QuickBooks stops at 120 s).",
        ),
        th.Property(
            "max_attempts",
            th.IntegerType,
            default=8,
            title="Max attempts",
            description="Attempts per request for transient errors before dead-lettering.",
        ),
        th.Property(
            "min_backoff_seconds",
            SECONDS,
            default=1.0,
            title="First backoff step",
            description="First step of the exponential backoff (full jitter), in seconds.",
        ),
        th.Property(
            "max_backoff_seconds",
            SECONDS,
            default=60.0,
            title="Max backoff",
            description="Longest wait between attempts, Retry-After included, in seconds.",
        ),
        th.Property(
            "token_encryption_key",
            th.StringType,
            secret=True,
            title="Token encryption key",
            description=(
                "Fernet key (32 bytes, urlsafe base64) that encrypts the stored OAuth tokens at "
                "rest. To rotate: the new key first, then the old one, comma-separated. "
                "Required unless allow_plaintext_tokens is set; keep it in the environment "
                "(TARGET_QUICKBOOKS_TOKEN_ENCRYPTION_KEY) or a secret store, never in meltano.yml."
            ),
        ),
        th.Property(
            "allow_plaintext_tokens",
            th.BooleanType,
            default=False,
            title="Allow tokens in clear (demo only)",
            description=(
                "Store the OAuth tokens unencrypted when no token_encryption_key is set. Only for "
                "the local demo or sandbox; without a key and without this the target refuses to "
                "start (TQB-TOKEN-KEY)."
            ),
        ),
        th.Property(
            "writer_lease_wait_seconds",
            SECONDS,
            default=DEFAULT_WRITER_LEASE_WAIT_SECONDS,
            title="Writer lease wait",
            description=(
                "Only one run writes to a company at a time (a lease in the store). A run that "
                "finds another one writing waits this many seconds, then stops with "
                "TQB-WRITER-LEASE before writing anything."
            ),
        ),
        th.Property(
            "input_fast_path",
            th.BooleanType,
            default=True,
            title="Skip records settled before",
            description=(
                "A record whose input line is byte for byte one an earlier run settled (same "
                "settings, same target version), and whose document the ledger still holds "
                "unchanged, is counted and skipped at the input (no validation, no look-up). "
                "Set false for one run to check every record in full (docs/operations.md)."
            ),
        ),
        th.Property(
            "alert_command",
            th.StringType,
            title="Alert command",
            description=(
                "Command run when a system error stops the run; receives the alert as JSON on "
                "stdin and the message in KCONNECTOR_ALERT."
            ),
        ),
        th.Property(
            "alert_url",
            th.StringType,
            title="Alert URL",
            # Chat and incident webhooks carry their token in the URL (Slack, Teams, PagerDuty).
            secret=True,
            description=(
                "URL that receives the alert as a JSON POST when a system error stops the run "
                "(a secret: webhook URLs carry their token)."
            ),
        ),
    ).to_dict()

    @classmethod
    def append_builtin_config(cls, config_jsonschema: dict[str, Any]) -> None:
        """Only the plugin-wide built-ins (stream maps, logging).

        The SDK's target built-ins do not apply: writes are keyed by external_id (no
        `load_method`), the engine batches by QuickBooks' limits (no `batch_size_rows`), and
        records are checked against the mapper's contract (no `add_record_metadata`).
        """
        super(Target, cls).append_builtin_config(config_jsonschema)

    def __init__(self, **kwargs: Any) -> None:  # noqa: ANN401 - the SDK's keyword arguments
        """Read the settings once; the QuickBooks connection opens with the first stream."""
        # Before the SDK checks the config: its messages quote an invalid value, secret or not.
        install_log_redaction(secret_values(kwargs.get("config"), self.config_jsonschema))
        super().__init__(**kwargs)
        # Before anything is sent: log lines, exceptions and tracebacks are cleaned of the
        # client secret and tokens (rotated tokens are added as they arrive, see auth).
        install_log_redaction(
            secret_values(self.config, self.config_jsonschema), loggers=[self.logger]
        )
        # Sinks share one engine and drain in order; concurrency lives inside the engine.
        self.max_parallelism = 1
        self.settings = Settings.from_config(self.config)
        self._store: Store | None = None
        self._engine: DeliveryEngine | None = None
        self._session: GuardedSession | None = None
        self._lease: WriterLease | None = None
        # A sync run writes: it takes the company's writer lease before the engine is built.
        # The operator commands that only read (status, reconcile) turn this off.
        self.lease_on_delivery = True
        if isinstance(self.message_reader, CheckedSingerReader):
            self.message_reader.screen_factory = self._input_screen

    # ------------------------------------------------------------ fast path

    def _input_screen(self) -> LineScreen | None:
        """The fast path's screen (`input_screen`), or None when it is off.

        Off with `input_fast_path` false, and with stream maps (a line may then make several
        documents, or another one than its own: the line's digest would not name one document).
        """
        if not self.settings.input_fast_path or self.config.get("stream_maps"):
            return None

        def build() -> InputScreen:
            engine = self.delivery  # the writer lease first: the ledger read is this run's
            fingerprint = settings_fingerprint(
                self.config, self.config_jsonschema, code=code_fingerprint()
            )
            # Lines settled under other settings never match again: forget them once per run.
            engine.input_fingerprint = fingerprint_id(fingerprint)
            engine.store.settled_lines.prune(engine.realm_id, engine.input_fingerprint)
            return InputScreen(
                engine.store,
                engine.realm_id,
                engine.counts,
                fingerprint,
                received=engine.received,
            )

        return _GuardedScreen(_stopping_on_failure(self, build), self)

    @property
    def line_digest(self) -> str | None:
        """The digest of the input line being processed (None: the fast path is off)."""
        return getattr(self.message_reader, "line_digest", None)

    # ------------------------------------------------------------ wiring

    @property
    def store(self) -> Store:
        """The target's database (migrated on first use)."""
        if self._store is None:
            self._store = open_store(
                self.settings.database_url, token_keys=self.settings.token_keys
            )
        return self._store

    @property
    def delivery(self) -> DeliveryEngine:
        """The delivery engine (built on first use)."""
        if self._engine is None:
            if self.lease_on_delivery:
                self.hold_writer_lease()
            settings = self.settings
            # Redirects only within a host (credentials never follow to another), and each
            # answer within its read timeout in total (a dripping host is cut off and retried).
            session = GuardedSession()
            self._session = session
            tokens = TokenManager(
                settings, self.store.tokens, session, audit=self.store.audit, logger=self.logger
            )
            limiter = RealmRateLimiter(
                settings.realm_id,
                requests_per_window=settings.requests_per_minute,
                batches_per_window=settings.batch_requests_per_minute,
                window_seconds=settings.rate_limit_window_seconds,
                max_concurrency=settings.max_concurrency,
            )
            client = QuickBooksClient(settings, tokens, limiter, session, logger=self.logger)
            store = self.store

            def created(entry: Any, tid: str | None) -> None:  # noqa: ANN401 - a LedgerEntry
                store.audit.append(
                    [
                        AuditEntry(
                            realm_id=entry.realm_id,
                            operation="create_reference",
                            outcome="created",
                            external_id=entry.external_id,
                            entity=entry.entity,
                            qbo_id=entry.qbo_id,
                            request_id=entry.request_id,
                            intuit_tid=tid,
                            after=entry.snapshot,
                        )
                    ]
                )

            resolver = ReferenceResolver(
                settings.realm_id, client, store.ledger, on_created=created
            )
            self._engine = DeliveryEngine(settings, client, store, resolver, self.logger)
        return self._engine

    def hold_writer_lease(self) -> None:
        """Become the company's only writer, until `close` (waits writer_lease_wait_seconds).

        Raises:
            WriterLeaseBusyError: another run still writes to the company after the wait.
        """
        if self._lease is None:
            lease = self.store.writer_lease(self.settings.realm_id, logger=self.logger)
            lease.acquire(self.settings.writer_lease_wait_seconds)
            self._lease = lease

    def get_sink_class(self, stream_name: str) -> type[Sink]:  # noqa: RET503 - stop_run never returns
        """DocumentSink for the document streams, DeadLetterSink for `dead_letters`."""
        if stream_name in DOCUMENT_STREAMS:
            return DocumentSink
        if stream_name == DEAD_LETTER_STREAM:
            return DeadLetterSink
        known = ", ".join([*DOCUMENT_STREAMS, DEAD_LETTER_STREAM])
        self.stop_run(
            SystemFaultError(
                f"unexpected stream {stream_name!r}",
                code=error_catalog.UNKNOWN_STREAM,
                guidance=(
                    f"target-quickbooks reads map-quickbooks' streams only ({known}). Put "
                    "map-quickbooks between the tap and this target: under Meltano, one of its "
                    "mappings, e.g. `meltano run tap-shopify-orders quickbooks target-quickbooks`."
                ),
            )
        )

    # ------------------------------------------------------------ ending

    def process_endofpipe(self) -> None:
        """Deliver everything, emit the final STATE, log the run's counts, release resources.

        When the input stopped at an unusable line, what came before it is delivered and its
        STATE emitted as usual; then the run ends non-zero with one line naming the line.

        Raises:
            InputLineError: after the flush, when an input line could not be used (the CLI
                turns it into exit status 1 after the one-line message).
        """
        super().process_endofpipe()
        if self._engine is not None:
            self.logger.info("event=run_summary %s", self._engine.counts.as_log())
        self.close()
        failure = getattr(self.message_reader, "failure", None)
        if failure is not None:
            self.logger.error(
                "target-quickbooks stopped at input line %d, which %s; nothing was written for "
                "it. The lines before it were delivered and their STATE emitted; fix what "
                "produces the input (the tap or map-quickbooks) and re-run.",
                failure.line_number,
                failure.problem,
            )
            raise failure

    @classmethod
    def invoke(cls, **kwargs: Any) -> None:  # noqa: ANN401 - the SDK's keyword arguments
        """Run as the SDK does; an unusable input line ends with status 1, not a traceback.

        The line number and the problem were logged in one line by `process_endofpipe`.

        Raises:
            SystemExit: (1) when an input line could not be used.
        """
        try:
            super().invoke(**kwargs)
        except InputLineError:
            raise SystemExit(1) from None

    def close(self) -> None:
        """Release the engine's threads, the HTTP session and the database."""
        if self._engine is not None:
            self._engine.close()
        if self._session is not None:
            self._session.close()
        if self._lease is not None:
            self._lease.release()
            self._lease = None
        if self._store is not None:
            self._store.close()

    def stop_run(self, error: DeliveryError) -> NoReturn:
        """Stop on a system error: one-paragraph message, alert hook, non-zero exit."""
        paragraph = (
            f"target-quickbooks stopped ({error.error_class.value} error {error.code}): "
            f"{error.message}. {error.guidance} No STATE was emitted for the unfinished "
            "records, so re-running after the fix resumes where this run stopped; documents "
            "already written are never written twice."
        )
        self.logger.error("event=run_stopped class=%s code=%s", error.error_class.value, error.code)
        self.logger.error("%s", paragraph)
        send_alert(
            Alert(
                plugin=self.name,
                realm_id=self.settings.realm_id,
                error_class=error.error_class.value,
                error_code=error.code,
                message=paragraph,
            ),
            command=self.settings.alert_command,
            url=self.settings.alert_url,
            logger=self.logger,
        )
        self.close()
        raise SystemExit(paragraph)


class _GuardedScreen:
    """The screen, stopping the run like a sink does when the store fails under it."""

    def __init__(self, screen: InputScreen, target: TargetQuickBooks) -> None:
        self._screen = screen
        self._target = target

    def screen(self, lines: Sequence[str]) -> list[Screened]:
        return self._guarded(lambda: self._screen.screen(lines))

    def skip(self, screened: Screened) -> bool:
        return self._screen.skip(screened)

    def flush(self) -> None:
        self._guarded(self._screen.flush)

    def _guarded(self, action: Callable[[], _T]) -> _T:
        return _stopping_on_failure(self._target, action)


def _stopping_on_failure(target: TargetQuickBooks, action: Callable[[], _T]) -> _T:
    """`action`'s result; a failure stops the run with the alert, as a sink's does.

    A system error (the writer lease busy, the store unreachable) stops with its own message;
    anything else as an internal failure (its traceback at DEBUG only: it may carry data).
    """
    try:
        return action()
    except DeliveryError as exc:
        if exc.error_class is ErrorClass.SYSTEM:
            target.stop_run(exc)
        raise
    except Exception as exc:
        target.logger.debug("unexpected failure", exc_info=True)
        target.stop_run(
            SystemFaultError(
                f"unexpected internal failure ({type(exc).__name__})",
                code=error_catalog.INTERNAL,
                guidance=(
                    "Re-run with the log level at DEBUG to see the traceback; if the store "
                    "database is unreachable or full, fix it first."
                ),
            )
        )


if __name__ == "__main__":
    TargetQuickBooks.cli()
