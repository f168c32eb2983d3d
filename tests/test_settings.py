"""The typed settings (clinic/settings.py): one object, every variable typed and documented once,
.env.example made from it, a wrong value named with what it expects, the defaults exported for Rasa."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from clinic import settings
from clinic.settings import Settings, SettingsError
from scripts import env_example

PROJECT_DIR = Path(__file__).resolve().parent.parent
WITH_ENV = [sys.executable, str(PROJECT_DIR / "scripts" / "with_env.py")]


def test_env_example_is_generated_from_the_settings_and_up_to_date():
    assert (PROJECT_DIR / ".env.example").read_text() == env_example.render(), (
        "run: .venv/bin/python scripts/env_example.py"
    )


def test_env_example_lists_every_field_and_nothing_else():
    text = (PROJECT_DIR / ".env.example").read_text()
    listed = re.findall(r"^([A-Z][A-Z0-9_]*)=", text, flags=re.MULTILINE)
    assert sorted(listed) == sorted(Settings.__fields__)
    assert len(listed) == len(set(listed))


def test_every_field_is_documented_once_in_a_known_section():
    for name, field in Settings.__fields__.items():
        assert re.fullmatch(r"[A-Z][A-Z0-9_]*", name), name
        assert field.field_info.description and len(field.field_info.description) > 10, name
        assert field.field_info.extra["group"] in settings.GROUPS, name


def test_defaults_make_a_complete_single_machine_set(tmp_path):
    typed = settings.load({"DATA_DIR": str(tmp_path)})
    assert typed.DATABASE_URL == f"sqlite:///{tmp_path / 'clinic.db'}"
    assert typed.TRACKER_DB_PATH == tmp_path / "tracker.db"
    assert typed.BOOKING_SPOOL_PATH == tmp_path / "booking_spool.jsonl"
    assert typed.tracker_store_url == f"sqlite:///{tmp_path / 'tracker.db'}"
    assert (typed.CONSOLE_PORT, typed.HANDOFF_TIMEOUT_MINUTES, typed.CONSOLE_SECURE_COOKIES) == (8090, 5, False)
    assert typed.NOTIFIER is settings.NotifierKind.log and typed.SMTP_STARTTLS is True
    assert typed.allowed_origins == ["http://127.0.0.1:8080", "http://localhost:8080"]
    assert typed.RASA_AUTH_TOKEN is None and typed.SANIC_PROXIES_COUNT is None


def test_an_empty_value_means_the_default():
    typed = settings.load({"CONSOLE_PORT": "", "HANDOFF_CHECK_SECONDS": "  ", "NOTIFIER": "", "TWILIO_WEBHOOK_URL": ""})
    assert (typed.CONSOLE_PORT, typed.HANDOFF_CHECK_SECONDS, typed.NOTIFIER.value) == (8090, 15, "log")
    assert typed.TWILIO_WEBHOOK_URL is None


def test_values_are_typed():
    typed = settings.load({
        "CONSOLE_PORT": "9000", "CONSOLE_SECURE_COOKIES": "true", "HANDOFF_CHECK_SECONDS": "0.5",
        "RATE_LIMIT_IP_PER_MINUTE": "0", "NOTIFIER": " SMTP ", "SMTP_HOST": "mail.clinic.example",
        "SMTP_FROM": "assistant@clinic.example", "SMTP_TO": "a@clinic.example , b@clinic.example",
        "SANIC_PROXIES_COUNT": "1", "DATABASE_URL": "postgresql+psycopg2://u:p@db:5432/clinic",
        "CONSOLE_SECRET_KEY": "k" * 40,
    })
    assert (typed.CONSOLE_PORT, typed.CONSOLE_SECURE_COOKIES, typed.HANDOFF_CHECK_SECONDS) == (9000, True, 0.5)
    assert typed.RATE_LIMIT_IP_PER_MINUTE == 0 and typed.SANIC_PROXIES_COUNT == 1
    assert typed.smtp_recipients == ["a@clinic.example", "b@clinic.example"]
    assert typed.secret("CONSOLE_SECRET_KEY") == "k" * 40 and "k" * 40 not in repr(typed)


@pytest.mark.parametrize("name, value, expected", [
    ("HANDOFF_TIMEOUT_MINUTES", "abc", "a whole number (minutes), more than 0"),
    ("HANDOFF_TIMEOUT_MINUTES", "0", "more than 0"),
    ("HANDOFF_CHECK_SECONDS", "-1", "a number (seconds), more than 0"),
    ("CONSOLE_PORT", "70000", "a TCP port, 1 to 65535"),
    ("SMTP_PORT", "five-eight-seven", "a TCP port"),
    ("RATE_LIMIT_IP_PER_MINUTE", "-1", "0 or more"),
    ("CONSOLE_MAX_REQUEST_KB", "1.5", "from 1 to 10240"),
    ("CONSOLE_SECURE_COOKIES", "maybe", "true or false"),
    ("NOTIFIER", "pager", "one of log, smtp"),
    ("ACTION_ENDPOINT_URL", "127.0.0.1:5055/webhook", "an http:// or https:// URL"),
    ("RASA_URL", "ftp://rasa:5005", "an http:// or https:// URL"),
    ("ALLOWED_ORIGINS", "https://clinic.example/chat", "origins like"),
    ("SANIC_HOST", "not a host", "an address to listen on"),
    ("TWILIO_NUMBER", "509-555-0123", "E.164"),
    ("TELEGRAM_SECRET_TOKEN", "has spaces", "A-Z, a-z, 0-9"),
])
def test_a_wrong_value_is_named_with_what_is_expected(name, value, expected):
    with pytest.raises(SettingsError) as raised:
        settings.load({name: value})
    message = str(raised.value)
    shown = "(value not shown)" if settings.SECRET_NAME.search(name) else repr(value)
    assert f"{name}={shown}: expected" in message and expected in message
    assert len(raised.value.problems) == 1


def test_every_wrong_value_is_named_at_once_and_secrets_are_not_shown():
    with pytest.raises(SettingsError) as raised:
        settings.load({"CONSOLE_PORT": "0", "DATABASE_URL": "postgres://clinic:hunter2@db/clinic",
                       "SOCKETIO_MESSAGE_QUEUE_URL": "http://:hunter2@redis:6379/2"})
    message = str(raised.value)
    assert "CONSOLE_PORT='0'" in message
    assert "DATABASE_URL=(value not shown): expected an SQLAlchemy database URL" in message
    assert "SOCKETIO_MESSAGE_QUEUE_URL=(value not shown): expected a redis://" in message
    assert "hunter2" not in message


def test_smtp_needs_its_server_sender_and_recipients():
    with pytest.raises(SettingsError, match="NOTIFIER=smtp: expected SMTP_HOST, SMTP_TO to be set too"):
        settings.load({"NOTIFIER": "smtp", "SMTP_FROM": "assistant@clinic.example"})


def test_the_settings_follow_the_environment(monkeypatch):
    monkeypatch.setenv("CONSOLE_PORT", "9100")
    assert settings.current().CONSOLE_PORT == settings.get("CONSOLE_PORT") == 9100
    monkeypatch.setenv("CONSOLE_PORT", "9101")
    assert settings.current().CONSOLE_PORT == 9101
    monkeypatch.setenv("CONSOLE_PORT", "port")
    with pytest.raises(SettingsError, match="CONSOLE_PORT"):
        settings.current()


def test_the_defaults_are_exported_for_rasa_and_the_commands_started(tmp_path):
    """What scripts/with_env.py hands a command: every variable set (Rasa expands them in the endpoints
    and credentials files), none of the SANIC_ ones left empty (Sanic would take "" as a value)."""
    env = {key: value for key, value in os.environ.items() if key not in Settings.__fields__}
    result = subprocess.run(WITH_ENV + [sys.executable, "-c", "import json, os; print(json.dumps(dict(os.environ)))"],
                            cwd=PROJECT_DIR, env={**env, "DATA_DIR": str(tmp_path)}, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    exported = __import__("json").loads(result.stdout)
    assert exported["DATABASE_URL"] == f"sqlite:///{tmp_path / 'clinic.db'}"
    assert exported["HANDOFF_TIMEOUT_MINUTES"] == "5" and exported["CONSOLE_SECURE_COOKIES"] == "false"
    assert exported["SANIC_KEEP_ALIVE_TIMEOUT"] == "75" and "SANIC_PROXIES_COUNT" not in exported
    assert exported["FACEBOOK_APP_SECRET"] == "" and exported["TWILIO_WEBHOOK_URL"] == ""
    assert exported["ACTION_SERVER_TOKEN"] == (tmp_path / "action_server_token").read_text().strip()
    assert set(Settings.__fields__) - {"SANIC_PROXIES_COUNT"} <= set(exported)
    assert settings.load(exported).DATABASE_URL == exported["DATABASE_URL"]  # what is exported reads back


def test_several_rasa_processes_need_the_shared_database_lock_store_and_socket_queue():
    needs = "SANIC_WORKERS above 1: expected POSTGRES_HOST, SOCKETIO_MESSAGE_QUEUE_URL"
    with pytest.raises(SettingsError, match=needs):
        settings.load({"SANIC_WORKERS": "2", "REDIS_HOST": "127.0.0.1"})
    with pytest.raises(SettingsError, match="SANIC_WORKERS"):
        settings.load({"SANIC_WORKERS": "0"})
    shared = {"POSTGRES_HOST": "127.0.0.1", "REDIS_HOST": "127.0.0.1",
              "SOCKETIO_MESSAGE_QUEUE_URL": "redis://127.0.0.1:6379/2"}
    assert settings.load({"SANIC_WORKERS": "2", **shared}).SANIC_WORKERS == 2
    assert settings.load({}).SANIC_WORKERS == 1
