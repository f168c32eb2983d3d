"""The console's configuration, from the environment (clinic/settings.py, .env.example)."""
from datetime import timedelta
from pathlib import Path
from typing import Any, Dict

from clinic import settings
from clinic.profile import clinic_timezone


def tracker_store_url() -> str:
    """TRACKER_STORE_URL (e.g. PostgreSQL), else the SQLite file of endpoints.env.yml."""
    return settings.current().tracker_store_url


def max_request_bytes() -> int:
    """CONSOLE_MAX_REQUEST_KB: the largest request body the console reads."""
    return settings.current().CONSOLE_MAX_REQUEST_KB * 1024


def default_config() -> Dict[str, Any]:
    """The console's configuration from the typed settings (clinic/settings.py); raises SettingsError
    (a ValueError naming the variable) when one is wrong."""
    typed = settings.current()
    return {
        "DATA_DIR": str(typed.DATA_DIR),
        "DATABASE_URL": typed.DATABASE_URL,
        "TRACKER_STORE_URL": typed.tracker_store_url,
        "TIMEZONE": clinic_timezone(),
        "SECRET_KEY": typed.secret("CONSOLE_SECRET_KEY") or "",
        # Sign-in throttling (console/accounts.py, authenticate): wrong passwords in a row for one account
        # from one address before that address waits 2**k seconds; failed sign-ins from one address
        # within LOCKOUT_MINUTES that refuse it everything; LOCKOUT_MINUTES is also the longest wait.
        "LOCKOUT_ATTEMPTS": typed.CONSOLE_LOCKOUT_ATTEMPTS,
        "ADDRESS_LOCKOUT_ATTEMPTS": typed.CONSOLE_ADDRESS_LOCKOUT_ATTEMPTS,
        "LOCKOUT_MINUTES": typed.CONSOLE_LOCKOUT_MINUTES,
        # Reverse proxies in front that set X-Forwarded-For (docker-compose.yml: nginx, 1): the address
        # sign-in throttling counts is then the client's, not the proxy's.
        "PROXIES_COUNT": typed.CONSOLE_PROXIES_COUNT,
        "REVEAL_MINUTES": 30,  # how long a reveal lasts for the staff member who asked
        "SESSION_COOKIE_NAME": "console_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": typed.CONSOLE_SECURE_COOKIES,
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=12),
        # Bodies over this are refused with a 413 before they are read (waitress too, see __main__).
        "MAX_CONTENT_LENGTH": typed.CONSOLE_MAX_REQUEST_KB * 1024,
        "MAX_FORM_MEMORY_SIZE": typed.CONSOLE_MAX_REQUEST_KB * 1024,
        # The CSRF token lives as long as the sign-in (a queue page stays open all day).
        "WTF_CSRF_TIME_LIMIT": None,
        # Flask-WTF's HTTPS Referer check cannot work with Referrer-Policy: no-referrer; the token and
        # SameSite cookies protect the forms.
        "WTF_CSRF_SSL_STRICT": False,
    }


def generated_secret_key(data_dir: Path) -> str:
    """A key generated once and kept in the data folder (0600), for when CONSOLE_SECRET_KEY is unset."""
    return settings.generated_secret(Path(data_dir) / "console_secret_key", length=48)
