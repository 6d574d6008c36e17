"""Singer tap: Shopify orders and refunds (GraphQL Admin API) as K-Connector canonical streams."""
