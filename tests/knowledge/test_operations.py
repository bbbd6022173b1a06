"""Operations: each change writes its audit row in the same transaction; refusals change nothing."""

from __future__ import annotations

from datetime import date

import pytest

from knowledge.operations import (
    OperationError,
    add_faq,
    cancel_order,
    change_shipping_address,
    create_return,
    open_ticket,
    record_feedback,
    record_handoff,
    set_handoff_status,
    slugify,
)

TODAY = date(2026, 3, 16)
ADDRESS = {
    "name": "Alice Martin",
    "street": "Neue Straße 7",
    "city": "Hamburg",
    "postcode": "20095",
    "country": "DE",
}


class Recorder:
    def __init__(self):
        self.calls = []

    def __call__(self, kind, ids):
        self.calls.append((kind, ids))


def snapshot(store):
    tables = (
        "orders",
        "order_items",
        "products",
        "returns",
        "faq",
        "audit",
        "feedback",
        "handoffs",
    )
    return {t: store.query(f"SELECT * FROM {t} ORDER BY id") for t in tables}


def test_cancel_pending_order_restocks_and_audits(store):
    changes = Recorder()
    order = cancel_order(store, "sb 100001", "assistant:s1", on_change=changes)
    assert order["status"] == "cancelled"
    assert store.get_product(1)["stock"] == 13
    audit = store.audit_log(entity="order", entity_id="SB-100001")
    assert audit[0]["action"] == "cancel_order" and audit[0]["actor"] == "assistant:s1"
    assert audit[0]["details"]["from_status"] == "pending"
    assert ("order_items", [1]) in changes.calls and ("products", [1]) in changes.calls


def test_cancel_processing_order(store):
    assert cancel_order(store, "SB-100002", "assistant:s1")["status"] == "cancelled"


@pytest.mark.parametrize(
    "number,code",
    [
        ("SB-100003", "already_shipped"),
        ("SB-100004", "already_delivered"),
        ("SB-100006", "already_cancelled"),
        ("SB-100007", "already_returned"),
        ("SB-999999", "not_found"),
        ("DROP TABLE", "not_found"),
    ],
)
def test_refused_cancel_changes_nothing(store, number, code):
    before = snapshot(store)
    changes = Recorder()
    with pytest.raises(OperationError) as info:
        cancel_order(store, number, "assistant:s1", on_change=changes)
    assert info.value.code == code and info.value.reason
    assert snapshot(store) == before
    assert changes.calls == []


def test_failure_inside_the_transaction_rolls_back(store, monkeypatch):
    before = snapshot(store)

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(type(store), "write_audit", broken)
    with pytest.raises(RuntimeError):
        cancel_order(store, "SB-100001", "assistant:s1")
    assert snapshot(store) == before


def test_failing_on_change_does_not_undo_the_commit(store):
    def explode(kind, ids):
        raise RuntimeError("index offline")

    assert cancel_order(store, "SB-100001", "t", on_change=explode)["status"] == "cancelled"
    assert store.get_order("SB-100001")["status"] == "cancelled"


def test_change_address_before_shipping(store):
    order = change_shipping_address(store, "SB-100002", ADDRESS, "assistant:s1")
    assert order["ship_city"] == "Hamburg" and order["ship_street"] == "Neue Straße 7"
    audit = store.audit_log(entity="order", entity_id="SB-100002")[0]
    assert audit["action"] == "change_address"
    assert (
        audit["details"]["old"]["ship_city"] == "Berlin"
        and audit["details"]["new"]["ship_city"] == "Hamburg"
    )


def test_change_address_refusals(store):
    before = snapshot(store)
    with pytest.raises(OperationError) as info:
        change_shipping_address(store, "SB-100003", ADDRESS, "t")
    assert info.value.code == "already_shipped"
    with pytest.raises(OperationError) as info:
        change_shipping_address(store, "SB-100001", dict(ADDRESS, postcode="", country="XX"), "t")
    assert info.value.code == "invalid_address"
    assert set(info.value.details["errors"]) == {"postcode", "country"}
    assert snapshot(store) == before


def test_create_return_of_everything_returnable(store):
    changes = Recorder()
    ret = create_return(
        store, "SB-100004", None, "Too small", "assistant:s1", today=TODAY, on_change=changes
    )
    assert ret["rma_id"] == "RMA-100004-1"
    assert ret["status"] == "requested" and ret["refund_status"] == "pending"
    # underwear (not returnable) stays; shoe 119 and 3 shirts 59.7 plus 19% tax
    assert {i["sku"] for i in ret["items"]} == {"RUN-00001", "TSH-00004"}
    assert ret["refund_amount"] == round(119 * 1.19 + 59.7 * 1.19, 2)
    items = {i["sku"]: i for i in store.order_items(4)}
    assert (
        items["RUN-00001"]["returned_quantity"] == 1
        and items["UND-00005"]["returned_quantity"] == 0
    )
    assert store.get_order("SB-100004")["status"] == "delivered"  # underwear not returned
    assert (
        store.audit_log(entity="return", entity_id="RMA-100004-1")[0]["details"]["refund_amount"]
        == ret["refund_amount"]
    )
    assert changes.calls == [("order_items", [items["RUN-00001"]["id"], items["TSH-00004"]["id"]])]


def test_partial_returns_then_order_becomes_returned(store):
    first = create_return(
        store, "SB-100008", [{"sku": "TSH-00004", "quantity": 2}], "Too big", "t", today=TODAY
    )
    assert first["items"][0]["quantity"] == 2
    second = create_return(
        store, "SB-100008", [{"sku": "TSH-00004", "quantity": 1}], "Too big", "t", today=TODAY
    )
    assert second["rma_id"] == "RMA-100008-2"
    with pytest.raises(OperationError) as info:
        create_return(store, "SB-100008", [{"sku": "TSH-00004"}], "again", "t", today=TODAY)
    assert info.value.code == "already_returned"
    assert store.get_order("SB-100008")["status"] == "delivered"  # the gift card can't go back


def test_full_return_marks_the_order_returned(store):
    with store.transaction():
        store.db.execute("UPDATE order_items SET returned_quantity = 0 WHERE order_id = 8")
        store.db.execute("UPDATE products SET returnable = 1 WHERE id = 6")
    create_return(store, "SB-100008", None, "Not needed", "t", today=TODAY)
    assert store.get_order("SB-100008")["status"] == "returned"


@pytest.mark.parametrize(
    "number,items,code",
    [
        ("SB-100005", None, "window_expired"),
        ("SB-100003", None, "not_delivered"),
        ("SB-100001", None, "not_delivered"),
        ("SB-100006", None, "cancelled"),
        ("SB-100007", None, "already_returned"),
        ("SB-999999", None, "not_found"),
        ("SB-100004", [{"sku": "UND-00005"}], "not_returnable"),
        ("SB-100004", [{"sku": "NOT-IN-ORDER"}], "invalid_items"),
        ("SB-100004", [{"sku": "RUN-00001", "quantity": 2}], "invalid_items"),
        ("SB-100004", [{"sku": "RUN-00001", "quantity": 0}], "invalid_items"),
        ("SB-100004", [{"sku": "RUN-00001", "quantity": "1"}], "invalid_items"),
        (
            "SB-100004",
            [{"sku": "RUN-00001"}, {"order_item_id": 5}],
            "invalid_items",
        ),  # listed twice
        ("SB-100004", ["RUN-00001"], "invalid_items"),
    ],
)
def test_refused_returns_change_nothing(store, number, items, code):
    before = snapshot(store)
    with pytest.raises(OperationError) as info:
        create_return(store, number, items, "Too small", "t", today=TODAY)
    assert info.value.code == code
    assert snapshot(store) == before


def test_return_needs_a_reason(store):
    with pytest.raises(OperationError) as info:
        create_return(store, "SB-100004", None, "  ", "t", today=TODAY)
    assert info.value.code == "invalid"


def test_add_faq_generates_unique_keys(store):
    changes = Recorder()
    entry = add_faq(
        store,
        "Do you ship to Iceland?",
        "Yes, in 5-8 days.",
        "shipping",
        ["Iceland delivery?"],
        "staff:ann",
        on_change=changes,
    )
    assert entry["key"] == "do-you-ship-to-iceland"
    assert entry["alternatives"] == ["Iceland delivery?"]
    again = add_faq(store, "Do you ship to Iceland?", "Still yes.", "shipping", None, "staff:ann")
    assert again["key"] == "do-you-ship-to-iceland-2"
    assert changes.calls == [("faq", [entry["id"]])]
    assert store.audit_log(entity="faq")[0]["actor"] == "staff:ann"
    with pytest.raises(OperationError) as info:
        add_faq(store, "Q?", "A", "general", [], "staff:ann", key="return-policy")
    assert info.value.code == "duplicate"
    with pytest.raises(OperationError):
        add_faq(store, "", "A", "general", [], "staff:ann")
    assert slugify("Où est ma commande ?") == "ou-est-ma-commande"


def test_record_feedback(store):
    up = record_feedback(store, "sender-1", "up", message_id="m1")
    rated = record_feedback(store, "sender-1", "rating", rating=4, comment="Helpful")
    assert up["value"] == "up" and rated["rating"] == 4
    assert len(store.feedback("sender-1")) == 2
    assert store.audit_log(entity="feedback")[0]["actor"] == "shopper:sender-1"
    for bad in [
        dict(value="meh"),
        dict(value="rating"),
        dict(value="rating", rating=6),
        dict(value="up", rating=3),
        dict(value="rating", rating=True),
    ]:
        with pytest.raises(OperationError):
            record_feedback(store, "sender-1", **bad)
    assert len(store.feedback()) == 2


def test_record_handoff_and_status(store):
    handoff = record_handoff(
        store, "sender-2", "asked_for_human", contact_email=" Bob@Example.com ", message="Help"
    )
    assert handoff["status"] == "open" and handoff["contact_email"] == "bob@example.com"
    taken = set_handoff_status(store, handoff["id"], "taken", "staff:ann")
    assert taken["status"] == "taken"
    assert [h["id"] for h in store.handoffs("taken")] == [handoff["id"]]
    with pytest.raises(OperationError):
        record_handoff(store, "sender-2", "x", contact_email="not-an-email")
    with pytest.raises(OperationError):
        record_handoff(store, "sender-2", "")
    with pytest.raises(OperationError):
        set_handoff_status(store, handoff["id"], "lost", "staff:ann")
    with pytest.raises(OperationError):
        set_handoff_status(store, 999, "closed", "staff:ann")


def test_open_ticket(store):
    ticket = open_ticket(
        store,
        "Parcel damaged",
        "Box was wet",
        "assistant:s3",
        sender_id="s3",
        order_number="SB-100004",
    )
    assert ticket["status"] == "open" and ticket["order_number"] == "SB-100004"
    assert store.audit_log(entity="ticket")[0]["action"] == "open_ticket"
