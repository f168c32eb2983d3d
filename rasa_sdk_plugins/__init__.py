"""Action-server extensions, found by rasa_sdk's own plugin discovery (a package of this name).

The action server (`rasa run actions`) only listens on a private address, and answers only the
Rasa server: every request but GET /health must carry the shared secret ACTION_SERVER_TOKEN
(endpoints.env.yml and endpoints.production.yml send it as `Authorization: Bearer <secret>`, a
header, so it never lands in an access log), or it gets a 401 before anything is read or run.
`make run`, `make actions`, Docker and the tests always set the secret (scripts/with_env.py
generates one into the data folder; docker-compose.yml requires one).

Plain `rasa run actions` in the project folder, with no ACTION_SERVER_TOKEN in the environment or
.env, pairs with plain `rasa shell`/`rasa run` (endpoints.yml sends no secret): it listens on
127.0.0.1 (unless SANIC_HOST says otherwise), answers calls without a secret from this machine only
(loopback addresses; any other caller gets the 401), and says so at start.

It still answers bad input clearly: a call that is not an action call of Rasa's shape gets a 400
saying what is wrong, headers over 8 KiB a 431, a body over ACTION_SERVER_MAX_REQUEST_BYTES a 413,
any other refusal of Sanic's its own 4xx, and an unexpected error a 500 that does not echo the
request back (rasa_sdk's own handler returns the whole tracker, personal data included, in the
error body). rasa_server/extensions.py pins the rasa_sdk code this relies on.
"""
import hmac
import ipaddress
import json
import logging
import os
import zlib
from http import HTTPStatus
from typing import Any, Optional

import pluggy
from sanic import Sanic, response
from sanic.exceptions import InvalidUsage, PayloadTooLarge, SanicException
from sanic.request import Request
from sanic.response import HTTPResponse

logger = logging.getLogger(__name__)
hookimpl = pluggy.HookimplMarker("rasa_sdk")

OPEN_PATHS = ("/health",)  # health checks (run.sh, Docker) need no secret; they learn nothing


def carries_secret(request: Request, secret: str) -> bool:
    """Whether the request carries the action server's secret (constant-time comparison)."""
    given = request.headers.get("Authorization") or ""
    return hmac.compare_digest(given.encode(), f"Bearer {secret}".encode())


def from_this_machine(request: Request) -> bool:
    """Whether the request's connection comes from a loopback address (the socket's peer, not a
    forwarded header)."""
    try:
        address = ipaddress.ip_address(request.ip)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return (mapped or address).is_loopback


def may_call(request: Request, secret: Optional[str]) -> bool:
    """With a secret: the request carries it. Without (plain `rasa run actions`): from this machine."""
    return carries_secret(request, secret) if secret else from_this_machine(request)


def unread_request(request: Request) -> bool:
    """Sanic's stand-in for a request it could not read (headers too large, a bad request line):
    its error handler runs the request middleware with it, and answers."""
    return request.method == "NONE"


def body_left_unread(request: Request) -> bool:
    """The body was not read: Sanic refused it (over REQUEST_MAX_SIZE) and its error handler answers."""
    return bool(getattr(request.stream, "request_body", None))


def action_call_problem(call: Any) -> Optional[str]:
    """What is wrong with an action call (Rasa's request to /webhook), or None when it is well formed."""
    if not isinstance(call, dict):
        return "The body must be a JSON object."
    if not isinstance(call.get("next_action"), str) or not call["next_action"]:
        return '"next_action" must be the name of an action.'
    if "version" in call and not isinstance(call["version"], str):
        return '"version" must be a string.'
    if "domain" in call and not isinstance(call["domain"], dict):
        return '"domain" must be an object.'
    tracker = call.get("tracker")
    if not isinstance(tracker, dict) or not isinstance(tracker.get("sender_id"), str):
        return '"tracker" must be an object with a "sender_id" string.'
    expected = {"slots": dict, "latest_message": dict, "active_loop": dict, "events": list}
    for key, kind in expected.items():
        if tracker.get(key) is not None and not isinstance(tracker[key], kind):
            return f'"tracker.{key}" must be {"an object" if kind is dict else "a list"}.'
    if not all(isinstance(event, dict) for event in tracker.get("events") or []):
        return '"tracker.events" must be a list of objects.'
    return None


def read_action_call(request: Request, max_bytes: int) -> Any:
    if request.headers.get("Content-Encoding") != "deflate":
        return request.json  # parsed once: rasa_sdk's handler reads the same parsed body
    decompressor = zlib.decompressobj()
    body = decompressor.decompress(request.body, max_bytes)
    if decompressor.unconsumed_tail:
        raise ValueError("decompressed body too large")
    return json.loads(body)


class ActionServerInputChecks:
    @hookimpl
    def attach_sanic_app_extensions(self, app: Sanic) -> None:
        from clinic import settings  # the project's settings: importing them reads .env

        # Every setting checked at start: a wrong one stops the action server here, with its name.
        typed = settings.checked()
        # The clinic database at the newest migration before the first action call (clinic/schema.py);
        # a database down now only delays it: the stores upgrade it when they first reach it.
        from clinic.schema import upgrade_at_start

        upgrade_at_start(typed.DATABASE_URL, "action server")
        max_bytes = typed.ACTION_SERVER_MAX_REQUEST_BYTES
        app.config.REQUEST_MAX_SIZE = max_bytes
        # rasa_sdk reads SANIC_HOST after this hook (it binds 0.0.0.0 when unset): loopback unless set.
        if not os.environ.get("SANIC_HOST"):
            os.environ["SANIC_HOST"] = typed.SANIC_HOST
        # Set (or from .env) for every start but plain `rasa run actions`; never generated here.
        secret = typed.secret("ACTION_SERVER_TOKEN")
        if not secret:
            logger.warning(
                "ACTION_SERVER_TOKEN is not set: this action server answers calls without a secret, from this "
                "machine only (plain `rasa run actions`, for plain `rasa shell`/`rasa run`). make run, make actions "
                "and Docker set one."
            )

        @app.on_request
        async def check_action_call(request: Request) -> Optional[HTTPResponse]:
            if unread_request(request) or request.path in OPEN_PATHS:
                return None
            if not may_call(request, secret):
                logger.warning("Refused a request without the action server's secret (ACTION_SERVER_TOKEN).")
                return response.json({"error": "This server answers the clinic assistant only."}, status=401)
            if request.method != "POST" or request.path != "/webhook" or body_left_unread(request):
                return None
            try:
                call = read_action_call(request, max_bytes)
            except (InvalidUsage, ValueError, UnicodeDecodeError, RecursionError, zlib.error):
                return response.json({"error": "The body must be a JSON action call in UTF-8."}, status=400)
            problem = action_call_problem(call)
            if problem:
                logger.warning("Refused an action call: %s", problem)
                return response.json({"error": problem}, status=400)
            return None

        async def unexpected_error(request: Request, exception: Exception) -> HTTPResponse:
            if isinstance(exception, PayloadTooLarge):
                if unread_request(request):
                    return response.json({"error": "The request headers are too large."}, status=431)
                return response.json({"error": "The request is too large."}, status=413)
            if isinstance(exception, SanicException) and 400 <= (exception.status_code or 500) < 500:
                status = exception.status_code
                return response.json({"error": HTTPStatus(status).phrase}, status=status)
            logger.error("Error while handling %s %s", request.method, request.path, exc_info=exception)
            return response.json({"error": "The action server could not handle this request."}, status=500)

        app.error_handler.add(Exception, unexpected_error)


def init_hooks(manager: pluggy.PluginManager) -> None:
    manager.register(ActionServerInputChecks())
