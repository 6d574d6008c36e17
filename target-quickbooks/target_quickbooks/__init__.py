"""Singer target: exactly-once delivery of QuickBooks Online documents (ledger, audit, reviews)."""
