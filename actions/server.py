"""The action server: rasa-sdk's app with a shared secret on every call.

``rasa run actions`` listens on every interface and accepts any caller, so anyone who can
reach it could post a tracker that claims a verified customer. ``shopbot actions serve``
runs the same actions through :func:`create_action_app`, which

* refuses every request but ``/health`` unless it carries the action-server token in the
  ``X-Shopbot-Action-Token`` header (Rasa sends it: the endpoints file written by
  ``shopbot run all`` has ``action_endpoint.headers``);
* answers bad bodies (not JSON, nested too deeply, not an object) with a 400 and never
  echoes a request body back in an error;
* listens on loopback unless told otherwise (``SHOPBOT_INTERNAL_HOST``).
"""

from __future__ import annotations

import hmac
import json
import logging
from typing import Any

from shopbot.jsonlimits import nests_deeper_than

logger = logging.getLogger(__name__)

TOKEN_HEADER = "X-Shopbot-Action-Token"
MAX_BODY_BYTES = 2 * 1024 * 1024
MAX_JSON_DEPTH = 64  # trackers nest a few levels; far below Python's recursion limit


def create_action_app(token: str, package: str = "actions") -> Any:
    """rasa-sdk's Sanic app for ``package`` with the token check and 4xx for bad input.

    Args:
        token: The shared secret Rasa sends (``settings.action_server_token``).
        package: The actions package.

    Raises:
        ValueError: If ``token`` is empty.
    """
    if not token:
        raise ValueError("the action server needs a token (settings.action_server_token)")
    from rasa_sdk.endpoint import create_app
    from sanic import response

    app = create_app(package, cors_origins=None)
    app.config.REQUEST_MAX_SIZE = MAX_BODY_BYTES
    expected = token.encode("utf-8")

    @app.middleware("request")
    async def guard(request: Any) -> Any:
        if request.path == "/health":
            return None
        given = str(request.headers.get(TOKEN_HEADER, "")).encode("utf-8")
        if not hmac.compare_digest(given, expected):
            logger.warning("refused an action call without the right token (%s)", request.path)
            return response.json({"error": "missing or wrong action server token"}, status=401)
        if request.method == "POST":
            if request.headers.get("Content-Encoding") == "deflate":
                return None  # rasa-sdk decompresses; its own parser answers bad bodies
            try:
                body = json.loads(request.body or b"null")
            except (ValueError, UnicodeDecodeError):
                return response.json({"error": "body is not valid JSON"}, status=400)
            except RecursionError:
                return response.json({"error": "body nests too deeply"}, status=400)
            if not isinstance(body, dict) or nests_deeper_than(body, MAX_JSON_DEPTH):
                return response.json(
                    {"error": "body must be a JSON object of an action call"}, status=400
                )
            if not isinstance(body.get("next_action"), str) or not isinstance(
                body.get("tracker"), dict
            ):
                return response.json(
                    {"error": "an action call needs 'next_action' and 'tracker'"}, status=400
                )
            # rasa-sdk reads ``request.json``: hand it this parse instead of a second one
            # of the same 40 KB body (about a tenth of the server's CPU, docs/performance.md).
            request.parsed_json = body
        return None

    @app.exception(Exception)
    async def on_error(request: Any, exception: Exception) -> Any:
        status = int(getattr(exception, "status_code", 500) or 500)
        if status >= 500:
            logger.error("action call failed on %s", request.path, exc_info=exception)
            return response.json({"error": "internal error in the action server"}, status=500)
        return response.json({"error": str(exception)[:200]}, status=status)

    return app


def serve(token: str, host: str = "127.0.0.1", port: int = 5055, workers: int = 1) -> None:
    """Run the guarded action server until interrupted."""
    app = create_action_app(token)
    logger.info("action server on http://%s:%d (token required)", host, port)
    app.run(host=host, port=port, workers=workers, access_log=False, motd=False)
