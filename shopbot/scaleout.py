"""The scale-out topology as local processes: several Rasa and action servers, two web apps, nginx.

What :func:`start_scaleout` starts (the same shape as ``docker/compose.yml``)::

    shopper ──► nginx front ──► /webhooks/rest/webhook  ─► rasa_rest   (least_conn: any replica)
                            ├─► /socket.io/              ─► rasa_socket (ip_hash: sticky)
                            ├─► /console                 ─► web-1 (the one console process)
                            └─► /                        ─► web-1, web-2
    web apps, console ──► nginx internal "rasa API" port ─► every Rasa replica
    Rasa replicas     ──► nginx internal "actions" port  ─► every action server
    Rasa replicas: tracker store in PostgreSQL, conversation lock in Redis
    web apps: live handoff hub on Redis pub/sub (``SHOPBOT_LIVE_HUB``); the console's
    sync reads the PostgreSQL tracker store

Every Rasa replica reads ``bot/endpoints.postgres.yml`` (values from ``SHOPBOT_POSTGRES_*``
and ``SHOPBOT_REDIS_*``), so any replica serves any conversation and the lock store
serialises one conversation's messages across replicas. Rasa saves a turn's events in one
transaction at the end of the turn, so a replica that dies in the middle of a turn leaves
nothing of it behind; the shopper's client gets a 502 from nginx and sends the message
again, and the replica it lands on waits for the dead replica's lock ticket to expire
(``TICKET_LOCK_LIFETIME``, ``lock_lifetime_s`` here).

:func:`run_load` is the load client used by ``shopbot bench scale-out`` and the tests:
concurrent shoppers over the REST channel, each message retried on a retryable error.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import shutil
import signal
import statistics
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shopbot.stack import (
    BOT,
    NO_GENERATOR_URL,
    REPO,
    VENV_BIN,
    _env,
    _spawn,
    _wait_for,
    free_port,
    fresh_secrets,
    load_examples,
    secrets_env,
)

logger = logging.getLogger(__name__)

ENDPOINTS = BOT / "endpoints.postgres.yml"
#: HTTP statuses a shopper's client may send the same message again after.
RETRYABLE = (502, 503, 504)
#: The six everyday messages of issue 14, then an order lookup over three turns.
EVERYDAY = (
    "hi",
    "how long does delivery take?",
    "do you have running shoes?",
    "what is your return policy?",
    "can you recommend a gift for my dad?",
    "where is my order?",
)


# --------------------------------------------------------------------------- backing services
@dataclass(frozen=True)
class Backing:
    """Where the shared state lives: PostgreSQL (tracker store) and Redis (lock store, hub).

    Attributes:
        pg_host / pg_port / pg_db / pg_user / pg_password: The tracker store's database
            (created when missing).
        redis_host / redis_port / redis_db: Redis; Rasa's locks use the key prefix
            ``shopbot`` (endpoints file), the live hub ``hub_prefix``.
        hub_prefix: Key prefix of the live handoff hub.
    """

    pg_host: str = "127.0.0.1"
    pg_port: int = 5432
    pg_db: str = "shopbot_scaleout"
    pg_user: str = "postgres"
    pg_password: str = ""
    redis_host: str = "127.0.0.1"
    redis_port: int = 6379
    redis_db: int = 13
    hub_prefix: str = "shopbot:live"

    @property
    def tracker_url(self) -> str:
        """SQLAlchemy URL of the tracker store (what the console's sync reads)."""
        auth = self.pg_user + (f":{self.pg_password}" if self.pg_password else "")
        return f"postgresql://{auth}@{self.pg_host}:{self.pg_port}/{self.pg_db}"

    @property
    def hub_url(self) -> str:
        """``SHOPBOT_LIVE_HUB`` of the web apps."""
        return (
            f"redis://{self.redis_host}:{self.redis_port}/{self.redis_db}?prefix={self.hub_prefix}"
        )

    def env(self) -> dict[str, str]:
        """The variables ``bot/endpoints.postgres.yml`` and the web apps read."""
        return {
            "SHOPBOT_POSTGRES_HOST": self.pg_host,
            "SHOPBOT_POSTGRES_PORT": str(self.pg_port),
            "SHOPBOT_POSTGRES_DB": self.pg_db,
            "SHOPBOT_POSTGRES_USER": self.pg_user,
            "SHOPBOT_POSTGRES_PASSWORD": self.pg_password,
            "SHOPBOT_REDIS_HOST": self.redis_host,
            "SHOPBOT_REDIS_PORT": str(self.redis_port),
            "SHOPBOT_REDIS_DB": str(self.redis_db),
            "SHOPBOT_TRACKER_STORE_URL": self.tracker_url,
            "SHOPBOT_LIVE_HUB": self.hub_url,
        }

    def connect(self, db: str | None = None) -> Any:
        """A psycopg2 connection to the tracker database (or ``db``)."""
        import psycopg2

        return psycopg2.connect(
            host=self.pg_host,
            port=self.pg_port,
            dbname=db or self.pg_db,
            user=self.pg_user,
            password=self.pg_password or None,
            connect_timeout=5,
        )

    def ensure_database(self) -> None:
        """Create the tracker database when it does not exist yet."""
        con = self.connect("postgres")
        try:
            con.autocommit = True
            with con.cursor() as cur:
                cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [self.pg_db])
                if cur.fetchone() is None:
                    # The name is ours (a dataclass field), not user input; quoted anyway.
                    cur.execute(f'CREATE DATABASE "{self.pg_db}"')
        finally:
            con.close()


def event_counts(backing: Backing, senders: list[str]) -> dict[str, Any]:
    """Events of ``senders`` in the tracker store: total, newest id, user texts per sender.

    Returns:
        ``{"events": n, "max_id": id, "user_texts": {sender: [text, ...]}}`` (texts in id
        order; a conversation without events is missing from ``user_texts``).
    """
    con = backing.connect()
    try:
        with con.cursor() as cur:
            if not _has_events_table(cur):
                return {"events": 0, "max_id": 0, "user_texts": {}}
            cur.execute(
                "SELECT count(*), coalesce(max(id), 0) FROM events WHERE sender_id = ANY(%s)",
                [senders],
            )
            total, max_id = cur.fetchone()
            cur.execute(
                "SELECT sender_id, data FROM events WHERE sender_id = ANY(%s) "
                "AND type_name = 'user' ORDER BY id",
                [senders],
            )
            texts: dict[str, list[str]] = {}
            for sender, data in cur.fetchall():
                try:
                    text = json.loads(data or "{}").get("text") or ""
                except ValueError:
                    text = ""
                texts.setdefault(sender, []).append(str(text))
    finally:
        con.close()
    return {"events": int(total), "max_id": int(max_id), "user_texts": texts}


def count_events_up_to(backing: Backing, senders: list[str], max_id: int) -> int:
    """How many events of ``senders`` with an id up to ``max_id`` the store holds."""
    con = backing.connect()
    try:
        with con.cursor() as cur:
            cur.execute(
                "SELECT count(*) FROM events WHERE sender_id = ANY(%s) AND id <= %s",
                [senders, max_id],
            )
            return int(cur.fetchone()[0])
    finally:
        con.close()


def _has_events_table(cur: Any) -> bool:
    cur.execute("SELECT to_regclass('public.events')")
    return cur.fetchone()[0] is not None


# --------------------------------------------------------------------------- nginx
def nginx_available() -> str | None:
    """Path of Debian's nginx binary, or None."""
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.path.exists(p)), None
    )


def render_nginx_conf(
    prefix: Path,
    front_port: int,
    api_port: int,
    actions_port: int,
    rasa_ports: list[int],
    action_ports: list[int],
    web_ports: list[int],
) -> str:
    """nginx configuration of the local topology (same routes as ``docker/nginx.conf``).

    Args:
        prefix: nginx's working folder (pid, logs, temp files).
        front_port: The public port (the only one a shopper or agent uses).
        api_port: Internal port balancing Rasa's HTTP API (for the web apps and console).
        actions_port: Internal port balancing the action servers (for Rasa).
        rasa_ports / action_ports / web_ports: The replicas in the pools; the first web
            app is the one that runs the support console.

    Returns:
        The configuration text.
    """

    def servers(ports: list[int]) -> str:
        return "".join(f"    server 127.0.0.1:{p} max_fails=1 fail_timeout=10s;\n" for p in ports)

    tmp = prefix / "tmp"
    return f"""# Written by shopbot.scaleout; the local twin of docker/nginx.conf.
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 2048; }}
http {{
  access_log off;
  client_body_temp_path {tmp}/body;
  proxy_temp_path {tmp}/proxy;
  fastcgi_temp_path {tmp}/fastcgi;
  uwsgi_temp_path {tmp}/uwsgi;
  scgi_temp_path {tmp}/scgi;
  client_max_body_size 1m;
  # Bodies and answers stay in memory: no temp files (workers of an nginx started as root
  # run as nobody and could not write them under a private folder).
  client_body_buffer_size 4m;
  proxy_max_temp_file_size 0;
  proxy_read_timeout 300s;
  proxy_send_timeout 300s;
  # A replica that refuses the connection is skipped; a request already sent to a replica
  # that then dies is not sent again (POST): the client gets a 502 and retries.
  proxy_next_upstream error timeout;
  proxy_next_upstream_tries 2;
  upstream rasa_rest {{
    least_conn;
{servers(rasa_ports)}  }}
  upstream rasa_socket {{
    ip_hash;
{servers(rasa_ports)}  }}
  upstream rasa_api {{
    least_conn;
{servers(rasa_ports)}  }}
  upstream actions {{
    least_conn;
{servers(action_ports)}  }}
  upstream web {{
{servers(web_ports)}  }}
  upstream console {{
{servers(web_ports[:1])}  }}
  server {{
    listen 127.0.0.1:{front_port};
    proxy_set_header Host $http_host;
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    proxy_set_header X-Forwarded-Proto $scheme;
    location /socket.io/ {{
      proxy_pass http://rasa_socket;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection "upgrade";
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
    }}
    location = /webhooks/rest/webhook {{ proxy_pass http://rasa_rest; }}
    location /api/live {{
      proxy_pass http://web;
      proxy_http_version 1.1;
      proxy_buffering off;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
    }}
    location /console {{ proxy_pass http://console; }}
    location / {{ proxy_pass http://web; }}
  }}
  server {{
    listen 127.0.0.1:{api_port};
    client_max_body_size 4m;
    location / {{ proxy_pass http://rasa_api; }}
  }}
  server {{
    listen 127.0.0.1:{actions_port};
    # Rasa posts whole trackers here (the action server takes up to 2 MB).
    client_max_body_size 4m;
    location / {{ proxy_pass http://actions; }}
  }}
}}
"""


# --------------------------------------------------------------------------- the topology
@dataclass
class Proc:
    """One server process of the topology."""

    name: str
    argv: list[str]
    cwd: Path
    env: dict[str, str]
    log: Path
    health_url: str
    process: subprocess.Popen | None = None
    restarts: int = 0

    def start(self) -> None:
        """Spawn it (in its own process group), appending to a fresh log file."""
        log = self.log if not self.restarts else self.log.with_suffix(f".{self.restarts}.log")
        self.process = _spawn(self.argv, self.cwd, self.env, log)
        self.restarts += 1

    def wait_ready(self, timeout_s: float) -> None:
        """Wait until its health URL answers 200."""
        assert self.process is not None
        _wait_for(self.health_url, self.process, self.name, self.log, timeout_s)

    def signal(self, sig: int) -> None:
        """Send ``sig`` to its process group."""
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, sig)

    def stop(self, timeout_s: float = 20) -> None:
        """SIGTERM, then SIGKILL after ``timeout_s``."""
        if self.process is None:
            return
        self.signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    @property
    def alive(self) -> bool:
        """Whether the process runs."""
        return self.process is not None and self.process.poll() is None


@dataclass
class ScaleOut:
    """A running scale-out topology (see the module docstring).

    Attributes:
        data_dir: The shop (``shop.db``, ``indexes/``), the console database and logs.
        backing: PostgreSQL and Redis.
        front_url: nginx's public address (REST channel, Socket.IO, web app, console).
        rasa_api_url: nginx's internal port in front of Rasa's HTTP API.
        rasa: The Rasa replicas, ``actions`` the action servers, ``web`` the web apps.
        secrets: Every secret of this topology (``rasa_token``, ``session_secret``...).
        staff: ``(email, password)`` of a support-console account.
    """

    data_dir: Path
    backing: Backing
    front_url: str
    rasa_api_url: str
    rasa: list[Proc]
    actions: list[Proc]
    web: list[Proc]
    nginx: Proc
    nginx_prefix: Path
    ports: dict[str, Any]
    secrets: dict[str, str]
    staff: tuple[str, str]
    examples: dict[str, dict[str, str]] = field(default_factory=dict)
    in_pool: int = 0

    @property
    def rasa_urls(self) -> list[str]:
        """Each Rasa replica's own address (bypassing nginx)."""
        return [f"http://127.0.0.1:{p}" for p in self.ports["rasa"]]

    def sender(self, label: str) -> str:
        """The conversation id the web app would issue for ``label`` (stable per label)."""
        from knowledge.identity import issue_conversation_id

        nonce = hashlib.sha256(label.encode()).hexdigest()[:32]
        return issue_conversation_id(self.secrets["session_secret"], nonce)

    def use_replicas(self, count: int) -> None:
        """Put the first ``count`` Rasa and action servers in nginx's pools (reload)."""
        count = max(1, min(count, len(self.rasa)))
        conf = render_nginx_conf(
            self.nginx_prefix,
            self.ports["front"],
            self.ports["api"],
            self.ports["actions_front"],
            self.ports["rasa"][:count],
            self.ports["actions"][:count],
            self.ports["web"],
        )
        (self.nginx_prefix / "nginx.conf").write_text(conf)
        if self.nginx.alive:
            subprocess.run(
                [*self.nginx.argv[:5], "-s", "reload"],
                check=True,
                capture_output=True,
                timeout=30,
            )
            # The old worker finishes what it holds; new requests go by the new pools.
            time.sleep(1.0)
        self.in_pool = count

    def kill_rasa(self, index: int, sig: int = signal.SIGKILL) -> None:
        """Stop one Rasa replica with ``sig`` (SIGKILL: as a crash; SIGTERM: a shutdown)."""
        self.rasa[index].signal(sig)

    def restart_rasa(self, index: int, timeout_s: float = 600) -> None:
        """Start a stopped Rasa replica again on its port and wait until it serves."""
        proc = self.rasa[index]
        if proc.process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.process.wait(timeout=30)
        proc.start()
        proc.wait_ready(timeout_s)

    def logs(self) -> str:
        """Everything the servers logged."""
        parts = []
        for path in sorted((self.data_dir / "logs").glob("*.log")):
            parts.append(f"==> {path.name}\n{path.read_text(errors='replace')}")
        return "\n".join(parts)

    def stop(self) -> None:
        """Stop nginx, the web apps, Rasa and the action servers."""
        for proc in [self.nginx, *self.web, *self.rasa, *self.actions]:
            proc.signal(signal.SIGTERM)
        for proc in [self.nginx, *self.web, *self.rasa, *self.actions]:
            with contextlib.suppress(Exception):
                proc.stop()

    def __enter__(self) -> ScaleOut:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_scaleout(
    data_dir: str | Path,
    model: str | Path,
    replicas: int = 2,
    web_processes: int = 2,
    backing: Backing | None = None,
    lock_lifetime_s: int = 30,
    start_timeout_s: float = 900,
    env: dict[str, str] | None = None,
) -> ScaleOut:
    """Start the scale-out topology over the built shop in ``data_dir``.

    Args:
        data_dir: A built shop (``shop.db`` and ``indexes/``); logs go to ``data_dir/logs``.
        model: The trained Rasa model every replica serves.
        replicas: Rasa servers and action servers (as many of each).
        web_processes: Web app processes (the first one runs the support console).
        backing: PostgreSQL and Redis (default :class:`Backing`).
        lock_lifetime_s: Rasa's ``TICKET_LOCK_LIFETIME``: how long a dead replica's lock on
            a conversation holds up the next message of that conversation.
        start_timeout_s: How long each server may take to come up (Rasa loads its model).
        env: Extra environment for every process.

    Returns:
        The running :class:`ScaleOut`, all replicas in nginx's pools.

    Raises:
        RuntimeError: nginx is not installed, or a server did not start.
    """
    nginx_bin = nginx_available()
    if nginx_bin is None:
        raise RuntimeError("nginx is needed (Debian: apt-get install nginx-light)")
    backing = backing or Backing()
    backing.ensure_database()
    data_dir = Path(data_dir).resolve()
    logs = data_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    ports: dict[str, Any] = {
        "front": free_port(),
        "api": free_port(),
        "actions_front": free_port(),
        "rasa": [free_port() for _ in range(replicas)],
        "actions": [free_port() for _ in range(replicas)],
        "web": [free_port() for _ in range(web_processes)],
    }
    stack_secrets = fresh_secrets()
    front_url = f"http://127.0.0.1:{ports['front']}"
    api_url = f"http://127.0.0.1:{ports['api']}"
    full_env = _env(
        {
            "SHOPBOT_DATA_DIR": str(data_dir),
            "SHOPBOT_ACTION_SERVER_URL": f"http://127.0.0.1:{ports['actions_front']}/webhook",
            "SHOPBOT_RASA_URL": api_url,
            "SHOPBOT_GENERATOR_URL": NO_GENERATOR_URL,
            "SHOPBOT_GENERATOR_TIMEOUT_S": "0.3",
            "SHOPBOT_INTERNAL_HOST": "127.0.0.1",
            "SHOPBOT_TRUSTED_PROXIES": "127.0.0.1",
            "TICKET_LOCK_LIFETIME": str(lock_lifetime_s),
            **backing.env(),
            **secrets_env(stack_secrets),
            **(env or {}),
        }
    )
    staff = _add_staff(data_dir, full_env)
    shopbot = str(VENV_BIN / "shopbot")
    actions = [
        Proc(
            f"actions-{i + 1}",
            [shopbot, "actions", "serve", "--port", str(port)],
            REPO,
            full_env,
            logs / f"actions-{i + 1}.log",
            f"http://127.0.0.1:{port}/health",
        )
        for i, port in enumerate(ports["actions"])
    ]
    rasa = [
        Proc(
            f"rasa-{i + 1}",
            [
                shopbot,
                "rasa",
                "serve",
                "--port",
                str(port),
                "--model",
                str(model),
                "--endpoints",
                str(ENDPOINTS),
                "--credentials",
                str(BOT / "credentials.yml"),
            ],
            BOT,
            full_env,
            logs / f"rasa-{i + 1}.log",
            f"http://127.0.0.1:{port}/status?token={stack_secrets['rasa_token']}",
        )
        for i, port in enumerate(ports["rasa"])
    ]
    web = []
    for i, port in enumerate(ports["web"]):
        argv = [shopbot, "web", "serve", "--port", str(port), "--socket-url", front_url]
        if i > 0:
            argv.append("--no-console")  # the console's own database has one writer
        web.append(
            Proc(
                f"web-{i + 1}",
                argv,
                REPO,
                full_env,
                logs / f"web-{i + 1}.log",
                f"http://127.0.0.1:{port}/healthz",
            )
        )
    prefix = data_dir / "nginx"
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (prefix / "tmp" / sub).mkdir(parents=True, exist_ok=True)
    nginx = Proc(
        "nginx",
        [nginx_bin, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-g", "daemon off;"],
        prefix,
        full_env,
        logs / "nginx.log",
        f"{front_url}/healthz",
    )
    topo = ScaleOut(
        data_dir,
        backing,
        front_url,
        api_url,
        rasa,
        actions,
        web,
        nginx,
        prefix,
        ports,
        stack_secrets,
        staff,
    )
    try:
        # Every replica loads at once; on 2 cores a Rasa model takes 1.5-3 minutes.
        for proc in [*actions, *rasa]:
            proc.start()
        for proc in [*actions, *rasa]:
            proc.wait_ready(start_timeout_s)
            logger.info("%s is up", proc.name)
        for proc in web:
            proc.start()
        for proc in web:
            proc.wait_ready(start_timeout_s)
        topo.use_replicas(replicas)
        # -g "daemon off;" must come last for the reload command (argv[:5] + -s reload).
        nginx.start()
        nginx.wait_ready(60)
    except BaseException:
        topo.stop()
        raise
    topo.examples = load_examples(data_dir)
    return topo


def _add_staff(data_dir: Path, env: dict[str, str]) -> tuple[str, str]:
    """A support-console agent account in the topology's console database."""
    import secrets as _secrets

    from web.console.auth import AuthError, add_staff, set_password
    from web.console.db import ConsoleDB

    email, password = "bench.agent@example.com", _secrets.token_urlsafe(18)
    db = ConsoleDB(Path(env.get("SHOPBOT_CONSOLE_DB") or data_dir / "console.db"))
    try:
        try:
            add_staff(db, email, password, role="admin")
        except AuthError:  # a reused data folder: the account exists
            row = db.one("SELECT id FROM staff WHERE email = ?", (email,)) or {}
            set_password(db, int(row["id"]), password)
    finally:
        db.close()
    return email, password


# --------------------------------------------------------------------------- load
@dataclass
class Turn:
    """One shopper message and what became of it."""

    sender: str
    index: int
    text: str
    answered: bool = False
    status: int = 0
    attempts: int = 0
    latency_s: float = 0.0
    replies: list[str] = field(default_factory=list)
    error: str = ""


@dataclass
class LoadResult:
    """A load run: every turn, wall time and the derived figures."""

    turns: list[Turn]
    wall_s: float
    conversations: int

    @property
    def answered(self) -> int:
        """Turns that got a reply (after retries)."""
        return sum(t.answered for t in self.turns)

    @property
    def unanswered(self) -> list[Turn]:
        """Turns without a reply after every attempt."""
        return [t for t in self.turns if not t.answered]

    @property
    def retries(self) -> int:
        """Extra attempts the clients made."""
        return sum(max(0, t.attempts - 1) for t in self.turns)

    @property
    def throughput(self) -> float:
        """Answered turns per second of wall time."""
        return self.answered / self.wall_s if self.wall_s else 0.0

    def latency_ms(self, q: float) -> float:
        """Quantile ``q`` (0..1) of the answered turns' latency, retries included."""
        values = sorted(t.latency_s for t in self.turns if t.answered)
        if not values:
            return 0.0
        if len(values) == 1:
            return values[0] * 1000
        return statistics.quantiles(values, n=100, method="inclusive")[int(q * 100) - 1] * 1000

    def trouble(self, marker: str) -> int:
        """Turns answered with a reply containing ``marker`` (the service-trouble text)."""
        return sum(any(marker in r for r in t.replies) for t in self.turns)


def shopper_script(examples: dict[str, dict[str, str]]) -> list[str]:
    """The messages each shopper sends: the everyday six, then an order lookup."""
    example = next(iter(examples.values()), None)
    script = list(EVERYDAY)
    if example:
        script += [example["order_number"], example["email"]]
    return script


def client_address(sender: str) -> str:
    """A made-up shopper address per conversation (sent as ``X-Forwarded-For``)."""
    digest = hashlib.sha256(sender.encode()).digest()
    return f"10.{digest[0]}.{digest[1]}.{digest[2] or 1}"


async def run_load(
    url: str,
    senders: list[str],
    script: list[str],
    concurrency: int,
    on_turn: Callable[[Turn, int], None] | None = None,
    timeout_s: float = 300,
    max_attempts: int = 6,
    retry_wait_s: float = 1.0,
) -> LoadResult:
    """Shoppers over the REST channel: ``concurrency`` at a time, each sending ``script``.

    A message that fails with a connection error or a retryable status (502/503/504) is
    sent again after ``retry_wait_s`` (doubling), up to ``max_attempts`` times.

    Args:
        url: The REST webhook (``<front>/webhooks/rest/webhook``) or a Rasa replica's.
        senders: One issued conversation id per shopper.
        script: The messages of each shopper, in order (the next one after the reply).
        concurrency: Shoppers talking at the same time (no think time).
        on_turn: Called after each finished turn with the turn and the count so far.
        timeout_s: Per request.
        max_attempts: Attempts per message.
        retry_wait_s: First wait before a retry.

    Returns:
        The :class:`LoadResult`.
    """
    import aiohttp

    queue: asyncio.Queue[str] = asyncio.Queue()
    for sender in senders:
        queue.put_nowait(sender)
    turns: list[Turn] = []
    timeout = aiohttp.ClientTimeout(total=timeout_s)

    async def shopper(http: aiohttp.ClientSession) -> None:
        while True:
            try:
                sender = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            for index, text in enumerate(script):
                turn = await send(http, sender, index, text)
                turns.append(turn)
                if on_turn is not None:
                    on_turn(turn, len(turns))

    async def send(http: aiohttp.ClientSession, sender: str, index: int, text: str) -> Turn:
        turn = Turn(sender, index, text)
        started = time.monotonic()
        wait = retry_wait_s
        headers = {"X-Forwarded-For": client_address(sender)}
        while turn.attempts < max_attempts:
            turn.attempts += 1
            try:
                async with http.post(
                    url, json={"sender": sender, "message": text}, headers=headers
                ) as resp:
                    turn.status = resp.status
                    if resp.status == 200:
                        body = await resp.json()
                        turn.replies = [
                            str(m.get("text") or json.dumps(m.get("custom") or m))
                            for m in body or []
                        ]
                        turn.answered = bool(turn.replies)
                        if not turn.answered:
                            turn.error = "empty reply"
                        break
                    turn.error = f"HTTP {resp.status}"
                    if resp.status not in RETRYABLE:
                        break
            except (aiohttp.ClientError, TimeoutError) as exc:
                turn.error = f"{type(exc).__name__}: {exc}"[:200]
            await asyncio.sleep(wait)
            wait = min(wait * 2, 10.0)
        turn.latency_s = time.monotonic() - started
        return turn

    started = time.monotonic()
    connector = aiohttp.TCPConnector(limit=max(concurrency * 2, 10))
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as http:
        await asyncio.gather(*(shopper(http) for _ in range(concurrency)))
    return LoadResult(turns, time.monotonic() - started, len(senders))


def load_average() -> str:
    """The 1/5/15-minute load averages, as ``uptime`` prints them."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f}, {five:.2f}, {fifteen:.2f}"


# --------------------------------------------------------------------------- the console
class ConsoleClient:
    """A support agent's session with the console, through the front door.

    Use as ``async with ConsoleClient(url, email, password) as console: ...``.
    """

    def __init__(self, front_url: str, email: str, password: str) -> None:
        self.front_url = front_url.rstrip("/")
        self.email = email
        self.password = password
        self.csrf = ""
        self._http: Any = None

    async def __aenter__(self) -> ConsoleClient:
        import re

        import aiohttp

        # unsafe: keep cookies for an IP-address host (127.0.0.1).
        self._http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        base = f"{self.front_url}/console"
        async with self._http.get(f"{base}/login") as resp:
            page = await resp.text()
        match = re.search(r'name="csrf_token" value="([^"]+)"', page)
        if not match:
            raise RuntimeError("the console's login form has no CSRF token")
        form = {
            "email": self.email,
            "password": self.password,
            "csrf_token": match.group(1),
            "next": "/console/",
        }
        async with self._http.post(f"{base}/login", data=form) as resp:
            if resp.status >= 400:
                raise RuntimeError(f"console login failed: HTTP {resp.status}")
        async with self._http.get(f"{base}/api/me") as resp:
            if resp.status != 200:
                raise RuntimeError(f"console login failed: /api/me HTTP {resp.status}")
            self.csrf = (await resp.json())["csrf_token"]
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._http.close()

    async def conversations(self) -> set[str]:
        """Every conversation id the console lists (all pages)."""
        seen: set[str] = set()
        cursor: str | None = None
        while True:
            params = {"limit": "200", **({"after": cursor} if cursor else {})}
            url = f"{self.front_url}/console/api/conversations"
            async with self._http.get(url, params=params) as resp:
                if resp.status != 200:
                    raise RuntimeError(f"console list failed: HTTP {resp.status}")
                page = await resp.json()
            seen.update(str(item["sender_id"]) for item in page.get("items", []))
            cursor = page.get("next")
            if not cursor:
                return seen

    async def take(self, sender_id: str) -> None:
        """Take the conversation (the console pauses the bot and tells the widget)."""
        url = f"{self.front_url}/console/live/{sender_id}/take"
        headers = {"X-CSRF-Token": self.csrf}
        async with self._http.post(url, headers=headers, allow_redirects=False) as resp:
            if resp.status >= 400:
                raise RuntimeError(f"take failed: HTTP {resp.status}")

    async def send(self, sender_id: str, text: str) -> dict[str, Any]:
        """Send an agent message to the shopper; the console's answer."""
        url = f"{self.front_url}/console/api/live/{sender_id}/messages"
        headers = {"X-CSRF-Token": self.csrf}
        async with self._http.post(url, json={"text": text}, headers=headers) as resp:
            body = await resp.json()
            if resp.status != 200:
                raise RuntimeError(f"send failed: HTTP {resp.status} {body}")
            return dict(body)


async def console_conversations(front_url: str, email: str, password: str) -> set[str]:
    """Every conversation id the support console lists (logged in through the front door)."""
    async with ConsoleClient(front_url, email, password) as console:
        return await console.conversations()
