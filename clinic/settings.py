"""Runtime settings: one typed object, `Settings`, read from the environment and `.env`.

Every variable is a field of `Settings` (pydantic's BaseSettings): its type, its bounds, its default and
its description, written once here. `.env.example` is generated from these fields
(`python scripts/env_example.py`; tests/test_settings.py checks it is up to date). An empty value means
the default. A wrong value stops every service at start with one message naming the variable and what
is expected (`SettingsError`, turned into a plain exit by `checked()` and `apply_defaults()`), never a
visitor later.

Defaults suit a single machine: all data under `var/` in the project folder, SQLite databases, the
action server on loopback. Read the settings with `current()` (the environment as it is now, parsed
again only when a variable changed); `get(NAME)` is the same value by name, for older call sites.
"""
import enum
import ipaddress
import os
import re
import secrets
import stat
import sys
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple
from urllib.parse import urlsplit

from dotenv import load_dotenv
from pydantic import AnyHttpUrl, BaseSettings, Field, SecretStr, ValidationError, root_validator, validator
from pydantic.fields import ModelField

PROJECT_DIR = Path(__file__).resolve().parent.parent
# Into the process environment, not only into the settings: Rasa expands ${VARIABLES} in the endpoints
# and credentials files from it, and the commands scripts/with_env.py starts inherit it.
load_dotenv(PROJECT_DIR / ".env")

PORT = {"ge": 1, "le": 65535, "unit": "TCP port"}
SECRET_NAME = re.compile(r"PASSWORD|TOKEN|SECRET|_KEY$|_SID$|DATABASE_URL|STORE_URL|QUEUE_URL")
ORIGIN = re.compile(r"https?://[A-Za-z0-9.\-\[\]:]+")
HOST = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.\-]*[A-Za-z0-9])?")
E164 = re.compile(r"\+[1-9]\d{1,14}")
TELEGRAM_SECRET = re.compile(r"[A-Za-z0-9_\-]{1,256}")

# The sections of .env.example, in order, with the text that opens each.
GROUPS: Dict[str, str] = {
    "storage": "---- storage",
    "services": "---- services",
    "requests": "---- consultation and call-back requests (clinic/storage.py, clinic/notifier.py)",
    "channels": (
        "---- channels (credentials.env.yml; plain `rasa run` reads credentials.yml: REST and web chat only)\n"
        "A messaging channel is on when its required values are set; until then its webhook answers 403 and the "
        "Rasa log says \"The <channel> channel is not configured\". Webhook URLs to register with each platform: "
        "https://<your-server>/webhooks/<channel>/webhook (HTTPS, public)."
    ),
    "console": "---- staff console (python -m console run; see console/README.md)",
    "handoff": "---- human handoff (action server and staff console)",
    "actions": "---- action server (rasa run actions)",
    "production": (
        "---- production (docker-compose.yml, endpoints.production.yml) and limits of the Rasa server\n"
        "Several Rasa servers share a PostgreSQL tracker store and a Redis lock store; see README.md, "
        "\"Deployment\". Passwords end up inside URLs: use URL-safe values, e.g. `openssl rand -hex 32`. "
        "docker-compose.yml requires POSTGRES_PASSWORD, REDIS_PASSWORD, RASA_AUTH_TOKEN, ACTION_SERVER_TOKEN, "
        "CONSOLE_SECRET_KEY and ALLOWED_ORIGINS and refuses to start without them."
    ),
}


class NotifierKind(str, enum.Enum):
    log = "log"
    smtp = "smtp"


def setting(default: Any, description: str, group: str, **extra: Any) -> Any:
    """A field: its default, its documentation (the only one: .env.example is made from it), its
    section of .env.example and, in `extra`, bounds (ge, gt, le), the unit or the expected form for
    error messages (`unit`, `expected`), the default as documented when it is computed (`shown_default`)
    and a text that opens a subsection of .env.example (`intro`)."""
    bounds = {key: extra.pop(key) for key in ("ge", "gt", "le") if key in extra}
    return Field(default, description=description, group=group, **bounds, **extra)


class Settings(BaseSettings):
    """Every setting of the assistant, its Rasa server, its action server and its staff console."""

    # ---- storage
    DATA_DIR: Path = setting(
        PROJECT_DIR / "var",
        "Folder for the SQLite databases, the booking spool file, generated secrets and logs ($DATA_DIR/logs with "
        "make run). Made 0700 at every start, and every file in it is created 0600 (umask 077): no other local "
        "user can read it.",
        "storage", shown_default="./var",
    )
    TRACKER_DB_PATH: Optional[Path] = setting(
        None,
        "Rasa's conversation store (SQLite file) used by endpoints.env.yml (make run). Plain `rasa` commands "
        "(endpoints.yml) always use var/tracker.db.",
        "storage", shown_default="$DATA_DIR/tracker.db",
    )
    DATABASE_URL: Optional[str] = setting(
        None,
        "The clinic's own tables (consultation and call-back requests, handoff tickets, staff accounts, audit "
        "log), as an SQLAlchemy URL. PostgreSQL example: postgresql+psycopg2://clinic:secret@127.0.0.1:5432/clinic. "
        "Its schema is made and upgraded by the migrations (alembic upgrade head; README, \"Database migrations\").",
        "storage", shown_default="sqlite:///$DATA_DIR/clinic.db",
        expected="an SQLAlchemy database URL, e.g. sqlite:////srv/clinic/clinic.db or "
                 "postgresql+psycopg2://user:password@host:5432/clinic",
    )

    # ---- services
    ACTION_ENDPOINT_URL: AnyHttpUrl = setting(
        "http://127.0.0.1:5055/webhook", "Where the Rasa server reaches the action server.", "services",
    )
    CLINIC_PROFILE_PATH: Path = setting(
        PROJECT_DIR / "clinic_profile.yml",
        "The clinic profile (address, phone, hours, prices...). A missing or broken file is logged and the "
        "assistant gives no clinic details.",
        "services", shown_default="./clinic_profile.yml",
    )

    # ---- consultation and call-back requests
    BOOKING_SPOOL_PATH: Optional[Path] = setting(
        None,
        "Where a confirmed request waits (one JSON line each) while DATABASE_URL cannot be reached; it is written "
        "to the database when it is back. Holds personal data: keep it on the same protected disk. Unreadable "
        "lines are moved to <spool>.corrupt.",
        "requests", shown_default="$DATA_DIR/booking_spool.jsonl",
    )
    BOOKING_SPOOL_RETRY_SECONDS: float = setting(
        30, "Seconds between background attempts to write spooled requests. Ops can also run: "
        ".venv/bin/python scripts/replay_spool.py", "requests", gt=0, unit="seconds",
    )
    NOTIFIER: NotifierKind = setting(
        NotifierKind.log,
        "How staff hear of a new request, a call-back, a waiting visitor or a crisis: log (a line in the action "
        "server log) or smtp (email; SMTP_HOST, SMTP_FROM and SMTP_TO are then required). Notifications carry "
        "only a reference code or a console link, never the visitor's details.",
        "requests",
    )
    SMTP_HOST: Optional[str] = setting(None, "For NOTIFIER=smtp: the mail server.", "requests")
    SMTP_PORT: int = setting(587, "For NOTIFIER=smtp: the mail server's port.", "requests", **PORT)
    SMTP_USERNAME: Optional[str] = setting(None, "Leave SMTP_USERNAME and SMTP_PASSWORD empty when the server needs "
                                                 "no login.", "requests")
    SMTP_PASSWORD: Optional[SecretStr] = setting(None, "The mail server login's password.", "requests")
    SMTP_FROM: Optional[str] = setting(None, "Sender address, e.g. assistant@clinic.example", "requests")
    SMTP_TO: Optional[str] = setting(
        None, "Staff address(es), comma-separated.", "requests",
        expected="one or more email addresses, comma-separated",
    )
    SMTP_STARTTLS: bool = setting(True, "Upgrade the connection with STARTTLS: true or false.", "requests")

    # ---- channels
    ALLOWED_ORIGINS: str = setting(
        "http://127.0.0.1:8080,http://localhost:8080",
        "Website chat widget (Socket.IO at /socket.io): the page origins allowed to connect, comma-separated, "
        "scheme://host[:port]. The default is the demo page.",
        "channels", expected="origins like https://www.clinic.example, comma-separated (scheme://host[:port], no path)",
    )
    FACEBOOK_VERIFY_TOKEN: str = setting(
        "", "A string you choose; type the same one in the dashboard when registering the webhook.", "channels",
        intro="Facebook Messenger (all three required). Webhook: https://<your-server>/webhooks/facebook/webhook, "
              "registered in the Meta app dashboard > Messenger > Settings > Webhooks, with the verify token below "
              "and the \"messages\" and \"messaging_postbacks\" fields subscribed.",
    )
    FACEBOOK_APP_SECRET: str = setting(
        "", "App settings > Basic > App secret. Every webhook POST must carry X-Hub-Signature-256 made with it.",
        "channels",
    )
    FACEBOOK_PAGE_ACCESS_TOKEN: str = setting(
        "", "Messenger > Settings > Access tokens: generate a token for the clinic's Page.", "channels",
    )
    SLACK_BOT_TOKEN: str = setting(
        "", "OAuth & Permissions > Bot User OAuth Token (xoxb-...; scopes chat:write, im:history, app_mentions:read).",
        "channels",
        intro="Slack (bot token and signing secret required). In https://api.slack.com/apps > your app: Event "
              "Subscriptions > Request URL: https://<your-server>/webhooks/slack/webhook (bot events message.im, "
              "app_mention); Interactivity > Request URL: the same URL (for buttons).",
    )
    SLACK_SIGNING_SECRET: str = setting(
        "", "Basic Information > App Credentials > Signing Secret. Requests must be signed with it and at most 5 "
        "minutes old.", "channels",
    )
    SLACK_CHANNEL: str = setting(
        "", "Optional: a channel ID (C0123...) where the bot also answers messages that do not mention it.", "channels",
    )
    TWILIO_ACCOUNT_SID: str = setting(
        "", "Twilio Console > Account Info: Account SID.", "channels",
        intro="Twilio SMS (SID, token and number required). Twilio Console > Phone Numbers > Manage > Active numbers "
              "> your number > Messaging > \"A message comes in\": Webhook, HTTP POST, "
              "https://<your-server>/webhooks/twilio/webhook",
    )
    TWILIO_AUTH_TOKEN: str = setting(
        "", "Twilio Console > Account Info: Auth Token. Also the key of X-Twilio-Signature, which every webhook "
        "request must carry.", "channels",
    )
    TWILIO_NUMBER: str = setting(
        "", "The number the assistant texts from, E.164, e.g. +15095550123", "channels",
        expected="a phone number in E.164 form, e.g. +15095550123",
    )
    TWILIO_WEBHOOK_URL: Optional[AnyHttpUrl] = setting(
        None, "The webhook URL exactly as registered in the console (Twilio signs it). Needed behind a proxy or load "
        "balancer, where the URL the server sees differs. Empty: the URL of the request.", "channels",
    )
    TELEGRAM_ACCESS_TOKEN: str = setting(
        "", "Talk to @BotFather: /newbot gives the token.", "channels",
        intro="Telegram (token, bot name, webhook URL and secret token all required: without any of them every "
              "request to the Telegram webhook gets 403). At startup the assistant registers TELEGRAM_WEBHOOK_URL "
              "with Telegram itself.",
    )
    TELEGRAM_BOT_NAME: str = setting(
        "", "The bot's username as given to @BotFather, without the @ (e.g. tricities_clinic_bot).", "channels",
    )
    TELEGRAM_WEBHOOK_URL: Optional[AnyHttpUrl] = setting(
        None, "https://<your-server>/webhooks/telegram/webhook", "channels",
    )
    TELEGRAM_SECRET_TOKEN: str = setting(
        "", "Required for Telegram: a random string (A-Z, a-z, 0-9, _ and -, up to 256 characters, e.g. "
        "`openssl rand -hex 32`). It is registered with the webhook, and updates without it in "
        "X-Telegram-Bot-Api-Secret-Token get 403. Telegram signs nothing else, so without it anyone could post "
        "updates as any Telegram user.", "channels",
        expected="1 to 256 characters from A-Z, a-z, 0-9, _ and -",
    )

    # ---- staff console
    CONSOLE_PORT: int = setting(
        8090, "Port on 127.0.0.1 (put a TLS reverse proxy in front for access from other machines).", "console", **PORT,
    )
    CONSOLE_PUBLIC_URL: Optional[AnyHttpUrl] = setting(
        None, "Where staff open the console, for the links in staff alerts (e.g. https://clinic.example/console).",
        "console", shown_default="http://127.0.0.1:$CONSOLE_PORT",
    )
    CONSOLE_SECRET_KEY: Optional[SecretStr] = setting(
        None, "Signs the session cookies; the action server uses it too, for the conversation keys in staff alerts. "
        "Unset: a random key generated once into $DATA_DIR/console_secret_key (0600).", "console",
    )
    CONSOLE_SECURE_COOKIES: bool = setting(
        False, "true when the console is served over HTTPS (the session cookie gets the Secure flag).", "console",
    )
    CONSOLE_LOCKOUT_ATTEMPTS: int = setting(
        5, "Sign-in throttling (console/README.md): an address that got one account's password wrong this many "
        "times in a row, or more (k), waits 2^k seconds before it may try that account again.", "console",
        ge=1, le=100000, unit="attempts",
    )
    CONSOLE_ADDRESS_LOCKOUT_ATTEMPTS: int = setting(
        20, "An address with this many failed sign-ins (any user name) within CONSOLE_LOCKOUT_MINUTES is refused "
        "every sign-in, the right password included, until they are that old. The right password from any other "
        "address always signs in. Generous: a clinic's staff share one address, and several mistyped passwords are "
        "normal.", "console", ge=1, le=100000, unit="attempts",
    )
    CONSOLE_LOCKOUT_MINUTES: float = setting(
        15, "The window of CONSOLE_ADDRESS_LOCKOUT_ATTEMPTS, and the longest wait of CONSOLE_LOCKOUT_ATTEMPTS.",
        "console", gt=0, unit="minutes",
    )
    CONSOLE_PROXIES_COUNT: int = setting(
        0, "How many reverse proxies in front of the console set X-Forwarded-For (nginx: 1), so that sign-in "
        "throttling counts the client's address, not the proxy's. 0: python -m console run, nothing in front.",
        "console", ge=0, le=5, unit="proxies",
    )
    CONSOLE_MAX_REQUEST_KB: int = setting(
        64, "The largest request body the console reads, in KB; larger ones get a 413 before they are read. The "
        "largest form, a request's notes, is 4,000 characters.", "console", ge=1, le=10240, unit="kilobytes",
    )
    CONVERSATION_RETENTION_DAYS: float = setting(
        90, "`python -m console purge` deletes conversations with no activity for this many days (and their "
        "handoff tickets). Run it daily, e.g. from cron.", "console", gt=0, unit="days",
    )
    TRACKER_STORE_URL: Optional[str] = setting(
        None, "The tracker store as an SQLAlchemy URL, for when the endpoints file points Rasa at PostgreSQL "
        "instead of the SQLite file TRACKER_DB_PATH, e.g. postgresql+psycopg2://rasa:secret@127.0.0.1:5432/rasa "
        "(the same database as endpoints.production.yml's url/db/username/password).", "console",
        shown_default="sqlite:///$TRACKER_DB_PATH", expected="an SQLAlchemy database URL",
    )

    # ---- human handoff
    RASA_URL: AnyHttpUrl = setting(
        "http://127.0.0.1:5005", "The Rasa server's HTTP API, used to resume the bot and to send staff replies.",
        "handoff",
    )
    RASA_AUTH_TOKEN: Optional[SecretStr] = setting(
        None, "The Rasa HTTP API's token; the API always requires one. Set it in production; unset, one is generated "
        "once into $DATA_DIR/rasa_auth_token and shared by every process on this machine. It never reaches a "
        "browser, and the Rasa server gets it from the environment (scripts/rasa_run.py), never on a command line.",
        "handoff",
    )
    ACTION_SERVER_TOKEN: Optional[SecretStr] = setting(
        None, "A secret the Rasa server sends the action server with every call (endpoints.env.yml and "
        "endpoints.production.yml, as an Authorization header); the action server answers any request without it "
        "with 401 (only /health is open), so no other program on the machine or network can run the actions. Set "
        "it in production (the same value for the Rasa servers and the action server, e.g. `openssl rand -hex 32`); "
        "unset, make run / make actions (scripts/with_env.py) generate one once into $DATA_DIR/action_server_token "
        "(0600), shared on this machine. Only plain `rasa run actions` with it unset (here and in the environment) "
        "runs without one, for plain `rasa shell`/`rasa run` (endpoints.yml sends none): it then answers calls from "
        "this machine only.", "handoff",
    )
    HANDOFF_TIMEOUT_MINUTES: int = setting(
        5, "How long a visitor waits for a person before being told nobody is free and offered a call back.",
        "handoff", gt=0, unit="minutes",
    )
    HANDOFF_CHECK_SECONDS: float = setting(
        15, "How often the action server checks for unanswered handoffs.", "handoff", gt=0, unit="seconds",
    )

    # ---- action server
    SANIC_HOST: str = setting(
        "127.0.0.1", "The action server's bind address: loopback, so only the Rasa server on this machine can call "
        "it. In a container network 0.0.0.0 (never published).", "actions",
        expected="an address to listen on, e.g. 127.0.0.1 or 0.0.0.0",
    )
    SANIC_KEEP_ALIVE_TIMEOUT: int = setting(
        75, "Seconds the action server keeps an idle connection from the Rasa server open for reuse. Sanic's own "
        "default, 5, closed them while a reply was on its way (\"Cannot write to closing transport\"; make bench: "
        "10-11 lost replies at 100 visitors, none with 75).", "actions", ge=1, le=3600, unit="seconds",
    )
    ACTION_SERVER_MAX_REQUEST_BYTES: int = setting(
        4 * 1024 * 1024, "Largest request the action server reads, in bytes (larger: 413; headers over 8 KiB: 431); "
        "Rasa sends it the conversation so far with every call.", "actions", ge=1024, unit="bytes",
    )

    # ---- production
    POSTGRES_HOST: Optional[str] = setting(
        None, "PostgreSQL for Rasa's tracker store (endpoints.production.yml). docker-compose.yml sets the host and "
        "port itself (postgres:5432) and builds DATABASE_URL and TRACKER_STORE_URL from these values.", "production",
        expected="a host name or address",
    )
    POSTGRES_PORT: int = setting(5432, "PostgreSQL's port.", "production", **PORT)
    POSTGRES_DB: str = setting("clinic", "The PostgreSQL database.", "production")
    POSTGRES_USER: str = setting("clinic", "The PostgreSQL user.", "production")
    POSTGRES_PASSWORD: Optional[SecretStr] = setting(None, "The PostgreSQL user's password.", "production")
    REDIS_HOST: Optional[str] = setting(
        None, "Redis for the lock store (db 1: one message per conversation at a time across replicas). "
        "docker-compose.yml sets the host and port itself (redis:6379).", "production",
        expected="a host name or address",
    )
    REDIS_PORT: int = setting(6379, "Redis's port.", "production", **PORT)
    REDIS_PASSWORD: Optional[SecretStr] = setting(None, "Redis's password (requirepass).", "production")
    SOCKETIO_MESSAGE_QUEUE_URL: Optional[str] = setting(
        None, "Redis URL through which a bot message sent by any Rasa replica reaches a web-chat socket held by "
        "another one, e.g. redis://:<REDIS_PASSWORD>@127.0.0.1:6379/2. Empty: one Rasa server, no queue. "
        "docker-compose.yml sets it to redis://:${REDIS_PASSWORD}@redis:6379/2.", "production",
        expected="a redis:// or rediss:// URL, e.g. redis://:password@127.0.0.1:6379/2",
    )
    SANIC_WORKERS: int = setting(
        1, "Rasa server processes behind the Rasa server's one port (Rasa's own setting). Above 1 needs the "
        "production set-up (`make run` then uses endpoints.production.yml): PostgreSQL (POSTGRES_HOST), the Redis lock "
        "store (REDIS_HOST), so that one conversation's messages are handled one at a time across processes, and "
        "SOCKETIO_MESSAGE_QUEUE_URL. The web widget's websocket stays with one "
        "process; a browser that cannot open a websocket falls back to long-polling, which needs one process per "
        "port: for those, run replicas behind nginx instead (docker-compose.yml). About 0.9 GB of memory each; "
        "measured in the README, 'Several Rasa processes'.", "production", ge=1, le=64, unit="processes",
    )
    SANIC_PROXIES_COUNT: Optional[int] = setting(
        None, "How many reverse proxies stand in front of the Rasa server; set 1 behind one proxy, so that Rasa "
        "takes the visitor's IP from X-Forwarded-For (per-IP rate limit). Empty: nothing in front, the "
        "connection's own address is used. docker-compose.yml sets 1 (nginx).", "production",
        ge=0, le=5, unit="proxies",
    )
    SANIC_REQUEST_MAX_SIZE: int = setting(
        262144, "Largest request body the Rasa server reads, in bytes (larger: 413); 256 KiB, as the proxy's "
        "client_max_body_size.", "production", ge=1024, unit="bytes",
    )
    RATE_LIMIT_IP_PER_MINUTE: int = setting(
        600, "Messages (and chat connections) one IP address may make per minute on the web chat (REST and "
        "Socket.IO); 0: no limit. Generous on purpose: a clinic's waiting room, a school or a phone carrier's NAT "
        "puts many visitors behind one address, and this bound shuts all of them out at once (each refusal does "
        "give the crisis line). The trade-off: one address can spread up to this many messages a minute over many "
        "conversations; the strict bound is the next one, per conversation.", "production",
        ge=0, unit="messages a minute, 0 for no limit",
    )
    RATE_LIMIT_SENDER_PER_MINUTE: int = setting(
        30, "Messages one conversation (sender) may send per minute, on every channel; 0: no limit. Strict on "
        "purpose: no person types 30 messages a minute; over it the visitor is asked (once a minute, with the "
        "crisis line) to wait, and the extra messages are not processed.", "production",
        ge=0, unit="messages a minute, 0 for no limit",
    )
    MAX_MESSAGE_CHARS: int = setting(
        2000, "Longest message processed, in characters.", "production", ge=1, unit="characters",
    )

    class Config:
        case_sensitive = True  # the variables are upper case, as the fields
        anystr_strip_whitespace = True
        validate_assignment = False

    # ---- checks beyond the type

    @root_validator(pre=True)
    def empty_means_default(cls, values: Dict[str, Any]) -> Dict[str, Any]:
        return {name: value for name, value in values.items() if not (isinstance(value, str) and not value.strip())}

    @validator("NOTIFIER", pre=True)
    def notifier_any_case(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @validator("DATABASE_URL", "TRACKER_STORE_URL")
    def database_url(cls, value: Optional[str]) -> Optional[str]:
        if value is None:
            return None
        from sqlalchemy.engine import make_url

        try:
            make_url(value).get_dialect()
        except Exception:  # ArgumentError (not a URL), NoSuchModuleError (unknown dialect or driver)
            raise ValueError("not an SQLAlchemy URL of an installed dialect") from None
        return value

    @validator("ALLOWED_ORIGINS")
    def origins(cls, value: str) -> str:
        parts = [part.strip() for part in value.split(",") if part.strip()]
        if not parts or not all(ORIGIN.fullmatch(part) for part in parts):
            raise ValueError("not a list of origins")
        return ",".join(parts)

    @validator("SMTP_TO")
    def addresses(cls, value: Optional[str]) -> Optional[str]:
        if value is None:
            return None
        parts = [part.strip() for part in value.split(",") if part.strip()]
        if not parts or not all(re.fullmatch(r"[^@\s,]+@[^@\s,]+", part) for part in parts):
            raise ValueError("not a list of email addresses")
        return ", ".join(parts)

    @validator("TWILIO_NUMBER")
    def e164(cls, value: str) -> str:
        if value and not E164.fullmatch(value):
            raise ValueError("not an E.164 number")
        return value

    @validator("TELEGRAM_SECRET_TOKEN")
    def telegram_secret(cls, value: str) -> str:
        if value and not TELEGRAM_SECRET.fullmatch(value):
            raise ValueError("not a valid Telegram secret token")
        return value

    @validator("SANIC_HOST", "POSTGRES_HOST", "REDIS_HOST")
    def host(cls, value: Optional[str]) -> Optional[str]:
        if value is None:
            return None
        try:
            ipaddress.ip_address(value.strip("[]"))
        except ValueError:
            if not HOST.fullmatch(value):
                raise ValueError("not a host name or address") from None
        return value

    @validator("SOCKETIO_MESSAGE_QUEUE_URL")
    def redis_url(cls, value: Optional[str]) -> Optional[str]:
        if value is None:
            return None
        try:
            parts = urlsplit(value)
            parts.port  # noqa: B018  (raises ValueError for a port out of range)
        except ValueError:
            raise ValueError("not a URL") from None
        if parts.scheme not in ("redis", "rediss") or not parts.hostname:
            raise ValueError("not a redis:// URL")
        return value

    @root_validator(skip_on_failure=True)
    def derived(cls, values: Dict[str, Any]) -> Dict[str, Any]:
        data_dir = values["DATA_DIR"]
        values["TRACKER_DB_PATH"] = values.get("TRACKER_DB_PATH") or data_dir / "tracker.db"
        values["DATABASE_URL"] = values.get("DATABASE_URL") or f"sqlite:///{data_dir / 'clinic.db'}"
        values["BOOKING_SPOOL_PATH"] = values.get("BOOKING_SPOOL_PATH") or data_dir / "booking_spool.jsonl"
        if values["SANIC_WORKERS"] > 1:
            needed = ("POSTGRES_HOST", "REDIS_HOST", "SOCKETIO_MESSAGE_QUEUE_URL")
            missing = [name for name in needed if not values.get(name)]
            if missing:
                raise ValueError(f"SANIC_WORKERS above 1: expected {', '.join(missing)} to be set too")
        if values["NOTIFIER"] is NotifierKind.smtp:
            missing = [name for name in ("SMTP_HOST", "SMTP_FROM", "SMTP_TO") if not values.get(name)]
            if missing:
                raise ValueError(f"NOTIFIER=smtp: expected {', '.join(missing)} to be set too")
        return values

    # ---- derived values

    @property
    def allowed_origins(self) -> List[str]:
        return self.ALLOWED_ORIGINS.split(",")

    @property
    def smtp_recipients(self) -> List[str]:
        return [address.strip() for address in (self.SMTP_TO or "").split(",") if address.strip()]

    @property
    def tracker_store_url(self) -> str:
        """TRACKER_STORE_URL (e.g. PostgreSQL), else the SQLite file of endpoints.env.yml."""
        return self.TRACKER_STORE_URL or f"sqlite:///{self.TRACKER_DB_PATH}"

    def secret(self, name: str) -> Optional[str]:
        value = getattr(self, name)
        return value.get_secret_value() if value is not None else None


class IsolatedSettings(Settings):
    """Settings from a given mapping only (`load(environ)`), the process environment left out."""

    class Config:
        @classmethod
        def customise_sources(cls, init_settings, env_settings, file_secret_settings):
            return (init_settings,)


class SettingsError(ValueError):
    """One or more settings are wrong: the message names each variable and what it expects."""

    def __init__(self, problems: List[str]) -> None:
        self.problems = problems
        super().__init__(
            "Invalid settings (from the environment or .env; every variable is described in .env.example):\n"
            + "\n".join(f"  {problem}" for problem in problems)
        )


def expected(field: ModelField) -> str:
    """What a field accepts, in words: its `expected` text, or its type, bounds and unit."""
    extra = field.field_info.extra
    if "expected" in extra:
        return extra["expected"]
    kind = field.type_
    info = field.field_info
    if kind is bool:
        return "true or false"
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return "one of " + ", ".join(member.value for member in kind)
    if isinstance(kind, type) and issubclass(kind, AnyHttpUrl):
        return "an http:// or https:// URL"
    if isinstance(kind, type) and issubclass(kind, Path):
        return "a file or folder path"
    if isinstance(kind, type) and issubclass(kind, (int, float)):
        words = "a whole number" if issubclass(kind, int) else "a number"
        unit = extra.get("unit")
        if unit == "TCP port":
            return f"a TCP port, {info.ge} to {info.le}"
        bounds = []
        if info.ge is not None and info.le is not None:
            bounds.append(f"from {info.ge:g} to {info.le:g}")
        else:
            if info.gt is not None:
                bounds.append(f"more than {info.gt:g}")
            if info.ge is not None:
                bounds.append(f"{info.ge:g} or more")
            if info.le is not None:
                bounds.append(f"at most {info.le:g}")
        return words + (f" ({unit})" if unit else "") + (", " + ", ".join(bounds) if bounds else "")
    return "text"


def describe(errors: List[Dict[str, Any]], given: Mapping[str, Any]) -> List[str]:
    problems = []
    for error in errors:
        name = str(error["loc"][0]) if error["loc"] else "__root__"
        if name == "__root__":
            problems.append(error["msg"])
            continue
        field = Settings.__fields__[name]
        value = given.get(name)
        shown = "(value not shown)" if SECRET_NAME.search(name) else repr(value)
        problems.append(f"{name}={shown}: expected {expected(field)}")
    return problems


def load(environ: Optional[Mapping[str, str]] = None) -> Settings:
    """The settings from `environ` alone, or from the process environment (and .env) when None.

    Raises SettingsError naming every wrong variable."""
    if environ is None:
        given: Mapping[str, Any] = os.environ
        make = Settings
        values: Dict[str, Any] = {}
    else:
        given = environ
        make = IsolatedSettings
        values = {name: environ[name] for name in Settings.__fields__ if name in environ}
    try:
        return make(**values)
    except ValidationError as error:
        raise SettingsError(describe(error.errors(), given)) from None


_cached: Tuple[Optional[Tuple[Optional[str], ...]], Optional[Settings]] = (None, None)


def current() -> Settings:
    """The settings of the environment as it is now: parsed again only when one of its variables changed.

    Raises SettingsError when one is wrong."""
    global _cached
    snapshot = tuple(os.environ.get(name) for name in Settings.__fields__)
    known, settings = _cached
    if settings is None or known != snapshot:
        settings = load()
        _cached = (snapshot, settings)
    return settings


def checked() -> Settings:
    """current(), for entry points: a wrong setting ends the process with its message, no traceback."""
    try:
        return current()
    except SettingsError as error:
        raise SystemExit(f"{error}\nNot started.") from None


def get(name: str) -> Any:
    """The typed value of one setting by its variable's name (secrets as plain strings), for older call sites."""
    value = getattr(current(), name)
    return value.get_secret_value() if isinstance(value, SecretStr) else value


def as_text(value: Any) -> str:
    """A value as it is written in the environment."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    return str(value)


def default_text(name: str) -> str:
    """A field's default as documented: as written in the environment, or how it is computed."""
    field = Settings.__fields__[name]
    return field.field_info.extra.get("shown_default") or as_text(field.default)


def apply_defaults() -> None:
    """Checks every setting and fills in every unset variable, so that endpoints.env.yml, the credentials
    files and every process started from here see one consistent set. A wrong setting ends the process
    with its message (no traceback).

    Also makes this process (and whatever it starts) create files for its own user only: every
    entry point (scripts/with_env.py, scripts/rasa_run.py, the console) calls this first.
    """
    # Conversations, bookings, staff password hashes and logs: no other local user may read them.
    os.umask(0o077)
    # Rasa's telemetry and error reports would send usage data to Rasa's servers: never, here.
    os.environ["RASA_TELEMETRY_ENABLED"] = "false"
    settings = checked()
    for name in Settings.__fields__:
        value = getattr(settings, name)
        # Sanic reads every SANIC_* variable into its configuration, and would take an empty one as a value.
        if value is None and name.startswith("SANIC_"):
            continue
        if not os.environ.get(name):
            os.environ[name] = as_text(value)
    make_private(settings.DATA_DIR)
    # endpoints.env.yml sends it with every action call; the action server refuses calls without it.
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
    settings = current()
    return settings.secret("RASA_AUTH_TOKEN") or generated_secret(settings.DATA_DIR / "rasa_auth_token")


def action_server_token() -> str:
    """The secret the Rasa server sends the action server with every call (endpoints.env.yml).

    ACTION_SERVER_TOKEN, or one generated once and kept in the data folder, like the API token.
    """
    settings = current()
    return settings.secret("ACTION_SERVER_TOKEN") or generated_secret(settings.DATA_DIR / "action_server_token")


def console_secret_key() -> str:
    """The staff console's secret key: CONSOLE_SECRET_KEY, or one generated once in the data folder.

    The action server needs it too, to link staff alerts to a conversation's opaque key.
    """
    settings = current()
    key_file = settings.DATA_DIR / "console_secret_key"
    return settings.secret("CONSOLE_SECRET_KEY") or generated_secret(key_file, length=48)


def console_conversation_link(conversation_id: str) -> str:
    """The address of a conversation in the staff console, naming it by its opaque key only."""
    from clinic.conversation_keys import conversation_key

    settings = current()
    base = str(settings.CONSOLE_PUBLIC_URL or f"http://127.0.0.1:{settings.CONSOLE_PORT}").rstrip("/")
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


if __name__ == "__main__":  # python -m clinic.settings: check the settings, as every service does at start
    checked()
    print("Settings OK.", file=sys.stderr)
