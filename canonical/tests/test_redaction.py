"""The shared log redaction: secrets and URL credentials never reach an output."""

from __future__ import annotations

import io
import logging

import requests

from kconnector_canonical.redaction import MASK, RedactingFilter, SecretRedactor

SECRET = "cs_0123456789abcdef+/="


def test_secret_values_and_url_credentials_are_masked() -> None:
    redactor = SecretRedactor()
    redactor.register(SECRET)
    text = (
        "Max retries exceeded with url: /wp-json/wc/v3/orders?consumer_key=ck_abcdef"
        "&consumer_secret=cs_0123456789abcdef%2B%2F%3D&page=1 https://u:pw@h/x?code=xyz "
        "{'X-Shopify-Access-Token': 'shpat_1', 'Authorization': 'Bearer abc'} " + SECRET
    )
    cleaned = redactor.redact(text)
    for leaked in ("ck_abcdef", "0123456789abcdef", "pw@", "xyz", "shpat_1", "abc'"):
        assert leaked not in cleaned
    assert "code=3200" in redactor.redact("event=retry code=3200")  # a log field, not a URL
    assert MASK in cleaned


def _fail(message: str) -> None:
    raise requests.exceptions.ConnectionError(message)


def test_filter_cleans_message_arguments_and_the_traceback_of_a_requests_error() -> None:
    redactor = SecretRedactor()
    redactor.register(SECRET)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter(redactor))
    logger = logging.getLogger("redaction-test")
    logger.addHandler(handler)
    logger.propagate = False
    message = f"HTTPSConnectionPool(host='x.invalid'): /orders?consumer_secret={SECRET}"
    try:
        try:
            _fail(message)
        except requests.exceptions.ConnectionError as exc:
            logger.info("Backing off (%s)", exc)
            logger.exception("Giving up")
    finally:
        logger.removeHandler(handler)
    output = stream.getvalue()
    assert SECRET not in output
    assert "Traceback" in output
    assert "ConnectionError" in output


def test_the_signature_of_a_presigned_storage_url_is_masked() -> None:
    # Shopify serves bulk results from signed storage URLs: the signature is a bearer credential.
    url = (
        "https://storage.googleapis.com/shopify-tiers-assets-prod-us-east1/bulk-op.jsonl"
        "?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Expires=604800"
        "&X-Goog-Signature=8f3a9c0d1e2b4a5f6c7d"
    )
    cleaned = SecretRedactor().redact(f"Max retries exceeded with url: {url}")
    assert "8f3a9c0d1e2b4a5f6c7d" not in cleaned
    assert "X-Goog-Expires=604800" in cleaned  # only the credential goes
