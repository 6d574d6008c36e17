"""Singer target: exactly-once delivery of QuickBooks Online documents, with ledger, audit log and review queue."""
