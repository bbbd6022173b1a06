"""The generic signed-HTTP shop client against its stand-in, and the OpenAPI document."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from knowledge.backend.base import OutgoingChange, ShopRejected, ShopUnavailable
from knowledge.backend.http_shop import (
    ROUTES,
    HttpShopClient,
    sign_request,
    verify_request,
)
from shopbot.standin.http_shop import HttpStandinShop, create_app
from tests.support.standin import ThreadedApp, free_port, http

SECRET = "http-shop-secret-" + "h" * 20
SPEC = Path(__file__).resolve().parents[4] / "docs" / "shop-api.openapi.yaml"


@pytest.fixture
def shop_server():
    shop = HttpStandinShop(
        {"#1001": {"status": "processing"}, "#1002": {"status": "shipped"}}, SECRET
    )
    server = ThreadedApp(create_app(shop, "/shopbot-api")).start()
    server.shop = shop
    yield server
    server.stop()


def _client(server, **kw) -> HttpShopClient:
    return HttpShopClient(f"{server.url}/shopbot-api", kw.pop("secret", SECRET), **kw)


def test_every_change_kind_is_an_operation_of_the_openapi_document():
    spec = yaml.safe_load(SPEC.read_text())
    assert spec["openapi"].startswith("3.")
    for kind, (method, template) in ROUTES.items():
        path = template.replace("{order}", "{order_number}").replace("{customer}", "{customer_id}")
        assert method.lower() in spec["paths"][path], kind
    assert {"signature", "timestamp"} <= set(spec["components"]["securitySchemes"])


def test_signature_covers_timestamp_method_path_and_body():
    sig = sign_request(SECRET, "POST", "/a", b"{}", 100)
    headers = {"X-Shopbot-Timestamp": "100", "X-Shopbot-Signature": sig}
    assert verify_request(SECRET, "POST", "/a", b"{}", headers, now=120) is None
    assert verify_request(SECRET, "POST", "/a", b"{ }", headers, now=120) == "bad signature"
    assert verify_request(SECRET, "PUT", "/a", b"{}", headers, now=120) == "bad signature"
    assert verify_request(SECRET, "POST", "/b", b"{}", headers, now=120) == "bad signature"
    assert "too old" in verify_request(SECRET, "POST", "/a", b"{}", headers, now=100 + 301)
    assert verify_request(SECRET, "POST", "/a", b"{}", {}, now=100) == "unsigned request"


def test_cancel_is_accepted_then_already_done(shop_server):
    client = _client(shop_server)
    change = OutgoingChange(
        "cancel_order",
        "key-1",
        order_number="#1001",
        payload={"reason": "wrong size", "refunds": []},
    )
    ack = client.send(change)
    assert not ack.already_done and shop_server.shop.orders["#1001"]["status"] == "cancelled"
    assert client.send(change).already_done
    assert shop_server.shop.calls[0]["path"] == "/shopbot-api/orders/%231001/cancel"
    again = client.send(OutgoingChange("cancel_order", "key-2", order_number="#1001"))
    assert again.already_done


def test_a_shipped_order_is_refused_with_the_shops_reason(shop_server):
    with pytest.raises(ShopRejected) as info:
        _client(shop_server).send(OutgoingChange("cancel_order", "k", order_number="#1002"))
    assert info.value.status == 422 and "already shipped" in info.value.message


def test_wrong_secret_and_stale_clock_are_refused(shop_server):
    change = OutgoingChange("cancel_order", "k", order_number="#1001")
    with pytest.raises(ShopRejected) as info:
        _client(shop_server, secret="another-" + "x" * 24).send(change)
    assert info.value.status == 401
    import time

    with pytest.raises(ShopRejected) as info:
        _client(shop_server, clock=lambda: time.time() - 3600).send(change)
    assert info.value.status == 401 and "timestamp" in info.value.message
    assert shop_server.shop.orders["#1001"]["status"] == "processing"


def test_unavailable_answers_and_retry_after(shop_server):
    change = OutgoingChange(
        "request_return",
        "k-r",
        order_number="#1002",
        payload={"items": [{"sku": "A", "quantity": 1}], "reason": "x"},
    )
    http("POST", f"{shop_server.url}/_standin/fail-next", {"status": 429, "retry_after": 3})
    with pytest.raises(ShopUnavailable) as info:
        _client(shop_server).send(change)
    assert info.value.retry_after_s == 3.0
    http("POST", f"{shop_server.url}/_standin/fail-next", {"status": 500})
    with pytest.raises(ShopUnavailable):
        _client(shop_server).send(change)
    assert _client(shop_server).send(change).response["status"] == "return_requested"
    with pytest.raises(ShopUnavailable):
        HttpShopClient(f"http://127.0.0.1:{free_port()}/api", SECRET, timeout_s=2).send(change)


def test_default_address_uses_the_shops_customer_id(shop_server):
    change = OutgoingChange(
        "set_default_address",
        "k-a",
        external_customer_id="cust-9",
        payload={"address": {"street": "1 Road", "city": "X", "postcode": "1", "country": "DE"}},
    )
    _client(shop_server).send(change)
    assert shop_server.shop.customers["cust-9"]["default_address"]["street"] == "1 Road"


def test_from_settings_needs_url_and_secret(settings):
    with pytest.raises(ValueError):
        HttpShopClient.from_settings(settings)
    client = HttpShopClient.from_settings(
        settings.with_overrides(http_shop_url="https://shop.example/api", http_shop_secret=SECRET)
    )
    assert client.path_for(OutgoingChange("cancel_order", "k", order_number="SB-1")) == (
        "POST",
        "/api/orders/SB-1/cancel",
    )
