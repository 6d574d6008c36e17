"""map-quickbooks: K-Connector canonical orders and refunds to QuickBooks Online documents."""
