"""A stand-in for Rasa's Socket.IO channel and tracker API, for widget tests.

Run as ``python tests/web/fake_rasa.py PORT STATE_FILE``. It speaks the same events as
Rasa 3.6's ``socketio`` channel (``session_request``/``session_confirm``,
``user_uttered``/``bot_uttered``), keeps trackers in ``STATE_FILE`` (so a restart keeps
them, like Rasa's SQL tracker store) and answers ``GET /conversations/<id>/tracker``
with the token ``test-token``. ``GET /debug/received`` lists what it received.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

import socketio
from aiohttp import web

TOKEN = "test-token"
XSS_TITLE = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">Trail shoe'


def reply_for(text: str) -> list[dict]:
    """The fake assistant's answers."""
    low = text.lower()
    if low.startswith("/give_feedback"):
        return [{"text": "Thanks for your feedback!"}]
    if low.startswith("/human_handoff"):
        return [
            {
                "text": "I have asked a colleague from our support team to join. Please stay in this chat."
            }
        ]
    if low in ("hi", "hello", "/greet"):
        return [
            {
                "text": "Hello! I can **track orders**, start returns and find products.",
                "quick_replies": [
                    {"content_type": "text", "title": "Track my order", "payload": "/track_order"},
                    {
                        "content_type": "text",
                        "title": "Find a jacket",
                        "payload": "show me jackets",
                    },
                ],
            }
        ]
    if "fleece" in low:  # a product with variants (knowledge/journeys/product_cards.py)
        return [
            {"text": "Here is what I found for fleece:"},
            {
                "type": "carousel",
                "items": [
                    {
                        "sku": "SKU-002",
                        "title": "Summit Fleece",
                        "price": 59.5,
                        "price_to": 64.5,
                        "currency": "EUR",
                        "url": "/products/SKU-002",
                        "options": [
                            {"name": "colour", "values": ["red", "navy"]},
                            {"name": "size", "values": ["M", "L"]},
                        ],
                        "in_stock": True,
                        "buttons": [],
                    },
                    {
                        "sku": "SKU-004",
                        "title": "City Sneaker",
                        "price": 74.0,
                        "currency": "EUR",
                        "url": "/products/SKU-004",
                        "options": [{"name": "size", "values": []}],
                        "in_stock": False,
                        "buttons": [],
                    },
                ],
            },
        ]
    if "jacket" in low or "shoe" in low:
        return [
            {"text": "Here are some products you may like:"},
            {
                "type": "carousel",
                # The item shape of actions/products.py:product_card.
                "items": [
                    {
                        "sku": "SKU-001",
                        "title": "Alpine Rain Jacket",
                        "price": 129.0,
                        "currency": "EUR",
                        "rating": 4.1,
                        "image_url": "/static/img/products/outdoor.svg",
                        "url": "/products/SKU-001",
                        "buttons": [
                            {"title": "Details", "payload": '/product_question{"sku":"SKU-001"}'},
                            {
                                "title": "More like this",
                                "payload": '/recommend_products{"sku":"SKU-001"}',
                            },
                        ],
                    },
                    {
                        "sku": "SKU-003",
                        "title": XSS_TITLE,
                        "price": 89.0,
                        "currency": "EUR",
                        "rating": 4.3,
                        "image_url": "javascript:alert(1)",
                        "url": "/products/SKU-003",
                        "buttons": [
                            {"title": "Details", "payload": '/product_question{"sku":"SKU-003"}'},
                            {
                                "title": "More like this",
                                "payload": '/recommend_products{"sku":"SKU-003"}',
                            },
                        ],
                    },
                ],
            },
        ]
    if low == "list":
        return [
            {
                "text": "Your options:\n- **Cancel** the order\n- Ask for a [refund](/embed)\n- [bad](javascript:alert(1))"
            }
        ]
    return [{"text": f"You said: {text}"}]


def main(port: int, state_file: Path) -> None:
    state = (
        json.loads(state_file.read_text())
        if state_file.exists()
        else {"trackers": {}, "received": []}
    )

    def save() -> None:
        state_file.write_text(json.dumps(state))

    sio = socketio.AsyncServer(async_mode="aiohttp", cors_allowed_origins="*")
    app = web.Application()
    sio.attach(app)

    @sio.on("session_request")
    async def session_request(sid, data):
        session_id = (data or {}).get("session_id")
        await sio.enter_room(sid, session_id)
        await sio.emit("session_confirm", session_id, room=sid)

    @sio.on("user_uttered")
    async def user_uttered(sid, data):
        session_id = data.get("session_id")
        text = data.get("message", "")
        meta = data.get("customData") or {}
        state["received"].append({"session_id": session_id, "text": text, "metadata": meta})
        events = state["trackers"].setdefault(session_id, [])
        events.append({"event": "user", "text": text, "metadata": meta, "timestamp": time.time()})
        save()
        await asyncio.sleep(0.4)  # "thinking", so the typing indicator shows
        for answer in reply_for(text):
            if answer.get("type") == "carousel":
                data_ = {"custom": answer}
            else:
                data_ = {
                    "buttons": [
                        {"title": q["title"], "payload": q["payload"]}
                        for q in answer.get("quick_replies", [])
                    ]
                }
            events.append(
                {
                    "event": "bot",
                    "text": answer.get("text"),
                    "data": data_,
                    "metadata": {},
                    "timestamp": time.time(),
                }
            )
            save()
            await sio.emit("bot_uttered", answer, room=session_id)
        return None

    async def tracker(request):
        if request.query.get("token") != TOKEN:
            return web.json_response({"error": "unauthorised"}, status=401)
        sender = request.match_info["sender"]
        return web.json_response({"sender_id": sender, "events": state["trackers"].get(sender, [])})

    async def received(request):
        return web.json_response(state["received"])

    async def other_shop(request):
        # A page of "another site" (another origin) that embeds the widget.
        server = json.dumps(request.query["server"])
        config = (
            f"window.ShopbotConfig = {{serverUrl: {server}, socketUrl: {json.dumps(f'http://127.0.0.1:{port}')},"
            ' title: "Help desk", greeting: "Welcome to **Another shop**", colours: {primary: "#7a1f16"}};'
        )
        html = (
            "<!doctype html><html><head><title>Another shop</title></head><body><h1>Another shop</h1>"
            f"<script>{config}</script><script src={json.dumps(request.query['server'] + '/widget.js')}></script>"
            "</body></html>"
        )
        return web.Response(text=html, content_type="text/html")

    app.router.add_get("/other-shop", other_shop)
    app.router.add_get("/conversations/{sender}/tracker", tracker)
    app.router.add_get("/debug/received", received)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


if __name__ == "__main__":
    main(int(sys.argv[1]), Path(sys.argv[2]))
