"""The shopbot web app: demo storefront, shopper widget, its API and the embed guide.

``create_app(settings)`` builds the aiohttp application. It serves:

* the storefront (``/``, ``/category/<name>``, ``/products/<sku>``, ``/search``) with the
  widget on every page, and ``/embed`` (how to put the widget on another site);
* the widget (``/widget.js``, ``/widget.css``) and its browser libraries from npm under
  ``/vendor/`` (no CDN);
* the widget's API: ``POST /api/session`` (a new unguessable conversation id),
  ``GET /api/history`` (the conversation's messages, read from Rasa's tracker with the
  Rasa token that only this app holds) and ``GET /api/live`` (server-sent events of the
  live handoff hub, :mod:`web.live`);
* the support console from ``web.console`` under ``/console`` when that package exists.
"""

from __future__ import annotations

import importlib
import json
import logging
import math
import time
import warnings
from collections import defaultdict, deque
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

import aiohttp
import jinja2
from aiohttp import web

from shopbot.config import Settings
from web.history import RasaUnavailable, fetch_tracker, merge_live_events, messages_from_events
from web.images import placeholder_svg, slug
from web.live import Hub, create_hub, staff_key
from web.security import content_security_policy, forwarded_middleware, security_headers_hook
from web.sessions import SessionRegistry

logger = logging.getLogger(__name__)

ResponseT = TypeVar("ResponseT", bound=web.StreamResponse)


WEB_DIR = Path(__file__).resolve().parent
STATIC_DIR = WEB_DIR / "static"
TEMPLATES_DIR = WEB_DIR / "templates"
NODE_MODULES = WEB_DIR / "node_modules"

# Browser libraries served from node_modules (installed by scripts/install.sh).
VENDOR_DIRS = {
    "socket.io": NODE_MODULES / "socket.io-client" / "dist",
    "chart.js": NODE_MODULES / "chart.js" / "dist",
}

DEMO_COOKIE = "shopbot_demo_customer"
PAGE_SIZE = 24
HEARTBEAT_S = 15.0

# Keys of the application mapping (plain strings, so the console can read them too).
HUB = "live_hub"
SETTINGS = "settings"


def json_for_script(value: Any) -> str:
    """JSON safe to place inside ``<script type="application/json">``."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def format_price(value: Any, currency: str | None = "EUR") -> str:
    """``12.5, "EUR"`` -> ``"€12.50"``."""
    try:
        amount = float(value)
    except (TypeError, ValueError):
        return ""
    symbol = {"EUR": "€", "USD": "$", "GBP": "£"}.get((currency or "").upper())
    return f"{symbol}{amount:,.2f}" if symbol else f"{amount:,.2f} {currency or ''}".strip()


def product_image(product: dict[str, Any]) -> str:
    """The product's picture URL: its own if local or https, else the category placeholder."""
    url = str(product.get("image_url") or "")
    if url.startswith("/") and not url.startswith("//"):
        return url
    if url.startswith("https://"):
        return url
    return f"/static/img/products/{slug(product.get('category') or 'product')}.svg"


def product_link(product: dict[str, Any]) -> str:
    """The storefront URL of a product."""
    return f"/products/{quote(str(product.get('sku', '')), safe='')}"


def category_link(name: str) -> str:
    """The storefront URL of a category."""
    return f"/category/{quote(str(name), safe='')}"


class RateLimiter:
    """At most ``limit`` events per ``window_s`` per key (in memory, per process)."""

    def __init__(self, limit: int, window_s: float) -> None:
        self.limit = limit
        self.window_s = window_s
        self._hits: dict[str, deque[float]] = defaultdict(deque)

    def allow(self, key: str) -> bool:
        """Record one event for ``key``; False when over the limit."""
        now = time.monotonic()
        hits = self._hits[key]
        while hits and now - hits[0] > self.window_s:
            hits.popleft()
        if len(hits) >= self.limit:
            return False
        hits.append(now)
        return True


def set_keys(app: web.Application, **values: Any) -> None:
    """Store values under plain string keys (the console reads ``app["live_hub"]`` by name)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", web.NotAppKeyWarning)
        for key, value in values.items():
            app[key] = value


def create_app(
    settings: Settings,
    *,
    hub: Hub | None = None,
    store: Any | None = None,
    socket_url: str | None = None,
    public_url: str = "",
    mount_console: bool = True,
    session_limit_per_minute: int = 60,
) -> web.Application:
    """Build the web application.

    Args:
        settings: Paths, Rasa URL/token and customer-token secret come from here.
        hub: The live handoff hub (default: :func:`web.live.create_hub` of
            ``settings.live_hub``, in-process unless it names Redis); ``app["live_hub"]``.
        store: A ``knowledge.store.Store`` (default: opened from ``settings.db_path`` at startup).
        socket_url: Where browsers reach Rasa's Socket.IO channel (default ``settings.rasa_url``).
        public_url: Absolute base URL of this app as browsers see it ("" = same origin);
            used in the embed guide's snippet.
        mount_console: Mount ``web.console.create_console_app`` under ``/console`` if present.
        session_limit_per_minute: New conversation ids one client address may ask for per minute.

    Returns:
        The aiohttp application (not started).
    """
    hub = hub if hub is not None else create_hub(getattr(settings, "live_hub", ""))
    socket_url = socket_url or settings.rasa_url
    csp = content_security_policy([socket_url])
    app = web.Application(
        middlewares=[forwarded_middleware(settings.trusted_proxies), _error_middleware],
        client_max_size=64 * 1024,
    )
    # aiohttp 3.9 types its signals for aiosignal < 1.4 (installed: 1.4, TypeVarTuple).
    app.on_response_prepare.append(security_headers_hook(csp))  # type: ignore[arg-type]
    jinja = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    set_keys(
        app,
        settings=settings,
        live_hub=hub,
        socket_url=socket_url,
        public_url=public_url.rstrip("/"),
        sessions=SessionRegistry(Path(settings.data_dir) / "web.db", settings.session_secret),
        session_limiter=RateLimiter(session_limit_per_minute, 60.0),
        store=store,
        owns_store=store is None,
        jinja=jinja,
    )
    app["jinja"].globals.update(
        format_price=format_price,
        product_image=product_image,
        product_link=product_link,
        category_link=category_link,
        slug=slug,
    )

    # aiohttp 3.9 types its signals for aiosignal < 1.4 (installed: 1.4, TypeVarTuple).
    app.on_startup.append(_on_startup)  # type: ignore[arg-type]
    app.on_shutdown.append(_on_shutdown)  # type: ignore[arg-type]
    app.on_cleanup.append(_on_cleanup)  # type: ignore[arg-type]

    r = app.router
    r.add_get("/", home)
    r.add_get("/category/{name}", category_page)
    r.add_get("/products/{sku}", product_page)
    r.add_get("/search", search_page)
    r.add_get("/embed", embed_page)
    if settings.demo_mode:
        r.add_post("/demo/login", demo_login)
        r.add_post("/demo/logout", demo_logout)
    r.add_get("/healthz", healthz)
    r.add_get("/health", healthz)
    r.add_get("/widget.js", _static_file("widget.js", "application/javascript"))
    r.add_get("/widget.css", _static_file("widget.css", "text/css"))
    r.add_get("/static/img/products/{name}.svg", product_svg)
    r.add_static("/static", str(STATIC_DIR))
    for name, folder in VENDOR_DIRS.items():
        if folder.is_dir():
            r.add_static(f"/vendor/{name}", str(folder))
        else:
            logger.warning("%s missing: run `npm install` in web/ (scripts/install.sh)", folder)
    r.add_post("/api/session", api_session)
    r.add_get("/api/history", api_history)
    r.add_get("/api/live", api_live)
    r.add_route("OPTIONS", "/api/{tail:.*}", api_preflight)

    add_shop_webhook_routes(app)  # issue 15: webhooks from a connected shop

    # Unknown paths outside /console get the shop's 404 page here, before aiohttp reaches
    # the console's sub-app resolver.
    r.add_route("*", r"/{tail:(?!console(?:/|$)).*}", _not_found)
    if mount_console:
        _mount_console(app, settings, hub)
    return app


async def _not_found(request: web.Request) -> web.StreamResponse:
    raise web.HTTPNotFound()


def _mount_console(app: web.Application, settings: Settings, hub: Hub) -> None:
    try:
        module = importlib.import_module("web.console")
    except ModuleNotFoundError as exc:
        if exc.name in ("web.console",):
            return
        raise
    factory = getattr(module, "create_console_app", None)
    if factory is None:
        logger.info("web.console has no create_console_app yet; /console not mounted")
        return
    try:
        console = factory(settings, hub=hub)
    except Exception:  # noqa: BLE001 - a broken console must not take the shop down
        logger.exception("the support console could not be created; /console is not mounted")
        return
    app.add_subapp("/console", console)


# -- lifecycle -------------------------------------------------------------------------
async def _on_startup(app: web.Application) -> None:
    set_keys(app, http=aiohttp.ClientSession())
    start = getattr(app[HUB], "start", None)
    if start is not None:  # a shared hub (Redis) listens from now on
        await start()
    if app["store"] is None:
        from knowledge.store import Store

        set_keys(app, store=Store.open(app[SETTINGS].db_path))


async def _on_shutdown(app: web.Application) -> None:
    # Let open SSE streams end so the server can stop.
    app[HUB].close_all()


async def _on_cleanup(app: web.Application) -> None:
    await app["http"].close()
    aclose = getattr(app[HUB], "aclose", None)
    if aclose is not None:
        await aclose()
    app["sessions"].close()
    if app["owns_store"] and app["store"] is not None:
        app["store"].close()


@web.middleware
async def _error_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        return await handler(request)
    except RecursionError:
        # A body nested deeper than the JSON parser recurses: the client's mistake.
        return web.json_response({"error": "request nests too deeply"}, status=400)
    except web.HTTPNotFound:
        if request.path.startswith(("/api/", "/static/", "/vendor/", "/console")):
            raise
        return _render(request, "not_found.html", {"title": "Page not found"}, status=404)


# -- helpers ---------------------------------------------------------------------------
def _static_file(name: str, content_type: str) -> Any:
    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.FileResponse(STATIC_DIR / name, headers={"Cache-Control": "no-cache"})
        response.content_type = content_type
        if name.endswith(".js") or name.endswith(".css"):
            # The widget is embedded in other sites.
            response.headers["Access-Control-Allow-Origin"] = "*"
            response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
        return response

    return handler


def _store(request: web.Request) -> Any:
    return request.app["store"]


def _demo_customer(request: web.Request) -> tuple[dict[str, Any] | None, str | None]:
    """The demo customer logged in through the storefront, and their signed token."""
    token = request.cookies.get(DEMO_COOKIE)
    if not token:
        return None, None
    from knowledge.identity import CustomerTokenKeys, customer_for_token

    keys = CustomerTokenKeys.from_settings(request.app[SETTINGS])
    customer = customer_for_token(_store(request), token, keys)
    return (customer, token) if customer else (None, None)


def widget_config(request: web.Request, customer_token: str | None = None) -> dict[str, Any]:
    """The widget's configuration object for pages of this app."""
    config: dict[str, Any] = {
        "serverUrl": request.app["public_url"],
        "socketUrl": request.app["socket_url"],
        "title": "Shopbot",
        "subtitle": "Orders, returns and products",
        "greeting": "Hi! I can track or cancel an order, start a return or find products.",
        "language": "en",
        "colours": {"primary": "#1f5fbf", "onPrimary": "#ffffff"},
    }
    if customer_token:
        config["customerToken"] = customer_token
    return config


def _render(
    request: web.Request, template: str, context: dict[str, Any], status: int = 200
) -> web.Response:
    store = request.app["store"]
    customer, token = (None, None)
    categories: list[str] = []
    if store is not None:
        try:
            if request.app[SETTINGS].demo_mode:
                customer, token = _demo_customer(request)
            categories = store.categories()
        except Exception:  # noqa: BLE001 - a broken store must not hide the page
            logger.exception("store unavailable while rendering %s", template)
    page = dict(context)
    page.setdefault("categories", categories)
    page.setdefault("customer", customer)
    page["demo_mode"] = bool(request.app[SETTINGS].demo_mode)
    page["widget_config_json"] = json_for_script(widget_config(request, token))
    page["current_path"] = request.path
    page.setdefault("card_options", lambda product: card_options(store, product))
    html = request.app["jinja"].get_template(template).render(**page)
    return web.Response(text=html, content_type="text/html", status=status)


def _same_origin(request: web.Request) -> bool:
    origin = request.headers.get("Origin") or request.headers.get("Referer")
    if not origin:
        return False
    return urlsplit(origin).netloc == request.host


def _cors(response: ResponseT) -> ResponseT:
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Allow-Headers"] = "Content-Type, Last-Event-ID"
    response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
    response.headers["Cache-Control"] = "no-store"
    return response


def _json(data: Any, status: int = 200) -> web.Response:
    return _cors(web.json_response(data, status=status))


def _session_id(request: web.Request) -> str | None:
    session_id = request.query.get("session_id", "")
    if request.app["sessions"].is_valid(session_id, touch=True):
        return session_id
    return None


# -- storefront ------------------------------------------------------------------------
async def home(request: web.Request) -> web.Response:
    """Home page: categories and a grid of well-rated products in stock."""
    store = _store(request)
    products = store.featured_products(12)
    counts = store.category_counts()
    return _render(
        request,
        "home.html",
        {"title": "Shopbot demo store", "products": products, "counts": counts},
    )


def _page_number(request: web.Request) -> int:
    try:
        return max(1, int(request.query.get("page", "1")))
    except ValueError:
        return 1


SORTS = ("popular", "price-asc", "price-desc", "name")


async def category_page(request: web.Request) -> web.Response:
    """All products of one category, sorted and paginated."""
    name = request.match_info["name"]
    store = _store(request)
    total = store.count_in_category(name)
    if not total:
        raise web.HTTPNotFound()
    sort = request.query.get("sort", "popular")
    sort = sort if sort in SORTS else "popular"
    page = _page_number(request)
    pages = max(1, math.ceil(total / PAGE_SIZE))
    page = min(page, pages)
    products = store.products_in_category(name, sort, PAGE_SIZE, (page - 1) * PAGE_SIZE)
    return _render(
        request,
        "category.html",
        {
            "title": name,
            "category": name,
            "products": products,
            "total": total,
            "page": page,
            "pages": pages,
            "sort": sort,
            "sorts": list(SORTS),
        },
    )


async def product_page(request: web.Request) -> web.Response:
    """One product with its attributes and similar products."""
    store = _store(request)
    product = store.get_product(request.match_info["sku"])
    if product is None:
        raise web.HTTPNotFound()
    attributes = product.get("attributes") or {}
    if isinstance(attributes, str):
        try:
            attributes = json.loads(attributes)
        except ValueError:
            attributes = {}
    if not isinstance(attributes, dict):
        attributes = {}
    similar = store.best_in_category(product.get("category"), exclude_id=product["id"], limit=4)
    variants = store.variants(product["id"])
    return _render(
        request,
        "product.html",
        {
            "title": product["title"],
            "product": product,
            "attributes": attributes,
            "similar": similar,
            "variants": variants,
            "variant_options": variant_options(variants),
        },
    )


def card_options(store: Any, product: dict[str, Any]) -> dict[str, Any] | None:
    """What a storefront card says of a product's variants ("3 colours · 7 sizes" and
    whether any is in stock); None for a product without variants."""
    if store is None or product.get("id") is None:
        return None
    try:
        variants = store.variants(product["id"])
    except Exception:  # noqa: BLE001 - a card without options beats a broken page
        logger.exception("variants of product %s unavailable", product.get("id"))
        return None
    if not variants:
        return None
    shown = variant_options(variants)
    counts = []
    for name in shown["names"]:
        n = len(shown["values"][name])
        word = "colour" if name.lower() in ("colour", "color") else name.lower()
        counts.append(f"{n} {word}{'s' if n != 1 else ''}")
    return {"text": " · ".join(counts), "in_stock": shown["in_stock"]}


def variant_options(variants: list[dict[str, Any]]) -> dict[str, Any]:
    """What the product page shows of a product's variants: the option names (table
    columns), each option's values with whether any variant of it is in stock, whether
    any variant is in stock, and whether the variants' prices differ."""
    names: list[str] = []
    values: dict[str, dict[str, bool]] = {}
    for variant in variants:
        stocked = int(variant.get("stock") or 0) > 0
        for name, value in (variant.get("options") or {}).items():
            if name not in names:
                names.append(name)
            seen = values.setdefault(name, {})
            seen[str(value)] = seen.get(str(value), False) or stocked
    return {
        "names": names,
        "values": values,
        "in_stock": any(int(v.get("stock") or 0) > 0 for v in variants),
        "prices_differ": len({round(float(v["price"]), 2) for v in variants}) > 1,
        "min_price": min((float(v["price"]) for v in variants), default=None),
    }


async def search_page(request: web.Request) -> web.Response:
    """A plain keyword search over titles, brands and descriptions."""
    query = request.query.get("q", "").strip()[:100]
    products: list[dict[str, Any]] = []
    if query:
        products = _store(request).find_products(query, limit=48)
    return _render(
        request,
        "search.html",
        {"title": f"Search: {query}" if query else "Search", "query": query, "products": products},
    )


async def embed_page(request: web.Request) -> web.Response:
    """How to embed the widget in another site."""
    base = request.app["public_url"] or f"{request.scheme}://{request.host}"
    snippet_config = {
        "serverUrl": base,
        "socketUrl": request.app["socket_url"],
        "title": "Shopbot",
        "greeting": "Hi! How can I help?",
        "language": "en",
        "colours": {"primary": "#1f5fbf", "onPrimary": "#ffffff"},
        "customerToken": None,
    }
    return _render(
        request,
        "embed.html",
        {
            "title": "Embed the widget",
            "base": base,
            "snippet_config": json.dumps(snippet_config, indent=2),
        },
    )


async def product_svg(request: web.Request) -> web.Response:
    """Placeholder product picture, one colour per name."""
    name = slug(request.match_info["name"])[:40]
    return web.Response(
        text=placeholder_svg(name),
        content_type="image/svg+xml",
        headers={"Cache-Control": "public, max-age=86400"},
    )


async def demo_login(request: web.Request) -> web.Response:
    """Log in as the demo customer: a signed customer token in an HttpOnly cookie.

    Mounted only in demo mode (``SHOPBOT_DEMO_MODE``, set by ``make demo``). It signs a
    token for one fixed customer of the demo shop (the one with the most orders) and never
    for an id taken from the request.
    """
    if not _same_origin(request):
        raise web.HTTPForbidden(text="cross-site request refused")
    from knowledge.identity import sign_customer_token

    form = await request.post()
    customer = _store(request).most_active_customer()
    back = str(form.get("next", "/"))
    if not back.startswith("/") or back.startswith("//"):
        back = "/"
    response = web.HTTPSeeOther(back)
    if customer is not None:
        settings = request.app[SETTINGS]
        token = sign_customer_token(
            customer["email"],
            settings.customer_token_secret,
            settings.customer_token_ttl_s,
            issuer=settings.customer_token_issuer,
            audience=settings.customer_token_audience,
        )
        response.set_cookie(
            DEMO_COOKIE,
            token,
            max_age=settings.customer_token_ttl_s,
            httponly=True,
            samesite="Strict",
            secure=request.secure,
            path="/",
        )
    raise response


async def demo_logout(request: web.Request) -> web.Response:
    """Forget the demo customer."""
    if not _same_origin(request):
        raise web.HTTPForbidden(text="cross-site request refused")
    response = web.HTTPSeeOther("/")
    response.del_cookie(DEMO_COOKIE, path="/")
    raise response


async def healthz(request: web.Request) -> web.Response:
    """Liveness probe."""
    return web.json_response({"status": "ok"})


# -- widget API ------------------------------------------------------------------------
async def api_preflight(request: web.Request) -> web.Response:
    """CORS preflight for sites that embed the widget."""
    return _cors(web.Response(status=204))


async def api_session(request: web.Request) -> web.Response:
    """Issue a new conversation id (192 random bits)."""
    key = request.remote or "?"
    if not request.app["session_limiter"].allow(key):
        return _json({"error": "too many new conversations, try again in a minute"}, status=429)
    session_id = request.app["sessions"].issue()
    return _json({"session_id": session_id}, status=201)


async def api_history(request: web.Request) -> web.Response:
    """The messages of one conversation issued by this app, from Rasa's tracker."""
    session_id = _session_id(request)
    if session_id is None:
        return _json({"error": "unknown session"}, status=404)
    settings = request.app[SETTINGS]
    try:
        tracker = await fetch_tracker(
            request.app["http"], settings.rasa_url, settings.rasa_token, session_id
        )
    except RasaUnavailable as exc:
        logger.warning("history unavailable: %s", exc)
        return _json({"error": "the assistant is unavailable", "messages": []}, status=502)
    messages = messages_from_events(tracker.get("events") or [])
    messages = merge_live_events(messages, request.app[HUB].recent(session_id))
    paused = bool(tracker.get("paused"))
    return _json(
        {
            "session_id": session_id,
            "messages": messages,
            "paused": paused,
            "agent": _current_agent(request.app[HUB], session_id),
        }
    )


def _current_agent(hub: Hub, session_id: str) -> str | None:
    agent = None
    for event in hub.recent(session_id):
        if event.get("type") == "agent_joined":
            agent = str(event.get("agent") or "Support agent")
        elif event.get("type") == "agent_left":
            agent = None
    return agent


async def api_live(request: web.Request) -> web.StreamResponse:
    """Server-sent events of the live handoff for one conversation."""
    session_id = _session_id(request)
    if session_id is None:
        return _json({"error": "unknown session"}, status=404)
    hub: Hub = request.app[HUB]
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",
        }
    )
    _cors(response)
    await response.prepare(request)
    last_id = request.headers.get("Last-Event-ID") or request.query.get("last_event_id")
    sub = hub.subscribe(session_id)
    if hub.subscriber_count(session_id) == 1:
        hub.publish(staff_key(session_id), {"type": "shopper_online", "session_id": session_id})
    try:
        await response.write(b"retry: 3000\n\n")
        state = {"type": "state", "agent": _current_agent(hub, session_id)}
        await response.write(_sse(state))
        if last_id:
            for past in hub.recent(session_id, after_id=last_id):
                await response.write(_sse(past))
        idle = 0.0
        while True:
            event = await sub.get(timeout=1.0)
            transport = request.transport
            if transport is None or transport.is_closing():
                break
            if event is None:
                if sub.closed:
                    break
                idle += 1.0
                if idle >= HEARTBEAT_S:
                    idle = 0.0
                    await response.write(b": keep-alive\n\n")
                continue
            idle = 0.0
            await response.write(_sse(event))
    except (ConnectionResetError, RuntimeError):
        pass  # the shopper went away
    finally:
        sub.close()
        if not hub.is_connected(session_id):
            hub.publish(
                staff_key(session_id), {"type": "shopper_offline", "session_id": session_id}
            )
    return response


def _sse(event: dict[str, Any]) -> bytes:
    data = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
    lines = []
    if event.get("id") is not None:
        lines.append(f"id: {event['id']}")
    lines.append(f"data: {data}")
    return ("\n".join(lines) + "\n\n").encode("utf-8")


# -- webhooks from a connected shop (issue 15) -----------------------------------------
# Public routes: every request is verified with the shop's HMAC header over the raw body
# before anything in it is read (knowledge.backend.shopify_sync.receive_webhook), and
# logged to webhook_events whatever the outcome.
SHOPIFY_WEBHOOK_PATH = "/webhooks/shopify"


def add_shop_webhook_routes(app: web.Application) -> None:
    """Mount ``POST /webhooks/shopify`` (topic from ``X-Shopify-Topic``)."""
    app.router.add_post(SHOPIFY_WEBHOOK_PATH, shopify_webhook)


async def _raw_body(request: web.Request, limit: int) -> bytes | None:
    """The request body as sent, or ``None`` when it is longer than ``limit``."""
    if request.content_length is not None and request.content_length > limit:
        return None
    body = await request.content.read(limit + 1)
    return None if len(body) > limit else body


async def shopify_webhook(request: web.Request) -> web.Response:
    """One Shopify webhook delivery: 401 on a bad signature, 200 once applied or a duplicate."""
    from knowledge.backend.shopify_sync import MAX_WEBHOOK_BYTES, receive_webhook

    secret = request.app[SETTINGS].shopify_webhook_secret
    if not secret:
        return _json({"error": "webhooks are not configured"}, status=503)
    body = await _raw_body(request, MAX_WEBHOOK_BYTES)
    if body is None:
        return _json({"error": "body too large"}, status=413)
    try:
        outcome = receive_webhook(_store(request), secret, dict(request.headers), body)
    except Exception as exc:  # noqa: BLE001 - logged; Shopify retries a 5xx
        logger.exception("shopify webhook could not be applied")
        _log_failed_webhook(request, f"{type(exc).__name__}: {exc}")
        return _json({"error": "could not apply the webhook, retry later"}, status=500)
    return _json({"status": outcome.status, "message": outcome.message}, status=outcome.http_status)


def _log_failed_webhook(request: web.Request, error: str) -> None:
    from knowledge.backend.shopify_sync import log_webhook_event

    try:
        log_webhook_event(
            _store(request),
            request.headers.get("X-Shopify-Topic", "unknown"),
            request.headers.get("X-Shopify-Webhook-Id"),
            "failed",
            error[:2000],
        )
    except Exception:  # noqa: BLE001 - the store itself may be what failed
        logger.exception("could not log the failed webhook")
