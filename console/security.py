"""Sign-in required everywhere, CSRF on every state change, security headers, and clear errors."""
from urllib.parse import urlsplit

from flask import Flask, flash, jsonify, redirect, render_template, request, url_for
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFProtect
from werkzeug.exceptions import HTTPException

from actions.rasa_api import RasaApiError
from console.accounts import load_user
from console.services import services

PUBLIC_ENDPOINTS = {"auth.login", "static"}
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
    # Registered before CSRFProtect: a signed-out request is sent to sign in before any token check.
    app.before_request(require_sign_in)
    CSRFProtect(app)
    app.after_request(add_security_headers)
    app.register_error_handler(HTTPException, render_error)
    app.register_error_handler(RasaApiError, assistant_unreachable)
