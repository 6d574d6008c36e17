"""Operator commands of target-quickbooks (`target-quickbooks-ops`).

Status, review queue, dead letters, audit log and reconciliation, over the same store and
QuickBooks connection as the target. See docs/operations.md.
"""
