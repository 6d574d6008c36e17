"""K-Connector on Dagster."""
