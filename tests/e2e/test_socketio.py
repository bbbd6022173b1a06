"""End-to-end over Socket.IO (the widget's channel): the shop's site passes a signed
customer token in the session metadata and the shopper is verified without questions;
a forged token verifies nobody."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]


def _chat_socketio(
    url: str, sender: str, text: str, metadata: dict, wait_s: float = 120
) -> list[dict]:
    socketio = pytest.importorskip("socketio")
    replies: list[dict] = []
    got = threading.Event()
    client = socketio.Client()

    @client.on("bot_uttered")
    def _on_bot(data):  # noqa: ANN001 - socket.io callback
        replies.append(data)
        got.set()

    client.connect(url, socketio_path="/socket.io", transports=["polling"])
    try:
        client.emit("session_request", {"session_id": sender})
        time.sleep(0.5)
        client.emit("user_uttered", {"message": text, "session_id": sender, "metadata": metadata})
        got.wait(wait_s)
        time.sleep(3.0)  # collect the rest of the reply
    finally:
        client.disconnect()
    return replies


def _customer(stack, scenario: str) -> tuple[int, str]:
    with sqlite3.connect(stack.db_path) as con:
        row = con.execute(
            "SELECT c.id, c.email FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.order_number = ?",
            [stack.examples[scenario]["order_number"]],
        ).fetchone()
    return int(row[0]), row[1]


def test_signed_customer_token_verifies_the_shopper(rasa_stack):
    from knowledge.identity import sign_customer_token

    customer_id, email = _customer(rasa_stack, "processing")
    token = sign_customer_token(email, rasa_stack.token_secret, 600)
    sender = rasa_stack.sender(f"e2e-token-{uuid.uuid4().hex[:8]}")
    replies = _chat_socketio(
        rasa_stack.socketio_url, sender, "/track_order", {"customer_token": token}
    )
    assert rasa_stack.examples["processing"]["order_number"] in json.dumps(replies)
    slots = rasa_stack.tracker(sender)["slots"]
    assert slots["verified"] is True and slots["customer_id"] == str(customer_id)


def test_forged_token_verifies_nobody(rasa_stack):
    from knowledge.identity import sign_customer_token

    customer_id, email = _customer(rasa_stack, "processing")
    forged = sign_customer_token(email, "not-the-shop-secret", 600)
    sender = rasa_stack.sender(f"e2e-forged-{uuid.uuid4().hex[:8]}")
    replies = _chat_socketio(
        rasa_stack.socketio_url, sender, "/track_order", {"customer_token": forged}
    )
    assert "order number" in json.dumps(replies)
    assert rasa_stack.examples["processing"]["order_number"] not in json.dumps(replies)
    assert rasa_stack.tracker(sender)["slots"]["verified"] is False
