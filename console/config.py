"""The console's configuration, from the environment (clinic/settings.py, .env.example)."""
import os
from datetime import timedelta
from pathlib import Path
from typing import Any, Dict

from clinic import settings
from clinic.profile import clinic_timezone

DEFAULT_MAX_REQUEST_KB = 64  # the largest form is a 4,000-character note; a reply is 2,000 characters
DEFAULT_ADDRESS_ATTEMPTS = 20  # a clinic's staff share one address: several mistyped passwords are normal


def tracker_store_url() -> str:
    """TRACKER_STORE_URL (e.g. PostgreSQL), else the SQLite file of endpoints.yml."""
    return settings.get("TRACKER_STORE_URL") or f"sqlite:///{settings.get('TRACKER_DB_PATH')}"


def max_request_bytes() -> int:
    """CONSOLE_MAX_REQUEST_KB (default 64): the largest request body the console reads.

    Read here rather than through clinic/settings.py: only the console uses it."""
    raw = os.environ.get("CONSOLE_MAX_REQUEST_KB", "").strip() or str(DEFAULT_MAX_REQUEST_KB)
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= 10240:
        raise ValueError(f"CONSOLE_MAX_REQUEST_KB: expected a number of kilobytes from 1 to 10240, not {raw!r}.")
    return int(raw) * 1024


def console_number(name: str, default: int, low: int, high: int) -> int:
    """A whole number from the environment, read here rather than through clinic/settings.py: only
    the console uses it."""
    raw = os.environ.get(name, "").strip() or str(default)
    if not raw.isascii() or not raw.isdigit() or not low <= int(raw) <= high:
        raise ValueError(f"{name}: expected a whole number from {low} to {high}, not {raw!r}.")
    return int(raw)


def default_config() -> Dict[str, Any]:
    return {
        "DATA_DIR": settings.get("DATA_DIR"),
        "DATABASE_URL": settings.get("DATABASE_URL"),
        "TRACKER_STORE_URL": tracker_store_url(),
        "TIMEZONE": clinic_timezone(),
        "SECRET_KEY": settings.get("CONSOLE_SECRET_KEY"),
        # Sign-in throttling (console/accounts.py, authenticate): wrong passwords in a row for one account
        # from one address before that address waits 2**k seconds; failed sign-ins from one address
        # within LOCKOUT_MINUTES that refuse it everything; LOCKOUT_MINUTES is also the longest wait.
        "LOCKOUT_ATTEMPTS": int(settings.get("CONSOLE_LOCKOUT_ATTEMPTS")),
        "ADDRESS_LOCKOUT_ATTEMPTS": console_number("CONSOLE_ADDRESS_LOCKOUT_ATTEMPTS", DEFAULT_ADDRESS_ATTEMPTS, 1, 100000),
        "LOCKOUT_MINUTES": float(settings.get("CONSOLE_LOCKOUT_MINUTES")),
        # Reverse proxies in front that set X-Forwarded-For (docker-compose.yml: nginx, 1): the address
        # sign-in throttling counts is then the client's, not the proxy's.
        "PROXIES_COUNT": console_number("CONSOLE_PROXIES_COUNT", 0, 0, 5),
        "REVEAL_MINUTES": 30,  # how long a reveal lasts for the staff member who asked
        "SESSION_COOKIE_NAME": "console_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": settings.get("CONSOLE_SECURE_COOKIES").lower() == "true",
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=12),
        # Bodies over this are refused with a 413 before they are read (waitress too, see __main__).
        "MAX_CONTENT_LENGTH": max_request_bytes(),
        "MAX_FORM_MEMORY_SIZE": max_request_bytes(),
        # The CSRF token lives as long as the sign-in (a queue page stays open all day).
        "WTF_CSRF_TIME_LIMIT": None,
        # Flask-WTF's HTTPS Referer check cannot work with Referrer-Policy: no-referrer; the token and
        # SameSite cookies protect the forms.
        "WTF_CSRF_SSL_STRICT": False,
    }


def generated_secret_key(data_dir: Path) -> str:
    """A key generated once and kept in the data folder (0600), for when CONSOLE_SECRET_KEY is unset."""
    return settings.generated_secret(Path(data_dir) / "console_secret_key", length=48)
