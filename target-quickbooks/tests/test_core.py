"""The SDK's standard target tests, where they apply to this target.

Applied: `cli_prints` (version and --about), `invalid_schema` and `record_before_schema` (bad
Singer input is refused before anything reaches QuickBooks).

Not applied, because every other standard test feeds streams with made-up names and shapes
(`test_array_data`, `test_camelcase`, ...), while this target accepts only map-quickbooks'
streams and stops the run on any other (a system error by design, so data never goes astray):
array_data, camelcase, camelcase_complex_schema, duplicate_records, encoded_string_data,
multiple_state_messages, no_primary_keys, optional_attributes, record_missing_key_property,
record_missing_required_property, schema_no_properties, schema_updates, pk_updates,
special_chars_in_attributes, record_missing_fields. Their concerns are covered with
map-quickbooks records instead: duplicate records (test_delivery_emulator: re-runs make no
writes), STATE relay (test_target), missing required properties (test_contract).
"""

from __future__ import annotations

from singer_sdk.testing import get_target_test_class
from singer_sdk.testing.suites import SingerTestSuite
from singer_sdk.testing.target_tests import (
    TargetCliPrintsTest,
    TargetInvalidSchemaTest,
    TargetRecordBeforeSchemaTest,
)

from target_quickbooks.target import TargetQuickBooks

SAMPLE_CONFIG = {
    "realm_id": "9130357600000001",
    "client_id": "sdk-suite-client",
    "client_secret": "sdk-suite-secret",
    "refresh_token": "sdk-suite-refresh",
    "api_url": "http://127.0.0.1:9",
    "token_url": "http://127.0.0.1:9/oauth2/v1/tokens/bearer",
    "database_url": "sqlite://",
    "allow_plaintext_tokens": True,
}

APPLICABLE = SingerTestSuite(
    kind="target",
    tests=[TargetCliPrintsTest, TargetInvalidSchemaTest, TargetRecordBeforeSchemaTest],
)

TestTargetQuickBooks = get_target_test_class(
    TargetQuickBooks,
    config=SAMPLE_CONFIG,
    custom_suites=[APPLICABLE],
    include_target_tests=False,
)
