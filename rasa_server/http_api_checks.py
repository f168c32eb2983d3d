"""Rasa's HTTP API answers a malformed body with a clear 400, and only to a caller it accepts.

The API needs the token and is never behind the public proxy, but Rasa 3.6 answers some bad bodies
with a 500 (a JSON list, a string or invalid UTF-8 sent to /model/parse, an empty body to
trigger_intent...). These checks run before Rasa's handlers, on the endpoints that read a body,
and only after Rasa's own authentication (its `requires_auth`, token or JWT) has accepted the
caller: anyone else gets Rasa's 401 (or 403), never a description of what the API expects.

`_create_app_with_checks` replaces `rasa.server.create_app` (the app has no hook before Rasa's
handlers run, and `rasa run` makes it itself), installed by rasa_server/extensions.py.
"""
import inspect
import re
from typing import Any, Callable, Dict, Optional, Pattern, Sequence, Tuple

import rasa.server
from rasa.server import ErrorResponse
from sanic import Sanic, response
from sanic.exceptions import InvalidUsage
from sanic.request import Request
from sanic.response import HTTPResponse

# (path, the fields the body must have with their type)
BODY_FIELDS: Sequence[Tuple[Pattern, Dict[str, type]]] = (
    (re.compile(r"/model/parse"), {"text": str}),
    (re.compile(r"/conversations/[^/]+/messages"), {"text": str, "sender": str}),
    (re.compile(r"/conversations/[^/]+/trigger_intent"), {"name": str}),
    (re.compile(r"/conversations/[^/]+/execute"), {"name": str}),
)


def fields_needed(path: str) -> Optional[Dict[str, type]]:
    """The fields a body sent to `path` must have, or None for paths not checked here."""
    return next((fields for pattern, fields in BODY_FIELDS if pattern.fullmatch(path)), None)


def api_body_problem(fields: Dict[str, type], body: Any) -> Optional[str]:
    """What is wrong with the (parsed) body of an API call, or None."""
    if not isinstance(body, dict):
        return "The body must be a JSON object."
    for name, kind in fields.items():
        if not isinstance(body.get(name), kind):
            return f'"{name}" must be a {kind.__name__}.'
    return None


def caller_check(app: Sanic, auth_token: Optional[str]) -> Callable[..., Any]:
    """Rasa's own authentication, as its endpoints apply it: awaited with the request and the
    route's arguments, it returns when the caller may use the endpoint and raises ErrorResponse
    (401, or 403 for a JWT without the right) when not."""

    async def accepted(request: Request, conversation_id: Optional[str] = None) -> None:
        return None

    return rasa.server.requires_auth(app, auth_token)(accepted)


def add_checks(app: Sanic, auth_token: Optional[str] = None) -> None:
    check_caller = caller_check(app, auth_token)

    @app.on_request
    async def check_api_body(request: Request) -> Optional[HTTPResponse]:
        if request.method not in ("POST", "PUT"):
            return None
        fields = fields_needed(request.path)
        if fields is None:
            return None
        try:
            await check_caller(request, **request.match_info)
        except ErrorResponse:
            return None  # Rasa's handler refuses the caller itself, with its own answer
        try:
            body = request.json  # parsed once: Rasa's handler reads the same parsed body
        except InvalidUsage:
            return response.json({"error": "The body must be valid JSON in UTF-8."}, status=400)
        problem = api_body_problem(fields, body)
        return response.json({"error": problem}, status=400) if problem else None


_rasa_create_app = rasa.server.create_app


def _create_app_with_checks(*args: Any, **kwargs: Any) -> Sanic:
    app = _rasa_create_app(*args, **kwargs)
    arguments = inspect.signature(_rasa_create_app).bind(*args, **kwargs)
    add_checks(app, arguments.arguments.get("auth_token"))
    return app
