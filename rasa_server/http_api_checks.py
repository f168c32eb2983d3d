"""Rasa's HTTP API answers a malformed body with a clear 400.

The API needs the token and is never behind the public proxy, but Rasa 3.6 answers some bad bodies
with a 500 (a JSON list, a string or invalid UTF-8 sent to /model/parse, an empty body to
trigger_intent...). These checks run before Rasa's handlers, on the endpoints that read a body.
"""
import re
from typing import Any, Dict, Optional, Pattern, Sequence, Tuple

import rasa.server
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


def add_checks(app: Sanic) -> None:
    @app.on_request
    async def check_api_body(request: Request) -> Optional[HTTPResponse]:
        if request.method not in ("POST", "PUT"):
            return None
        if not (request.args.get("token") or request.headers.get("Authorization")):
            return None  # Rasa answers 401 first: the API's shape is not shown to callers without a token
        fields = fields_needed(request.path)
        if fields is None:
            return None
        try:
            body = request.json  # parsed once: Rasa's handler reads the same parsed body
        except InvalidUsage:
            return response.json({"error": "The body must be valid JSON in UTF-8."}, status=400)
        problem = api_body_problem(fields, body)
        return response.json({"error": problem}, status=400) if problem else None


_rasa_create_app = rasa.server.create_app


def _create_app_with_checks(*args: Any, **kwargs: Any) -> Sanic:
    app = _rasa_create_app(*args, **kwargs)
    add_checks(app)
    return app


def install() -> None:
    rasa.server.create_app = _create_app_with_checks
