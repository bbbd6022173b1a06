"""Local stand-ins for the shop systems shopbot connects to (tests and the walk-through).

:mod:`.shopify` follows Shopify's documented Admin REST API and webhooks for the calls
shopbot uses; :mod:`.http_shop` follows ``docs/shop-api.openapi.yaml``. Neither is a
real shop: they keep an in-memory shop and exist so the connection can be tested here.
"""
