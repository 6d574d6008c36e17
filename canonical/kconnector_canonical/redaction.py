"""Credentials never reach a log line, an exception message or a traceback.

One mechanism for every K-Connector plugin: at start each plugin calls `install_log_redaction`
with its configured secrets (the settings declared `secret=True`, found by `secret_values`). A
`RedactingFilter` is then attached to the root logger, to the plugin's logger and to every
handler already configured (the SDK's stderr handler, or those of `SINGER_SDK_LOG_CONFIG`), so
every record that reaches an output is cleaned before it is formatted: its message and arguments,
its rendered exception and traceback (chained causes included), its stack and its extra fields.

What is masked:

- every registered secret value, as written and URL-encoded (a secret travels percent-encoded in
  a query string);
- the value of credential parameters in any URL or query string (`consumer_key`,
  `consumer_secret`, `access_token`, `client_secret`, `refresh_token`, `code`, ...), whatever
  their value: `requests` puts the full URL, query string included, in the text of a connection
  error, and the `backoff` library logs that text on every retry;
- the password of a URL's user-info (`https://user:password@host`);
- the value of credential headers in a printed header mapping (`Authorization`,
  `X-Shopify-Access-Token`, `Cookie`).

A secret is registered for the life of the process (`register_secret`); the target also
registers each access and refresh token it receives, as they rotate.
"""

from __future__ import annotations

import logging
import re
import threading
import traceback
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, quote_plus

if TYPE_CHECKING:
    from collections.abc import Iterable

MASK = "<redacted>"
# Shorter values are not masked as literals: masking "abc" would rewrite ordinary words. Real
# credentials are far longer (Shopify `shpat_` tokens, WooCommerce `ck_`/`cs_` keys, Intuit
# client secrets and tokens); their URL parameters are masked by name whatever their length.
MIN_SECRET_LENGTH = 6
CREDENTIAL_PARAMETERS = (
    "consumer_key",
    "consumer_secret",
    "access_token",
    "client_secret",
    "refresh_token",
    "password",
    "api_key",
)
# Names that also occur in ordinary `key=value` log fields (`code=3200`): masked only as URL
# query parameters (after `?` or `&`), e.g. an OAuth authorization `code`.
# The signature of a pre-signed storage URL (Shopify's bulk results are served from Google Cloud
# Storage, `X-Goog-Signature`; S3-style `X-Amz-Signature`; `sig`) is a bearer credential too.
URL_ONLY_CREDENTIAL_PARAMETERS = (
    "code",
    "token",
    "x-goog-signature",
    "x-amz-signature",
    "x-amz-security-token",
    "signature",
    "sig",
)
CREDENTIAL_HEADERS = ("authorization", "x-shopify-access-token", "cookie", "proxy-authorization")

_QUERY_CREDENTIAL = re.compile(
    r"(?i)(?P<name>(?:(?:^|(?<=[?&;\s'\"(]))(?:" + "|".join(CREDENTIAL_PARAMETERS) + r")"
    r"|(?<=[?&])(?:" + "|".join(URL_ONLY_CREDENTIAL_PARAMETERS) + r"))=)"
    r"(?P<value>[^&#;\s'\"<>)]*)"
)
_URL_PASSWORD = re.compile(r"(?i)(?P<head>\b[a-z][a-z0-9+.-]*://[^/\s:@'\"]*:)[^/\s@'\"]+@")
_CREDENTIAL_HEADER = re.compile(
    r"(?i)(?P<head>['\"]?(?:" + "|".join(re.escape(h) for h in CREDENTIAL_HEADERS) + r")['\"]?"
    r"\s*[:=]\s*['\"]?)(?P<value>(?:(?:bearer|basic)\s+)?[^'\"\s,}]+)"
)
# The attributes every LogRecord has; anything else on a record is an `extra` field.
_RECORD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class SecretRedactor:
    """Masks registered secret values and credential-shaped parts of any text."""

    def __init__(self) -> None:
        """Start with no literal secrets (the credential patterns always apply)."""
        self._lock = threading.Lock()
        self._values: set[str] = set()
        self._literal: re.Pattern[str] | None = None

    def register(self, value: object) -> None:
        """Mask `value` (and its URL-encoded forms) from now on; short or non-text values skip."""
        if not isinstance(value, str) or len(value.strip()) < MIN_SECRET_LENGTH:
            return
        forms = {value, quote(value, safe=""), quote_plus(value, safe="")}
        with self._lock:
            if forms <= self._values:
                return
            self._values |= forms
            # Longest first, so a secret containing another is masked whole.
            ordered = sorted(self._values, key=len, reverse=True)
            self._literal = re.compile("|".join(re.escape(item) for item in ordered))

    def redact(self, text: str) -> str:
        """`text` with every secret and credential-shaped part replaced by `MASK`."""
        literal = self._literal
        if literal is not None:
            text = literal.sub(MASK, text)
        text = _QUERY_CREDENTIAL.sub(lambda m: m.group("name") + _masked(m.group("value")), text)
        text = _URL_PASSWORD.sub(lambda m: m.group("head") + MASK + "@", text)
        return _CREDENTIAL_HEADER.sub(lambda m: m.group("head") + MASK, text)


def _masked(value: str) -> str:
    return value if not value or value == MASK else MASK


_REDACTOR = SecretRedactor()


def register_secret(value: object) -> None:
    """Mask `value` in every log record and in `redact` for the rest of the process."""
    _REDACTOR.register(value)


def redact(text: str) -> str:
    """`text` with every registered secret and credential-shaped part masked."""
    return _REDACTOR.redact(text)


def redacted_exception_text(error: BaseException) -> str:
    """An exception's message, safe to log or to put in another exception's message."""
    return redact(str(error))


def secret_values(config: object, config_schema: Mapping[str, Any]) -> list[str]:
    """The values of the settings `config_schema` declares `secret: true` (nested included).

    A secret given with the wrong type counts too, as the text it prints as: a client id left
    unquoted in YAML arrives as a number, and the SDK's config check quotes the invalid value
    (`918273645546372819 is not of type 'string'`). Every scalar inside a list or object given
    for a secret is one. `config` that is not a mapping (a config file path) holds none.
    """
    found: list[str] = []
    properties = config_schema.get("properties")
    if not isinstance(properties, dict) or not isinstance(config, Mapping):
        return found
    for name, declared in properties.items():
        if not isinstance(declared, dict) or name not in config:
            continue
        value = config[name]
        if declared.get("secret") is True:
            found.extend(_scalars(value))
        elif isinstance(value, Mapping):
            found.extend(secret_values(value, declared))
    return found


def _scalars(value: object) -> list[str]:
    """Every scalar in `value` as the text it prints as (None and booleans are no secret)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [text for item in value.values() for text in _scalars(item)]
    if isinstance(value, list | tuple):
        return [text for item in value for text in _scalars(item)]
    if value is None or isinstance(value, bool):
        return []
    return [str(value)]


class RedactingFilter(logging.Filter):
    """Cleans a record's message, arguments, exception, stack and extras; never drops one."""

    def __init__(self, redactor: SecretRedactor | None = None) -> None:
        """Use the process-wide redactor unless one is given (tests)."""
        super().__init__()
        self._redactor = redactor or _REDACTOR

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact `record` in place; always keep it."""
        self._clean_message(record)
        self._clean_exception(record)
        if record.stack_info:
            record.stack_info = self._redactor.redact(record.stack_info)
        for name, value in list(vars(record).items()):
            if name not in _RECORD_ATTRIBUTES and isinstance(value, str):
                setattr(record, name, self._redactor.redact(value))
        return True

    def _clean_message(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed call: clean its parts instead
            message = " ".join(str(part) for part in (record.msg, record.args))
        cleaned = self._redactor.redact(message)
        if cleaned != message:
            # Arguments are folded into the message only when one carried a secret, so
            # structured arguments (the SDK's metric points) survive otherwise.
            record.msg = cleaned
            record.args = None

    def _clean_exception(self, record: logging.LogRecord) -> None:
        if record.exc_text:
            record.exc_text = self._redactor.redact(record.exc_text)
        if not record.exc_info or record.exc_info[0] is None:
            return
        rendered = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        cleaned = self._redactor.redact(rendered)
        if cleaned != rendered:
            # The exception itself holds the secret (its message or a chained cause's): the
            # formatter gets the cleaned text and never sees the exception object.
            record.exc_text = cleaned
            record.exc_info = None


_FILTER = RedactingFilter()


def install_log_redaction(
    secrets: Iterable[object] = (), *, loggers: Iterable[logging.Logger] = ()
) -> RedactingFilter:
    """Register `secrets` and attach the redacting filter wherever a record can be output.

    Idempotent: the filter is attached once per logger and handler. Call it when the plugin
    starts, after logging is configured (the SDK configures it before building the plugin).
    """
    for secret in secrets:
        register_secret(secret)
    root = logging.getLogger()
    targets: list[logging.Logger] = [root, *loggers]
    targets.extend(
        item for item in root.manager.loggerDict.values() if isinstance(item, logging.Logger)
    )
    for logger in targets:
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
        for handler in logger.handlers:
            if _FILTER not in handler.filters:
                handler.addFilter(_FILTER)
    return _FILTER
