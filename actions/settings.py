"""Runtime settings, read once from the environment (and `.env`, via python-dotenv).

Every variable is documented in `.env.example`. Defaults suit a single machine: all data
under `var/` in the project folder, SQLite databases, the action server on loopback.
"""
import os
from pathlib import Path

from dotenv import load_dotenv

PROJECT_DIR = Path(__file__).resolve().parent.parent
load_dotenv(PROJECT_DIR / ".env")

DATA_DIR = Path(os.environ.get("DATA_DIR") or PROJECT_DIR / "var")

DEFAULTS = {
    "DATA_DIR": str(DATA_DIR),
    "TRACKER_DB_PATH": str(DATA_DIR / "tracker.db"),
    "DATABASE_URL": f"sqlite:///{DATA_DIR / 'clinic.db'}",
    "ACTION_ENDPOINT_URL": "http://127.0.0.1:5055/webhook",
    "CLINIC_PROFILE_PATH": str(PROJECT_DIR / "clinic_profile.yml"),
    "BOOKING_SPOOL_PATH": str(DATA_DIR / "booking_spool.jsonl"),
    "BOOKING_SPOOL_RETRY_SECONDS": "30",
}


def apply_defaults() -> None:
    """Fill in every unset variable so that endpoints.yml and the actions see one consistent set."""
    for name, value in DEFAULTS.items():
        if not os.environ.get(name):
            os.environ[name] = value
    Path(os.environ["DATA_DIR"]).mkdir(parents=True, exist_ok=True)


def get(name: str) -> str:
    return os.environ.get(name) or DEFAULTS[name]
