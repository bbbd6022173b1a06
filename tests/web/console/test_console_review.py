"""Review that improves the assistant: NLU corrections + export, reply pairs, FAQ entries."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import yaml
from console_support import AGENT, console_client, csrf_of, login


def run(coro):
    return asyncio.run(coro)


def _bot_dir(tmp_path: Path) -> Path:
    bot = tmp_path / "bot"
    (bot / "domain").mkdir(parents=True)
    (bot / "data" / "nlu").mkdir(parents=True)
    (bot / "domain" / "intents.yml").write_text(
        'version: "3.1"\nintents:\n- track_order\n- ask_faq\n- product_search\n- greet\n'
        "entities:\n- order_number\n- email\n- product\n",
        encoding="utf-8",
    )
    (bot / "data" / "nlu" / "orders.yml").write_text(
        'version: "3.1"\nnlu:\n- intent: ask_faq\n  examples: |\n    - what is your return policy\n',
        encoding="utf-8",
    )
    return bot


def _event_id(db_path: Path, sid: str, kind: str, index: int = 0) -> int:
    import sqlite3

    conn = sqlite3.connect(db_path)
    rows = conn.execute(
        "SELECT id FROM events WHERE sender_id = ? AND type_name = ? ORDER BY id", (sid, kind)
    ).fetchall()
    conn.close()
    return rows[index][0]


def test_correct_intent_and_export_rasa_nlu(
    console_settings, staff_accounts, seeded, tracker_path, tmp_path
):
    bot_dir = _bot_dir(tmp_path)
    sid = seeded["fallback"]
    ev = _event_id(tracker_path, sid, "user")
    track_ev = _event_id(tracker_path, seeded["track"], "user")
    faq_ev = _event_id(tracker_path, seeded["template"], "user")

    async def scenario():
        async with console_client(console_settings, bot_dir=bot_dir) as client:
            await login(client, *AGENT)
            token = await csrf_of(client)
            html = await (await client.get(f"/console/conversations/{sid}")).text()
            assert '<option value="product_search"' in html  # choices come from the domain
            resp = await client.post(
                f"/console/conversations/{sid}/nlu",
                data={
                    "csrf_token": token,
                    "event_id": str(ev),
                    "intent": "product_search",
                    "entities": "product=gift cards",
                },
            )
            assert "Saved: intent product_search" in await resp.text()
            # A value that is not in the message is refused with a readable message.
            resp = await client.post(
                f"/console/conversations/{sid}/nlu",
                data={
                    "csrf_token": token,
                    "event_id": str(ev),
                    "intent": "product_search",
                    "entities": "product=socks",
                },
            )
            assert "is not in the message text" in await resp.text()
            await client.post(
                f"/console/conversations/{seeded['track']}/nlu",
                data={
                    "csrf_token": token,
                    "event_id": str(track_ev),
                    "intent": "track_order",
                    "entities": "order_number=SB-10042\nemail=jane.doe@example.com",
                },
            )
            # Already in the training data: skipped by the export (rasa data validate stays clean).
            await client.post(
                f"/console/conversations/{seeded['template']}/nlu",
                data={
                    "csrf_token": token,
                    "event_id": str(faq_ev),
                    "intent": "ask_faq",
                    "entities": "",
                },
            )
            # A bot event is not a shopper message.
            resp = await client.post(
                f"/console/conversations/{sid}/nlu",
                data={
                    "csrf_token": token,
                    "event_id": str(_event_id(tracker_path, sid, "bot")),
                    "intent": "greet",
                },
            )
            assert "not a shopper message" in await resp.text()

    run(scenario())

    import argparse

    from shopbot.commands import review_export

    out = bot_dir / "data" / "nlu" / "corrections.yml"
    parser = argparse.ArgumentParser()
    review_export.configure(parser)
    rc = review_export.run(
        parser.parse_args(
            [
                "--out",
                str(out),
                "--bot-dir",
                str(bot_dir),
                "--console-db",
                str(console_settings.console_db),
            ]
        )
    )
    assert rc == 0
    doc = yaml.safe_load(out.read_text(encoding="utf-8"))
    assert doc["version"] == "3.1"
    blocks = {b["intent"]: b["examples"] for b in doc["nlu"]}
    assert set(blocks) == {"product_search", "track_order"}
    assert "[gift cards](product)" in blocks["product_search"]
    assert "Baker Street" not in blocks["product_search"]  # personal data scrubbed
    assert "[SB-10042](order_number)" in blocks["track_order"]
    assert "[customer@example.com](email)" in blocks["track_order"]
    assert "jane.doe" not in out.read_text(encoding="utf-8")


def test_approve_and_correct_replies_become_generator_pairs(
    console_settings, staff_accounts, seeded, tracker_path
):
    pairs = Path(console_settings.data_dir) / "corrections" / "generator_pairs.jsonl"
    gen_ev = _event_id(tracker_path, seeded["track"], "bot")
    tmpl_ev = _event_id(tracker_path, seeded["template"], "bot")
    plain_ev = _event_id(tracker_path, seeded["fallback"], "bot")

    async def scenario():
        async with console_client(console_settings) as client:
            await login(client, *AGENT)
            token = await csrf_of(client)
            resp = await client.post(
                f"/console/conversations/{seeded['track']}/reply",
                data={"csrf_token": token, "event_id": str(gen_ev), "verdict": "approved"},
            )
            assert "saved as a generator training pair" in await resp.text()
            lines = [json.loads(x) for x in pairs.read_text(encoding="utf-8").splitlines()]
            assert lines == [
                {
                    "task": "order_status",
                    "facts": {"order_number": "SB-10042", "carrier": "DHL"},
                    "text": "Your order SB-10042 shipped with DHL, tracking 00340434161234567890.",
                }
            ]
            await client.post(
                f"/console/conversations/{seeded['template']}/reply",
                data={
                    "csrf_token": token,
                    "event_id": str(tmpl_ev),
                    "verdict": "corrected",
                    "text": "Items can be returned within 30 days of delivery.",
                },
            )
            # A second verdict on the same reply replaces its line.
            await client.post(
                f"/console/conversations/{seeded['track']}/reply",
                data={
                    "csrf_token": token,
                    "event_id": str(gen_ev),
                    "verdict": "corrected",
                    "text": "Order SB-10042 is on its way with DHL.",
                },
            )
            resp = await client.post(
                f"/console/conversations/{seeded['fallback']}/reply",
                data={
                    "csrf_token": token,
                    "event_id": str(plain_ev),
                    "verdict": "corrected",
                    "text": "Better.",
                },
            )
            assert "not a training pair" in await resp.text()
            html = await (await client.get(f"/console/conversations/{seeded['track']}")).text()
            assert "corrected: “Order SB-10042 is on its way with DHL.”" in html

    run(scenario())
    lines = [json.loads(x) for x in pairs.read_text(encoding="utf-8").splitlines()]
    assert [(x["task"], x["text"]) for x in lines] == [
        ("faq_answer", "Items can be returned within 30 days of delivery."),
        ("order_status", "Order SB-10042 is on its way with DHL."),
    ]


def test_unanswered_question_becomes_an_faq_entry_in_store_and_index(
    console_settings, staff_accounts, seeded
):
    """Real store and real search indexes (BM25 when no dense index exists yet)."""
    from knowledge.search import SearchIndexes
    from knowledge.store import Store

    store = Store.open(console_settings.db_path)
    store.close()

    async def scenario():
        async with console_client(console_settings) as client:
            await login(client, *AGENT)
            token = await csrf_of(client)
            resp = await client.post(
                f"/console/conversations/{seeded['fallback']}/faq",
                data={
                    "csrf_token": token,
                    "question": "Do you sell gift cards?",
                    "answer": "Yes: gift cards from 10 to 200 EUR, sent by e-mail.",
                    "category": "payment",
                    "alternatives": "can I buy a gift voucher\ngift card for grandma",
                },
            )
            assert "added; the assistant answers it now" in await resp.text()
            resp = await client.post(
                f"/console/conversations/{seeded['fallback']}/faq",
                data={"csrf_token": token, "question": "", "answer": "x"},
            )
            assert "FAQ not added" in await resp.text()

    run(scenario())
    store = Store.open(console_settings.db_path)
    try:
        rows = store.query("SELECT * FROM faq")
        assert [r["question"] for r in rows] == ["Do you sell gift cards?"]
        audit = store.audit_log() if hasattr(store, "audit_log") else []
        assert any(a.get("actor") == f"staff:{AGENT[0]}" for a in audit)
        result = SearchIndexes(console_settings, store).search_faq("gift voucher", k=3)
        assert result.hits and result.hits[0].row["question"] == "Do you sell gift cards?"
    finally:
        store.close()


def test_tags(console_settings, staff_accounts, seeded):
    sid = seeded["track"]

    async def scenario():
        async with console_client(console_settings) as client:
            await login(client, *AGENT)
            token = await csrf_of(client)
            await client.post(
                f"/console/conversations/{sid}/tags", data={"csrf_token": token, "tag": "Shipping"}
            )
            resp = await client.post(
                f"/console/conversations/{sid}/tags", data={"csrf_token": token, "tag": "<script>"}
            )
            assert "tags are 1-40" in await resp.text()
            data = await (await client.get("/console/api/conversations?tag=shipping")).json()
            assert [c["sender_id"] for c in data["items"]] == [sid] and data["items"][0][
                "tags"
            ] == ["shipping"]
            await client.post(
                f"/console/conversations/{sid}/tags/delete",
                data={"csrf_token": token, "tag": "shipping"},
            )
            data = await (await client.get("/console/api/conversations?tag=shipping")).json()
            assert data["items"] == []

    run(scenario())
