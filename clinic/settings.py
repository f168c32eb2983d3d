"""Runtime settings, read once from the environment (and `.env`, via python-dotenv).

Every variable is documented in `.env.example`. Defaults suit a single machine: all data
under `var/` in the project folder, SQLite databases, the action server on loopback.
"""
import os
import secrets
import stat
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
    # The action server's bind address (read by rasa_sdk): loopback, so only the Rasa server on
    # this machine can call it. In a container network set it to 0.0.0.0 (never published).
    "SANIC_HOST": "127.0.0.1",
    # The Rasa server keeps connections to the action server open for reuse; Sanic's default
    # closes them after 5 s idle, and a reply racing that close was lost under load ("Cannot
    # write to closing transport"; make bench: 10-11 lost replies at 100 visitors, 0 with 75 s).
    "SANIC_KEEP_ALIVE_TIMEOUT": "75",
    # Bad input and floods (rasa_server/, channels/rest.py, rasa_sdk_plugins/): the largest request
    # body the Rasa server reads (bytes; larger gets 413), the longest message it processes, and how
    # many messages one IP address (web chat) and one conversation (every channel) may send a minute
    # (0: no limit). The action server's own bound is ACTION_SERVER_MAX_REQUEST_BYTES (4 MiB).
    "SANIC_REQUEST_MAX_SIZE": "262144",
    "MAX_MESSAGE_CHARS": "2000",
    "RATE_LIMIT_IP_PER_MINUTE": "600",
    "RATE_LIMIT_SENDER_PER_MINUTE": "30",
    "ACTION_SERVER_MAX_REQUEST_BYTES": str(4 * 1024 * 1024),
    "CLINIC_PROFILE_PATH": str(PROJECT_DIR / "clinic_profile.yml"),
    "BOOKING_SPOOL_PATH": str(DATA_DIR / "booking_spool.jsonl"),
    "BOOKING_SPOOL_RETRY_SECONDS": "30",
    # Human handoff: where the action server and the console reach the Rasa HTTP API, and how long
    # a visitor waits for a person before being offered a call back.
    "RASA_URL": "http://127.0.0.1:5005",
    "HANDOFF_TIMEOUT_MINUTES": "5",
    "HANDOFF_CHECK_SECONDS": "15",
    # Staff console (console/, see .env.example). TRACKER_STORE_URL: the tracker store as an
    # SQLAlchemy URL when it is not the SQLite file TRACKER_DB_PATH (e.g. PostgreSQL).
    "TRACKER_STORE_URL": "",
    "CONSOLE_PORT": "8090",
    # Where staff open the console, for the links in staff alerts (e.g. https://clinic.example/console).
    "CONSOLE_PUBLIC_URL": "",
    "CONSOLE_SECRET_KEY": "",
    "CONSOLE_SECURE_COOKIES": "false",
    "CONSOLE_LOCKOUT_ATTEMPTS": "5",
    "CONSOLE_LOCKOUT_MINUTES": "15",
    "CONVERSATION_RETENTION_DAYS": "90",
    # Channels (credentials.yml): an empty secret leaves its channel refusing every request.
    "ALLOWED_ORIGINS": "http://127.0.0.1:8080,http://localhost:8080",
    # Several Rasa replicas: a Redis URL through which they pass web chat messages to each other's
    # sockets (redis://:password@host:6379/2). Empty: one replica, no queue.
    "SOCKETIO_MESSAGE_QUEUE_URL": "",
    **dict.fromkeys(
        [
            "FACEBOOK_VERIFY_TOKEN", "FACEBOOK_APP_SECRET", "FACEBOOK_PAGE_ACCESS_TOKEN",
            "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_CHANNEL",
            "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_NUMBER", "TWILIO_WEBHOOK_URL",
            "TELEGRAM_ACCESS_TOKEN", "TELEGRAM_BOT_NAME", "TELEGRAM_WEBHOOK_URL", "TELEGRAM_SECRET_TOKEN",
        ],
        "",
    ),
}


def apply_defaults() -> None:
    """Fill in every unset variable so that endpoints.yml and the actions see one consistent set.

    Also makes this process (and whatever it starts) create files for its own user only: every
    entry point (scripts/with_env.py, scripts/rasa_run.py, the console) calls this first.
    """
    # Conversations, bookings, staff password hashes and logs: no other local user may read them.
    os.umask(0o077)
    # Rasa's telemetry and error reports would send usage data to Rasa's servers: never, here.
    os.environ["RASA_TELEMETRY_ENABLED"] = "false"
    for name, value in DEFAULTS.items():
        if not os.environ.get(name):
            os.environ[name] = value
    make_private(Path(os.environ["DATA_DIR"]))
    # endpoints.yml sends it with every action call; the action server refuses calls without it.
    os.environ["ACTION_SERVER_TOKEN"] = action_server_token()


def make_private(data_dir: Path) -> None:
    """The data folder 0700, and what an older install left in it readable by its owner only.

    Only the folder, its files and the files of its direct subfolders (logs/): DATA_DIR is the
    assistant's own folder, never a tree to walk.
    """
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    entries = [data_dir]
    for entry in data_dir.iterdir():
        entries.append(entry)
        if entry.is_dir() and not entry.is_symlink():
            try:
                entries.extend(entry.iterdir())
            except OSError:
                continue
    for entry in entries:
        try:
            info = entry.lstat()
            if entry.is_symlink() or info.st_uid != os.getuid():
                continue
            wanted = 0o700 if entry.is_dir() else stat.S_IMODE(info.st_mode) & ~0o077
            if stat.S_IMODE(info.st_mode) != wanted:
                entry.chmod(wanted)
        except OSError:  # removed meanwhile, or not ours to change
            continue


def rasa_auth_token() -> str:
    """The Rasa HTTP API token: RASA_AUTH_TOKEN, or one generated once and kept in the data folder.

    The generated file lets the Rasa server, the action server and the staff console on one machine
    agree on a token without anyone choosing one; in production set RASA_AUTH_TOKEN.
    """
    if os.environ.get("RASA_AUTH_TOKEN"):
        return os.environ["RASA_AUTH_TOKEN"]
    return generated_secret(Path(get("DATA_DIR")) / "rasa_auth_token")


def action_server_token() -> str:
    """The secret the Rasa server sends the action server with every call (endpoints.yml).

    ACTION_SERVER_TOKEN, or one generated once and kept in the data folder, like the API token.
    """
    if os.environ.get("ACTION_SERVER_TOKEN"):
        return os.environ["ACTION_SERVER_TOKEN"]
    return generated_secret(Path(get("DATA_DIR")) / "action_server_token")


def console_secret_key() -> str:
    """The staff console's secret key: CONSOLE_SECRET_KEY, or one generated once in the data folder.

    The action server needs it too, to link staff alerts to a conversation's opaque key.
    """
    if os.environ.get("CONSOLE_SECRET_KEY"):
        return os.environ["CONSOLE_SECRET_KEY"]
    return generated_secret(Path(get("DATA_DIR")) / "console_secret_key", length=48)


def console_conversation_link(conversation_id: str) -> str:
    """The address of a conversation in the staff console, naming it by its opaque key only."""
    from clinic.conversation_keys import conversation_key

    base = (get("CONSOLE_PUBLIC_URL") or f"http://127.0.0.1:{get('CONSOLE_PORT')}").rstrip("/")
    return f"{base}/conversations/{conversation_key(conversation_id, console_secret_key())}"


def generated_secret(path: Path, length: int = 32) -> str:
    """A random secret created once at `path` (owner-only, 0600) and read back ever after.

    Hexadecimal (`length` random bytes): it can never start with "-" and be taken for an option
    on a command line, and needs no quoting in a URL or a shell. Written to a file of its own and
    then linked into place, so that concurrent first starts agree on one secret and none of them
    reads a file that is still empty.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not path.exists():
        draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "w") as handle:
                handle.write(secrets.token_hex(length))
            os.link(draft, path)
        except FileExistsError:
            pass  # another process was first: its secret is the one
        except OSError:  # a file system without hard links: created in place instead
            try:
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
                path.write_text(draft.read_text())
            except FileExistsError:
                pass
        finally:
            draft.unlink()
    return path.read_text().strip()


def get(name: str) -> str:
    return os.environ.get(name) or DEFAULTS[name]
