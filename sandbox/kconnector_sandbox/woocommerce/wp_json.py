r"""JSON as WordPress writes REST responses, and WordPress's error body.

`WP_REST_Server::serve_request()` encodes with `wp_json_encode()` and no flags, so PHP's
`json_encode` defaults apply: non-ASCII characters become `\uXXXX` escapes and "/" is written
"\/". Errors are `{"code", "message", "data": {"status", ...}}` (`rest_convert_error_to_response`).
https://developer.wordpress.org/rest-api/using-the-rest-api/global-parameters/
https://developer.wordpress.org/reference/functions/rest_convert_error_to_response/
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

from starlette.responses import Response

JSON_CONTENT_TYPE = "application/json; charset=UTF-8"
_NUMBER_MARK = "@@wc-number:"
_NUMBER_PATTERN = re.compile(r'"@@wc-number:(-?[0-9.]+)@@"')


def _encode_decimal(value: object) -> str:
    if isinstance(value, Decimal):
        return f"{_NUMBER_MARK}{value:f}@@"
    msg = f"cannot encode {type(value).__name__} as JSON"
    raise TypeError(msg)


def wp_json_bytes(value: object) -> bytes:
    """Encode like `wp_json_encode`: ASCII-only, escaped slashes, `Decimal` as a number literal."""
    text = json.dumps(value, ensure_ascii=True, separators=(",", ":"), default=_encode_decimal)
    text = _NUMBER_PATTERN.sub(lambda match: match.group(1), text)
    return text.replace("/", "\\/").encode("ascii")


class WPError(Exception):
    """A WordPress REST error (`WP_Error`) to be rendered as the REST server renders it.

    Attributes:
        code: the error code, e.g. `rest_no_route`.
        message: the human message.
        status: the HTTP status.
        extra: more keys for `data` (e.g. `params`, `details`).
        data_override: when set, `data` is exactly this (WooCommerce sometimes passes a bare
            status number instead of an array, and WordPress then answers 500).
        headers: extra response headers (e.g. `WWW-Authenticate`).
    """

    def __init__(  # noqa: PLR0913 - the parts of a WP_Error
        self,
        code: str,
        message: str,
        status: int,
        *,
        extra: dict[str, Any] | None = None,
        data_override: object = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Build the error."""
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.extra = extra or {}
        self.data_override = data_override
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        """The JSON body WordPress sends."""
        data: object = (
            self.data_override
            if self.data_override is not None
            else {"status": self.status, **self.extra}
        )
        return {"code": self.code, "message": self.message, "data": data}

    def response(self) -> Response:
        """The HTTP response."""
        return Response(
            wp_json_bytes(self.body()),
            status_code=self.status,
            media_type=JSON_CONTENT_TYPE,
            headers=self.headers,
        )


def json_response(
    value: object, *, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """A WordPress-encoded JSON response."""
    return Response(
        wp_json_bytes(value), status_code=status, media_type=JSON_CONTENT_TYPE, headers=headers
    )


def no_route() -> WPError:
    """`rest_no_route` (WP_REST_Server::dispatch when no route matches)."""
    return WPError("rest_no_route", "No route was found matching the URL and request method.", 404)


def invalid_params(problems: dict[str, tuple[str, str]]) -> WPError:
    """`rest_invalid_param` for {param: (detail code, message)} (`has_valid_params`)."""
    names = ", ".join(problems)
    return WPError(
        "rest_invalid_param",
        f"Invalid parameter(s): {names}",
        400,
        extra={
            "params": {name: message for name, (_code, message) in problems.items()},
            "details": {
                name: {"code": code, "message": message, "data": None}
                for name, (code, message) in problems.items()
            },
        },
    )
