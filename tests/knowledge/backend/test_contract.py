"""One contract for both shop backends (issue 15).

Every change kind, made through the embedded shop (:class:`LocalBackend`) and through a
connected shop whose system accepts it (:class:`ConnectedBackend` with the in-process
stand-in client, and with the real :class:`ShopifyClient` against the stand-in Shopify
server ``shopbot standin shopify`` on a free port), leaves the same observable shop: order status and changes, refunds and
payments, stock, returns, outbox and the operation's audit row; a refusal by the rules
raises the same error and changes nothing (and a connected shop sends nothing). Then the
connected shop's own promises: a rejected change ends in a ticket with nothing changed
and an honest error; an unreachable shop leaves the change pending until a retry is
accepted, applied once; retries never carry a change out twice.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import pytest

from knowledge.backend import make_backend
from knowledge.backend.base import CHANGE_KINDS, ShopBackend, ShopClient
from knowledge.backend.connected import (
    ConnectedBackend,
    _change_from_row,
    drop_change,
    get_change,
    list_changes,
    retry_change,
    retry_pending,
)
from knowledge.backend.local import LocalBackend
from knowledge.operations import OperationError
from knowledge.store import Store
from tests.knowledge.conftest import seed_commerce, seed_tiny
from tests.support.shop_client import ScriptedShopClient

TODAY = date(2026, 3, 16)
ACTOR = "assistant:conv-1"
NEW_ADDRESS = {
    "name": "Alice Martin",
    "street": "Torstrasse 1",
    "city": "Berlin",
    "postcode": "10119",
    "country": "de",
}

#: kind -> (the change, the order or customer it touches)
CHANGES: dict[str, tuple[Callable[[ShopBackend, dict[str, int]], dict[str, Any]], str]] = {
    "cancel_order": (
        lambda b, m: b.cancel_order("SB-100001", ACTOR, reason="I ordered by mistake"),
        "SB-100001",
    ),
    "change_shipping_address": (
        lambda b, m: b.change_shipping_address("SB-100001", NEW_ADDRESS, ACTOR),
        "SB-100001",
    ),
    "change_payment_method": (
        lambda b, m: b.change_payment_method("SB-100001", m["paypal"], ACTOR),
        "SB-100001",
    ),
    "change_items": (
        lambda b, m: b.change_items(
            "SB-100001", [{"order_item_id": 1, "variant_id": 4}], ACTOR, m["paypal"]
        ),
        "SB-100001",
    ),
    "request_return": (
        lambda b, m: b.request_return(
            "SB-100004",
            [{"order_item_id": 5}],
            "Too small",
            ACTOR,
            refund_payment_method_id=m["gift_small"],
            today=TODAY,
        ),
        "SB-100004",
    ),
    "request_exchange": (
        lambda b, m: b.request_exchange(
            "SB-100004", [{"order_item_id": 5, "variant_id": 3}], "Too small", ACTOR, today=TODAY
        ),
        "SB-100004",
    ),
    "set_default_address": (lambda b, m: b.set_default_address(1, NEW_ADDRESS, ACTOR), "1"),
}

#: kind -> a change the rules refuse, and the code
REFUSALS: dict[str, tuple[Callable[[ShopBackend, dict[str, int]], Any], str]] = {
    "cancel_order": (lambda b, m: b.cancel_order("SB-100003", ACTOR), "already_shipped"),
    "change_shipping_address": (
        lambda b, m: b.change_shipping_address("SB-100003", NEW_ADDRESS, ACTOR),
        "already_shipped",
    ),
    "change_payment_method": (
        lambda b, m: b.change_payment_method("SB-100001", m["visa"], ACTOR),
        "same_method",
    ),
    "change_items": (
        lambda b, m: b.change_items("SB-100001", [{"order_item_id": 1, "variant_id": 5}], ACTOR),
        "out_of_stock",
    ),
    "request_return": (
        lambda b, m: b.request_return("SB-100001", None, "Too small", ACTOR, today=TODAY),
        "not_delivered",
    ),
    "request_exchange": (
        lambda b, m: b.request_exchange(
            "SB-100004", [{"order_item_id": 6, "variant_id": 1}], "Too small", ACTOR, today=TODAY
        ),
        "not_returnable",
    ),
    "set_default_address": (
        lambda b, m: b.set_default_address(1, {"street": "x"}, ACTOR),
        "invalid_address",
    ),
}

#: The audit action of a change kind, where it has another name.
AUDIT_ACTIONS = {"change_shipping_address": "change_address", "request_return": "create_return"}

SHOP_TABLES = (
    "orders",
    "order_items",
    "products",
    "product_variants",
    "payment_methods",
    "payments",
    "returns",
    "outbox",
    "customers",
    "tickets",
)
#: Columns that hold the time of the change (differ between two runs).
CLOCK = {"at", "updated_at", "created_at", "requested_at"}


def test_every_change_kind_is_covered():
    assert set(CHANGES) == set(CHANGE_KINDS) == set(REFUSALS)


def _without_clock(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "[{":
        try:
            value = json.loads(value)
        except ValueError:
            return value
    if isinstance(value, dict):
        return {k: _without_clock(v) for k, v in value.items() if k not in CLOCK}
    if isinstance(value, list):
        return [_without_clock(v) for v in value]
    return value


def shop_state(store: Store) -> dict[str, Any]:
    """Everything a shopper or agent can see of the shop, without timestamps."""
    state = {t: _without_clock(store.query(f"SELECT * FROM {t} ORDER BY id")) for t in SHOP_TABLES}
    state["audit"] = [
        (r["actor"], r["action"], r["entity"], r["entity_id"], _without_clock(r["details"]))
        for r in store.query("SELECT * FROM audit ORDER BY id")
        if r["entity"] != "outgoing_change"  # the connected shop's own log of sends
    ]
    return state


def new_store(path) -> tuple[Store, dict[str, int]]:
    store = Store.open(path)
    seed_tiny(store)
    return store, seed_commerce(store)


def start_shopify(store: Store) -> Any:
    """The stand-in Shopify server seeded from ``store``, its ids remembered as an import would.

    Returns:
        The running server (``.url``, ``.shop``); stop it with ``.stop()``.
    """
    from knowledge.backend.shopify_sync import set_external_id
    from shopbot.standin.shopify import shop_from_store
    from tests.support.standin import start_standin

    data = shop_from_store(store)
    server = start_standin(data)
    with store.transaction():
        for customer in data["customers"]:
            row = store.get_customer_by_email(customer["email"])
            set_external_id(store, "customer", customer["id"], row["id"])
        for order in data["orders"]:
            set_external_id(store, "order", order["id"], store.get_order(order["name"])["id"])
    return server


def shopify_backend(store: Store, server: Any) -> ConnectedBackend:
    """A connected shop whose client is the real Shopify adapter, talking to ``server``."""
    from knowledge.backend.shopify import ShopifyClient
    from tests.support.standin import TOKEN

    return ConnectedBackend(store, None, ShopifyClient(server.url, TOKEN, timeout_s=10))


def _without_updated_at(text: str) -> Any:
    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k != "updated_at"}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return strip(json.loads(text))


def standin_writes(server: Any) -> list[dict[str, Any]]:
    """The calls that reached the stand-in and could change it (not GETs)."""
    return [c for c in server.shop.calls if c["method"] != "GET"]


@pytest.fixture(params=["local", "connected", "shopify"])
def backend_kind(request) -> str:
    return request.param


@pytest.fixture
def client() -> ScriptedShopClient:
    return ScriptedShopClient("accept")


@pytest.fixture
def backend(backend_kind, store, commerce, client) -> Iterator[ShopBackend]:
    if backend_kind == "local":
        yield LocalBackend(store)
    elif backend_kind == "connected":
        yield ConnectedBackend(store, None, client)
    else:
        server = start_shopify(store)
        made = shopify_backend(store, server)
        made.standin = server  # type: ignore[attr-defined]
        try:
            yield made
        finally:
            server.stop()


# --------------------------------------------------------------------------- the contract
@pytest.mark.parametrize("kind", CHANGE_KINDS)
def test_a_change_leaves_the_same_shop_on_both_backends(kind, tmp_path):
    change, _ = CHANGES[kind]
    local_store, local_ids = new_store(tmp_path / "local.db")
    connected_store, connected_ids = new_store(tmp_path / "connected.db")
    client = ScriptedShopClient("accept")
    local = change(LocalBackend(local_store), local_ids)
    connected = change(ConnectedBackend(connected_store, None, client), connected_ids)
    assert _without_clock(connected) == _without_clock(local)
    assert shop_state(connected_store) == shop_state(local_store)
    assert [c.kind for c in client.sent] == [kind] and client.carried_out == 1
    [row] = list_changes(connected_store, ("accepted",))
    assert row["kind"] == kind and row["attempts"] == 0 and row["ticket_id"] is None
    local_store.close()
    connected_store.close()


@pytest.mark.parametrize("kind", CHANGE_KINDS)
def test_the_real_shopify_adapter_leaves_the_same_shop_and_the_shop_carries_it_out(kind, tmp_path):
    change, target = CHANGES[kind]
    local_store, local_ids = new_store(tmp_path / "local.db")
    shopify_store, shopify_ids = new_store(tmp_path / "shopify.db")
    server = start_shopify(shopify_store)
    try:
        local = change(LocalBackend(local_store), local_ids)
        connected = change(shopify_backend(shopify_store, server), shopify_ids)
        assert _without_clock(connected) == _without_clock(local)
        assert shop_state(shopify_store) == shop_state(local_store)
        [row] = list_changes(shopify_store, ("accepted",))
        assert row["kind"] == kind and row["attempts"] == 0 and row["ticket_id"] is None
        assert all(c["status"] < 300 for c in server.shop.calls)
        # the stand-in shop now holds the change
        shop = server.shop
        if kind == "set_default_address":
            email = shopify_store.get_customer(1)["email"]
            [customer] = [c for c in shop.customers.values() if c["email"] == email]
            assert customer["default_address"]["address1"] == "Torstrasse 1"
        else:
            order = shop.find_order(target)
            assert order is not None
            if kind == "cancel_order":
                assert order["cancelled_at"] and order["financial_status"] in (
                    "refunded",
                    "voided",
                )
            elif kind == "change_shipping_address":
                assert order["shipping_address"]["address1"] == "Torstrasse 1"
            else:
                assert any(t.startswith("shopbot-") for t in order["tags"].split(", ")), order[
                    "tags"
                ]
        # sent again (a retry after a lost answer): the shop does not do it twice
        writes = standin_writes(server)
        shop_before = json.dumps([shop.orders, shop.customers], sort_keys=True, default=str)
        ack = shopify_backend(shopify_store, server).client.send(
            _change_from_row(shopify_store, row)
        )
        if kind == "change_shipping_address":  # a PUT of the same address: the same order
            assert len(standin_writes(server)) == len(writes) + 1
            after = json.dumps([shop.orders, shop.customers], sort_keys=True, default=str)
            assert _without_updated_at(after) == _without_updated_at(shop_before)
        else:
            assert ack.already_done is True
            assert standin_writes(server) == writes
    finally:
        server.stop()
        local_store.close()
        shopify_store.close()


@pytest.mark.parametrize("kind", CHANGE_KINDS)
def test_each_change_is_applied_and_audited(backend, commerce, kind):
    change, target = CHANGES[kind]
    result = change(backend, commerce)
    store = backend.store
    actions = [r["action"] for r in store.audit_log(limit=1000) if r["actor"] == ACTOR]
    assert AUDIT_ACTIONS.get(kind, kind) in actions
    if kind == "cancel_order":
        assert result["status"] == "cancelled"
        [refund] = result["changes"][-1]["refunds"]
        assert refund["label"] == "Visa ending 4242" and refund["amount"] == result["total"]
        assert store.payments(result["id"])[-1]["kind"] == "refund"
    elif kind == "change_shipping_address":
        assert result["ship_street"] == "Torstrasse 1" and result["ship_country"] == "DE"
    elif kind == "change_payment_method":
        assert result["payment_method_id"] == commerce["paypal"]
        assert result["changes"][-1]["refunds"][0]["label"] == "Visa ending 4242"
    elif kind == "change_items":
        assert result["status"] == "items_modified"
        assert result["changes"][-1]["settlement"]["charged"]["label"].startswith("PayPal")
    elif kind == "request_return":
        assert store.get_order(target)["status"] == "return_requested"
        assert result["refund"]["label"] == "gift card ending 4444"
        assert len(store.outbox(order_id=store.get_order(target)["id"])) == 1
    elif kind == "request_exchange":
        assert result["status"] == "exchange_requested"
        assert store.get_variant(3)["stock"] == 1
    else:
        assert store.default_address(result)["ship_street"] == "Torstrasse 1"


@pytest.mark.parametrize("kind", CHANGE_KINDS)
def test_a_refusal_by_the_rules_changes_nothing_and_sends_nothing(
    backend, backend_kind, commerce, client, kind
):
    call, code = REFUSALS[kind]
    store = backend.store
    before = shop_state(store)
    with pytest.raises(OperationError) as info:
        call(backend, commerce)
    assert info.value.code == code
    assert shop_state(store) == before
    assert client.sent == [] and store.count("outgoing_changes") == 0
    if backend_kind == "shopify":
        assert backend.standin.shop.calls == []  # type: ignore[attr-defined]


def test_make_backend_reads_the_setting(store):
    from types import SimpleNamespace

    assert isinstance(make_backend(SimpleNamespace(backend="local"), store), LocalBackend)
    assert isinstance(make_backend(SimpleNamespace(), store), LocalBackend)
    with pytest.raises(ValueError, match="unknown backend"):
        make_backend(SimpleNamespace(backend="magento"), store)


def test_make_backend_builds_a_registered_client(store, monkeypatch):
    from types import SimpleNamespace

    from knowledge import backend as backends

    monkeypatch.setitem(
        backends.CLIENTS, "teststand", "tests.support.shop_client:ScriptedShopClient"
    )
    made = make_backend(SimpleNamespace(backend="teststand"), store)
    assert isinstance(made, ConnectedBackend) and isinstance(made.client, ScriptedShopClient)


# --------------------------------------------------------------------------- connected only
@pytest.fixture
def connected(store, commerce, client) -> ConnectedBackend:
    return ConnectedBackend(store, None, client)


def test_a_rejected_change_opens_a_ticket_changes_nothing_and_says_so(connected, client):
    client.mode = "reject"
    store = connected.store
    before = shop_state(store)
    with pytest.raises(OperationError) as info:
        connected.cancel_order("SB-100001", ACTOR, reason="I ordered by mistake")
    err = info.value
    assert err.code == "shop_rejected"
    assert err.reason.startswith("I couldn't cancel order SB-100001 right now")
    assert "a colleague will follow up" in err.reason
    assert store.get_order("SB-100001")["status"] == before["orders"][0]["status"] == "pending"
    after = shop_state(store)
    for table in ("orders", "order_items", "payments", "payment_methods", "product_variants"):
        assert after[table] == before[table]
    [ticket] = store.query("SELECT * FROM tickets")
    assert ticket["order_number"] == "SB-100001" and ticket["sender_id"] == "conv-1"
    assert ticket["customer_id"] == 1 and "cancel order SB-100001" in ticket["subject"]
    assert f"#{ticket['id']}" in err.reason
    [row] = list_changes(store, ("rejected",))
    assert row["ticket_id"] == ticket["id"] and "on hold" in row["last_error"]
    assert err.details["change_id"] == row["id"]
    actions = [r["action"] for r in store.audit_log("outgoing_change", row["id"])]
    assert "shop_change_sent" in actions and "shop_change_rejected" in actions


def test_unavailable_stays_pending_and_a_later_retry_applies_it_once(connected, client):
    client.mode = "unavailable"
    store = connected.store
    with pytest.raises(OperationError) as info:
        connected.cancel_order("SB-100001", ACTOR, reason="I ordered by mistake")
    assert info.value.code == "shop_unavailable"
    assert "isn't answering" in info.value.reason and "colleague" in info.value.reason
    assert store.get_order("SB-100001")["status"] == "pending"
    [row] = list_changes(store, ("pending",))
    assert row["attempts"] == 1 and "503" in row["last_error"] and row["ticket_id"]
    # the shop is back
    client.mode = "accept"
    counts = retry_pending(store, client)
    assert counts["accepted"] == 1
    order = store.get_order("SB-100001")
    assert order["status"] == "cancelled"
    assert [c["kind"] for c in order["changes"]].count("cancel") == 1
    assert [p["kind"] for p in store.payments(order["id"])].count("refund") == 1
    assert client.carried_out == 1 and len(client.sent) == 2
    assert len({c.idempotency_key for c in client.sent}) == 1  # the same key both times
    ticket = store.query("SELECT * FROM tickets WHERE id = ?", [row["ticket_id"]])[0]
    assert ticket["status"] == "closed" and "accepted" in ticket["body"]
    assert get_change(store, row["id"])["status"] == "accepted"
    # nothing left to retry
    assert retry_pending(store, client) == {"accepted": 0, "rejected": 0, "pending": 0, "failed": 0}


def test_retrying_twice_never_applies_twice(connected, client):
    store = connected.store
    client.script = ["unavailable"]
    with pytest.raises(OperationError):
        connected.cancel_order("SB-100001", ACTOR)
    [row] = list_changes(store, ("pending",))
    # the shop carried it out but its answer was lost: it answers "already done" next time
    client.done[row["idempotency_key"]] = client.sent[0]
    first = retry_change(store, client, row["id"], "staff:ana")
    assert first["status"] == "accepted" and first["response"]["already_done"] is True
    with pytest.raises(OperationError) as info:
        retry_change(store, client, row["id"], "staff:ana")
    assert info.value.code == "invalid"  # accepted: nothing to retry
    assert retry_pending(store, client)["accepted"] == 0
    order = store.get_order("SB-100001")
    assert [c["kind"] for c in order["changes"]].count("cancel") == 1
    assert [p["kind"] for p in store.payments(order["id"])].count("refund") == 1
    assert store.get_variant(2)["stock"] == 7
    assert client.carried_out == 1


def test_the_same_change_asked_again_reuses_its_key(connected, client):
    store = connected.store
    client.mode = "unavailable"
    for _ in range(2):
        with pytest.raises(OperationError):
            connected.cancel_order("SB-100001", ACTOR, reason="Other")
    [row] = list_changes(store, ("pending",))
    assert row["attempts"] == 2 and store.count("tickets") == 1
    assert client.sent[0].idempotency_key == client.sent[1].idempotency_key
    # another conversation asking for the same change is another change
    with pytest.raises(OperationError):
        connected.cancel_order("SB-100001", "assistant:conv-2", reason="Other")
    assert store.count("outgoing_changes") == 2


def test_too_many_failed_attempts_mark_the_change_failed(connected, client):
    store = connected.store
    client.mode = "unavailable"
    with pytest.raises(OperationError):
        connected.change_shipping_address("SB-100001", NEW_ADDRESS, ACTOR)
    assert retry_pending(store, client, max_attempts=3) == {
        "accepted": 0,
        "rejected": 0,
        "pending": 1,
        "failed": 0,
    }
    assert retry_pending(store, client, max_attempts=3)["failed"] == 1
    [row] = list_changes(store, ("failed",))
    assert row["attempts"] == 3
    assert store.get_order("SB-100001")["ship_street"] == "Hauptstrasse 5"
    # staff retry it by hand once the shop is back
    client.mode = "accept"
    assert retry_change(store, client, row["id"], "staff:ana")["status"] == "accepted"
    assert store.get_order("SB-100001")["ship_street"] == "Torstrasse 1"


def test_a_client_that_crashes_counts_as_unavailable(connected, client):
    client.mode = "crash"
    with pytest.raises(OperationError) as info:
        connected.set_default_address(1, NEW_ADDRESS, ACTOR)
    assert info.value.code == "shop_unavailable"
    assert list_changes(connected.store, ("pending",))[0]["customer_id"] == 1


def test_staff_drop_a_rejected_change(connected, client):
    store = connected.store
    client.mode = "reject"
    with pytest.raises(OperationError):
        connected.cancel_order("SB-100001", ACTOR)
    [row] = list_changes(store, ("rejected",))
    dropped = drop_change(store, row["id"], "staff:ana")
    assert dropped["status"] == "dropped"
    ticket = store.query("SELECT * FROM tickets WHERE id = ?", [row["ticket_id"]])[0]
    assert "Dropped by staff:ana" in ticket["body"]
    assert store.audit_log("outgoing_change", row["id"])[0]["action"] == "shop_change_dropped"
    with pytest.raises(OperationError):
        drop_change(store, row["id"], "staff:ana")
    with pytest.raises(OperationError) as info:
        retry_change(store, client, row["id"], "staff:ana")
    assert info.value.code == "invalid"
    assert store.get_order("SB-100001")["status"] == "pending"


def test_a_change_carries_the_shops_ids_and_payload(connected, client, commerce):
    store = connected.store
    store.db.execute(
        "INSERT INTO external_ids (source, entity, external_id, local_id, updated_at)"
        " VALUES ('teststand', 'order', '450789469', 1, '2026-03-16'),"
        " ('teststand', 'customer', '207119551', 1, '2026-03-16')"
    )
    connected.cancel_order("SB-100001", ACTOR, reason="I ordered by mistake")
    [sent] = client.sent
    assert sent.external_order_id == "450789469" and sent.external_customer_id == "207119551"
    assert sent.order_number == "SB-100001" and sent.customer_id == 1
    assert sent.payload["reason"] == "I ordered by mistake"
    order = store.get_order("SB-100001")
    assert sent.payload["refunds"] == [{"method": "card", "amount": order["total"]}]
    assert "_apply" not in sent.payload


def test_both_backends_are_shop_backends(store, client):
    assert isinstance(LocalBackend(store), ShopBackend)
    assert isinstance(ConnectedBackend(store, None, client), ShopBackend)
    assert isinstance(client, ShopClient)


def test_two_senders_getting_the_answer_apply_it_once(connected, client):
    """A cron retry and a staff Retry racing on one change: the second answer is a no-op."""
    from knowledge.backend.base import ShopAck
    from knowledge.backend.connected import _accept

    store = connected.store
    client.mode = "unavailable"
    with pytest.raises(OperationError):
        connected.cancel_order("SB-100001", ACTOR)
    [row] = list_changes(store, ("pending",))
    _accept(store, None, row["id"], ShopAck(external_id="1"))
    _accept(store, None, row["id"], ShopAck(external_id="1", already_done=True))
    order = store.get_order("SB-100001")
    assert [c["kind"] for c in order["changes"]].count("cancel") == 1
    assert [p["kind"] for p in store.payments(order["id"])].count("refund") == 1
    assert get_change(store, row["id"])["response"]["already_done"] is False


# --------------------------------------------------------------------------- the real adapter
@pytest.fixture
def shopify(store, commerce) -> Iterator[ConnectedBackend]:
    """The connected shop with the real Shopify adapter and the stand-in server."""
    server = start_shopify(store)
    made = shopify_backend(store, server)
    made.standin = server  # type: ignore[attr-defined]
    try:
        yield made
    finally:
        server.stop()


def _fail_next(server: Any, **answer: Any) -> None:
    from tests.support.standin import http

    assert http("POST", f"{server.url}/_standin/fail-next", answer)[0] == 200


def test_shopify_a_rejection_by_the_shop_opens_a_ticket_and_changes_nothing(shopify):
    store, server = shopify.store, shopify.standin  # type: ignore[attr-defined]
    before = shop_state(store)
    _fail_next(server, status=422, errors={"base": ["the warehouse has already packed it"]})
    with pytest.raises(OperationError) as info:
        shopify.cancel_order("SB-100001", ACTOR, reason="I ordered by mistake")
    assert info.value.code == "shop_rejected" and "colleague will follow up" in info.value.reason
    assert not server.shop.find_order("SB-100001")["cancelled_at"]
    after = shop_state(store)
    for table in ("orders", "order_items", "payments", "payment_methods", "product_variants"):
        assert after[table] == before[table]
    [row] = list_changes(store, ("rejected",))
    assert "the warehouse has already packed it" in row["last_error"] and row["ticket_id"]


@pytest.mark.parametrize(
    "answer", [{"status": 503}, {"status": 429, "retry_after": 1}], ids=["503", "429"]
)
def test_shopify_a_busy_shop_leaves_the_change_pending_and_a_retry_applies_it_once(shopify, answer):
    store, server = shopify.store, shopify.standin  # type: ignore[attr-defined]
    _fail_next(server, **answer)
    with pytest.raises(OperationError) as info:
        shopify.cancel_order("SB-100001", ACTOR, reason="I ordered by mistake")
    assert info.value.code == "shop_unavailable"
    assert store.get_order("SB-100001")["status"] == "pending"
    assert not server.shop.find_order("SB-100001")["cancelled_at"]
    [row] = list_changes(store, ("pending",))
    assert str(answer["status"]) in row["last_error"]
    assert retry_pending(store, shopify.client)["accepted"] == 1
    assert retry_pending(store, shopify.client)["accepted"] == 0
    assert server.shop.find_order("SB-100001")["cancelled_at"]
    order = store.get_order("SB-100001")
    assert order["status"] == "cancelled"
    assert [p["kind"] for p in store.payments(order["id"])].count("refund") == 1
    assert server.shop.calls[0]["status"] == answer["status"]  # the first call was refused
    cancels = [c for c in server.shop.calls if c["path"].endswith("/cancel.json")]
    assert [c["status"] for c in cancels] == [200]  # and the cancel carried out once


def test_shopify_an_unreachable_shop_leaves_the_change_pending(store, commerce):
    from knowledge.backend.shopify import ShopifyClient
    from tests.support.standin import TOKEN, free_port

    backend = ConnectedBackend(
        store, None, ShopifyClient(f"http://127.0.0.1:{free_port()}", TOKEN, timeout_s=2)
    )
    with pytest.raises(OperationError) as info:
        backend.change_shipping_address("SB-100001", NEW_ADDRESS, ACTOR)
    assert info.value.code == "shop_unavailable"
    assert store.get_order("SB-100001")["ship_street"] == "Hauptstrasse 5"
    [row] = list_changes(store, ("pending",))
    assert row["last_error"].startswith("unavailable") and row["ticket_id"]


@pytest.mark.parametrize("kind", ["cancel_order", "request_return"])
def test_shopify_the_shops_webhook_arriving_before_its_answer_loses_nothing(tmp_path, kind):
    """Shopify may deliver ``orders/cancelled`` (or the tagged ``orders/updated``) before
    shopbot has applied the 200 it answered the change with. The mirror then already says
    "cancelled", and the change used to be marked accepted without its refund, restock
    and history; it is applied on the order as it was when sent."""
    from knowledge.backend.shopify_sync import receive_webhook, sign_webhook
    from tests.support.standin import SECRET

    change, target = CHANGES[kind]
    local_store, local_ids = new_store(tmp_path / "local.db")
    store, ids = new_store(tmp_path / "shopify.db")
    server = start_shopify(store)
    try:
        backend = shopify_backend(store, server)
        real_send = backend.client.send

        def send_then_webhook(outgoing):
            ack = real_send(outgoing)
            order = server.shop.find_order(target)
            body = json.dumps(order).encode()
            topic = "orders/cancelled" if order["cancelled_at"] else "orders/updated"
            headers = {
                "X-Shopify-Topic": topic,
                "X-Shopify-Webhook-Id": f"early-{kind}",
                "X-Shopify-Hmac-Sha256": sign_webhook(SECRET, body),
            }
            assert receive_webhook(store, SECRET, headers, body).status == "applied"
            return ack

        backend.client.send = send_then_webhook  # type: ignore[method-assign]
        expected = change(LocalBackend(local_store), local_ids)
        result = change(backend, ids)
        # (the webhook brought the shop's own fields, e.g. no carrier yet: compare the change)
        assert result["status"] == expected["status"]
        order, want = store.get_order(target), local_store.get_order(target)
        assert order["status"] == want["status"]
        assert _without_clock(order["changes"]) == _without_clock(want["changes"])
        assert _without_clock(store.payments(order["id"])) == _without_clock(
            local_store.payments(want["id"])
        )
        for table in ("product_variants", "returns", "outbox"):
            assert shop_state(store)[table] == shop_state(local_store)[table], table
        [row] = list_changes(store, ("accepted",))
        assert row["last_error"] is None
    finally:
        server.stop()
        local_store.close()
        store.close()
