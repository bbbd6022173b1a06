"""Products with variants on the web: the product page lists the options with their
prices and availability, and the widget's cards show the options in stock (a real
Chromium against the fake Rasa; the page also through aiohttp's test client)."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp.test_utils import TestClient, TestServer
from web_support import shot

#: Summit Fleece (SKU-002) in red and navy, M and L; navy costs more, red L is sold out.
VARIANTS = [
    ("SKU-002-RED-M", {"colour": "red", "size": "M"}, 59.5, 4),
    ("SKU-002-RED-L", {"colour": "red", "size": "L"}, 59.5, 0),
    ("SKU-002-NAVY-M", {"colour": "navy", "size": "M"}, 64.5, 2),
    ("SKU-002-NAVY-L", {"colour": "navy", "size": "L"}, 64.5, 7),
]


@pytest.fixture
def variant_settings(shop_settings):
    """The tiny shop with variants for SKU-002."""
    from knowledge.store import Store

    store = Store.open(shop_settings.db_path)
    product = store.get_product("SKU-002")
    with store.db.conn:
        for position, (sku, options, price, stock) in enumerate(VARIANTS):
            store.insert_variant(product["id"], sku, options, price, stock, position)
        store.db.execute(
            "UPDATE products SET options = ? WHERE id = ?", ['["colour","size"]', product["id"]]
        )
    store.close()
    return shop_settings


def test_product_page_lists_variants_with_price_and_stock(variant_settings):
    from web.app import create_app

    app = create_app(
        variant_settings.with_overrides(rasa_url="http://127.0.0.1:9"),
        mount_console=False,
        socket_url="http://127.0.0.1:5999",
    )

    async def scenario():
        async with TestClient(TestServer(app)) as client:
            page = await client.get("/products/SKU-002")
            plain = await client.get("/products/SKU-001")
            grid = await client.get("/category/Outdoor")
            return page.status, await page.text(), await plain.text(), await grid.text()

    status, html, plain, grid = asyncio.run(scenario())
    assert status == 200
    assert "From €59.50" in html and "Options" in html
    assert '<tr data-sku="SKU-002-RED-L">' in html
    row = html.split('<tr data-sku="SKU-002-RED-L">')[1].split("</tr>")[0]
    assert "Sold out" in row and "€59.50" in row
    row = html.split('<tr data-sku="SKU-002-NAVY-L">')[1].split("</tr>")[0]
    assert "In stock" in row and "€64.50" in row
    assert "variant-table" not in plain  # a product without variants has no options
    assert ">Sizes<" in plain
    assert '<span class="card-options">2 colours · 2 sizes</span>' in grid  # the grid card
    assert grid.count("card-options") == 1


@pytest.mark.browser
def test_card_and_product_page_show_the_options(context, variant_settings, fake_rasa):
    from web_support import LiveWebApp

    settings = variant_settings.with_overrides(
        rasa_url=fake_rasa.url, rasa_token="test-token", demo_mode=True
    )
    app = LiveWebApp(settings, mount_console=False).start()
    try:
        page = context.new_page()
        page.goto(app.url)
        page.click(".sbw-launcher")
        page.wait_for_selector(".sbw-panel:not([hidden])")
        page.wait_for_selector(".sbw-status:text-is('Orders, returns and products')")
        page.fill("#sbw-input", "any fleece?")
        page.press("#sbw-input", "Enter")
        card = page.locator(".sbw-card").first
        card.wait_for()
        assert card.locator(".sbw-price").inner_text() == "€59.50–€64.50"
        options = card.locator(".sbw-card-options li").all_inner_texts()
        assert options == ["Colour: red, navy", "Size: M, L"]
        assert card.locator(".sbw-card-stock").count() == 0
        sold_out = page.locator(".sbw-card").nth(1)
        assert sold_out.locator(".sbw-card-stock").inner_text() == "Sold out"
        assert sold_out.locator(".sbw-card-options").count() == 0  # no values in stock
        shot(page, "widget-variant-card")
        page.goto(app.url + "/products/SKU-002")
        page.wait_for_selector(".variant-table")
        rows = page.locator(".variant-table tbody tr")
        assert rows.count() == 4
        assert rows.nth(1).locator("td.stock").inner_text() == "Sold out"
        assert page.locator(".product-price").inner_text() == "From €59.50"
        values = page.locator("li[data-option='colour'] .option-value").all_inner_texts()
        assert values == ["red", "navy"]
        shot(page, "product-page-variants")
    finally:
        app.stop()
