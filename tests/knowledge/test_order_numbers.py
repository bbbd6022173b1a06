"""Order numbers in the shop's format (``SHOPBOT_ORDER_NUMBER_FORMAT``): the normaliser,
the chat recogniser, the importer and the console's links, for three kinds of shop."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.importers import ImportFailed, import_files
from knowledge.journeys.text import extract_order_number
from knowledge.normalise import normalise_order_number
from knowledge.order_numbers import (
    ENV_VAR,
    OrderNumberFormat,
    OrderNumberFormatError,
    current_format,
)

FIXTURES = Path(__file__).parent / "fixtures"

#: format, canonical example, what shoppers type for it, what is not one of its numbers
FORMATS = {
    "shopify": (
        "#{4,}",
        "#1001",
        ["#1001", "1001", " # 1001 ", "order 1001", "Order #1001", "order number 1001"],
        ["#12", "SB-204821x", "10O1", "#1001; DROP TABLE orders", "1001-2"],
    ),
    "warehouse": (
        "W#######",
        "W2378156",
        ["W2378156", "w2378156", "w 2378156", "W-2378156", "#W2378156", "2378156", "order 2378156"],
        ["W237815", "W23781567", "X2378156", "W2378156<script>"],
    ),
    "default": (
        "SB-######",
        "SB-204821",
        ["SB-204821", "sb 204821", "#SB-204821", "sb204821", "204821", "#204821", "order 204821"],
        ["SB-20482", "SB-2048210", "AB-204821", "W2378156"],
    ),
}


@pytest.fixture(params=sorted(FORMATS))
def shop_format(request, monkeypatch):
    pattern, canonical, good, bad = FORMATS[request.param]
    monkeypatch.setenv(ENV_VAR, pattern)
    return canonical, good, bad


def test_the_normaliser_follows_the_setting(shop_format):
    canonical, good, bad = shop_format
    for typed in good:
        assert normalise_order_number(typed) == canonical, typed
    for typed in bad:
        assert normalise_order_number(typed) is None, typed


def test_chat_text_finds_the_number_in_a_sentence(shop_format):
    canonical, good, _ = shop_format
    number = canonical.lstrip("#")
    for text in (
        f"where is my order {canonical}?",
        f"hi, it's order {number}, can you check it",
        f"can I cancel {canonical.lower()} please",
    ):
        assert extract_order_number(text) == canonical, text
    assert extract_order_number("I bought 2 shirts in 2024 and 3 in 2025") is None


def test_default_format_and_examples():
    assert current_format().pattern in ("SB-######", "")  # unset in the tests' environment
    fmt = OrderNumberFormat.parse("SB-######")
    assert fmt.prefix == "SB-" and fmt.example == "SB-123456"
    assert fmt.describe() == "SB- followed by 6 digits"
    assert OrderNumberFormat.parse("#{4,}").describe() == "# followed by 4 or more digits"
    assert OrderNumberFormat.parse("W{7}") == OrderNumberFormat.parse("W#######").__class__(
        "W", 7, 7, "W{7}"
    )
    for broken in ("", "SB-", "SB-{0}", "{6,3}", "SB-12####", "<script>######"):
        with pytest.raises(OrderNumberFormatError):
            OrderNumberFormat.parse(broken)


def test_settings_refuse_an_unreadable_format(monkeypatch, tmp_path):
    from shopbot.config import Settings

    with pytest.raises(OrderNumberFormatError):
        Settings(data_dir=tmp_path, order_number_format="SB-")


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_the_importer_takes_the_shops_numbers_and_names_a_bad_one(
    name, empty_store, monkeypatch, tmp_path
):
    pattern, canonical, good, _ = FORMATS[name]
    monkeypatch.setenv(ENV_VAR, pattern)
    import_files(
        empty_store, [FIXTURES / "customers.csv", FIXTURES / "products.csv"], progress=False
    )
    head = "order_number,customer_email,status,placed_at,item_sku,item_quantity\n"
    orders = tmp_path / "orders.csv"
    orders.write_text(
        head
        + f"{good[1]},jane.doe@example.com,pending,2026-03-01T10:00:00Z,TR-100,1\n"
        + "ORDER-77,jane.doe@example.com,pending,2026-03-01T10:00:00Z,TR-100,1\n"
    )
    with pytest.raises(ImportFailed) as info:
        import_files(empty_store, [orders], progress=False)
    expected = OrderNumberFormat.parse(pattern).describe()
    assert [str(e) for e in info.value.report.errors] == [
        f"{orders}:3: order_number: expected {expected}, got 'ORDER-77'"
    ]
    report = import_files(empty_store, [orders], skip_invalid=True, progress=False)
    assert report.inserted >= 1
    assert empty_store.get_order(canonical)["order_number"] == canonical
    assert empty_store.get_order(good[-1])["order_number"] == canonical  # as a shopper types it


def test_console_links_the_shops_numbers(monkeypatch):
    from web.console.app import _order_links
    from web.console.shop import order_numbers_in

    monkeypatch.setenv(ENV_VAR, "#{4,}")
    html = str(_order_links("/console", "was #1001 or #1002 <b>late</b>? not 2024"))
    assert '<a class="order-link" href="/console/orders/%231001">#1001</a>' in html
    assert "%231002" in html and "&lt;b&gt;" in html and "orders/2024" not in html
    assert order_numbers_in("#1001, #1002 and #1001 again") == ["#1001", "#1002"]
    monkeypatch.setenv(ENV_VAR, "W#######")
    assert order_numbers_in("w2378156 and SB-204821") == ["W2378156"]
    monkeypatch.delenv(ENV_VAR)
    assert order_numbers_in("SB-204821 and sb 204822") == ["SB-204821", "SB-204822"]
