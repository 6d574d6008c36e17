"""K-Connector real-time receiver and dispatcher."""
