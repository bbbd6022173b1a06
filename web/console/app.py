"""The support console: an aiohttp sub-application mounted by the web app under ``/console``.

Every route needs a valid staff session except the login form and its stylesheet
(pages redirect to the login form, the JSON API answers 401). Every state-changing
request carries the session's CSRF token (form field ``csrf_token`` or header
``X-CSRF-Token``). Admin-only routes answer 403 to agents.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
import urllib.parse
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import jinja2
import markupsafe
from aiohttp import web

from knowledge.normalise import normalise_order_number
from knowledge.order_numbers import current_format
from shopbot.config import PROJECT_ROOT
from web.console import analytics, auth, queries, review, shop, transcript
from web.console.db import ConsoleDB
from web.console.handoff import HandoffError, LiveDesk, RasaClient
from web.console.sync import Syncer
from web.console.tracker import TrackerReader

if TYPE_CHECKING:
    from knowledge.search import SearchIndexes
    from knowledge.store import Store

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
COOKIE = "console_session"
LOGIN_CSRF_COOKIE = "console_login_csrf"
PUBLIC_STATIC = frozenset({"console.css"})
PRIVATE_STATIC = frozenset({"console.css", "console.js", "live.js", "analytics.js"})
CHART_JS_CANDIDATES = (
    PROJECT_ROOT / "web" / "node_modules" / "chart.js" / "dist" / "chart.umd.js",
    PROJECT_ROOT / "web" / "static" / "vendor" / "chart.js" / "chart.umd.js",
    PROJECT_ROOT / "web" / "static" / "vendor" / "chart.umd.js",
)
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)

K_SETTINGS: web.AppKey[Any] = web.AppKey("console_settings")
K_DB = web.AppKey("console_db", ConsoleDB)
K_READER = web.AppKey("console_reader", TrackerReader)
K_SYNC = web.AppKey("console_syncer", Syncer)
K_DESK = web.AppKey("console_desk", LiveDesk)
K_JINJA = web.AppKey("console_jinja", jinja2.Environment)
K_CONF = web.AppKey("console_conf", dict)
K_SHOP = web.AppKey("console_shop", shop.ShopReader)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


# -- route decorators ---------------------------------------------------------------------
def public(handler: Handler) -> Handler:
    """Mark a handler as reachable without a session (login only)."""
    handler._console_public = True  # type: ignore[attr-defined]
    return handler


def admin_only(handler: Handler) -> Handler:
    """Mark a handler as admin-only."""
    handler._console_admin = True  # type: ignore[attr-defined]
    return handler


class FaqWriter:
    """Adds FAQ entries through ``knowledge.operations.add_faq`` and updates the FAQ index
    at once (store and indexes are opened on first use, in a worker thread)."""

    def __init__(self, settings: Any) -> None:
        self.settings = settings
        self._store: Store | None = None
        self._indexes: SearchIndexes | None = None

    def __call__(
        self, question: str, answer: str, category: str, alternatives: list[str], actor: str
    ) -> dict:
        from knowledge.operations import add_faq
        from knowledge.search import SearchIndexes
        from knowledge.store import Store

        if self._store is None or self._indexes is None:
            self._store = Store.open(self.settings.db_path)
            self._indexes = SearchIndexes(self.settings, self._store)
        return add_faq(
            self._store,
            question,
            answer,
            category,
            alternatives,
            actor,
            on_change=self._indexes.update,
        )

    def set_handoff_status(self, handoff_id: int, status: str, actor: str) -> None:
        """Mirror a live handoff's state in the shop store's ``handoffs`` table."""
        from knowledge.operations import set_handoff_status
        from knowledge.store import Store

        store = self._store
        if store is None:
            store = self._store = Store.open(self.settings.db_path)
        set_handoff_status(store, handoff_id, status, actor)


def create_console_app(
    settings: Any,
    hub: Any = None,
    *,
    tracker_url: str | None = None,
    rasa: RasaClient | None = None,
    faq_writer: Callable[..., dict] | None = None,
    bot_dir: Path | None = None,
    prefix: str = "/console",
    sync_interval_s: float = 2.0,
    shop_client: Any = None,
) -> web.Application:
    """Build the console sub-application (mount it with ``app.add_subapp(prefix, ...)``).

    Args:
        settings: :class:`shopbot.config.Settings` (``console_db``, ``tracker_db``,
            ``db_path``, ``data_dir``, ``low_confidence``, ``rasa_url``, ``rasa_token``).
        hub: The web app's live hub (``web.live.LiveHub``); None disables pushing to widgets.
        tracker_url: SQLAlchemy URL of Rasa's tracker store (e.g. PostgreSQL); default
            ``settings.tracker_store_url`` if that setting exists, else ``settings.tracker_db``.
        rasa: Client for Rasa's HTTP API (default from ``settings.rasa_url``/``rasa_token``).
        faq_writer: Callable adding an FAQ entry (default :class:`FaqWriter`).
        bot_dir: The Rasa project, for its domain's intents and the NLU export.
        prefix: Where the parent app mounts this one (used in links and cookie paths).
        sync_interval_s: Seconds between background syncs of the tracker store (0: only
            on request).
        shop_client: The connected shop's :class:`knowledge.backend.base.ShopClient` for
            the sync page's Retry (default: built from ``settings.backend`` on first retry).

    Returns:
        The console :class:`aiohttp.web.Application`.
    """
    app = web.Application(
        middlewares=[_headers_middleware, _auth_middleware], client_max_size=256 * 1024
    )
    app[K_SETTINGS] = settings
    app[K_CONF] = {
        "prefix": prefix.rstrip("/"),
        "tracker_url": tracker_url
        or getattr(settings, "tracker_store_url", None)
        or settings.tracker_db,
        "rasa": rasa or RasaClient(settings.rasa_url, settings.rasa_token),
        "faq_writer": faq_writer or FaqWriter(settings),
        "bot_dir": Path(bot_dir) if bot_dir else PROJECT_ROOT / "bot",
        "hub": hub,
        "sync_interval_s": sync_interval_s,
        "shop_client": shop_client,
    }
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["utc"] = lambda ts: time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(float(ts or 0)))
    env.globals["base"] = app[K_CONF]["prefix"]
    env.globals["flag_names"] = queries.FLAGS
    env.globals["order_number_example"] = lambda: current_format().example
    env.filters["order_links"] = lambda text: _order_links(app[K_CONF]["prefix"], text)
    app[K_JINJA] = env
    app.on_startup.append(_startup)  # type: ignore[arg-type]
    app.on_cleanup.append(_cleanup)  # type: ignore[arg-type]

    r = app.router
    r.add_get("/login", login_page, name="login")
    r.add_post("/login", login_submit)
    r.add_post("/logout", logout)
    r.add_get("/static/public/{name}", public_static)
    r.add_get("/static/{name}", private_static)
    r.add_get("/vendor/chart.umd.js", chart_js)
    r.add_get("", conversations_page)
    r.add_get("/", conversations_page)
    r.add_get("/conversations/{sid}", transcript_page)
    r.add_post("/conversations/{sid}/reviewed", mark_reviewed)
    r.add_post("/conversations/{sid}/tags", add_tag)
    r.add_post("/conversations/{sid}/tags/delete", delete_tag)
    r.add_post("/conversations/{sid}/nlu", correct_nlu)
    r.add_post("/conversations/{sid}/reply", correct_reply)
    r.add_post("/conversations/{sid}/faq", add_faq)
    r.add_post("/conversations/{sid}/reveal", reveal_page)
    r.add_get("/live", live_queue_page)
    r.add_get("/live/{sid}", live_desk_page)
    r.add_post("/live/{sid}/take", live_take)
    r.add_post("/live/{sid}/release", live_release)
    r.add_post("/live/{sid}/dismiss", live_dismiss)
    r.add_get("/analytics", analytics_page)
    r.add_get("/users", users_page)
    r.add_post("/users", users_create)
    r.add_post("/users/{id}", users_update)
    r.add_get("/audit", audit_page)
    r.add_get("/privacy", privacy_page)
    r.add_post("/privacy/export", privacy_export)
    r.add_post("/privacy/erase", privacy_erase)
    r.add_post("/export", export_corrections)
    r.add_get("/export/conversations.csv", export_conversations_csv)
    r.add_get("/api/me", api_me)
    r.add_get("/api/conversations", api_conversations)
    r.add_get("/api/conversations/{sid}", api_transcript)
    r.add_post("/api/conversations/{sid}/reveal", api_reveal)
    r.add_get("/api/live/queue", api_live_queue)
    r.add_get("/api/live/{sid}/messages", api_live_messages)
    r.add_post("/api/live/{sid}/messages", api_live_send)
    r.add_get("/api/analytics", api_analytics)
    r.add_get("/orders", orders_search)
    r.add_get("/orders/{number}", order_page)
    r.add_get("/outbox", outbox_page)
    r.add_get("/policy", policy_page)
    r.add_get("/api/orders/{number}", api_order)
    r.add_get("/api/outbox", api_outbox)
    r.add_get("/api/policy", api_policy)
    r.add_get("/sync", sync_page)
    r.add_post("/sync/changes/{id}/retry", sync_retry)
    r.add_post("/sync/changes/{id}/drop", sync_drop)
    r.add_get("/api/sync", api_sync)
    return app


def _order_links(prefix: str, text: Any) -> markupsafe.Markup:
    """Escape ``text`` and link every order number in it to the console's order view."""
    escaped = str(markupsafe.escape(text or ""))

    def link(match: re.Match[str]) -> str:
        number = normalise_order_number(match.group(0))
        if number is None:
            return match.group(0)
        href = f"{prefix}/orders/{urllib.parse.quote(number, safe='')}"
        return f'<a class="order-link" href="{href}">{match.group(0)}</a>'

    return markupsafe.Markup(shop.ORDER_NUMBER_RE.sub(link, escaped))


# -- lifecycle -----------------------------------------------------------------------------
async def _startup(app: web.Application) -> None:
    settings = app[K_SETTINGS]
    conf = app[K_CONF]
    db = ConsoleDB(settings.console_db)
    reader = TrackerReader(conf["tracker_url"])
    app[K_DB] = db
    app[K_READER] = reader
    app[K_SYNC] = Syncer(db, reader, float(settings.low_confidence), settings.db_path)
    app[K_DESK] = LiveDesk(db, reader, conf["rasa"], conf["hub"])
    app[K_SHOP] = shop.ShopReader(settings.db_path, getattr(settings, "policy_path", None))
    await _sync(app)
    if conf["sync_interval_s"] > 0:
        conf["sync_task"] = asyncio.get_running_loop().create_task(_sync_loop(app))


async def _cleanup(app: web.Application) -> None:
    task = app[K_CONF].get("sync_task")
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    app[K_SYNC].close()
    app[K_SHOP].close()
    app[K_READER].dispose()
    app[K_DB].close()


async def _sync(app: web.Application) -> None:
    try:
        await asyncio.to_thread(app[K_SYNC].sync)
    except Exception:  # noqa: BLE001 - a broken tracker store must not take the console down
        logger.exception("console sync of the tracker store failed")


async def _sync_loop(app: web.Application) -> None:
    while True:
        await asyncio.sleep(app[K_CONF]["sync_interval_s"])
        await _sync(app)


# -- middlewares ---------------------------------------------------------------------------
@web.middleware
async def _headers_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        _secure_headers(exc)
        raise
    _secure_headers(response)
    return response


def _secure_headers(response: web.StreamResponse) -> None:
    if response.prepared:
        return
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers["Content-Security-Policy"] = CSP
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")


PRESENCE_FILE = (
    "agents_online"  # read by knowledge/journeys/handoff.py (fresh within 120 s = agent online)
)
PRESENCE_EVERY_S = 15.0


def _mark_presence(app: web.Application) -> None:
    """Touch ``<data_dir>/agents_online`` (at most every 15 s) while staff use the console;
    the assistant offers a live agent only while it is fresh. Every console page sends a
    heartbeat (console.js) so an open console tab counts as present."""
    conf = app[K_CONF]
    now = time.monotonic()
    if now - conf.get("presence_at", -1e9) < PRESENCE_EVERY_S:
        return
    conf["presence_at"] = now
    path = Path(app[K_SETTINGS].data_dir) / PRESENCE_FILE
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    except OSError as exc:
        logger.warning("could not mark agent presence at %s: %s", path, exc)


def _is_api(request: web.Request) -> bool:
    prefix = request.app[K_CONF]["prefix"]
    return request.path.startswith(f"{prefix}/api/") or request.path == f"{prefix}/api"


@web.middleware
async def _auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    route_handler = getattr(request.match_info.route, "handler", None)
    if getattr(route_handler, "_console_public", False):
        return await handler(request)
    session = auth.load_session(request.app[K_DB], request.cookies.get(COOKIE))
    if session is None:
        if _is_api(request):
            return web.json_response({"error": "login required"}, status=401)
        prefix = request.app[K_CONF]["prefix"]
        target = request.path_qs if request.method == "GET" else f"{prefix}/"
        raise web.HTTPFound(f"{prefix}/login?" + urlencode({"next": target}))
    request["session"] = session
    _mark_presence(request.app)
    if getattr(route_handler, "_console_admin", False) and not session.staff.is_admin:
        if _is_api(request):
            return web.json_response({"error": "admins only"}, status=403)
        return _render(request, "error.html", {"message": "Only admins may do this."}, status=403)
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        given = request.headers.get("X-CSRF-Token")
        if given is None and request.content_type in (
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        ):
            posted = (await request.post()).get("csrf_token")
            given = posted if isinstance(posted, str) else None
        if not auth.csrf_ok(session.csrf, given if isinstance(given, str) else None):
            logger.warning("CSRF check failed for %s %s", request.method, request.path)
            if _is_api(request):
                return web.json_response({"error": "bad or missing CSRF token"}, status=403)
            return _render(
                request,
                "error.html",
                {"message": "The form expired. Go back, reload the page and try again."},
                status=403,
            )
    return await handler(request)


# -- helpers -------------------------------------------------------------------------------
def _render(request: web.Request, template: str, context: dict, status: int = 200) -> web.Response:
    session = request.get("session")
    ctx = {
        "me": session.staff if session else None,
        "csrf": session.csrf if session else "",
        "flash": _pop_flash(request) if session else None,
        "live_waiting": _waiting_count(request) if session else 0,
        "page": template.removesuffix(".html"),
        **context,
    }
    html = request.app[K_JINJA].get_template(template).render(**ctx)
    return web.Response(text=html, content_type="text/html", status=status)


def _waiting_count(request: web.Request) -> int:
    row = request.app[K_DB].one("SELECT COUNT(*) AS n FROM live WHERE status = 'waiting'")
    return int(row["n"]) if row else 0


def _flash(request: web.Request, message: str, kind: str = "ok") -> None:
    session = request.get("session")
    if session:
        request.app[K_DB].execute(
            "UPDATE sessions SET flash = ? WHERE id = ?",
            (json.dumps({"message": message, "kind": kind}), session.key),
        )


def _pop_flash(request: web.Request) -> dict | None:
    session = request["session"]
    db = request.app[K_DB]
    row = db.one("SELECT flash FROM sessions WHERE id = ?", (session.key,))
    if row is None or not row["flash"]:
        return None
    db.execute("UPDATE sessions SET flash = NULL WHERE id = ?", (session.key,))
    return json.loads(row["flash"])


def _back(request: web.Request, path: str) -> web.HTTPFound:
    return web.HTTPFound(request.app[K_CONF]["prefix"] + path)


def _sid(request: web.Request) -> str:
    sid = request.match_info["sid"]
    if len(sid) > 255:
        raise web.HTTPBadRequest(text="bad conversation id")
    return sid


def _remote(request: web.Request) -> str | None:
    return request.remote


async def _form(request: web.Request) -> dict[str, str]:
    data = await request.post()
    return {k: v for k, v in data.items() if isinstance(v, str)}


def _domain_intents(request: web.Request) -> list[str]:
    intents, _ = review.domain_names(request.app[K_CONF]["bot_dir"])
    if not intents:
        intents = set(queries.known_intents(request.app[K_DB]))
    return sorted(intents)


# -- login ---------------------------------------------------------------------------------
@public
async def login_page(request: web.Request) -> web.Response:
    """The login form (double-submit CSRF cookie)."""
    import secrets

    # Reuse the pending token: a second login-page load (another tab, or the browser's
    # favicon request redirected here) must not invalidate the form already shown.
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or ""
    if not (40 <= len(token) <= 64) or not token.replace("-", "").replace("_", "").isalnum():
        token = secrets.token_urlsafe(32)
    nxt = request.query.get("next", "")
    response = _render(
        request,
        "login.html",
        {"login_csrf": token, "next": _safe_next(request, nxt), "error": None},
    )
    _set_cookie(request, response, LOGIN_CSRF_COOKIE, token, max_age=3600)
    return response


def _safe_next(request: web.Request, nxt: str) -> str:
    prefix = request.app[K_CONF]["prefix"]
    if nxt.startswith(prefix + "/") and not nxt.startswith("//") and "\\" not in nxt:
        return nxt
    return prefix + "/"


def _set_cookie(
    request: web.Request,
    response: web.StreamResponse,
    name: str,
    value: str,
    max_age: int | None = None,
) -> None:
    response.set_cookie(
        name,
        value,
        path=request.app[K_CONF]["prefix"] or "/",
        httponly=True,
        samesite="Strict",
        secure=request.secure,
        max_age=max_age,
    )


@public
async def login_submit(request: web.Request) -> web.StreamResponse:
    """Check the credentials; on success start a session."""
    form = await _form(request)
    cookie_token = request.cookies.get(LOGIN_CSRF_COOKIE)
    nxt = _safe_next(request, form.get("next", ""))
    if not auth.csrf_ok(cookie_token, form.get("csrf_token")):
        return _render(
            request,
            "login.html",
            {
                "login_csrf": cookie_token or "",
                "next": nxt,
                "error": "The form expired; please try again.",
            },
            status=403,
        )
    db = request.app[K_DB]
    try:
        staff = await asyncio.to_thread(
            auth.authenticate, db, form.get("email", ""), form.get("password", ""), _remote(request)
        )
    except auth.AuthError as exc:
        return _render(
            request,
            "login.html",
            {"login_csrf": cookie_token, "next": nxt, "error": str(exc)},
            status=401,
        )
    token, _session = auth.create_session(db, staff)
    response = web.HTTPFound(nxt)
    _set_cookie(request, response, COOKIE, token)
    response.del_cookie(LOGIN_CSRF_COOKIE, path=request.app[K_CONF]["prefix"] or "/")
    raise response


async def logout(request: web.Request) -> web.StreamResponse:
    """End the session."""
    auth.end_session(request.app[K_DB], request["session"])
    response = _back(request, "/login")
    response.del_cookie(COOKIE, path=request.app[K_CONF]["prefix"] or "/")
    raise response


# -- static --------------------------------------------------------------------------------
@public
async def public_static(request: web.Request) -> web.StreamResponse:
    """The stylesheet of the login page (nothing else is public)."""
    name = request.match_info["name"]
    if name not in PUBLIC_STATIC:
        raise web.HTTPNotFound()
    return _file(STATIC / name)


async def private_static(request: web.Request) -> web.StreamResponse:
    """Console scripts and styles."""
    name = request.match_info["name"]
    if name not in PRIVATE_STATIC:
        raise web.HTTPNotFound()
    return _file(STATIC / name)


async def chart_js(request: web.Request) -> web.StreamResponse:
    """Chart.js, installed from npm at set-up (web/package.json) and served locally."""
    for path in CHART_JS_CANDIDATES:
        if path.exists():
            return _file(path)
    raise web.HTTPNotFound(text="chart.js is not installed: run `npm install` in web/")


def _file(path: Path) -> web.FileResponse:
    resp = web.FileResponse(path)
    resp.headers["Cache-Control"] = "private, max-age=300"
    return resp


# -- conversations -------------------------------------------------------------------------
async def conversations_page(request: web.Request) -> web.Response:
    """The filterable, searchable, paged conversation list."""
    await _sync(request.app)
    db = request.app[K_DB]
    filters = queries.Filters.from_query(request.query)
    cursor = request.query.get("after")
    page = await asyncio.to_thread(queries.list_conversations, db, filters, cursor)
    total = await asyncio.to_thread(queries.count_conversations, db, filters)
    base_query = filters.as_query()
    next_link = "?" + urlencode({**base_query, "after": page["next"]}) if page["next"] else None
    return _render(
        request,
        "conversations.html",
        {
            "items": page["items"],
            "total": total,
            "filters": filters,
            "next_link": next_link,
            "first_link": "?" + urlencode(base_query) if cursor else None,
            "intents": queries.known_intents(db),
            "tags": queries.known_tags(db),
        },
    )


def _transcript_context(request: web.Request, sid: str, mask: bool) -> dict:
    db = request.app[K_DB]
    reader = request.app[K_READER]
    rows = reader.events_for(sid)
    if not rows:
        raise web.HTTPNotFound(text="no such conversation")
    feedback = db.query("SELECT * FROM conv_feedback WHERE sender_id = ? ORDER BY at", (sid,))
    # The assistant stores feedback in the shop database too; show the store's rows only
    # when the tracker itself carries none (so nothing is listed twice).
    store_only = [] if any(f["source"] == "tracker" for f in feedback) else feedback
    turns = transcript.build(
        rows,
        mask=mask,
        low_confidence=float(request.app[K_SETTINGS].low_confidence),
        feedback=store_only,
    )
    return {
        "sid": sid,
        "summary": queries.conversation(db, sid),
        "turns": turns,
        "masked": mask,
        "corrections": review.corrections_for(db, sid),
        "intent_choices": _domain_intents(request),
        "live": request.app[K_DESK].state(sid),
    }


async def transcript_page(request: web.Request) -> web.Response:
    """One conversation, turn by turn, personal data masked."""
    await _sync(request.app)
    sid = _sid(request)
    ctx = await asyncio.to_thread(_transcript_context, request, sid, True)
    return _render(request, "transcript.html", ctx)


@admin_only
async def reveal_page(request: web.Request) -> web.Response:
    """Admin: the same transcript unmasked; the reveal is written to the audit log."""
    sid = _sid(request)
    form = await _form(request)
    ctx = await asyncio.to_thread(_transcript_context, request, sid, False)
    _audit_reveal(request, sid, form.get("reason", ""))
    return _render(request, "transcript.html", ctx)


def _audit_reveal(request: web.Request, sid: str, reason: str) -> None:
    staff = request["session"].staff
    request.app[K_DB].execute(
        "INSERT INTO reveal_audit (at, staff_id, staff_email, sender_id, reason, remote) VALUES (?, ?, ?, ?, ?, ?)",
        (time.time(), staff.id, staff.email, sid, (reason or "").strip()[:500], _remote(request)),
    )
    logger.info("staff %s revealed personal data of conversation %s", staff.id, sid)


async def mark_reviewed(request: web.Request) -> web.StreamResponse:
    """Mark (or unmark) a conversation reviewed."""
    sid = _sid(request)
    form = await _form(request)
    reviewed = form.get("reviewed", "1") == "1"
    review.set_reviewed(request.app[K_DB], sid, request["session"].staff.id, reviewed)
    _flash(request, "Marked reviewed." if reviewed else "Marked not reviewed.")
    raise _back(request, f"/conversations/{sid}")


async def add_tag(request: web.Request) -> web.StreamResponse:
    """Tag a conversation."""
    sid = _sid(request)
    form = await _form(request)
    try:
        tag = review.add_tag(
            request.app[K_DB], sid, form.get("tag", ""), request["session"].staff.id
        )
        _flash(request, f"Tagged {tag}.")
    except review.ReviewError as exc:
        _flash(request, str(exc), "error")
    raise _back(request, f"/conversations/{sid}")


async def delete_tag(request: web.Request) -> web.StreamResponse:
    """Remove a tag."""
    sid = _sid(request)
    form = await _form(request)
    review.remove_tag(request.app[K_DB], sid, form.get("tag", ""))
    raise _back(request, f"/conversations/{sid}")


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise web.HTTPBadRequest(text="bad number") from exc


async def correct_nlu(request: web.Request) -> web.StreamResponse:
    """Save the corrected intent/entities of a shopper message."""
    sid = _sid(request)
    form = await _form(request)
    try:
        saved = await asyncio.to_thread(
            review.save_nlu_correction,
            request.app[K_DB],
            request.app[K_READER],
            sid,
            _int(form.get("event_id")),
            form.get("intent", ""),
            form.get("entities", ""),
            request["session"].staff.id,
        )
        _flash(request, f"Saved: intent {saved['intent']} (exported by `shopbot review export`).")
    except review.ReviewError as exc:
        _flash(request, str(exc), "error")
    raise _back(request, f"/conversations/{sid}#e{form.get('event_id', '')}")


async def correct_reply(request: web.Request) -> web.StreamResponse:
    """Approve or correct a bot reply (a generator training pair when it has task/facts)."""
    sid = _sid(request)
    form = await _form(request)
    try:
        saved = await asyncio.to_thread(
            review.save_reply_verdict,
            request.app[K_DB],
            request.app[K_READER],
            Path(request.app[K_SETTINGS].data_dir),
            sid,
            _int(form.get("event_id")),
            form.get("verdict", ""),
            form.get("text"),
            request["session"].staff.id,
        )
        note = (
            "saved as a generator training pair"
            if saved["training_pair"]
            else "saved (this reply has no generator task/facts, so it is not a training pair)"
        )
        _flash(request, f"Reply {saved['verdict']}: {note}.")
    except review.ReviewError as exc:
        _flash(request, str(exc), "error")
    raise _back(request, f"/conversations/{sid}#e{form.get('event_id', '')}")


async def add_faq(request: web.Request) -> web.StreamResponse:
    """Turn an unanswered question into a new FAQ entry (store + FAQ index at once)."""
    sid = _sid(request)
    form = await _form(request)
    staff = request["session"].staff
    alternatives = [a.strip() for a in form.get("alternatives", "").splitlines() if a.strip()]
    writer = request.app[K_CONF]["faq_writer"]
    try:
        row = await asyncio.to_thread(
            writer,
            form.get("question", ""),
            form.get("answer", ""),
            form.get("category", "") or "general",
            alternatives,
            f"staff:{staff.email}",
        )
    except Exception as exc:  # noqa: BLE001 - OperationError and friends carry a readable reason
        reason = getattr(exc, "reason", None) or "the FAQ entry could not be added"
        logger.warning("add_faq failed: %s", exc)
        _flash(request, f"FAQ not added: {reason}", "error")
        raise _back(request, f"/conversations/{sid}") from None
    event_id = form.get("event_id")
    request.app[K_DB].execute(
        "INSERT INTO faq_additions (sender_id, event_id, faq_id, question, staff_id, at) VALUES (?, ?, ?, ?, ?, ?)",
        (
            sid,
            int(event_id) if event_id is not None and event_id.isdigit() else None,
            row.get("id"),
            row.get("question", ""),
            staff.id,
            time.time(),
        ),
    )
    _flash(request, f"FAQ entry “{row.get('question', '')}” added; the assistant answers it now.")
    raise _back(request, f"/conversations/{sid}")


# -- live handoff --------------------------------------------------------------------------
async def live_queue_page(request: web.Request) -> web.Response:
    """Conversations waiting for a human, oldest first."""
    await _sync(request.app)
    return _render(request, "live_queue.html", {"queue": request.app[K_DESK].queue()})


async def live_desk_page(request: web.Request) -> web.Response:
    """The agent's desk for one conversation: whole history plus live messages."""
    sid = _sid(request)
    desk = request.app[K_DESK]
    ctx = await asyncio.to_thread(_transcript_context, request, sid, True)
    last = await asyncio.to_thread(
        lambda: max([0] + [r["id"] for r in request.app[K_READER].events_for(sid)])
    )
    ctx.update({"state": desk.state(sid), "last_id": last, "connected": desk.connected(sid)})
    return _render(request, "live_desk.html", ctx)


async def live_take(request: web.Request) -> web.StreamResponse:
    """Take a conversation (pauses the bot)."""
    sid = _sid(request)
    staff = request["session"].staff
    try:
        await request.app[K_DESK].take(sid, staff)
        await _mirror_store_handoff(request, sid, "taken")
        _flash(request, "You have the conversation; the assistant is paused.")
    except HandoffError as exc:
        _flash(request, str(exc), "error")
        raise _back(request, "/live") from None
    raise _back(request, f"/live/{sid}")


async def live_release(request: web.Request) -> web.StreamResponse:
    """Hand the conversation back to the assistant."""
    sid = _sid(request)
    try:
        await request.app[K_DESK].release(sid, request["session"].staff)
        await _mirror_store_handoff(request, sid, "closed")
        _flash(request, "Handed back to the assistant.")
    except HandoffError as exc:
        _flash(request, str(exc), "error")
        raise _back(request, f"/live/{sid}") from None
    raise _back(request, "/live")


async def live_dismiss(request: web.Request) -> web.StreamResponse:
    """Drop a waiting conversation from the queue (e.g. the shopper left long ago)."""
    sid = _sid(request)
    request.app[K_DESK].dismiss(sid)
    await _mirror_store_handoff(request, sid, "closed")
    raise _back(request, "/live")


async def _mirror_store_handoff(request: web.Request, sid: str, status: str) -> None:
    state = request.app[K_DESK].state(sid)
    writer = request.app[K_CONF]["faq_writer"]
    if not state or not state.get("store_handoff_id") or not hasattr(writer, "set_handoff_status"):
        return
    try:
        await asyncio.to_thread(
            writer.set_handoff_status,
            state["store_handoff_id"],
            status,
            f"staff:{request['session'].staff.email}",
        )
    except Exception:  # noqa: BLE001 - the store row is informative; the console state rules
        logger.exception("could not update handoff %s in the shop store", state["store_handoff_id"])


async def api_live_queue(request: web.Request) -> web.Response:
    """JSON: the live queue."""
    await _sync(request.app)
    return web.json_response({"queue": request.app[K_DESK].queue()})


async def api_live_messages(request: web.Request) -> web.Response:
    """JSON: messages of a conversation after a tracker event id (polled by the desk)."""
    sid = _sid(request)
    after = _int(request.query.get("after", "0"))
    desk = request.app[K_DESK]
    state = desk.state(sid)
    if state and state["status"] == "taken":
        await desk.flush(sid)
    data = await asyncio.to_thread(desk.messages_after, sid, after, True)
    return web.json_response(data)


async def api_live_send(request: web.Request) -> web.Response:
    """JSON: send an agent message to the shopper."""
    sid = _sid(request)
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError, RecursionError):
        return web.json_response({"error": "send JSON {text}"}, status=400)
    if not isinstance(body, dict) or not isinstance(body.get("text", ""), str):
        return web.json_response({"error": "send JSON {text}"}, status=400)
    try:
        result = await request.app[K_DESK].send(
            sid, request["session"].staff, str(body.get("text", ""))
        )
    except HandoffError as exc:
        return web.json_response({"error": str(exc)}, status=409)
    return web.json_response(result)


# -- analytics -----------------------------------------------------------------------------
def _dates(request: web.Request) -> tuple[date | None, date | None]:
    return queries._parse_date(request.query.get("from")), queries._parse_date(
        request.query.get("to")
    )


async def analytics_page(request: web.Request) -> web.Response:
    """Charts (drawn by analytics.js with Chart.js) plus the same figures as tables."""
    await _sync(request.app)
    lo, hi = _dates(request)
    data = await asyncio.to_thread(analytics.compute, request.app[K_DB], lo, hi)
    return _render(request, "analytics.html", {"a": data})


async def api_analytics(request: web.Request) -> web.Response:
    """JSON: the analytics figures."""
    lo, hi = _dates(request)
    return web.json_response(await asyncio.to_thread(analytics.compute, request.app[K_DB], lo, hi))


# -- admin: users, audit, export -----------------------------------------------------------
@admin_only
async def users_page(request: web.Request) -> web.Response:
    """Admin: staff accounts."""
    return _render(
        request, "users.html", {"users": auth.list_staff(request.app[K_DB]), "now": time.time()}
    )


@admin_only
async def users_create(request: web.Request) -> web.StreamResponse:
    """Admin: create an account."""
    form = await _form(request)
    try:
        staff = await asyncio.to_thread(
            auth.add_staff,
            request.app[K_DB],
            form.get("email", ""),
            form.get("password", ""),
            form.get("role", "agent"),
        )
        _flash(request, f"Account {staff.email} created.")
    except auth.AuthError as exc:
        _flash(request, str(exc), "error")
    raise _back(request, "/users")


@admin_only
async def users_update(request: web.Request) -> web.StreamResponse:
    """Admin: change role, (de)activate, unlock."""
    staff_id = _int(request.match_info["id"])
    form = await _form(request)
    me = request["session"].staff
    action = form.get("action", "")
    try:
        if staff_id == me.id and action in ("deactivate", "make_agent"):
            raise auth.AuthError("you cannot demote or deactivate yourself")
        if action == "make_admin":
            auth.update_staff(request.app[K_DB], staff_id, role="admin")
        elif action == "make_agent":
            auth.update_staff(request.app[K_DB], staff_id, role="agent")
        elif action == "deactivate":
            auth.update_staff(request.app[K_DB], staff_id, active=False)
        elif action == "activate":
            auth.update_staff(request.app[K_DB], staff_id, active=True)
        elif action == "unlock":
            auth.update_staff(request.app[K_DB], staff_id, unlock=True)
        else:
            raise auth.AuthError("unknown action")
        _flash(request, "Account updated.")
    except auth.AuthError as exc:
        _flash(request, str(exc), "error")
    raise _back(request, "/users")


@admin_only
async def audit_page(request: web.Request) -> web.Response:
    """Admin: the reveal audit log."""
    rows = request.app[K_DB].query("SELECT * FROM reveal_audit ORDER BY id DESC LIMIT 500")
    return _render(request, "audit.html", {"rows": rows})


# -- privacy: a shopper's rights (knowledge.privacy does the work) -------------------------
@admin_only
async def privacy_page(request: web.Request) -> web.Response:
    """Admin: export or erase a customer's data."""
    return _render(request, "privacy.html", {"confirm": None})


def _privacy_request(form: dict[str, str]) -> tuple[str, str]:
    email = form.get("email", "").strip()
    if not email or len(email) > 320 or "@" not in email:
        raise web.HTTPBadRequest(text="a customer e-mail address is required")
    return email, form.get("reason", "").strip()[:500]


def _audit_privacy(request: web.Request, what: str, customer_id: int | None, reason: str) -> None:
    """Console audit row of an export or erasure (customer id, never the address)."""
    ref = f"customer:{customer_id}" if customer_id is not None else "customer:none"
    _audit_reveal(request, ref, f"privacy {what}" + (f": {reason}" if reason else ""))


@admin_only
async def privacy_export(request: web.Request) -> web.StreamResponse:
    """Admin: everything kept about a customer, as a JSON download (audited)."""
    from knowledge.privacy import export_customer

    email, reason = _privacy_request(await _form(request))
    actor = f"console:{request['session'].staff.id}"
    data = await asyncio.to_thread(export_customer, request.app[K_SETTINGS], email, actor)
    cid = (data.get("profile") or {}).get("id")
    _audit_privacy(request, "export", cid, reason)
    name = f"customer-{cid}-export.json" if cid is not None else "customer-export.json"
    return web.Response(
        body=json.dumps(data, ensure_ascii=False, indent=2, default=str).encode(),
        content_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@admin_only
async def privacy_erase(request: web.Request) -> web.StreamResponse:
    """Admin: erase a customer's data; the first post shows what would go, the second erases."""
    from knowledge.privacy import erase_customer

    form = await _form(request)
    email, reason = _privacy_request(form)
    settings = request.app[K_SETTINGS]
    actor = f"console:{request['session'].staff.id}"
    if form.get("confirm") != "erase":
        preview = await asyncio.to_thread(erase_customer, settings, email, actor, True)
        if not preview["found"]:
            _flash(request, "Nothing is kept about that address.", "error")
            raise _back(request, "/privacy")
        ctx = {"confirm": preview, "email": email, "reason": reason}
        return _render(request, "privacy.html", ctx)
    report = await asyncio.to_thread(erase_customer, settings, email, actor)
    if not report["found"]:
        _flash(request, "Nothing is kept about that address.", "error")
        raise _back(request, "/privacy")
    _audit_privacy(request, "erase", report["customer_id"], reason)
    _flash(
        request,
        f"Erased: {report['conversations']} conversations, "
        f"{report['shop'].get('orders_anonymised', 0)} orders anonymised (kept for the accounts).",
    )
    raise _back(request, "/privacy")


@admin_only
async def export_corrections(request: web.Request) -> web.StreamResponse:
    """Admin: write the NLU corrections into the bot's training data now."""
    bot_dir = request.app[K_CONF]["bot_dir"]
    result = await asyncio.to_thread(
        review.export_nlu, request.app[K_DB], bot_dir / "data" / "nlu" / "corrections.yml", bot_dir
    )
    _flash(
        request,
        f"Exported {result['written']} corrections to {result['path']}"
        + (f" ({len(result['skipped'])} skipped)" if result["skipped"] else "")
        + ".",
    )
    raise _back(request, "/")


@admin_only
async def export_conversations_csv(request: web.Request) -> web.StreamResponse:
    """Admin: the filtered conversation list as CSV (masked customer references)."""
    import csv
    import io

    filters = queries.Filters.from_query(request.query)
    db = request.app[K_DB]
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": 'attachment; filename="conversations.csv"',
        }
    )
    await response.prepare(request)
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(
        [
            "conversation",
            "customer",
            "started_utc",
            "last_activity_utc",
            "messages",
            "intents",
            *queries.FLAGS,
            "agent_joined",
            "tags",
        ]
    )
    cursor, written = None, 0
    while written < 100_000:
        page = await asyncio.to_thread(queries.list_conversations, db, filters, cursor, 200)
        for c in page["items"]:
            writer.writerow(
                [
                    c["sender_id"],
                    c["customer"],
                    c["started_at"],
                    c["last_at"],
                    c["messages"],
                    " ".join(c["intents"]),
                    *(int(c["flags"][k]) for k in queries.FLAGS),
                    int(c["human"]),
                    " ".join(c["tags"]),
                ]
            )
        written += len(page["items"])
        await response.write(buf.getvalue().encode())
        buf.seek(0)
        buf.truncate()
        cursor = page["next"]
        if not cursor:
            break
    await response.write_eof()
    return response


# -- JSON API ------------------------------------------------------------------------------
async def api_me(request: web.Request) -> web.Response:
    """JSON: who is signed in, and the CSRF token for state-changing calls."""
    s = request["session"]
    return web.json_response({"email": s.staff.email, "role": s.staff.role, "csrf_token": s.csrf})


async def api_conversations(request: web.Request) -> web.Response:
    """JSON: one page of conversations (same filters as the page; ``after`` cursor)."""
    await _sync(request.app)
    filters = queries.Filters.from_query(request.query)
    limit = _int(request.query.get("limit", queries.PAGE_SIZE))
    page = await asyncio.to_thread(
        queries.list_conversations, request.app[K_DB], filters, request.query.get("after"), limit
    )
    return web.json_response(page)


async def api_transcript(request: web.Request) -> web.Response:
    """JSON: a masked transcript."""
    sid = _sid(request)
    ctx = await asyncio.to_thread(_transcript_context, request, sid, True)
    return web.json_response({"sid": sid, "summary": ctx["summary"], "turns": ctx["turns"]})


@admin_only
async def api_reveal(request: web.Request) -> web.Response:
    """JSON, admin: the unmasked transcript (audited)."""
    sid = _sid(request)
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError, RecursionError):
        body = {}
    ctx = await asyncio.to_thread(_transcript_context, request, sid, False)
    _audit_reveal(request, sid, str(body.get("reason", "")) if isinstance(body, dict) else "")
    return web.json_response({"sid": sid, "turns": ctx["turns"]})


__all__ = ["create_console_app", "FaqWriter", "public", "admin_only"]


# -- the shop: an order for agents, the outbox, the policy (read-only, via web.console.shop) --
async def _read_shop(request: web.Request, what: str, *args: Any) -> Any:
    """Call ``ShopReader.<what>(*args)`` in a worker thread; a missing shop database is a
    503 (a JSON body for the API, the error page otherwise)."""
    try:
        return await asyncio.to_thread(getattr(request.app[K_SHOP], what), *args)
    except shop.ShopUnavailable as exc:
        if _is_api(request):
            raise web.HTTPServiceUnavailable(
                text=json.dumps({"error": str(exc)}), content_type="application/json"
            ) from exc
        raise web.HTTPServiceUnavailable(
            text=_render(
                request, "error.html", {"message": f"The shop is not set up: {exc}."}
            ).text,
            content_type="text/html",
        ) from exc


def _order_number(request: web.Request) -> str | None:
    raw = request.match_info["number"]
    return normalise_order_number(raw) if len(raw) <= 32 else None


async def orders_search(request: web.Request) -> web.StreamResponse:
    """The order search box: a known order number goes to its page."""
    query = request.query.get("number", "").strip()
    if not query:
        return _render(request, "order.html", {"view": None, "query": "", "error": None})
    number = normalise_order_number(query) if len(query) <= 32 else None
    if number is None:
        error = f"That is not an order number ({current_format().describe()})."
        return _render(
            request, "order.html", {"view": None, "query": query, "error": error}, status=400
        )
    raise _back(request, f"/orders/{number}")


async def order_page(request: web.Request) -> web.Response:
    """One order as an agent needs it: customer, status and what was changed, items with
    their variants, fulfilments, payment history, returns and the outbox."""
    number = _order_number(request)
    view = await _read_shop(request, "order", number) if number else None
    if view is None:
        raw = request.match_info["number"][:32]
        ctx = {"view": None, "query": raw, "error": f"No order {raw}."}
        return _render(request, "order.html", ctx, status=404)
    logger.info("staff %s viewed order %s", request["session"].staff.id, number)
    return _render(request, "order.html", {"view": view, "query": number, "error": None})


async def api_order(request: web.Request) -> web.Response:
    """JSON of :func:`order_page`."""
    number = _order_number(request)
    view = await _read_shop(request, "order", number) if number else None
    if view is None:
        return web.json_response({"error": "no such order"}, status=404)
    return web.json_response(view)


async def outbox_page(request: web.Request) -> web.Response:
    """Messages the shop would have emailed (return instructions, ...), newest first."""
    rows = await _read_shop(request, "outbox")
    return _render(request, "outbox.html", {"rows": rows})


async def api_outbox(request: web.Request) -> web.Response:
    """JSON of :func:`outbox_page`."""
    return web.json_response({"items": await _read_shop(request, "outbox")})


async def policy_page(request: web.Request) -> web.Response:
    """The shop's policy in force (read-only) and the file it was read from."""
    data = await asyncio.to_thread(request.app[K_SHOP].policy)
    return _render(request, "policy.html", data)


async def api_policy(request: web.Request) -> web.Response:
    """JSON of :func:`policy_page`."""
    data = await asyncio.to_thread(request.app[K_SHOP].policy)
    return web.json_response(data, status=200 if data["policy"] is not None else 500)


# -- a connected shop's sync status (knowledge.backend.connected does the work) -------------
async def sync_page(request: web.Request) -> web.Response:
    """Last webhook per topic, failed webhooks, changes still to reach the shop (retry, drop)."""
    data = await _read_shop(request, "sync_status")
    backend = str(getattr(request.app[K_SETTINGS], "backend", "local") or "local")
    return _render(request, "sync.html", {**data, "backend": backend})


async def api_sync(request: web.Request) -> web.Response:
    """JSON of :func:`sync_page`."""
    return web.json_response(await _read_shop(request, "sync_status"))


def _change_id(request: web.Request) -> int:
    value = request.match_info["id"]
    if not value.isdigit() or len(value) > 18:
        raise web.HTTPBadRequest(text="bad change id")
    return int(value)


def _shop_client(request: web.Request) -> Any:
    """The connected shop's client (built once from the settings); None for a local shop."""
    conf = request.app[K_CONF]
    if conf.get("shop_client") is None:
        from knowledge.backend import CLIENTS, make_client

        settings = request.app[K_SETTINGS]
        if str(getattr(settings, "backend", "local") or "local") not in CLIENTS:
            return None
        conf["shop_client"] = make_client(settings)
    return conf["shop_client"]


async def sync_retry(request: web.Request) -> web.StreamResponse:
    """Send a pending, rejected or failed change to the shop again (same idempotency key)."""
    from knowledge.operations import OperationError

    change_id = _change_id(request)
    actor = f"staff:{request['session'].staff.email}"
    try:
        client = _shop_client(request)
    except Exception as exc:  # noqa: BLE001 - a misconfigured client is shown, not a 500
        logger.exception("shop client for the sync page")
        _flash(request, f"The shop client is not set up: {exc}", "error")
        raise _back(request, "/sync") from None
    if client is None:
        _flash(request, "This shop is not connected (SHOPBOT_BACKEND=local).", "error")
        raise _back(request, "/sync")
    try:
        row = await _read_shop(request, "retry_change", client, change_id, actor)
    except OperationError as exc:
        _flash(request, exc.reason, "error")
        raise _back(request, "/sync") from None
    if row["status"] == "accepted":
        _flash(request, f"Change #{change_id} was accepted by the shop.")
    else:
        _flash(request, f"Change #{change_id} is {row['status']}: {row['last_error']}", "error")
    raise _back(request, "/sync")


async def sync_drop(request: web.Request) -> web.StreamResponse:
    """Give up on a change that did not reach the shop (noted on its ticket)."""
    from knowledge.operations import OperationError

    change_id = _change_id(request)
    actor = f"staff:{request['session'].staff.email}"
    try:
        await _read_shop(request, "drop_change", change_id, actor)
        _flash(request, f"Change #{change_id} dropped; follow up with the shopper.")
    except OperationError as exc:
        _flash(request, exc.reason, "error")
    raise _back(request, "/sync")
