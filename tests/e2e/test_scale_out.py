"""Scale-out endpoints for real: the PostgreSQL tracker store and the Redis lock store
(``bot/endpoints.postgres.yml``), against PostgreSQL on 127.0.0.1:5432 (db ``test``,
trust auth) and Redis on 127.0.0.1:6379."""

from __future__ import annotations

import socket
import uuid

import pytest

from tests.support.servers import BOT, start_stack
from tests.support.shop import cached_shop, copy_shop

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis, pytest.mark.timeout(1800)]
REDIS_DB = "11"


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def services():
    if not (_listening(5432) and _listening(6379)):
        pytest.skip("PostgreSQL on 5432 and Redis on 6379 are needed")


def test_conversation_stored_in_postgres_with_redis_lock(services, rasa_model, tmp_path):
    psycopg2 = pytest.importorskip("psycopg2")
    redis = pytest.importorskip("redis")
    data_dir = copy_shop(cached_shop(), tmp_path / "data")
    env = {
        "SHOPBOT_POSTGRES_HOST": "127.0.0.1",
        "SHOPBOT_POSTGRES_PORT": "5432",
        "SHOPBOT_POSTGRES_DB": "test",
        "SHOPBOT_POSTGRES_USER": "postgres",
        "SHOPBOT_POSTGRES_PASSWORD": "",
        "SHOPBOT_REDIS_HOST": "127.0.0.1",
        "SHOPBOT_REDIS_PORT": "6379",
        "SHOPBOT_REDIS_DB": REDIS_DB,
    }
    sender = f"e2e-pg-{uuid.uuid4().hex[:8]}"
    with start_stack(
        data_dir, model=rasa_model, endpoints=BOT / "endpoints.postgres.yml", env=env
    ) as stack:
        assert stack.chat(sender, "/greet")
        assert stack.chat(sender, '/ask_faq{"faq_key":"shipping-times"}')
        clients = redis.Redis(host="127.0.0.1", port=6379).client_list()
        assert any(str(c.get("db")) == REDIS_DB for c in clients), (
            "Rasa did not connect to the Redis lock store"
        )
        assert "Traceback" not in stack.logs()
    con = psycopg2.connect(host="127.0.0.1", port=5432, dbname="test", user="postgres")
    try:
        with con.cursor() as cur:
            sid = stack.sender(sender)
            cur.execute("SELECT type_name FROM events WHERE sender_id = %s", [sid])
            kinds = {r[0] for r in cur.fetchall()}
            cur.execute("DELETE FROM events WHERE sender_id = %s", [sid])
        con.commit()
    finally:
        con.close()
    assert {"user", "bot", "action"} <= kinds
    assert not (tmp_path / "data" / "tracker.db").exists()
