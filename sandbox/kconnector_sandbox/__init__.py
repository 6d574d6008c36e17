"""kconnector-sandbox: local emulators of the QuickBooks Online, Shopify and WooCommerce APIs."""
