"""Importers: every format with good and bad files, upserts, all-or-nothing, skip_invalid."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from knowledge.importers import ImportFailed, detect_format, import_files, strip_html

FIXTURES = Path(__file__).parent / "fixtures"


def fx(name: str) -> Path:
    return FIXTURES / name


def snapshot(store):
    return {
        t: store.query(f"SELECT * FROM {t} ORDER BY id")
        for t in ("products", "customers", "orders", "order_items", "faq", "audit")
    }


# ---------------------------------------------------------------- good files
def test_products_csv(empty_store):
    report = import_files(empty_store, [fx("products.csv")], progress=False)
    assert report.ok and report.counts["products"]["inserted"] == 3
    p = empty_store.get_product("TR-101")
    assert p["description"] == "Waterproof version\nwith a membrane"
    assert p["attributes"] == {"colour": "black", "size": "43"}
    assert p["category"] == "running shoes" and p["stock"] == 0 and p["rating"] is None
    assert p["product_url"] == "/products/TR-101"
    assert empty_store.get_product("GC-50")["returnable"] == 0
    assert sorted(report.changed["products"]) == [p["id"] for p in empty_store.products()]
    assert empty_store.audit_log(entity="import")[0]["actor"] == "import"


def test_products_json_and_jsonl(empty_store):
    report = import_files(empty_store, [fx("products.json"), fx("products.jsonl")], progress=False)
    assert report.inserted == 4 and report.ok
    assert empty_store.get_product("JK-1")["attributes"]["sizes"] == ["S", "M", "L"]
    assert empty_store.get_product("JK-2")["price"] == 249.5
    assert empty_store.get_product("JK-2")["returnable"] == 0
    assert empty_store.get_product("BP-2")["attributes"] == {"capacity": "45 L"}


def test_upsert_by_natural_key_reports_only_real_changes(empty_store, tmp_path):
    import_files(empty_store, [fx("products.csv")], progress=False)
    first_id = empty_store.get_product("TR-100")["id"]
    again = import_files(empty_store, [fx("products.csv")], progress=False)
    assert again.counts["products"] == {"inserted": 0, "updated": 0, "unchanged": 3, "skipped": 0}
    assert again.changed == {}
    edited = tmp_path / "products.csv"
    edited.write_text(fx("products.csv").read_text().replace("129.90", "119.90"))
    report = import_files(empty_store, [edited], progress=False)
    assert report.counts["products"]["updated"] == 1 and report.changed["products"] == [first_id]
    assert empty_store.get_product("TR-100")["price"] == 119.9
    assert empty_store.count("products") == 3


def test_customers_then_orders_in_one_import(empty_store):
    # orders listed first: customers and products are still written before them
    report = import_files(
        empty_store,
        [
            fx("orders.csv"),
            fx("orders.json"),
            fx("customers.csv"),
            fx("customers.jsonl"),
            fx("products.csv"),
            fx("products.json"),
        ],
        progress=False,
    )
    assert report.ok, report.errors
    assert report.counts["customers"] == {"inserted": 3, "updated": 1, "unchanged": 0, "skipped": 0}
    assert empty_store.get_customer_by_email("jane.doe@example.com")["name"] == "Jane Doe-Smith"
    order = empty_store.get_order("SB-300001")
    items = empty_store.order_items(order["id"])
    assert [(i["sku"], i["quantity"], i["unit_price"]) for i in items] == [
        ("TR-100", 2, 129.9),
        ("GC-50", 1, 50.0),
    ]
    assert order["subtotal"] == 309.8 and order["total"] == round(309.8 + 49.38, 2)
    pending = empty_store.get_order("SB-300002")
    assert pending["ship_country"] == "DE" and pending["status"] == "pending"
    shipped = empty_store.get_order("SB-300003")
    legacy = [i for i in empty_store.order_items(shipped["id"]) if i["sku"] == "LEGACY-9"][0]
    assert legacy["product_id"] is None and legacy["title"] == "Old catalogue item"
    assert sorted(report.changed["order_items"]) == [
        i["id"] for i in empty_store.order_items_by_ids()
    ]


def test_reimporting_an_order_updates_items_in_place(empty_store, tmp_path):
    import_files(
        empty_store, [fx("customers.csv"), fx("products.csv"), fx("orders.csv")], progress=False
    )
    order = empty_store.get_order("SB-300001")
    old_items = {i["sku"]: i["id"] for i in empty_store.order_items(order["id"])}
    changed = [
        {
            "order_number": "SB-300001",
            "customer_email": "jane.doe@example.com",
            "status": "returned",
            "placed_at": "2026-03-01T10:00:00Z",
            "delivered_at": "2026-03-04T11:00:00Z",
            "items": [{"sku": "TR-100", "quantity": 2, "returned_quantity": 2}],
        }
    ]
    path = tmp_path / "orders_update.json"
    path.write_text(json.dumps(changed))
    report = import_files(empty_store, [path], progress=False)
    assert report.counts["orders"]["updated"] == 1
    items = empty_store.order_items(order["id"])
    assert [(i["id"], i["returned_quantity"]) for i in items] == [(old_items["TR-100"], 2)]
    assert report.changed["order_items"] == [old_items["TR-100"]]
    assert report.removed["order_items"] == [old_items["GC-50"]]
    assert empty_store.get_order("SB-300001")["status"] == "returned"


def test_multi_kind_json(empty_store):
    report = import_files(empty_store, [fx("shop.json")], progress=False)
    assert report.ok
    assert {k: v["inserted"] for k, v in report.counts.items()} == {
        "customers": 1,
        "products": 1,
        "orders": 1,
        "faq": 1,
    }
    assert empty_store.get_order("SB-300010")["status"] == "processing"


def test_shopify_export(empty_store):
    assert (
        detect_format(fx("shopify_products.csv"), fx("shopify_products.csv").read_text())
        == "shopify"
    )
    report = import_files(empty_store, [fx("shopify_products.csv")], progress=False)
    assert report.ok, report.errors
    # one product per handle, one variant per Variant SKU, image rows ignored
    assert report.counts["products"]["inserted"] == 3
    assert report.counts["variants"]["inserted"] == 4
    beanie = empty_store.get_product("merino-beanie")
    assert beanie["title"] == "Merino Beanie"
    assert beanie["description"] == "Soft merino beanie. 100% merino One size"
    assert beanie["brand"] == "Fjellmark" and beanie["category"] == "hats"
    assert beanie["attributes"] == {"tags": ["winter", "wool"]}
    assert beanie["options"] == ["color"] and beanie["stock"] == 12
    assert beanie["image_url"] == "https://cdn.example.com/beanie-grey.jpg"
    grey, navy = empty_store.variants(beanie["id"])
    assert grey["sku"] == "BEANIE-GRY" and grey["options"] == {"color": "Grey"}
    assert navy["stock"] == 0 and navy["price"] == 29.0  # negative stock clamps to 0
    sock = empty_store.get_product("trail-sock")
    assert sock["title"] == "Trail Sock" and sock["description"] == "Cushioned & durable."
    assert sock["options"] == ["size", "color"] and sock["price"] == 12.5
    m_black = empty_store.get_variant("SOCK-M-BLK")
    assert m_black["options"] == {"size": "M", "color": "Black"} and m_black["stock"] == 25
    gift = empty_store.get_product("GIFT-25")  # only the default variant: no variants
    assert gift["title"] == "Gift Card" and gift["returnable"] == 0
    assert empty_store.variants(gift["id"]) == []


def test_faq_yaml_and_csv(empty_store):
    report = import_files(empty_store, [fx("faq.yml"), fx("faq.csv")], progress=False)
    assert report.ok and report.inserted == 4
    assert empty_store.get_faq("opening-hours")["alternatives"] == [
        "What are your opening hours?",
        "When can I call you?",
    ]
    assert empty_store.get_faq("do-you-offer-gift-wrapping")["category"] == "orders"
    assert empty_store.get_faq("student-discount")["alternatives"] == [
        "Student deal?",
        "Discount for students",
    ]
    assert empty_store.get_faq("price-match")["alternatives"] == [
        "Price match?",
        "Can you beat this price?",
    ]
    assert sorted(report.changed["faq"]) == [f["id"] for f in empty_store.faq_entries()]


def test_demo_faq_file_imports():
    from sqlite_utils import Database

    from knowledge.demo import FAQ_PATH
    from knowledge.store import Store

    store = Store(Database(memory=True))
    report = import_files(store, [FAQ_PATH], progress=False)
    assert report.ok and report.inserted >= 60


def test_on_change_gets_index_kinds(empty_store):
    calls = []
    import_files(
        empty_store,
        [fx("shop.json")],
        progress=False,
        on_change=lambda k, ids: calls.append((k, ids)),
    )
    assert [k for k, _ in calls] == ["products", "faq", "order_items"]


def test_strip_html():
    assert strip_html("<p>A&amp;B</p><p>C</p><style>x{}</style>") == "A&B C"


# ---------------------------------------------------------------- bad files
def fails(store, paths, **kwargs):
    before = snapshot(store)
    with pytest.raises(ImportFailed) as info:
        import_files(store, paths, progress=False, **kwargs)
    assert snapshot(store) == before, "a failed import must change nothing"
    return [str(e) for e in info.value.report.errors]


def test_missing_column(empty_store):
    errors = fails(empty_store, [fx("bad_missing_column.csv")])
    assert errors == [
        f"{fx('bad_missing_column.csv')}:1: price: required column is missing from the header"
    ]
    # a broken file fails even with skip_invalid, and takes the good files with it
    errors = fails(
        empty_store, [fx("products.csv"), fx("bad_missing_column.csv")], skip_invalid=True
    )
    assert len(errors) == 1


def test_row_with_too_many_values(empty_store, tmp_path):
    path = tmp_path / "products.csv"
    path.write_text("sku,title,price\nA-1,Fine,1\nA-2,Shifted,2,oops\n")
    errors = fails(empty_store, [path])
    assert errors == [f"{path}:3: the line has more values than the header has columns"]


def test_wrong_types_name_file_line_and_field(empty_store):
    errors = fails(empty_store, [fx("bad_types.csv")])
    name = fx("bad_types.csv")
    assert errors == [
        f"{name}:3: price: expected a number, got 'abc'",
        f"{name}:4: stock: expected a whole number, got '2.5'",
        f"{name}:5: rating: must be between 0 and 5 (got 7)",
        f"{name}:6: returnable: expected true/false, got 'perhaps'",
    ]


def test_skip_invalid_keeps_good_rows_and_reports_each_bad_one(empty_store):
    report = import_files(empty_store, [fx("bad_types.csv")], skip_invalid=True, progress=False)
    assert report.counts["products"] == {"inserted": 1, "updated": 0, "unchanged": 0, "skipped": 4}
    assert len(report.errors) == 4
    assert empty_store.get_product("OK-1") and not empty_store.get_product("BAD-1")


def test_duplicate_sku(empty_store):
    errors = fails(empty_store, [fx("bad_duplicate_sku.csv")])
    assert errors == [
        f"{fx('bad_duplicate_sku.csv')}:4: sku: duplicate sku 'DUP-1' (first on line 2)"
    ]


def test_negative_price_missing_field_and_bad_json_line(empty_store):
    name = fx("bad_negative_price.jsonl")
    errors = fails(empty_store, [name])
    assert f"{name}:4: invalid JSON: Expecting value (column 1)" in errors
    report = import_files(empty_store, [name], skip_invalid=True, progress=False)
    messages = [str(e) for e in report.errors]
    assert f"{name}:2: price: must not be negative (got -3.5)" in messages
    assert f"{name}:3: price: is required" in messages
    assert [p["sku"] for p in empty_store.products()] == ["NEG-1"]


def test_undecodable_bytes(empty_store):
    name = fx("bad_encoding.csv")
    errors = fails(empty_store, [name])
    assert errors == [f"{name}:3: undecodable bytes at column 10 (the file must be UTF-8)"]
    report = import_files(empty_store, [name], skip_invalid=True, progress=False)
    assert report.inserted == 2 and len(report.errors) == 1


def test_oversize_fields(empty_store):
    errors = fails(empty_store, [fx("products.csv")], max_field_chars=20)
    assert any(":2: description: is too long" in e for e in errors)
    assert any(":3: title: is too long" in e for e in errors)
    assert any("the limit is 20" in e for e in errors)


def test_orders_with_problems(empty_store):
    import_files(empty_store, [fx("customers.csv"), fx("products.csv")], progress=False)
    name = fx("bad_orders.json")
    errors = fails(empty_store, [name])
    assert f"{name}:4: order_number: expected SB- followed by 6 digits, got 'ORDER-77'" in errors
    assert any(e.startswith(f"{name}:6: status: must be one of") for e in errors)
    assert f"{name}:8: delivered_at: is required when the status is delivered" in errors
    assert any(e.startswith(f"{name}:10: placed_at: expected an ISO date") for e in errors)
    # the unknown customer is found while writing; still all-or-nothing
    report = import_files(empty_store, [name], skip_invalid=True, progress=False)
    assert (
        f"{name}:2: customer_email: no customer with email 'ghost@example.com' (import customers first)"
        in [str(e) for e in report.errors]
    )
    assert report.counts["orders"]["skipped"] == 5 and empty_store.count("orders") == 0


def test_unknown_customer_alone_rolls_back_everything(empty_store, tmp_path):
    path = tmp_path / "mixed.json"
    path.write_text(
        json.dumps(
            {
                "products": [{"sku": "NEW-1", "title": "New", "price": 1}],
                "orders": [
                    {
                        "order_number": "SB-500001",
                        "customer_email": "ghost@example.com",
                        "status": "pending",
                        "placed_at": "2026-03-15",
                        "items": [{"sku": "NEW-1", "quantity": 1}],
                    }
                ],
            }
        )
    )
    errors = fails(empty_store, [path])
    assert errors == [
        f"{path}: orders[1].customer_email: no customer with email 'ghost@example.com' (import customers first)"
    ]
    assert empty_store.get_product("NEW-1") is None


def test_faq_problems(empty_store):
    name = fx("bad_faq.yml")
    errors = fails(empty_store, [name])
    assert errors == [
        f"{name}:1: answer: is required",
        f"{name}:3: key: use lower-case letters, digits and dashes (got 'Bad Key!')",
    ]


def test_json_syntax_error_and_unreadable_file(empty_store, tmp_path):
    errors = fails(empty_store, [fx("bad_syntax.json")])
    assert errors and "invalid JSON at line 3" in errors[0]
    errors = fails(empty_store, [tmp_path / "missing.csv"])
    assert "cannot read the file" in errors[0]


def test_unknown_kind_and_format_are_refused(empty_store, tmp_path):
    with pytest.raises(ValueError):
        import_files(empty_store, [fx("products.csv")], kind="widgets")
    with pytest.raises(ValueError):
        import_files(empty_store, [fx("products.csv")], fmt="xml")
    odd = tmp_path / "data.xml"
    odd.write_text("<x/>")
    with pytest.raises(ValueError):
        import_files(empty_store, [odd])
    unknown = tmp_path / "things.csv"
    unknown.write_text("colour,weight\nred,3\n")
    errors = fails(empty_store, [unknown])
    assert errors == [f"{unknown}:1: cannot tell what the file holds; pass --kind"]


def test_explicit_kind_overrides_the_guess(empty_store, tmp_path):
    path = tmp_path / "export.csv"
    path.write_text("question,answer,category\nWhat?,That.,general\n")
    report = import_files(empty_store, [path], kind="faq", progress=False)
    assert report.counts["faq"]["inserted"] == 1 and empty_store.get_faq("what")
