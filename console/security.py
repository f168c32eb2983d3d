"""Sign-in required everywhere, CSRF on every state change, security headers, and clear errors."""
from urllib.parse import unquote_to_bytes, urlsplit

from flask import Flask, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFProtect
from werkzeug.exceptions import BadRequest, HTTPException, RequestEntityTooLarge, RequestURITooLarge

from clinic.rasa_api import RasaApiError
from console.accounts import load_user
from console.services import services

PUBLIC_ENDPOINTS = {"auth.login", "static"}
MAX_QUERY_STRING = 8 * 1024  # bytes; the longest the console makes is a filtered list's page link
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def wants_json() -> bool:
    return request.path.endswith(".json") or request.is_json or request.accept_mimetypes.best == "application/json"


def local_path(target: str, fallback: str) -> str:
    """`target` when it is a path on this site (no scheme, no host), else `fallback`."""
    parts = urlsplit(target or "")
    if not target or parts.scheme or parts.netloc or not target.startswith("/") or target.startswith(("//", "/\\")):
        return fallback
    return target


def _wsgi_bytes(value: str) -> bytes:
    """A WSGI string (PATH_INFO: bytes decoded as latin-1) back to its bytes."""
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:  # a server that decoded it already
        return value.encode("utf-8", "surrogatepass")


def refuse_malformed_request():
    """Before anything else (sign-in, CSRF, the views), so that it costs nothing: a body over the
    size limit is refused unread (413), an over-long query string gets a 414, and a path, query string
    or form that is not UTF-8 or holds a NUL character a 400 (nothing the console stores may hold them)."""
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if limit is not None and (request.content_length or 0) > limit:
        raise RequestEntityTooLarge(f"Requests are limited to {limit // 1024} KB.")
    if len(request.query_string) > MAX_QUERY_STRING:
        raise RequestURITooLarge(f"The address is too long (at most {MAX_QUERY_STRING // 1024} KB of parameters).")
    parts = {"address": _wsgi_bytes(request.environ.get("PATH_INFO", "")),
             "query string": unquote_to_bytes(request.query_string)}
    if request.mimetype == "application/x-www-form-urlencoded":
        parts["form"] = unquote_to_bytes(request.get_data(cache=True).replace(b"+", b" "))
    for name, raw in parts.items():
        try:
            decoded = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequest(f"The {name} is not valid UTF-8.") from None
        if "\x00" in decoded:
            raise BadRequest(f"The {name} contains a NUL character.")


def unauthorized():
    if wants_json():
        return jsonify(error="Sign in first."), 401
    next_page = request.full_path.rstrip("?") if request.method == "GET" else None
    return redirect(url_for("auth.login", next=next_page))


def require_sign_in():
    if request.endpoint not in PUBLIC_ENDPOINTS and not current_user.is_authenticated:
        return unauthorized()
    return None


def add_security_headers(response):
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    if request.endpoint != "static":  # pages hold personal data: never cached
        response.headers["Cache-Control"] = "no-store"
    return response


def render_error(error: HTTPException):
    if wants_json():
        return jsonify(error=error.description), error.code
    return render_template("error.html", error=error), error.code


def assistant_unreachable(error: RasaApiError):
    message = "The assistant could not be reached; nothing was sent. Try again in a moment."
    if wants_json():
        return jsonify(error=message), 502
    flash(message, "error")
    return redirect(local_path(request.form.get("next", ""), url_for("queue.index")))


def init_app(app: Flask) -> None:
    login_manager = LoginManager(app)
    login_manager.session_protection = "strong"
    login_manager.user_loader(lambda user_id: load_user(services().db, user_id))
    login_manager.unauthorized_handler(unauthorized)
    app.before_request(refuse_malformed_request)
    # Registered before CSRFProtect: a signed-out request is sent to sign in before any token check.
    app.before_request(require_sign_in)
    CSRFProtect(app)
    app.after_request(add_security_headers)
    app.register_error_handler(HTTPException, render_error)
    app.register_error_handler(RasaApiError, assistant_unreachable)
