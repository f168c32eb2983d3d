"""Rasa's HTTP API answers a malformed body with a clear 400.

The API needs the token and is never behind the public proxy, but Rasa 3.6 answers some bad bodies
with a 500 (a JSON list, a string or invalid UTF-8 sent to /model/parse, an empty body to
trigger_intent...). These checks run before Rasa's handlers, on the endpoints that read a body.
"""
import json
import re
from typing import Any, Dict, Optional, Pattern, Sequence, Tuple

import rasa.server
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

# (path, the fields the body must have with their type)
BODY_FIELDS: Sequence[Tuple[Pattern, Dict[str, type]]] = (
    (re.compile(r"/model/parse"), {"text": str}),
    (re.compile(r"/conversations/[^/]+/messages"), {"text": str, "sender": str}),
    (re.compile(r"/conversations/[^/]+/trigger_intent"), {"name": str}),
    (re.compile(r"/conversations/[^/]+/execute"), {"name": str}),
)


def api_body_problem(path: str, raw_body: bytes) -> Optional[str]:
    """What is wrong with the body of an API call, or None (also for paths not checked here)."""
    fields = next((fields for pattern, fields in BODY_FIELDS if pattern.fullmatch(path)), None)
    if fields is None:
        return None
    try:
        body: Any = json.loads(raw_body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return "The body must be valid JSON in UTF-8."
    if not isinstance(body, dict):
        return "The body must be a JSON object."
    for name, kind in fields.items():
        if not isinstance(body.get(name), kind):
            return f'"{name}" must be a {kind.__name__}.'
    return None


def add_checks(app: Sanic) -> None:
    @app.on_request
    async def check_api_body(request: Request) -> Optional[HTTPResponse]:
        if request.method not in ("POST", "PUT"):
            return None
        if not (request.args.get("token") or request.headers.get("Authorization")):
            return None  # Rasa answers 401 first: the API's shape is not shown to callers without a token
        problem = api_body_problem(request.path, request.body)
        return response.json({"error": problem}, status=400) if problem else None


_rasa_create_app = rasa.server.create_app


def _create_app_with_checks(*args: Any, **kwargs: Any) -> Sanic:
    app = _rasa_create_app(*args, **kwargs)
    add_checks(app)
    return app


def install() -> None:
    rasa.server.create_app = _create_app_with_checks
