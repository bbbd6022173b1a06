"""Importing variants, customers' addresses and payment methods, and orders with variants,
fulfilments and payment history (issue 13): all-or-nothing, errors name file, line, field."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.importers import ImportFailed, import_files

FIXTURES = Path(__file__).parent / "fixtures"


def fx(name: str) -> Path:
    return FIXTURES / name


def errors_of(store, *names: str, **kwargs) -> list[str]:
    with pytest.raises(ImportFailed) as info:
        import_files(store, [fx(n) for n in names], progress=False, **kwargs)
    return [str(e) for e in info.value.report.errors]


def test_products_with_variants_from_csv(empty_store):
    report = import_files(empty_store, [fx("variants_products.csv")], progress=False)
    assert report.ok and report.counts["products"]["inserted"] == 2
    tee = empty_store.get_product("TEE-1")
    assert tee["options"] == ["colour", "size"] and tee["stock"] == 12
    variants = empty_store.variants(tee["id"])
    assert [v["sku"] for v in variants] == ["TEE-1-WHT-S", "TEE-1-WHT-M", "TEE-1-BLK-M"]
    assert variants[0]["price"] == 19.9 and variants[2]["price"] == 21.9
    assert variants[1]["options"] == {"colour": "white", "size": "M"} and variants[1]["stock"] == 0
    assert empty_store.variants(empty_store.get_product("MUG-1")["id"]) == []
    # importing again changes nothing; a changed stock updates the variant in place
    again = import_files(empty_store, [fx("variants_products.csv")], progress=False)
    assert again.counts["products"]["unchanged"] == 2 and again.counts["variants"]["unchanged"] == 3


def test_variant_errors_name_the_variant_line(empty_store):
    errors = errors_of(empty_store, "variants_bad.csv")
    name = str(fx("variants_bad.csv"))
    assert f"{name}:3: variants[2].price: expected a number, got 'abc'" in errors
    assert empty_store.count("products") == 0 and empty_store.count("product_variants") == 0
    # with a valid price the duplicate option values are reported on their own line
    fixed = fx("variants_bad.csv").read_text().replace("abc", "20")
    path = Path(empty_store.db.conn.execute("PRAGMA database_list").fetchone()[2]).parent / "v.csv"
    path.write_text(fixed)
    with pytest.raises(ImportFailed) as info:
        import_files(empty_store, [path], kind="products", progress=False)
    assert [str(e) for e in info.value.report.errors] == [
        f"{path}:4: variants[3].options: another variant already has white / S"
    ]


def test_shop_json_with_variants_payment_methods_fulfilments_and_payments(empty_store):
    report = import_files(empty_store, [fx("commerce_shop.json")], progress=False)
    assert report.ok, report.errors
    customer = empty_store.get_customer_by_email("mia.lang@example.com")
    assert empty_store.default_address(customer)["ship_city"] == "Hamburg"
    assert customer["address_country"] == "DE"
    methods = empty_store.payment_methods(customer["id"])
    assert [m["kind"] for m in methods] == ["card", "paypal", "gift_card"]
    assert methods[1]["paypal_email"] == "mia.lang@example.com"
    order = empty_store.get_order("SB-300001")
    assert order["payment_method_id"] == methods[0]["id"]
    [item] = empty_store.order_items(order["id"])
    variant = empty_store.get_variant("BOOT-1-BRN-42")
    assert item["variant_id"] == variant["id"] and item["product_id"] == variant["product_id"]
    assert item["options"] == {"colour": "brown", "size": "42"} and item["unit_price"] == 120
    [shipment] = empty_store.fulfilments(order["id"])
    assert shipment["items"] == [{"order_item_id": item["id"], "quantity": 1}]
    payments = empty_store.payments(order["id"])
    assert [(p["kind"], p["method"], p["amount"]) for p in payments] == [
        ("payment", "card", 120.0),
        ("refund", "gift_card", 10.0),
    ]
    again = import_files(empty_store, [fx("commerce_shop.json")], progress=False)
    assert again.counts["orders"]["unchanged"] == 1 and again.counts["customers"]["unchanged"] == 1


def test_customers_csv_with_address_and_payment_columns(empty_store):
    report = import_files(empty_store, [fx("commerce_customers.csv")], progress=False)
    assert report.ok, report.errors
    ola = empty_store.get_customer_by_email("ola@example.com")
    methods = empty_store.payment_methods(ola["id"])
    assert [(m["kind"], m["is_default"]) for m in methods] == [("card", 1), ("gift_card", 0)]
    assert empty_store.get_gift_card("gc10002000")["balance"] == 50
    eva = empty_store.get_customer_by_email("eva@example.com")
    assert empty_store.default_address(eva) is None
    assert empty_store.payment_methods(eva["id"])[0]["paypal_email"] == "eva.pay@example.com"


def test_customer_payment_errors_name_line_and_column(empty_store):
    errors = errors_of(empty_store, "commerce_customers_bad.csv")
    name = str(fx("commerce_customers_bad.csv"))
    assert errors == [
        f"{name}:2: card_last4: expected the last four digits, got '12'",
        f"{name}:3: gift_card_balance: must not be negative (got -5)",
        f"{name}:4: address_country: We don't ship to that country (use a two-letter code such as DE or FR).",
    ]
    assert empty_store.count("customers") == 0


def test_order_referring_to_an_unknown_payment_method_changes_nothing(empty_store, tmp_path):
    text = (
        fx("commerce_shop.json")
        .read_text()
        .replace('"payment_method": "card:1881"', '"payment_method": "card:9999"')
    )
    path = tmp_path / "shop.json"
    path.write_text(text)
    with pytest.raises(ImportFailed) as info:
        import_files(empty_store, [path], progress=False)
    [error] = [str(e) for e in info.value.report.errors]
    assert error.startswith(
        f"{path}: orders[1].payment_method: the customer has no payment method 'card:9999'"
    )
    assert empty_store.count("customers") == 0 and empty_store.count("product_variants") == 0


def test_fulfilment_of_an_item_not_in_the_order(empty_store, tmp_path):
    text = (
        fx("commerce_shop.json")
        .read_text()
        .replace(
            '"items": [{"sku": "BOOT-1-BRN-42", "quantity": 1}]}],',
            '"items": [{"sku": "NOPE", "quantity": 1}]}],',
        )
    )
    path = tmp_path / "shop.json"
    path.write_text(text)
    with pytest.raises(ImportFailed) as info:
        import_files(empty_store, [path], progress=False)
    assert [str(e) for e in info.value.report.errors] == [
        f"{path}: orders[1].fulfilments[1].items[1].sku: 'NOPE' is not an item of this order"
    ]


def test_new_statuses_import(empty_store, tmp_path):
    text = (
        fx("commerce_shop.json")
        .read_text()
        .replace('"status": "delivered"', '"status": "exchange_requested"', 1)
    )
    path = tmp_path / "shop.json"
    path.write_text(text)
    import_files(empty_store, [path], progress=False)
    assert empty_store.get_order("SB-300001")["status"] == "exchange_requested"
